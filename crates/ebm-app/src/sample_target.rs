//! `ebm sample-target`: run one MCMC kernel on an analytic benchmark target and report how well
//! it mixed.
//!
//! Targets (`--target NAME[:d=D]`):
//!
//! | spec | energy | default `d` |
//! |---|---|---|
//! | `gauss[:d=D]` | standard normal `N(0, I_d)` ([`DiagGaussian::standard`]) | 100 |
//! | `illcond[:d=D]` | `N(0, diag(v))`, `v` log-spaced from 0.1 to 10 ([`DiagGaussian::log_spaced`]) | 100 |
//! | `mixture[:d=D]` | equal-weight mixture of `N(-3 e_1, I)` and `N(3 e_1, I)` ([`GaussianMixture::two_modes`], offset 3) | 2 |
//! | `banana[:d=D]` | Haario's twisted Gaussian with curvature `b = 0.1` ([`Banana`]) | 2 |
//! | `funnel[:d=D]` | Neal's funnel ([`Funnel`]) | 10 |
//! | `logreg` | Bayesian logistic regression on ADBench's thyroid table ([`LogisticRegression`], below) | 7 |
//!
//! `logreg` is the posterior of the coefficients (intercept and 6 weights) of a logistic
//! regression of `y` on the features of `datasets/adbench/38_thyroid.npz` (3,772 rows; `--data`
//! reads another `.npz` with `X` and `y`), each feature standardised to mean 0 and sd 1, under the
//! prior `N(0, 2.5^2 I)` (the scale Gelman et al. 2008 recommend for standardised inputs; weak
//! for a coefficient of order 1, and it keeps the posterior proper if the classes separate).
//!
//! The kernel (`--sampler`) is an `ebm-mcmc` [`KernelSpec`] word: `rwm`, `mala`, `hmc`, `nuts` or `ula`
//! (or `sgld`), optionally with parameters such as `hmc:eps=0.05,leapfrog=20`; `--step-size`
//! and `--leapfrog` override them. Chains start at standard-normal draws. RWM, MALA and HMC
//! adapt their step size during the warm-up by dual averaging (shared over chains) to the
//! kernel's target acceptance (0.234, 0.574, 0.65, NUTS 0.8), starting from the given step size;
//! ULA has no accept/reject step, so it keeps its step size throughout. With `--adapt diag` or
//! `--adapt dense` (MALA, HMC, NUTS) the warm-up also estimates a diagonal or dense inverse mass
//! matrix in Stan's windows (`ebm_mcmc::warmup`), pooled over chains, or with `--per-chain` one
//! step size and one diagonal per chain from its own draws. The draws are written as `.npy`
//! `f32` of shape `[chains, draws, dims]`; the report gives the mean acceptance probability, the
//! minimum and median bulk ESS over coordinates, the largest rank-normalised split R-hat, the ESS
//! per second (minimum bulk ESS over the wall time of the sampling phase, warm-up excluded) and,
//! for HMC and NUTS, the number of divergent transitions during sampling and the leapfrog steps
//! (gradient evaluations) per chain and transition, with the ESS per gradient evaluation.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use ebm_core::burn::tensor::Device;
use ebm_core::{
    Banana, DiagGaussian, Energy, Funnel, GaussianMixture, LogisticRegression, SeededRng,
    device_from_word,
};
use ebm_data::read_npz;
use ebm_mcmc::{
    AdaptConfig, AdaptScope, Kernel, KernelSpec, MassAdapt, Phase, RunConfig, RunOutput, run,
};

use crate::output::write_npy;

/// The benchmark targets of `ebm sample-target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// Standard normal.
    Gauss,
    /// Diagonal Gaussian with variances log-spaced from 0.1 to 10.
    IllCond,
    /// Two unit-variance modes at `-3 e_1` and `+3 e_1`.
    Mixture,
    /// Haario's banana with `b = 0.1`.
    Banana,
    /// Neal's funnel.
    Funnel,
    /// Bayesian logistic regression on a real table.
    LogReg,
}

impl TargetKind {
    const ALL: [TargetKind; 6] = [
        TargetKind::Gauss,
        TargetKind::IllCond,
        TargetKind::Mixture,
        TargetKind::Banana,
        TargetKind::Funnel,
        TargetKind::LogReg,
    ];

    /// The name used in specs.
    pub fn word(self) -> &'static str {
        match self {
            TargetKind::Gauss => "gauss",
            TargetKind::IllCond => "illcond",
            TargetKind::Mixture => "mixture",
            TargetKind::Banana => "banana",
            TargetKind::Funnel => "funnel",
            TargetKind::LogReg => "logreg",
        }
    }

    /// The dimension used when the spec gives none.
    pub fn default_dim(self) -> usize {
        match self {
            TargetKind::Gauss | TargetKind::IllCond => 100,
            TargetKind::Mixture | TargetKind::Banana => 2,
            TargetKind::Funnel => 10,
            TargetKind::LogReg => LOGREG_DIM,
        }
    }

    /// The smallest dimension the target accepts.
    fn min_dim(self) -> usize {
        match self {
            TargetKind::Banana | TargetKind::Funnel | TargetKind::LogReg => 2,
            _ => 1,
        }
    }
}

/// The offset of the mixture's modes along the first axis.
pub const MIXTURE_OFFSET: f64 = 3.0;
/// The curvature of the banana.
pub const BANANA_B: f64 = 0.1;
/// The coefficients of `logreg` on the thyroid table: intercept and 6 weights.
pub const LOGREG_DIM: usize = 7;
/// The prior sd of the logistic-regression coefficients.
pub const LOGREG_PRIOR_SD: f64 = 2.5;

/// The table `logreg` reads by default: the repository's ADBench thyroid set.
pub fn default_logreg_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/adbench/38_thyroid.npz")
}

/// The logistic-regression posterior for the `.npz` at `path` (`X` `[n, d]`, `y` `[n]` of 0/1),
/// features standardised column by column (a constant column is only centred).
pub fn logreg_energy(path: &Path, device: &Device) -> Result<LogisticRegression> {
    let archive = read_npz(path)?;
    let (x, y) = (archive.get("X")?, archive.get("y")?);
    let [n, d] = x.shape[..] else {
        bail!(
            "{}: X has shape {:?}, expected [n, d]",
            path.display(),
            x.shape
        );
    };
    if y.data.len() != n {
        bail!("{}: {} labels for {n} rows", path.display(), y.data.len());
    }
    let mut features = x.data.clone();
    for j in 0..d {
        let col = || (0..n).map(|i| x.data[i * d + j]);
        let mean = col().sum::<f64>() / n as f64;
        let var = col().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        let sd = if var > 0.0 { var.sqrt() } else { 1.0 };
        for i in 0..n {
            features[i * d + j] = (x.data[i * d + j] - mean) / sd;
        }
    }
    LogisticRegression::new(&features, &y.data, n, LOGREG_PRIOR_SD, device)
        .with_context(|| format!("building the regression on {}", path.display()))
}

/// A parsed `--target` spec: `NAME[:d=D]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetSpec {
    /// Which target.
    pub kind: TargetKind,
    /// Its dimension.
    pub d: usize,
}

impl FromStr for TargetSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (name, options) = match s.split_once(':') {
            Some((name, options)) => (name.trim(), Some(options)),
            None => (s, None),
        };
        let names: Vec<&str> = TargetKind::ALL.iter().map(|k| k.word()).collect();
        let kind = TargetKind::ALL
            .into_iter()
            .find(|k| k.word().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!(
                    "unknown target `{name}` in `{s}`; expected one of {}",
                    names.join(", ")
                )
            })?;
        let mut d = None;
        if let Some(options) = options {
            for option in options.split(',') {
                let option = option.trim();
                let (key, value) = option.split_once('=').ok_or_else(|| {
                    format!("bad option `{option}` in `{s}`: expected `key=value`, such as `d=10`")
                })?;
                match key.trim() {
                    "d" => {
                        if d.is_some() {
                            return Err(format!("`d=` given twice in `{s}`"));
                        }
                        let value = value.trim();
                        let parsed: usize = value.parse().map_err(|_| {
                            format!("bad `d={value}` in `{s}`: expected a positive integer")
                        })?;
                        if parsed < kind.min_dim() {
                            return Err(format!(
                                "bad `d={value}` in `{s}`: {} needs d >= {}",
                                kind.word(),
                                kind.min_dim()
                            ));
                        }
                        d = Some(parsed);
                    }
                    other => {
                        return Err(format!(
                            "unknown option `{other}` in `{s}`; the only option is `d=` (the dimension)"
                        ));
                    }
                }
            }
        }
        Ok(TargetSpec {
            kind,
            d: d.unwrap_or(kind.default_dim()),
        })
    }
}

impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:d={}", self.kind.word(), self.d)
    }
}

impl TargetSpec {
    /// Builds the energy on `device` (`data`: the table of `logreg`, the repository's by
    /// default).
    pub fn build(&self, device: &Device, data: Option<&Path>) -> Result<Box<dyn Energy<2>>> {
        let d = self.d;
        let energy: Box<dyn Energy<2>> = match self.kind {
            TargetKind::Gauss => Box::new(DiagGaussian::standard(d, device)?),
            TargetKind::IllCond => Box::new(DiagGaussian::log_spaced(d, 0.1, 10.0, device)?),
            TargetKind::Mixture => Box::new(GaussianMixture::two_modes(d, MIXTURE_OFFSET, device)?),
            TargetKind::Banana => Box::new(Banana::new(d, BANANA_B, device)?),
            TargetKind::Funnel => Box::new(Funnel::new(d, device)?),
            TargetKind::LogReg => {
                let path = data.map_or_else(default_logreg_data, Path::to_path_buf);
                let energy = logreg_energy(&path, device)?;
                if energy.dim() != d {
                    bail!(
                        "{}: {} coefficients, the spec says d = {d}",
                        path.display(),
                        energy.dim()
                    );
                }
                Box::new(energy)
            }
        };
        Ok(energy)
    }
}

/// Arguments of `ebm sample-target`.
#[derive(Debug, Args)]
pub struct SampleTargetArgs {
    /// Target: gauss, illcond, mixture, banana, funnel or logreg, optionally with a dimension,
    /// e.g. `gauss:d=100` (defaults: d=100 for gauss and illcond, 2 for mixture and banana, 10 for
    /// funnel, 7 for logreg: the thyroid table's intercept and 6 weights).
    #[arg(long)]
    pub target: TargetSpec,
    /// The kernel: rwm (adapted to acceptance 0.234), mala (0.574), hmc (0.65), nuts (0.8) or
    /// ula (biased; fixed step size, no adaptation), optionally with parameters, e.g.
    /// `mala:eps=0.05`, `hmc:eps=0.2,leapfrog=20,jitter=0.5` or `nuts:max_depth=8`.
    #[arg(long)]
    pub sampler: String,
    /// Number of chains, run as one batch.
    #[arg(long, default_value_t = 1024)]
    pub chains: usize,
    /// Warm-up steps (step-size adaptation for rwm, mala, hmc), discarded.
    #[arg(long, default_value_t = 500)]
    pub warmup: usize,
    /// Draws kept per chain.
    #[arg(long, default_value_t = 1000)]
    pub draws: usize,
    /// Steps per kept draw.
    #[arg(long, default_value_t = 1)]
    pub thin: usize,
    /// Initial step size (the adaptation's starting point; ULA's fixed step size). Default: 1 /
    /// sqrt(d) for rwm, 0.1 for mala and hmc, 0.01 for ula.
    #[arg(long)]
    pub step_size: Option<f64>,
    /// Leapfrog steps per HMC step (default 10; ignored by other kernels).
    #[arg(long)]
    pub leapfrog: Option<usize>,
    /// The inverse mass matrix estimated in Stan's warm-up windows (mala, hmc, nuts): none
    /// (identity), diag or dense.
    #[arg(long, value_enum, default_value_t = AdaptArg::None)]
    pub adapt: AdaptArg,
    /// Adapt every chain on its own: its own step size and (with `--adapt diag`) its own
    /// diagonal mass from its own warm-up draws; by default all chains share both.
    #[arg(long)]
    pub per_chain: bool,
    /// Seed of all randomness (initial positions, proposals, acceptance).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The `.npz` table of `--target logreg` (`X`, `y`); default: the repository's
    /// `datasets/adbench/38_thyroid.npz`.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Device: cpu, wgpu, vulkan or cuda.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Output `.npy` file for the draws, shape `[chains, draws, dims]`.
    #[arg(long)]
    pub out: PathBuf,
}

/// `--adapt`: which inverse mass matrix warm-up estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AdaptArg {
    /// The identity (step size only).
    None,
    /// Diagonal.
    Diag,
    /// Dense.
    Dense,
}

impl AdaptArg {
    fn mass(self) -> MassAdapt {
        match self {
            AdaptArg::None => MassAdapt::None,
            AdaptArg::Diag => MassAdapt::Diag,
            AdaptArg::Dense => MassAdapt::Dense,
        }
    }
}

/// What a run measured, for the report.
struct Measured {
    output: RunOutput<2>,
    sampling_seconds: f64,
}

/// Runs `kernel` with timing of the sampling phase alone.
fn timed_run<K: Kernel<2>>(
    energy: &dyn Energy<2>,
    mut kernel: K,
    args: &SampleTargetArgs,
    rng: &mut SeededRng,
    device: &Device,
) -> Result<Measured> {
    let adapt = kernel.target_accept().map(|_| {
        let mut adapt = AdaptConfig::shared(args.adapt.mass());
        if args.per_chain {
            adapt.scope = AdaptScope::PerChain;
        }
        adapt
    });
    let config = RunConfig {
        warmup: args.warmup,
        draws: args.draws,
        thin: args.thin,
        adapt,
        diagnostics: true,
    };
    let init = rng.normal([args.chains, args.target.d], device);
    let mut sampling_start = Instant::now();
    let mut sampling_end = None;
    let output = run(energy, &mut kernel, init, &config, rng, |p| match p.phase {
        Phase::WarmUp if p.step == p.steps => sampling_start = Instant::now(),
        Phase::Sampling if p.step == p.steps => sampling_end = Some(Instant::now()),
        _ => {}
    })
    .with_context(|| format!("running {} on {}", kernel.name(), args.target))?;
    let sampling_seconds = sampling_end
        .map(|end| end.duration_since(sampling_start).as_secs_f64())
        .unwrap_or(0.0);
    Ok(Measured {
        output,
        sampling_seconds,
    })
}

/// The kernel of `--sampler` with `--step-size` and `--leapfrog` applied; a bare `rwm` starts
/// at `sigma = 1 / sqrt(d)`.
fn sampler_spec(args: &SampleTargetArgs) -> Result<KernelSpec> {
    let mut spec = KernelSpec::parse(&args.sampler, args.target.d)
        .with_context(|| format!("reading --sampler `{}`", args.sampler))?;
    if let Some(h) = args.step_size {
        spec = spec.with_step_size(h);
    }
    if let Some(n) = args.leapfrog {
        spec = spec.with_leapfrog(n);
    }
    Ok(spec)
}

/// Runs `ebm sample-target`: samples, writes the draws, prints the report.
pub fn run_sample_target(args: SampleTargetArgs) -> Result<()> {
    if args.chains == 0 || args.draws == 0 || args.thin == 0 {
        bail!("--chains, --draws and --thin must be at least 1");
    }
    if args.leapfrog == Some(0) {
        bail!("--leapfrog must be at least 1");
    }
    if let Some(h) = args.step_size
        && !(h.is_finite() && h > 0.0)
    {
        bail!("--step-size must be finite and positive, got {h}");
    }
    let spec = sampler_spec(&args)?;
    let kernel = spec
        .build()
        .with_context(|| format!("building the sampler {spec}"))?;
    let device = device_from_word(&args.device)
        .with_context(|| format!("choosing the device `{}`", args.device))?;
    let energy = args
        .target
        .build(&device, args.data.as_deref())
        .with_context(|| format!("building the target {}", args.target))?;
    let mut rng = SeededRng::new(args.seed);
    let measured = timed_run(&*energy, kernel, &args, &mut rng, &device)?;
    let out = &measured.output;
    write_npy(&args.out, &out.draws, &out.shape)
        .with_context(|| format!("writing the draws to {}", args.out.display()))?;
    print_report(&args, &measured);
    Ok(())
}

/// The report on stdout.
fn print_report(args: &SampleTargetArgs, measured: &Measured) {
    let out = &measured.output;
    let report = &out.report;
    let accept = report.accept_prob.iter().sum::<f64>() / report.accept_prob.len().max(1) as f64;
    let ess_per_second = if measured.sampling_seconds > 0.0 {
        report.min_ess_bulk / measured.sampling_seconds
    } else {
        f64::NAN
    };
    println!(
        "target {} sampler {} chains {} warmup {} draws {} thin {}",
        args.target, report.kernel, args.chains, args.warmup, args.draws, args.thin
    );
    println!("step size        {:.6}", report.step_size.mean());
    println!("acceptance (mean) {accept:.4}");
    if let Some(divergent) = report.total_divergences() {
        let transitions = args.chains * args.draws * args.thin;
        println!(
            "divergences      {divergent} of {transitions} transitions ({:.2}%)",
            100.0 * divergent as f64 / transitions.max(1) as f64
        );
    }
    if let Some(steps) = &report.leapfrog_steps {
        let total: f64 = steps.iter().sum();
        let transitions = (args.chains * args.draws * args.thin).max(1) as f64;
        println!("leapfrog / step  {:.2}", total / transitions);
        println!(
            "ESS/grad         {:.3e}",
            report.min_ess_bulk / total.max(1.0)
        );
    }
    println!("bulk ESS min     {:.1}", report.min_ess_bulk);
    println!("bulk ESS median  {:.1}", report.median_ess_bulk);
    println!("R-hat max        {:.4}", report.max_rhat);
    println!("sampling time    {:.3} s", measured.sampling_seconds);
    println!("ESS/s (min bulk) {ess_per_second:.1}");
    println!("draws            {} {:?}", args.out.display(), out.shape);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_defaults_and_errors_name_the_problem() {
        let p = |s: &str| s.parse::<TargetSpec>();
        assert_eq!(
            p("gauss:d=100").unwrap(),
            TargetSpec {
                kind: TargetKind::Gauss,
                d: 100
            }
        );
        assert_eq!(p("illcond").unwrap().d, 100);
        assert_eq!(p("mixture").unwrap().d, 2);
        assert_eq!(p("banana").unwrap().d, 2);
        assert_eq!(p("funnel:d=10").unwrap().d, 10);
        assert_eq!(p("Funnel: d = 5").unwrap().d, 5);
        assert!(p("gausss").unwrap_err().contains("unknown target `gausss`"));
        assert!(p("gauss:d=abc").unwrap_err().contains("bad `d=abc`"));
        assert!(p("gauss:d=0").unwrap_err().contains("bad `d=0`"));
        assert!(p("banana:d=1").unwrap_err().contains("needs d >= 2"));
        assert!(p("gauss:x=3").unwrap_err().contains("unknown option `x`"));
        assert!(p("gauss:d").unwrap_err().contains("key=value"));
        assert!(p("gauss:d=2,d=3").unwrap_err().contains("twice"));
        for kind in TargetKind::ALL {
            let spec = p(kind.word()).unwrap();
            assert_eq!(p(&spec.to_string()).unwrap(), spec);
            let energy = spec.build(&Device::flex(), None).unwrap();
            assert!(energy.check_input([3, spec.d]).is_ok());
        }
    }
}
