//! Neural energies: networks whose scalar output is the energy.

mod cnn;
mod host;
pub(crate) mod init;
mod mlp;

pub use cnn::{CnnEnergy, CnnEnergyConfig};
pub use host::{HostCnn, HostGrads};
pub use mlp::{MlpEnergy, MlpEnergyConfig};
