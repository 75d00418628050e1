//! # ebm-poe
//!
//! Composing energies (Du, Li and Mordatch 2020): AND, OR and NOT over any
//! [`ebm_core::Energy`], and an expression language that compiles to compositions of named
//! experts. Every composition is itself an energy, so every sampler of `ebm-mcmc` runs on it
//! unchanged and compositions nest. (The experts of the digit demos, conditional energies
//! `E(x, y) = -logit_y(x)`, live in `ebm_core::neural::conditional`.)
//!
//! | module | what |
//! |---|---|
//! | [`product`] | AND, the product of experts: `E = sum_i w_i E_i` ([`Product`]) |
//! | [`mixture`] | OR, the mixture: `E = -T logsumexp_i(-E_i / T + log w_i)` ([`Mixture`]) |
//! | [`negation`] | NOT: `E = E_a - lambda softmin_c(E_b)`, capped so it stays proper ([`Negation`]) |
//! | [`expr`] | the expression language `digit=3 & !digit=8`, precedence `!` > `&` > `|` ([`Expr`]) |
//! | [`compose`] | an expression to an energy, atoms from a set of [`Experts`] ([`compile`]) |
//! | [`error`] | [`PoeError`] |

mod broadcast;
pub mod compose;
pub mod error;
pub mod expr;
pub mod mixture;
pub mod negation;
pub mod product;

pub use compose::{BoxEnergy, ComposeOptions, Experts, compile};
pub use error::PoeError;
pub use expr::{Atom, Expr, ParseError};
pub use mixture::Mixture;
pub use negation::Negation;
pub use product::Product;
