//! NOT: `E(x) = E_a(x) - lambda * E_b(x)`, with a cap on `E_b` that keeps the result proper.

use burn::tensor::Tensor;
use ebm_core::{Energy, EnergyError};

use crate::broadcast::{per_item, sigmoid, softplus};
use crate::error::PoeError;

/// "`a` and not `b`": the base `E_a` with the negated expert `E_b` subtracted,
/// `p(x) ∝ p_a(x) / p_b(x)^lambda` (Du, Li and Mordatch 2020).
///
/// # Why a guard, and which one
///
/// The raw form `E_a - lambda E_b` is not a normalisable density for every `lambda`: where `b`
/// is very unlikely, `E_b -> +inf` and `-lambda E_b -> -inf` rewards running away from `b`
/// without bound. Two Gaussians show it: `E_a - lambda E_b` has precision
/// `S_a^{-1} - lambda S_b^{-1}`, which is not positive definite once `lambda` is large enough,
/// and then `Z = inf` and a sampler drifts off to infinity (the 2-D test shows the quadrature
/// mass leaving any box).
///
/// So the negated energy is **capped above** at `c` with a smooth minimum:
///
/// ```text
/// E(x)   = E_a(x) - lambda * softmin_c(E_b(x)),    softmin_c(e) = c - softplus(c - e) <= min(e, c)
/// dE/dx  = dE_a/dx - lambda * sigmoid(c - E_b(x)) * dE_b/dx
/// ```
///
/// Since `softmin_c <= c`, `E(x) >= E_a(x) - lambda c`, hence `exp(-E) <= e^{lambda c} exp(-E_a)`
/// and `Z <= e^{lambda c} Z_a`: **the negation is proper for every `lambda >= 0` whenever the base
/// is**. Where `x` looks like `b` (`E_b << c`) the full penalty `lambda (c - E_b)` applies; where
/// it does not (`E_b >> c`) the negated term is flat and the base alone decides, so being
/// "extremely unlike `b`" earns nothing and sampling stays on the base's support. For the same
/// reason the gradient of the negated term vanishes there (`sigmoid(c - E_b) -> 0`), so a
/// Langevin sampler is never pushed away from `b` further than the cap. `c` is a level of `E_b`:
/// the app takes the median of `E_b` over real data, so only inputs more `b`-like than a typical
/// datum are penalised. On images, samplers also clamp pixels to `[-1, 1]`, a compact domain on
/// which any bounded energy is proper; the cap is what makes the guarantee hold on `R^d` too.
#[derive(Debug, Clone)]
pub struct Negation<A, B> {
    base: A,
    negated: B,
    lambda: f64,
    cap: f64,
}

impl<A, B> Negation<A, B> {
    /// `E_a - lambda softmin_cap(E_b)` with `lambda >= 0` and a finite `cap`.
    pub fn new(base: A, negated: B, lambda: f64, cap: f64) -> Result<Self, PoeError> {
        if !(lambda.is_finite() && lambda >= 0.0) {
            return Err(PoeError::invalid(
                "Negation",
                "lambda",
                format!("must be finite and >= 0, got {lambda}"),
            ));
        }
        if !cap.is_finite() {
            return Err(PoeError::invalid(
                "Negation",
                "cap",
                format!("must be finite (an infinite cap removes the guard), got {cap}"),
            ));
        }
        Ok(Self {
            base,
            negated,
            lambda,
            cap,
        })
    }

    /// The negation strength `lambda`.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The cap `c` on the negated energy.
    pub fn cap(&self) -> f64 {
        self.cap
    }

    /// The upper bound `log Z <= log Z_a + lambda c` that the guard guarantees.
    pub fn log_z_bound(&self, base_log_z: f64) -> f64 {
        base_log_z + self.lambda * self.cap
    }

    /// The base energy `E_a`.
    pub fn base(&self) -> &A {
        &self.base
    }

    /// The negated energy `E_b`.
    pub fn negated(&self) -> &B {
        &self.negated
    }
}

/// `softmin_c(e) = c - softplus(c - e)`.
fn softmin(e: Tensor<1>, cap: f64) -> Tensor<1> {
    softplus(e.neg() + cap).neg() + cap
}

impl<const D: usize, A: Energy<D>, B: Energy<D>> Energy<D> for Negation<A, B> {
    fn energy(&self, x: Tensor<D>) -> Tensor<1> {
        self.base.energy(x.clone()) - softmin(self.negated.energy(x), self.cap) * self.lambda
    }

    fn name(&self) -> String {
        format!("({} & !{})", self.base.name(), self.negated.name())
    }

    fn check_input(&self, dims: [usize; D]) -> Result<(), EnergyError> {
        self.base.check_input(dims)?;
        self.negated.check_input(dims)
    }

    fn energy_and_grad(&self, x: Tensor<D>) -> (Tensor<1>, Tensor<D>) {
        let x = x.inner();
        let dims = x.dims();
        let (ea, ga) = self.base.energy_and_grad(x.clone());
        let (eb, gb) = self.negated.energy_and_grad(x);
        let slope = sigmoid(eb.clone().neg() + self.cap) * self.lambda;
        let e = ea - softmin(eb, self.cap) * self.lambda;
        (e, ga - gb * per_item(slope, dims))
    }
}
