//! The Bernoulli-Bernoulli restricted Boltzmann machine (RBM).
//!
//! Binary visible units `v in {0,1}^n_v` and hidden units `h in {0,1}^n_h`, with the joint energy
//!
//! ```text
//! E(v, h) = -v^T b - h^T c - v^T W h,      p(v, h) = exp(-E(v, h)) / Z
//! ```
//!
//! Summing out `h` gives the free energy of the visibles, an [`Energy`](crate::Energy) on `[N, n_v]`:
//!
//! ```text
//! F(v) = -v^T b - sum_j softplus(c_j + v^T W_{:, j}),      p(v) = exp(-F(v)) / Z
//! ```
//!
//! Both conditionals factorise: `p(h_j = 1 | v) = sigmoid(c_j + v^T W_{:, j})` and
//! `p(v_i = 1 | h) = sigmoid(b_i + W_{i, :} h)`, which is what block Gibbs sampling uses.
//!
//! - [`model`]: [`Rbm`], the free energy, the conditionals, host copies of the parameters.
//! - [`exact`]: `log Z` by enumerating the smaller layer (at most [`MAX_ENUMERATED_UNITS`]
//!   units), and by brute force over both layers for tiny machines.
//! - [`base_rate`]: [`BaseRateRbm`], the weightless RBM matching the data's pixel means, with
//!   `log Z` in closed form: the starting point of AIS for RBMs (Salakhutdinov and Murray 2008).

pub mod base_rate;
pub mod exact;
pub mod model;

pub use base_rate::BaseRateRbm;
pub use exact::{MAX_ENUMERATED_UNITS, log_z_brute_force, log_z_exact};
pub use model::{Rbm, RbmParams};
