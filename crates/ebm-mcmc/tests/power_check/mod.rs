//! The moment check with power of `power.rs` (its module docs derive the tolerance), shared with
//! the NUTS and mass-matrix tests.
#![allow(dead_code)]

use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::{DiagGaussian, SeededRng};
use ebm_mcmc::Kernel;

pub const MU: [f64; 4] = [1.0, -1.0, 0.5, 0.0];
pub const VAR: [f64; 4] = [0.5, 1.0, 1.5, 2.0];
/// The pass threshold on `|z|` (two-sided false-alarm rate 6.8e-6 per statistic).
pub const Z: f64 = 4.5;

/// What the check expects the chains' law to be.
#[derive(Debug, Clone, Copy)]
pub enum Law {
    /// The target, once the start is forgotten.
    Target,
    /// ULA's exact AR(1) law at this step size, from the start on.
    Ula(f64),
}

/// Chains, burn-in steps, draws per chain.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub chains: usize,
    pub burn_in: usize,
    pub draws: usize,
}

/// One checked average.
#[derive(Debug)]
pub struct Stat {
    what: String,
    estimate: f64,
    expected: f64,
    se: f64,
}

impl Stat {
    fn z(&self) -> f64 {
        (self.estimate - self.expected) / self.se
    }
}

/// What the check saw.
#[derive(Debug)]
pub struct Verdict {
    stats: Vec<Stat>,
    /// The lag-1 autocorrelation of `y`, per coordinate.
    rho1: Vec<f64>,
    /// For the target law: the bound `3.25 |rho_1|^B / se` on the burn-in bias in standard errors,
    /// worst over the coordinates.
    burn_in_bias_in_se: Option<f64>,
}

impl Verdict {
    pub fn worst_z(&self) -> f64 {
        self.stats.iter().map(|s| s.z().abs()).fold(0.0, |a, b| {
            if b.is_nan() { f64::INFINITY } else { a.max(b) }
        })
    }

    pub fn passes(&self) -> bool {
        self.worst_z() < Z && self.burn_in_bias_in_se.is_none_or(|b| b < 0.1)
    }

    pub fn print(&self, label: &str) {
        for s in &self.stats {
            eprintln!(
                "{label} {}: {:.5} vs {:.5}, se {:.5}, z {:+.2}",
                s.what,
                s.estimate,
                s.expected,
                s.se,
                s.z()
            );
        }
        eprintln!(
            "{label}: worst |z| {:.2}, rho1 {:?}, burn-in bias bound {:?} se",
            self.worst_z(),
            self.rho1,
            self.burn_in_bias_in_se
        );
    }
}

/// The expected per-chain averages of `y` and `y^2` for coordinate `j` over steps
/// `B + 1 ..= B + T`.
fn expected(law: Law, j: usize, plan: &Plan) -> (f64, f64) {
    match law {
        Law::Target => (0.0, 1.0),
        Law::Ula(eps) => {
            let s2 = VAR[j];
            let a = 1.0 - eps / s2;
            let r = 1.0 / (1.0 - eps / (2.0 * s2));
            let steps = plan.burn_in + 1..=plan.burn_in + plan.draws;
            let t = plan.draws as f64;
            let m1 = steps.clone().map(|k| 2.0 * a.powi(k as i32)).sum::<f64>() / t;
            let m2 = steps
                .map(|k| r + a.powi(2 * k as i32) * (0.25 - r + 4.0))
                .sum::<f64>()
                / t;
            (m1, m2)
        }
    }
}

fn host(t: Tensor<2>) -> Vec<f64> {
    t.into_data()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// Mean and standard error of iid values.
fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Runs `kernel` as the module docs describe and checks the averages against `law`.
pub fn moment_check<K: Kernel<2>>(kernel: &K, law: Law, plan: Plan, seed: u64) -> Verdict {
    let device = Device::flex();
    let target = DiagGaussian::new(&MU, &VAR, &device).unwrap();
    let (n, d) = (plan.chains, MU.len());
    let row = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [1, d]), &device);
    let mu = row(MU.iter().map(|&m| m as f32).collect());
    let sd = row(VAR.iter().map(|&v| v.sqrt() as f32).collect());
    let standard = |x: Tensor<2>| (x - mu.clone()) / sd.clone();
    let mut rng = SeededRng::new(seed);
    let y0 = rng.normal([n, d], &device).mul_scalar(0.5).add_scalar(2.0);
    let mut state = kernel.init(&target, y0 * sd.clone() + mu.clone());
    for _ in 0..plan.burn_in {
        state = kernel.step(&target, state, &mut rng).0;
    }
    let mut prev = standard(state.position.clone());
    let zeros = Tensor::<2>::zeros([n, d], &device);
    let (mut s1, mut s2, mut s11) = (zeros.clone(), zeros.clone(), zeros);
    for _ in 0..plan.draws {
        state = kernel.step(&target, state, &mut rng).0;
        let y = standard(state.position.clone());
        s1 = s1 + y.clone();
        s2 = s2 + y.clone().powi_scalar(2);
        s11 = s11 + y.clone() * prev;
        prev = y;
    }
    let (s1, s2, s11) = (host(s1), host(s2), host(s11));
    let t = plan.draws as f64;
    let mut stats = Vec::new();
    let mut rho1 = Vec::new();
    let mut worst_bias: f64 = 0.0;
    for j in 0..d {
        let col = |s: &[f64]| (0..n).map(|c| s[c * d + j] / t).collect::<Vec<_>>();
        let (m1, se1) = mean_se(&col(&s1));
        let (m2, se2) = mean_se(&col(&s2));
        let (lag1, _) = mean_se(&col(&s11));
        let rho = (lag1 - m1 * m1) / (m2 - m1 * m1);
        let (e1, e2) = expected(law, j, &plan);
        stats.push(Stat {
            what: format!("E[y{j}]"),
            estimate: m1,
            expected: e1,
            se: se1,
        });
        stats.push(Stat {
            what: format!("E[y{j}^2]"),
            estimate: m2,
            expected: e2,
            se: se2,
        });
        rho1.push(rho);
        let bound = 3.25 * rho.abs().min(1.0).powi(plan.burn_in as i32) / se1.min(se2);
        worst_bias = worst_bias.max(if bound.is_nan() { f64::INFINITY } else { bound });
    }
    Verdict {
        stats,
        rho1,
        burn_in_bias_in_se: matches!(law, Law::Target).then_some(worst_bias),
    }
}

/// Asserts that the check passes `kernel` and rejects every wrong one.
pub fn assert_power<K: Kernel<2>>(
    label: &str,
    kernel: &K,
    law: Law,
    plan: Plan,
    wrong: &[(&str, &dyn Fn(u64) -> Verdict)],
) {
    let v = moment_check(kernel, law, plan, 1);
    v.print(label);
    assert!(v.passes(), "{label}: the correct kernel fails: {v:?}");
    for (i, (what, run)) in wrong.iter().enumerate() {
        let v = run(2 + i as u64);
        v.print(what);
        assert!(!v.passes(), "{what} went unnoticed: {v:?}");
    }
}
