//! `ebm compose`: sample a composition of experts written as an expression
//! (`even & ge5`, `digit=0 | digit=1`, `ge5 & !loop`), write a PNG grid, and measure with the
//! judge classifier the fraction of samples inside the intended set of digits, beside each
//! expert sampled alone and beside chance.
//!
//! Atoms: `digit=k` is `E(x, k)` of the digit expert (`<experts>/digit`); an attribute `a`
//! (`even`, `ge5`, `loop`, `curvy`; `a=0` for its complement) is `E(x, a)` of the attribute
//! expert `<experts>/<a>`. A bare negation `!b` is taken against the digit expert's marginal
//! energy `-logsumexp_y f_y(x)`. The cap of a negated expert is the median of its energy over
//! real training images.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Tensor};
use clap::Args;
use ebm_core::{Energy, SeededRng, device_from_word};
use ebm_data::ImageSet;
use ebm_mcmc::{Sgld, StepSize};
use ebm_poe::{
    Atom, Attribute, BoxEnergy, ClassEnergy, ComposeOptions, ConditionalNet, Experts, Expr,
    classify, compile, intended_digits, load_net,
};
use ebm_train::run_kernel;
use serde::Serialize;

use crate::conditional::{TrainRecord, dims, load_split};
use crate::output::{host_images, write_atomic, write_grid};

/// Arguments of `ebm compose`.
#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// The composition: atoms `digit=k`, `even`, `ge5`, `loop`, `curvy` (or `name=0` for an
    /// attribute's complement), operators `!` (NOT) > `&` (AND) > `|` (OR), parentheses.
    #[arg(long)]
    pub expr: String,
    /// Samples to draw.
    #[arg(long, default_value_t = 256)]
    pub n: usize,
    /// Directory of experts written by `ebm train-conditional`.
    #[arg(long, default_value = "runs/poe")]
    pub experts: PathBuf,
    /// The judge classifier (default: `<experts>/judge`).
    #[arg(long)]
    pub judge: Option<PathBuf>,
    /// Clipped-SGLD steps from uniform noise.
    #[arg(long, default_value_t = 300)]
    pub steps: usize,
    /// SGLD gradient step.
    #[arg(long, default_value_t = 10.0)]
    pub step_size: f64,
    /// SGLD noise scale.
    #[arg(long, default_value_t = 0.005)]
    pub noise: f64,
    /// SGLD per-pixel gradient clamp.
    #[arg(long, default_value_t = 0.03)]
    pub grad_clip: f64,
    /// Negation strength lambda.
    #[arg(long, default_value_t = 1.0)]
    pub lambda: f64,
    /// Mixture temperature T.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Skip sampling each expert alone (the baselines).
    #[arg(long)]
    pub no_baselines: bool,
    /// Where the grid and the JSON report go (default: `<experts>/compose`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed of the chains.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Device: cpu, wgpu, vulkan or cuda.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// The experts of a directory, loaded on first use.
struct DirExperts {
    dir: PathBuf,
    device: Device,
    nets: RefCell<BTreeMap<String, ConditionalNet>>,
    /// Real images for the negation caps.
    reference: Tensor<4>,
}

impl DirExperts {
    fn net(&self, name: &str) -> Result<ConditionalNet, String> {
        if let Some(n) = self.nets.borrow().get(name) {
            return Ok(n.clone());
        }
        let dir = self.dir.join(name);
        let (net, _) = load_net(&dir, &self.device).map_err(|e| {
            format!("no `{name}` expert in {} ({e}); train it with `ebm train-conditional --target {name}`", self.dir.display())
        })?;
        self.nets.borrow_mut().insert(name.to_string(), net.clone());
        Ok(net)
    }
}

impl Experts<4> for DirExperts {
    fn atom(&self, atom: &Atom) -> Result<BoxEnergy<4>, String> {
        if atom.name == "digit" {
            let k = atom
                .value
                .as_deref()
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|&k| k < 10)
                .ok_or_else(|| format!("`{atom}`: a digit atom is `digit=k` with k in 0..=9"))?;
            let net = self.net("digit")?;
            return Ok(Box::new(
                ClassEnergy::new(net, &[k], atom.to_string()).map_err(|e| e.to_string())?,
            ));
        }
        let attr: Attribute = atom
            .name
            .parse()
            .map_err(|e: ebm_poe::PoeError| format!("{e}; or `digit=k`"))?;
        let class = match atom.value.as_deref() {
            None | Some("1") => 1,
            Some("0") => 0,
            Some(v) => {
                return Err(format!(
                    "`{atom}`: an attribute takes `=0` or `=1`, not `={v}`"
                ));
            }
        };
        let net = self.net(attr.name())?;
        Ok(Box::new(
            ClassEnergy::new(net, &[class], atom.to_string()).map_err(|e| e.to_string())?,
        ))
    }

    fn base(&self) -> Option<BoxEnergy<4>> {
        let net = self.net("digit").ok()?;
        Some(Box::new(ClassEnergy::marginal(net, "marginal")))
    }

    fn cap(&self, negated: &dyn Energy<4>) -> Result<f64, String> {
        let e = negated
            .try_energy(self.reference.clone())
            .map_err(|e| e.to_string())?
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| format!("{e:?}"))?;
        let mut v: Vec<f64> = e.into_iter().map(f64::from).collect();
        v.sort_by(f64::total_cmp);
        Ok(v[v.len() / 2])
    }
}

/// One sampled energy and what the judge made of it.
#[derive(Debug, Serialize)]
struct Outcome {
    /// The expression sampled.
    expr: String,
    /// Fraction of samples the judge puts in the intended set.
    in_set: f64,
    /// How many samples the judge gives each digit.
    histogram: [usize; 10],
    /// The grid written.
    grid: PathBuf,
    /// Seconds of sampling.
    seconds: f64,
}

/// The JSON report.
#[derive(Debug, Serialize)]
struct Report {
    expr: String,
    intended: Vec<u8>,
    n: usize,
    steps: usize,
    lambda: f64,
    temperature: f64,
    judge_held_out_accuracy: f64,
    chance: f64,
    data_frequency: f64,
    composition: Outcome,
    experts_alone: Vec<Outcome>,
}

fn slug(expr: &str) -> String {
    let mut s: String = expr
        .chars()
        .map(|c| match c {
            '&' => 'A',
            '|' => 'O',
            '!' => 'N',
            '=' => '-',
            c if c.is_ascii_alphanumeric() => c,
            _ => '_',
        })
        .collect();
    while s.contains("__") {
        s = s.replace("__", "_");
    }
    s.trim_matches('_').to_string()
}

#[allow(clippy::too_many_arguments)]
fn sample_and_judge(
    energy: &dyn Energy<4>,
    label: &str,
    args: &ComposeArgs,
    judge: &ConditionalNet,
    intended: &[u8],
    out: &Path,
    device: &Device,
    seed: u64,
) -> Result<Outcome> {
    let kernel = Sgld::new(StepSize::Shared(args.step_size), args.noise)?
        .with_grad_clip(args.grad_clip)?
        .with_domain(-1.0, 1.0)?
        .with_energy_at_noised_point();
    let mut rng = SeededRng::new(seed);
    let (c, s) = (judge.channels, judge.image_size);
    let start = rng.uniform([args.n, c, s, s], -1.0, 1.0, device);
    energy
        .check_input(start.dims())
        .with_context(|| format!("`{label}` does not take {c}x{s}x{s} images"))?;
    let t0 = std::time::Instant::now();
    let (x, _) = run_kernel(&kernel, energy, start, args.steps, &mut rng);
    let seconds = t0.elapsed().as_secs_f64();
    let (values, d) = host_images(x);
    if values.iter().any(|v| !v.is_finite()) {
        bail!("sampling `{label}` produced non-finite pixels");
    }
    let predicted = classify(judge, &values, d, device)?;
    let mut histogram = [0usize; 10];
    for p in &predicted {
        histogram[(*p).min(9)] += 1;
    }
    let inside = predicted
        .iter()
        .filter(|&&p| intended.contains(&(p as u8)))
        .count();
    let grid = out.join(format!("{}.png", slug(label)));
    let cols = (args.n as f64).sqrt().ceil() as usize;
    write_grid(&grid, &values, d, cols, 2)?;
    Ok(Outcome {
        expr: label.to_string(),
        in_set: inside as f64 / args.n.max(1) as f64,
        histogram,
        grid,
        seconds,
    })
}

/// Runs `ebm compose`.
pub fn run(args: ComposeArgs) -> Result<()> {
    let device = device_from_word(&args.device)?;
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    let expr = Expr::parse(&args.expr)?;
    let judge_dir = args
        .judge
        .clone()
        .unwrap_or_else(|| args.experts.join("judge"));
    let (judge, _) = load_net(&judge_dir, &device).with_context(|| {
        format!("loading the judge classifier from {} (train it with `ebm train-conditional --target judge`)", judge_dir.display())
    })?;
    if judge.classes != 10 {
        bail!(
            "the judge in {} has {} classes, not 10",
            judge_dir.display(),
            judge.classes
        );
    }
    // The judge's data and split, for its held-out accuracy and for reference images.
    let record_path = judge_dir.join("train.json");
    let record: TrainRecord = serde_json::from_str(
        &std::fs::read_to_string(&record_path)
            .with_context(|| format!("reading {}", record_path.display()))?,
    )
    .with_context(|| format!("{} is not a training record", record_path.display()))?;
    let (train, test) = load_split(&record.data, record.limit)?;
    let truth: Vec<usize> = test
        .labels
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|&d| usize::from(d))
        .collect();
    let judge_acc = ebm_poe::accuracy(
        &classify(&judge, &test.images, dims(&test), &device)?,
        &truth,
    );

    let m = train.len().min(256);
    let reference = train.batch(&(0..m).collect::<Vec<_>>(), &device)?;
    let experts = DirExperts {
        dir: args.experts.clone(),
        device: device.clone(),
        nets: RefCell::new(BTreeMap::new()),
        reference,
    };
    let options = ComposeOptions {
        lambda: args.lambda,
        temperature: args.temperature,
    };
    let energy = compile(&expr, &args.expr, &experts, options)?;
    let intended = intended_digits(&expr).context(
        "the expression has an atom that is not label-derived, so the judge cannot score it",
    )?;
    let data_frequency = frequency(&test, &intended);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.experts.join("compose"));
    println!(
        "`{expr}`: intended digits {intended:?}; {} chains, {} clipped-SGLD steps from uniform noise; judge accuracy {judge_acc:.4} on {} held-out images",
        args.n,
        args.steps,
        test.len()
    );
    let composition = sample_and_judge(
        energy.as_ref(),
        &expr.to_string(),
        &args,
        &judge,
        &intended,
        &out,
        &device,
        args.seed,
    )?;
    let mut alone = Vec::new();
    if !args.no_baselines {
        let mut seen = Vec::new();
        for atom in expr.atoms() {
            let text = atom.to_string();
            if seen.contains(&text) || expr == Expr::Atom(atom.clone()) {
                continue;
            }
            seen.push(text.clone());
            let e = compile(&Expr::Atom(atom.clone()), &text, &experts, options)?;
            alone.push(sample_and_judge(
                e.as_ref(),
                &text,
                &args,
                &judge,
                &intended,
                &out,
                &device,
                args.seed,
            )?);
        }
    }
    let chance = intended.len() as f64 / 10.0;
    println!(
        "{:<28} {:>8}   judge's digit histogram 0..9",
        "samples of", "in set"
    );
    for o in std::iter::once(&composition).chain(&alone) {
        let tag = if std::ptr::eq(o, &composition) {
            ""
        } else {
            " (alone)"
        };
        println!(
            "{:<28} {:>8.3}   {:?}  ({:.0}s)",
            format!("{}{tag}", o.expr),
            o.in_set,
            o.histogram,
            o.seconds
        );
    }
    println!("{:<28} {:>8.3}", "chance (|set| / 10)", chance);
    println!("{:<28} {:>8.3}", "held-out data in set", data_frequency);
    let report = Report {
        expr: expr.to_string(),
        intended,
        n: args.n,
        steps: args.steps,
        lambda: args.lambda,
        temperature: args.temperature,
        judge_held_out_accuracy: judge_acc,
        chance,
        data_frequency,
        composition,
        experts_alone: alone,
    };
    let json = out.join(format!("{}.json", slug(&args.expr)));
    let text = serde_json::to_string_pretty(&report)?;
    write_atomic(&json, |tmp| {
        std::fs::write(tmp, &text).with_context(|| format!("writing {}", tmp.display()))
    })?;
    println!(
        "grid: {}; report: {}",
        report.composition.grid.display(),
        json.display()
    );
    Ok(())
}

fn frequency(set: &ImageSet, intended: &[u8]) -> f64 {
    let labels = set.labels.as_deref().unwrap_or_default();
    labels.iter().filter(|d| intended.contains(d)).count() as f64 / labels.len().max(1) as f64
}
