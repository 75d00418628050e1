//! `ebm compose`: sample a composition of experts written as an expression
//! (`even & ge5`, `digit=0 | digit=1`, `ge5 & !loop`), write a PNG grid, and measure with the
//! judge classifier the fraction of samples inside the intended set of digits, beside each
//! expert sampled alone and beside chance.
//!
//! `--run` names the folder that holds the expert runs (default `runs/poe`, where
//! `ebm train-conditional --target T` writes `runs/poe/T`). Atoms: `digit=k` is `E(x, k)` of the
//! digit expert (`<run>/digit`); an attribute `a` (`even`, `ge5`, `loop`, `curvy`; `a=0` for its
//! complement) is `E(x, a)` of the attribute expert `<run>/<a>`, or with `--from-digit` the digit
//! expert's energy of the set of digits that have it. A bare negation `!b` is taken
//! against the digit expert's marginal energy `-logsumexp_y f_y(x)`. The cap of a negated expert
//! is the median of its energy over real training images. The judge is `<run>/judge`; grids (PNG, and the
//! samples as `.npy` for `ebm eval-samples`) and the JSON report go to `<run>/compose/`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Tensor};
use clap::Args;
use ebm_core::{ClassEnergy, ConditionalNet, Energy, SeededRng};
use ebm_mcmc::{Sgld, StepSize};
use ebm_poe::{Atom, BoxEnergy, ComposeOptions, Experts, Expr, compile};
use ebm_train::buffer::draw_tensor;
use ebm_train::{GaussianMixture, InitDistribution, KMEANS_ROUNDS, RunDir, run_kernel};
use serde::Serialize;

use crate::args::RunArgs;
use crate::attributes::{Attribute, intended_digits};
use crate::conditional_run::load_conditional_run;
use crate::judge::Judge;
use crate::output::{host_images, write_atomic, write_grid, write_npy};

/// Arguments of `ebm compose`.
#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// The folder of expert runs (`--run`, default runs/poe) and the device.
    #[command(flatten)]
    run: RunArgs,
    /// The composition: atoms `digit=k`, `even`, `ge5`, `loop`, `curvy` (or `name=0` for an
    /// attribute's complement), operators `!` (NOT) > `&` (AND) > `|` (OR), parentheses.
    #[arg(long)]
    expr: String,
    /// Samples to draw.
    #[arg(long, default_value_t = 256)]
    n: usize,
    /// Clipped-SGLD steps from uniform noise (or the `--base`).
    #[arg(long, default_value_t = 300)]
    steps: usize,
    /// Start the chains from a mixture of this many diagonal Gaussians fitted by k-means to the
    /// judge's training digits, without labels (`ebm train --base`), instead of uniform noise.
    #[arg(long)]
    base: Option<usize>,
    /// SGLD gradient step.
    #[arg(long, default_value_t = 10.0)]
    step_size: f64,
    /// SGLD noise scale.
    #[arg(long, default_value_t = 0.005)]
    noise: f64,
    /// SGLD per-pixel gradient clamp.
    #[arg(long, default_value_t = 0.03)]
    grad_clip: f64,
    /// Negation strength lambda.
    #[arg(long, default_value_t = 1.0)]
    lambda: f64,
    /// Mixture temperature T.
    #[arg(long, default_value_t = 1.0)]
    temperature: f64,
    /// Take every attribute from the digit expert instead of its own expert: `a` is
    /// `E_S(x) = -logsumexp_{y in S} f_y(x)` with `S` the digits that have `a` (one network,
    /// such as a JEM-trained digit expert, for every atom).
    #[arg(long)]
    from_digit: bool,
    /// Skip sampling each expert alone (the baselines).
    #[arg(long)]
    no_baselines: bool,
    /// Seed of the chains.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// The experts of a folder of runs, loaded on first use.
struct DirExperts {
    dir: PathBuf,
    device: Device,
    nets: RefCell<BTreeMap<String, ConditionalNet>>,
    /// Real images for the negation caps.
    reference: Tensor<4>,
    /// Attributes as label sets of the digit expert (`--from-digit`).
    from_digit: bool,
}

impl DirExperts {
    fn net(&self, name: &str) -> Result<ConditionalNet, String> {
        if let Some(n) = self.nets.borrow().get(name) {
            return Ok(n.clone());
        }
        let run = RunDir::new(self.dir.join(name));
        let (_, net) = load_conditional_run(&run, &self.device).map_err(|e| {
            format!(
                "no `{name}` expert in {} ({e:#}); train it with `ebm train-conditional --target {name} --run {}`",
                self.dir.display(),
                run.root().display()
            )
        })?;
        self.nets.borrow_mut().insert(name.to_string(), net.clone());
        Ok(net)
    }

    /// `E(x, class)` of the expert `name` as an energy named after `atom`.
    fn class(&self, name: &str, class: usize, atom: &Atom) -> Result<BoxEnergy<4>, String> {
        let net = self.net(name)?;
        let energy =
            ClassEnergy::new(net, &[class], atom.to_string()).map_err(|e| e.to_string())?;
        Ok(Box::new(energy))
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
            return self.class("digit", k, atom);
        }
        let attr: Attribute = atom
            .name
            .parse()
            .map_err(|e: anyhow::Error| format!("{e}; or `digit=k`"))?;
        let class = match atom.value.as_deref() {
            None | Some("1") => 1,
            Some("0") => 0,
            Some(v) => {
                return Err(format!(
                    "`{atom}`: an attribute takes `=0` or `=1`, not `={v}`"
                ));
            }
        };
        if self.from_digit {
            let set: Vec<usize> = (0..10u8)
                .filter(|&d| attr.holds(d) == (class == 1))
                .map(usize::from)
                .collect();
            let energy = ClassEnergy::new(self.net("digit")?, &set, atom.to_string())
                .map_err(|e| e.to_string())?;
            return Ok(Box::new(energy));
        }
        self.class(attr.name(), class, atom)
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

/// What every sampling of one `compose` call shares.
struct Session<'a> {
    args: &'a ComposeArgs,
    judge: &'a Judge,
    intended: &'a [u8],
    out: PathBuf,
    device: Device,
    /// Where chains start: uniform noise, or the `--base` mixture.
    init: InitDistribution,
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

impl Session<'_> {
    /// `n` chains of clipped SGLD from uniform noise on `energy`, the grid, the judge's verdict.
    fn sample_and_judge(&self, energy: &dyn Energy<4>, label: &str) -> Result<Outcome> {
        let args = self.args;
        let kernel = Sgld::new(StepSize::Shared(args.step_size), args.noise)?
            .with_grad_clip(args.grad_clip)?
            .with_domain(-1.0, 1.0)?
            .with_energy_at_noised_point();
        let mut rng = SeededRng::new(args.seed);
        let (c, s) = (self.judge.net.channels(), self.judge.net.image_size());
        let start = draw_tensor(&self.init, [args.n, c, s, s], &mut rng, &self.device);
        energy
            .check_input(start.dims())
            .with_context(|| format!("`{label}` does not take {c}x{s}x{s} images"))?;
        let t0 = std::time::Instant::now();
        let (x, _) = run_kernel(&kernel, energy, start, args.steps, &mut rng);
        let seconds = t0.elapsed().as_secs_f64();
        let (values, d) = host_images(x)?;
        if values.iter().any(|v| !v.is_finite()) {
            bail!("sampling `{label}` produced non-finite pixels");
        }
        let verdict = self.judge.judge(&values, d, self.intended, &self.device)?;
        let grid = self.out.join(format!("{}.png", slug(label)));
        let cols = (args.n as f64).sqrt().ceil() as usize;
        write_grid(&grid, &values, d, cols, 2)?;
        write_npy(&grid.with_extension("npy"), &values, &d)?;
        Ok(Outcome {
            expr: label.to_string(),
            in_set: verdict.in_set,
            histogram: verdict.histogram,
            grid,
            seconds,
        })
    }

    /// Each distinct atom of `expr` sampled alone (none when `expr` is a single atom).
    fn experts_alone(
        &self,
        expr: &Expr,
        experts: &DirExperts,
        options: ComposeOptions,
    ) -> Result<Vec<Outcome>> {
        let mut alone = Vec::new();
        let mut seen = Vec::new();
        for atom in expr.atoms() {
            let text = atom.to_string();
            if seen.contains(&text) || *expr == Expr::Atom(atom.clone()) {
                continue;
            }
            seen.push(text.clone());
            let e = compile(&Expr::Atom(atom.clone()), &text, experts, options)?;
            alone.push(self.sample_and_judge(e.as_ref(), &text)?);
        }
        Ok(alone)
    }
}

/// Runs `ebm compose`.
pub fn run(args: ComposeArgs) -> Result<()> {
    let device = args.run.device.device()?;
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    let expr = Expr::parse(&args.expr)?;
    let dir = args.run.existing("runs/poe")?;
    let judge = Judge::load(&RunDir::new(dir.file("judge")), &device)?;
    let experts = DirExperts {
        dir: dir.root().to_path_buf(),
        device: device.clone(),
        nets: RefCell::new(BTreeMap::new()),
        reference: judge.reference.clone(),
        from_digit: args.from_digit,
    };
    let options = ComposeOptions {
        lambda: args.lambda,
        temperature: args.temperature,
    };
    let energy = compile(&expr, &args.expr, &experts, options)?;
    let intended = intended_digits(&expr).context(
        "the expression has an atom that is not label-derived, so the judge cannot score it",
    )?;
    let init = match args.base {
        Some(k) => {
            let train = &judge.train;
            let fit = GaussianMixture::fit_kmeans(
                &train.images,
                train.image_len(),
                k,
                KMEANS_ROUNDS,
                args.seed,
            );
            InitDistribution::Mixture(fit.context("fitting the base of the chains (--base)")?)
        }
        None => InitDistribution::Uniform { lo: -1.0, hi: 1.0 },
    };
    println!(
        "`{expr}`: intended digits {intended:?}; {} chains, {} clipped-SGLD steps from {}; judge accuracy {:.4} on {} held-out images",
        args.n,
        args.steps,
        match &init {
            InitDistribution::Mixture(b) => format!("{b} fitted to the training digits"),
            _ => "uniform noise".to_string(),
        },
        judge.held_out_accuracy,
        judge.test.len()
    );
    let session = Session {
        args: &args,
        judge: &judge,
        intended: &intended,
        out: dir.file("compose"),
        device,
        init,
    };
    let composition = session.sample_and_judge(energy.as_ref(), &expr.to_string())?;
    let alone = if args.no_baselines {
        Vec::new()
    } else {
        session.experts_alone(&expr, &experts, options)?
    };
    let report = Report {
        expr: expr.to_string(),
        chance: intended.len() as f64 / 10.0,
        data_frequency: judge.data_frequency(&intended),
        intended: intended.clone(),
        n: args.n,
        steps: args.steps,
        lambda: args.lambda,
        temperature: args.temperature,
        judge_held_out_accuracy: judge.held_out_accuracy,
        composition,
        experts_alone: alone,
    };
    print_table(&report);
    write_report(&report, &session.out, &args.expr)
}

/// The in-set fractions of the composition, of each expert alone, of chance and of the data.
fn print_table(report: &Report) {
    println!(
        "{:<28} {:>8}   judge's digit histogram 0..9",
        "samples of", "in set"
    );
    let rows = std::iter::once((&report.composition, ""))
        .chain(report.experts_alone.iter().map(|o| (o, " (alone)")));
    for (o, tag) in rows {
        println!(
            "{:<28} {:>8.3}   {:?}  ({:.0}s)",
            format!("{}{tag}", o.expr),
            o.in_set,
            o.histogram,
            o.seconds
        );
    }
    println!("{:<28} {:>8.3}", "chance (|set| / 10)", report.chance);
    println!(
        "{:<28} {:>8.3}",
        "held-out data in set", report.data_frequency
    );
}

/// `<out>/<slug>.json`.
fn write_report(report: &Report, out: &Path, expr: &str) -> Result<()> {
    let json = out.join(format!("{}.json", slug(expr)));
    let text = serde_json::to_string_pretty(report)?;
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
