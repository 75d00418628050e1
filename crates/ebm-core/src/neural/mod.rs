//! Neural energies: networks whose scalar output is the energy, and conditional energies
//! `E(x, y) = -logit_y(x)` from a network with one output per class.

mod backbone;
pub mod calibration;
pub mod classify;
mod cnn;
mod cnn_module;
pub mod conditional;
mod host;
pub mod init;
mod mlp;

pub use backbone::{CnnBackbone, CnnBackboneConfig};
pub use calibration::{confidences, expected_calibration_error, max_softmax, softmax};
pub use classify::{accuracy, argmax, classify, confusion};
pub use cnn::{CnnEnergy, CnnEnergyConfig};
pub use conditional::{ClassEnergy, ConditionalNet, ConditionalNetConfig, LabelEnergy};
pub use host::{HostCnn, HostGrads, HostMlp};
pub use mlp::{MlpEnergy, MlpEnergyConfig};
