//! Neural energies: networks whose scalar output is the energy.

mod cnn;
mod init;
mod mlp;

pub use cnn::{CnnEnergy, CnnEnergyConfig};
pub use mlp::{MlpEnergy, MlpEnergyConfig};
