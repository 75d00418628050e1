//! Energies of table rows (sensor readings, laboratory measurements): robust standardisation
//! ([`RobustScaler`]), the product of marginal densities ([`MarginalKde`], with exact draws by
//! [`KdeSampler`]) and their product with a neural dependency expert ([`TabularEnergy`]).

pub mod energy;
pub mod marginal_kde;
pub mod robust_scale;

pub use energy::TabularEnergy;
pub use marginal_kde::{Background, KdeSampler, MarginalKde};
pub use robust_scale::{RobustScaler, quantile};
