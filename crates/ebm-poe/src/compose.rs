//! From an [`Expr`] to an energy: atoms are looked up in a set of experts, `&` becomes a
//! [`Product`], `|` a [`Mixture`], `!` a [`Negation`].

use ebm_core::Energy;

use crate::error::PoeError;
use crate::expr::{Atom, Expr};
use crate::mixture::Mixture;
use crate::negation::Negation;
use crate::product::Product;

/// A boxed energy of rank `D`: what compositions are built from and compile to.
pub type BoxEnergy<const D: usize> = Box<dyn Energy<D>>;

/// Where the atoms of an expression come from.
pub trait Experts<const D: usize> {
    /// The energy of one atom (`digit=3`, `even`, ...); the error says why it is unknown.
    fn atom(&self, atom: &Atom) -> Result<BoxEnergy<D>, String>;

    /// The base distribution a negation with no positive partner is taken against (`!b` alone
    /// means "`base` and not `b`"); `None` rejects a bare negation.
    fn base(&self) -> Option<BoxEnergy<D>> {
        None
    }

    /// The cap `c` of a negated energy (see [`Negation`]); for example a typical level of that
    /// energy on real data.
    fn cap(&self, negated: &dyn Energy<D>) -> Result<f64, String>;
}

/// How operators are turned into energies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComposeOptions {
    /// The strength `lambda` of every negation.
    pub lambda: f64,
    /// The temperature `T` of every mixture.
    pub temperature: f64,
}

impl Default for ComposeOptions {
    /// `lambda = 1`, `T = 1`.
    fn default() -> Self {
        Self {
            lambda: 1.0,
            temperature: 1.0,
        }
    }
}

/// Builds the energy of `expr` (parsed from `source`, for error messages):
///
/// * an atom is `experts.atom(..)`;
/// * `e_1 | ... | e_k` is the equal-weight [`Mixture`] at temperature `T`;
/// * `e_1 & ... & e_k` is the [`Product`] of its positive operands, from which each negated
///   operand `!b` is subtracted as a guarded [`Negation`] (`lambda`, cap from
///   [`Experts::cap`]); with no positive operand the base is [`Experts::base`];
/// * a negation anywhere else, `!b`, is `base & !b`.
///
/// Errors name the column of the atom at fault.
pub fn compile<const D: usize>(
    expr: &Expr,
    source: &str,
    experts: &dyn Experts<D>,
    options: ComposeOptions,
) -> Result<BoxEnergy<D>, PoeError> {
    let fail = |e: &Expr, reason: String| PoeError::Compile {
        expr: source.to_string(),
        column: e.atoms().first().map_or(1, |a| a.column.max(1)),
        reason,
    };
    Ok(match expr {
        Expr::Atom(a) => experts.atom(a).map_err(|r| fail(expr, r))?,
        Expr::Or(items) => {
            let parts = items
                .iter()
                .map(|e| compile(e, source, experts, options))
                .collect::<Result<Vec<_>, _>>()?;
            let k = parts.len();
            Box::new(Mixture::weighted(
                parts,
                &vec![1.0; k],
                options.temperature,
            )?)
        }
        Expr::And(items) => {
            let mut positives = Vec::new();
            let mut negated = Vec::new();
            for e in items {
                match e {
                    Expr::Not(inner) => negated.push(inner.as_ref()),
                    _ => positives.push(compile(e, source, experts, options)?),
                }
            }
            let mut energy: BoxEnergy<D> = match positives.len() {
                0 => experts.base().ok_or_else(|| {
                    fail(
                        expr,
                        "a negation needs something to negate against: write `a & !b`".into(),
                    )
                })?,
                1 => positives.remove(0),
                _ => Box::new(Product::new(positives)?),
            };
            for b in negated {
                energy = negate(energy, b, source, experts, options)?;
            }
            energy
        }
        Expr::Not(inner) => {
            let base = experts.base().ok_or_else(|| {
                fail(
                    expr,
                    "a negation needs something to negate against: write `a & !b`".into(),
                )
            })?;
            negate(base, inner, source, experts, options)?
        }
    })
}

fn negate<const D: usize>(
    base: BoxEnergy<D>,
    b: &Expr,
    source: &str,
    experts: &dyn Experts<D>,
    options: ComposeOptions,
) -> Result<BoxEnergy<D>, PoeError> {
    let negated = compile(b, source, experts, options)?;
    let cap = experts
        .cap(negated.as_ref())
        .map_err(|reason| PoeError::Compile {
            expr: source.to_string(),
            column: b.atoms().first().map_or(1, |a| a.column.max(1)),
            reason,
        })?;
    Ok(Box::new(Negation::new(base, negated, options.lambda, cap)?))
}
