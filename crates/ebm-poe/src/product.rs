//! AND: the product of experts, `E(x) = sum_i w_i E_i(x)`.

use burn::tensor::Tensor;
use ebm_core::{Energy, EnergyError};

use crate::error::PoeError;

/// The product of experts `p(x) ∝ prod_i p_i(x)^{w_i}`, i.e. the energy
///
/// ```text
/// E(x) = sum_i w_i E_i(x),            dE/dx = sum_i w_i dE_i/dx
/// ```
///
/// with weights `w_i > 0` (a negative weight would be a negation without a guard; use
/// [`crate::Negation`]). An input is likely under the product only if every expert finds it
/// likely: this is conjunction. Two Gaussians `N(m_1, S_1)` and `N(m_2, S_2)` multiply to the
/// Gaussian with precision `P = S_1^{-1} + S_2^{-1}` and mean `P^{-1} (S_1^{-1} m_1 + S_2^{-1} m_2)`
/// (checked by MALA in the tests). `log Z` is not known in general, so [`Energy::log_z`] is `None`.
///
/// The terms are any energies of the same rank: `Product<Box<dyn Energy<D>>>` mixes kinds, and a
/// product is itself an energy, so compositions nest. The gradient is assembled from each
/// term's own [`Energy::energy_and_grad`], so neural terms keep their parameters frozen.
#[derive(Debug, Clone)]
pub struct Product<E> {
    terms: Vec<(f64, E)>,
}

impl<E> Product<E> {
    /// The product of `terms` with weight 1 each. Fails on an empty list.
    pub fn new(terms: Vec<E>) -> Result<Self, PoeError> {
        Self::weighted(terms.into_iter().map(|e| (1.0, e)).collect())
    }

    /// The product of `(w_i, E_i)`. Fails on an empty list or a weight that is not finite and > 0.
    pub fn weighted(terms: Vec<(f64, E)>) -> Result<Self, PoeError> {
        if terms.is_empty() {
            return Err(PoeError::invalid(
                "Product",
                "terms",
                "needs at least one term",
            ));
        }
        if let Some((i, (w, _))) = terms
            .iter()
            .enumerate()
            .find(|(_, (w, _))| !(w.is_finite() && *w > 0.0))
        {
            return Err(PoeError::invalid(
                "Product",
                format!("weights[{i}]"),
                format!("must be finite and > 0, got {w}"),
            ));
        }
        Ok(Self { terms })
    }

    /// The weighted terms `(w_i, E_i)`.
    pub fn terms(&self) -> &[(f64, E)] {
        &self.terms
    }
}

impl<const D: usize, E: Energy<D>> Energy<D> for Product<E> {
    fn energy(&self, x: Tensor<D>) -> Tensor<1> {
        let mut terms = self.terms.iter();
        let (w, first) = terms.next().expect("a product has a term");
        terms.fold(first.energy(x.clone()) * *w, |acc, (w, e)| {
            acc + e.energy(x.clone()) * *w
        })
    }

    fn name(&self) -> String {
        let parts: Vec<String> = self
            .terms
            .iter()
            .map(|(w, e)| {
                if *w == 1.0 {
                    e.name()
                } else {
                    format!("{w}*{}", e.name())
                }
            })
            .collect();
        format!("({})", parts.join(" & "))
    }

    fn check_input(&self, dims: [usize; D]) -> Result<(), EnergyError> {
        self.terms.iter().try_for_each(|(_, e)| e.check_input(dims))
    }

    fn energy_and_grad(&self, x: Tensor<D>) -> (Tensor<1>, Tensor<D>) {
        let x = x.inner();
        let mut terms = self.terms.iter();
        let (w, first) = terms.next().expect("a product has a term");
        let (e, g) = first.energy_and_grad(x.clone());
        let init = (e * *w, g * *w);
        terms.fold(init, |(e_acc, g_acc), (w, term)| {
            let (e, g) = term.energy_and_grad(x.clone());
            (e_acc + e * *w, g_acc + g * *w)
        })
    }
}
