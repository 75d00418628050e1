//! OR: the mixture, `E(x) = -T logsumexp_i(-E_i(x) / T + log w_i)`.

use burn::tensor::Tensor;
use burn::tensor::TensorData;
use burn::tensor::activation::softmax;
use ebm_core::{Energy, EnergyError};

use crate::broadcast::{log_sum_exp_rows, per_item, stack_columns};
use crate::error::PoeError;

/// The disjunction of energies, a soft minimum at temperature `T > 0`:
///
/// ```text
/// E(x) = -T log sum_i w_i exp(-E_i(x) / T)
/// dE/dx = sum_i r_i(x) dE_i/dx,        r_i(x) = softmax_i(-E_i(x) / T + log w_i)
/// ```
///
/// with weights `w_i > 0` normalised to sum to 1. An input is likely if *any* component finds
/// it likely.
///
/// * `T = 1`: `exp(-E) = sum_i w_i exp(-E_i)`, the mixture. If every `E_i` is normalised
///   (`E_i = -log p_i`) the result is exactly `p = sum_i w_i p_i` with `log Z = 0`; in general
///   `Z = sum_i w_i Z_i` ([`Energy::log_z`] returns it when every component knows its own).
///   [`Mixture::normalised`] divides each weight by the component's `Z_i`, which makes the
///   mixture of the normalised components out of unnormalised energies.
/// * `T -> 0`: `E -> min_i E_i` (hard OR); large `T` averages the energies instead and flattens
///   the modes of the sum (`E ≈ sum_i w_i E_i - T H(w)` once `|E_i| << T`). The temperature
///   only reshapes how components are combined; it does not temper the components themselves.
///
/// Nested and boxed components work as for [`crate::Product`].
#[derive(Debug, Clone)]
pub struct Mixture<E> {
    components: Vec<E>,
    log_weights: Vec<f64>,
    temperature: f64,
}

impl<E> Mixture<E> {
    /// The equal-weight mixture at `T = 1`.
    pub fn new(components: Vec<E>) -> Result<Self, PoeError> {
        let k = components.len();
        Self::weighted(components, &vec![1.0; k], 1.0)
    }

    /// Components with weights `w_i > 0` (normalised here) at temperature `T > 0`.
    pub fn weighted(
        components: Vec<E>,
        weights: &[f64],
        temperature: f64,
    ) -> Result<Self, PoeError> {
        if components.is_empty() {
            return Err(PoeError::invalid(
                "Mixture",
                "components",
                "needs at least one component",
            ));
        }
        if weights.len() != components.len() {
            return Err(PoeError::invalid(
                "Mixture",
                "weights",
                format!(
                    "{} weights for {} components",
                    weights.len(),
                    components.len()
                ),
            ));
        }
        if let Some((i, w)) = weights
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w > 0.0))
        {
            return Err(PoeError::invalid(
                "Mixture",
                format!("weights[{i}]"),
                format!("must be finite and > 0, got {w}"),
            ));
        }
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(PoeError::invalid(
                "Mixture",
                "temperature",
                format!("must be finite and > 0, got {temperature}"),
            ));
        }
        let total: f64 = weights.iter().sum();
        Ok(Self {
            components,
            log_weights: weights.iter().map(|w| (w / total).ln()).collect(),
            temperature,
        })
    }

    /// The effective weights `w_i` (summing to 1, or `w_i / Z_i` for [`Mixture::normalised`]).
    pub fn weights(&self) -> Vec<f64> {
        self.log_weights.iter().map(|l| l.exp()).collect()
    }

    /// The temperature `T`.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    /// The components.
    pub fn components(&self) -> &[E] {
        &self.components
    }
}

impl<E> Mixture<E> {
    /// The mixture `p = sum_i w_i p_i` of the *normalised* components `p_i = exp(-E_i) / Z_i`
    /// at `T = 1`, built with weights `w_i / Z_i`; its `log Z` is 0. Fails unless every component
    /// knows its `log Z` ([`Energy::log_z`]).
    pub fn normalised<const D: usize>(components: Vec<E>, weights: &[f64]) -> Result<Self, PoeError>
    where
        E: Energy<D>,
    {
        let mut log_z = Vec::with_capacity(components.len());
        for (i, c) in components.iter().enumerate() {
            log_z.push(c.log_z().ok_or_else(|| {
                PoeError::invalid(
                    "Mixture::normalised",
                    format!("components[{i}]"),
                    format!("{} has no closed-form log Z", c.name()),
                )
            })?);
        }
        let mut m = Self::weighted(components, weights, 1.0)?;
        // log w'_i = log(w_i / sum w) - log Z_i, so that sum_i w'_i Z_i = 1.
        for (lw, z) in m.log_weights.iter_mut().zip(log_z) {
            *lw -= z;
        }
        Ok(m)
    }

    fn log_weight_row(&self, device: &burn::tensor::Device) -> Tensor<2> {
        let v: Vec<f32> = self.log_weights.iter().map(|&l| l as f32).collect();
        Tensor::from_data(TensorData::new(v, [1, self.log_weights.len()]), device)
    }
}

impl<const D: usize, E: Energy<D>> Energy<D> for Mixture<E> {
    fn energy(&self, x: Tensor<D>) -> Tensor<1> {
        let t = self.temperature;
        let device = x.device();
        let e = stack_columns(
            self.components
                .iter()
                .map(|c| c.energy(x.clone()))
                .collect(),
        );
        log_sum_exp_rows(e / (-t) + self.log_weight_row(&device)) * (-t)
    }

    fn name(&self) -> String {
        let parts: Vec<String> = self.components.iter().map(|c| c.name()).collect();
        format!("({})", parts.join(" | "))
    }

    fn check_input(&self, dims: [usize; D]) -> Result<(), EnergyError> {
        self.components.iter().try_for_each(|c| c.check_input(dims))
    }

    /// `log Z = log sum_i w_i Z_i` at `T = 1` when every component knows `log Z_i`; else `None`.
    fn log_z(&self) -> Option<f64> {
        if self.temperature != 1.0 {
            return None;
        }
        let terms: Option<Vec<f64>> = self
            .components
            .iter()
            .zip(&self.log_weights)
            .map(|(c, lw)| c.log_z().map(|z| z + lw))
            .collect();
        let terms = terms?;
        let m = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln())
    }

    fn energy_and_grad(&self, x: Tensor<D>) -> (Tensor<1>, Tensor<D>) {
        let x = x.inner();
        let dims = x.dims();
        let device = x.device();
        let t = self.temperature;
        let (es, gs): (Vec<Tensor<1>>, Vec<Tensor<D>>) = self
            .components
            .iter()
            .map(|c| c.energy_and_grad(x.clone()))
            .unzip();
        let a = stack_columns(es) / (-t) + self.log_weight_row(&device);
        let r = softmax(a.clone(), 1);
        let k = gs.len();
        let grad = gs
            .into_iter()
            .enumerate()
            .map(|(i, g)| {
                let [n, _] = r.dims();
                let ri = r.clone().slice([0..n, i..i + 1]).reshape([n]);
                g * per_item(ri, dims)
            })
            .reduce(|a, b| a + b)
            .expect("a mixture has a component");
        debug_assert!(k > 0);
        (log_sum_exp_rows(a) * (-t), grad)
    }
}
