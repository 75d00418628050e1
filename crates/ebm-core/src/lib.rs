//! # ebm-core
//!
//! The energy abstraction of the `ebm` toolkit and the energies built on it.
//!
//! An energy-based model scores an input with an energy `E(x)`, low meaning likely:
//! `p(x) = exp(-E(x)) / Z`. `Z` is intractable in general, so models are compared through energy
//! differences, `log p(x) - log p(x') = E(x') - E(x)`, sampled with MCMC from `dE/dx`, and
//! composed by adding energies.
//!
//! - [`Energy`]: a batch in, one energy per item out, with the input gradient from one backward
//!   pass ([`energy`]).
//! - [`HostEnergy`]: an energy's CPU fast paths (host-buffer gradients, tape-free parameter
//!   gradients, a sampler snapshot), reached through [`Energy::host`] ([`host`]).
//! - [`ModuleEnergy`]: any burn `Module` with a batch forward as an energy ([`module_energy`]).
//! - Neural energies: [`MlpEnergy`] and the UvA image [`CnnEnergy`] on one [`CnnBackbone`];
//!   conditional energies `E(x, y) = -logit_y(x)` ([`ConditionalNet`], [`ClassEnergy`],
//!   [`LabelEnergy`]) and classification by energy ([`neural::classify`](mod@neural::classify)) and its calibration
//!   ([`neural::calibration`](mod@neural::calibration)) ([`neural`]).
//! - Analytic energies with closed-form gradients and `log Z`: Gaussian, diagonal Gaussian,
//!   mixture, banana, funnel, double well, and temperature as a wrapper; Bayesian logistic
//!   regression. The diagonal Gaussian, banana, funnel and logistic regression also have a
//!   [`HostEnergy`] path, one row at a time without tensors ([`analytic`]).
//! - Energies of table rows: robust standardisation, the product of marginal KDEs and its
//!   product with a neural dependency expert ([`TabularEnergy`]) ([`tabular`]).
//! - Exact `log Z`, density and NLL in 1-D and 2-D by quadrature ([`quadrature`]).
//! - The Bernoulli-Bernoulli restricted Boltzmann machine: free energy as an energy, exact `log Z`
//!   by enumeration, the base-rate RBM ([`rbm`]).
//! - Devices from a user's word ([`device`]), seeded randomness ([`rng`]), typed errors ([`error`]).

pub mod analytic;
mod box_muller;
pub mod device;
pub mod energy;
pub mod error;
mod fast_math;
pub mod host;
pub mod module_energy;
pub mod neural;
pub mod quadrature;
pub mod rbm;
pub mod rng;
pub mod tabular;

pub use analytic::{
    Banana, DiagGaussian, DoubleWell, Funnel, Gaussian, GaussianMixture, LogisticRegression,
    Tempered,
};
pub use device::{BackendKind, device_from_word};
pub use energy::{Energy, autodiff_energy_and_grad, check_finite};
pub use error::{DeviceError, EnergyError};
pub use host::{HostEnergy, ItemWeight};
pub use module_energy::{EnergyOutput, ModuleEnergy};
pub use neural::{
    ClassEnergy, CnnBackbone, CnnBackboneConfig, ConditionalNet, ConditionalNetConfig, LabelEnergy,
};
pub use neural::{CnnEnergy, CnnEnergyConfig, HostCnn, HostGrads, MlpEnergy, MlpEnergyConfig};
pub use quadrature::{Grid, Normalisation, normalise};
pub use rbm::{BaseRateRbm, Rbm, RbmParams};
pub use rng::SeededRng;
pub use tabular::{Background, KdeSampler, MarginalKde, RobustScaler, TabularEnergy};

/// burn re-exported, so users need no separate dependency to build tensors and devices.
pub use burn;
