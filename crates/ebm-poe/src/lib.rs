//! # ebm-poe
//!
//! Composing energies, and conditional energies over class labels (Du, Li and Mordatch 2020;
//! Grathwohl et al. 2020). Every composition is itself an [`ebm_core::Energy`], so every sampler
//! of `ebm-mcmc` runs on it unchanged and compositions nest.
//!
//! | module | what |
//! |---|---|
//! | [`product`] | AND, the product of experts: `E = sum_i w_i E_i` ([`Product`]) |
//! | [`mixture`] | OR, the mixture: `E = -T logsumexp_i(-E_i / T + log w_i)` ([`Mixture`]) |
//! | [`negation`] | NOT: `E = E_a - lambda softmin_c(E_b)`, capped so it stays proper ([`Negation`]) |
//! | [`expr`] | the expression language `digit=3 & !digit=8`, precedence `!` > `&` > `|` ([`Expr`]) |
//! | [`compose`] | an expression to an energy, atoms from a set of [`Experts`] ([`compile`]) |
//! | [`conditional`] | `E(x, y) = -logit_y(x)` from an image network with one output per class ([`ConditionalNet`], [`ClassEnergy`], [`LabelEnergy`]) |
//! | [`classify`] | classification by energy, `y = argmin_y E(x, y)`, accuracy, confusion |
//! | [`attributes`] | label-derived digit attributes (`even`, `ge5`, `loop`, `curvy`) and the digit set an expression means |
//! | [`train`] | joint contrastive divergence on `(x, y)` pairs (or cross-entropy) ([`ConditionalTrainer`]) |
//! | [`store`] | saving and loading a network with its configuration |
//! | [`error`] | [`PoeError`] |

pub mod attributes;
mod broadcast;
pub mod classify;
pub mod compose;
pub mod conditional;
pub mod error;
pub mod expr;
pub mod mixture;
pub mod negation;
pub mod product;
pub mod store;
pub mod train;

pub use attributes::{Attribute, atom_holds, intended_digits};
pub use classify::{accuracy, classify, confusion};
pub use compose::{BoxEnergy, ComposeOptions, Experts, compile};
pub use conditional::{ClassEnergy, ConditionalNet, ConditionalNetConfig, LabelEnergy};
pub use error::PoeError;
pub use expr::{Atom, Expr, ParseError};
pub use mixture::Mixture;
pub use negation::Negation;
pub use product::Product;
pub use store::{load_net, save_net};
pub use train::{ConditionalStepMetrics, ConditionalTrainConfig, ConditionalTrainer, Objective};
