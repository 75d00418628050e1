//! Neural energies: networks whose scalar output is the energy.

mod cnn;
mod cnn_host;
mod init;
mod mlp;

pub use cnn::{CnnEnergy, CnnEnergyConfig};
pub use cnn_host::HostCnn;
pub use mlp::{MlpEnergy, MlpEnergyConfig};
