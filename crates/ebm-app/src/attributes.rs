//! MNIST digit attributes derived from the label (`even`, `ge5`, `loop`, `curvy`), each learnt
//! by its own conditional expert, and the set of digits an expression describes (what the judge
//! classifier scores compositions against).

use std::fmt;
use std::str::FromStr;

use anyhow::anyhow;
use ebm_poe::{Atom, Expr};

/// A binary attribute of a digit class, derived from the label alone. Each is learnt by its own
/// conditional energy `E(x, a)`, `a in {0, 1}` (an attribute expert).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// `even`: {0, 2, 4, 6, 8}.
    Even,
    /// `ge5`: {5, 6, 7, 8, 9}.
    Ge5,
    /// `loop`: digits written with a closed loop, {0, 6, 8, 9}.
    Loop,
    /// `curvy`: digits made mostly of curves, {0, 2, 3, 5, 6, 8, 9}.
    Curvy,
}

impl Attribute {
    /// Every attribute.
    pub const ALL: [Attribute; 4] = [
        Attribute::Even,
        Attribute::Ge5,
        Attribute::Loop,
        Attribute::Curvy,
    ];

    /// The name used in expressions and run directories.
    pub fn name(self) -> &'static str {
        match self {
            Attribute::Even => "even",
            Attribute::Ge5 => "ge5",
            Attribute::Loop => "loop",
            Attribute::Curvy => "curvy",
        }
    }

    /// Whether digit `d` has the attribute.
    pub fn holds(self, d: u8) -> bool {
        match self {
            Attribute::Even => d.is_multiple_of(2),
            Attribute::Ge5 => d >= 5,
            Attribute::Loop => matches!(d, 0 | 6 | 8 | 9),
            Attribute::Curvy => matches!(d, 0 | 2 | 3 | 5 | 6 | 8 | 9),
        }
    }

    /// Binary labels `a = 1` if the digit has the attribute, else 0.
    pub fn relabel(self, digits: &[u8]) -> Vec<usize> {
        digits.iter().map(|&d| usize::from(self.holds(d))).collect()
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Attribute {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Attribute::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                anyhow!(
                    "unknown attribute `{s}` (known: {})",
                    Attribute::ALL.map(Attribute::name).join(", ")
                )
            })
    }
}

/// The truth of one atom for digit `d`: `digit=k`, `<attribute>`, or `<attribute>=0|1`;
/// `None` for an atom that is not label-derived.
pub fn atom_holds(atom: &Atom, d: u8) -> Option<bool> {
    if atom.name == "digit" {
        return atom.value.as_deref()?.parse::<u8>().ok().map(|k| k == d);
    }
    let attr: Attribute = atom.name.parse().ok()?;
    match atom.value.as_deref() {
        None | Some("1") => Some(attr.holds(d)),
        Some("0") => Some(!attr.holds(d)),
        _ => None,
    }
}

/// The digits `0..=9` an expression describes under its set semantics (AND = intersection,
/// OR = union, NOT = complement), or `None` if an atom is not label-derived.
pub fn intended_digits(expr: &Expr) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for d in 0..10u8 {
        if expr.holds(&|a| atom_holds(a, d))? {
            out.push(d);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intended_sets_of_the_examples() {
        let set = |s: &str| intended_digits(&Expr::parse(s).unwrap());
        assert_eq!(set("even & ge5"), Some(vec![6, 8]));
        assert_eq!(set("digit=3 & !digit=8"), Some(vec![3]));
        assert_eq!(set("digit=0 | digit=1"), Some(vec![0, 1]));
        assert_eq!(set("ge5 & !loop"), Some(vec![5, 7]));
        assert_eq!(set("loop=0 & even"), Some(vec![2, 4]));
        assert_eq!(set("(digit=0 | digit=1) & thick"), None);
        assert_eq!(Attribute::Loop.relabel(&[0, 1, 8]), vec![1, 0, 1]);
        assert!("odd".parse::<Attribute>().is_err());
    }
}
