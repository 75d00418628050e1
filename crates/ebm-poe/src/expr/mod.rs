//! The expression language of compositions, for the command line.
//!
//! ```text
//! expr    := or
//! or      := and ( '|' and )*          OR:  a mixture         (lowest precedence)
//! and     := unary ( '&' unary )*      AND: a product
//! unary   := '!' unary | primary       NOT: a guarded negation (highest precedence)
//! primary := '(' expr ')' | atom
//! atom    := name ( '=' value )?       name: [A-Za-z_][A-Za-z0-9_]*, value: [A-Za-z0-9_.+-]+
//! ```
//!
//! So `!a & b | c` reads `((!a) & b) | c`. Examples: `digit=3 & !digit=8`,
//! `(digit=0 | digit=1) & thick`, `even & ge5`. Whitespace is free. A chain `a & b & c` is one
//! n-ary node; a parenthesised group stays a node of its own, and [`Expr`]'s `Display` writes the
//! parentheses back, so `parse(e.to_string()) == e` for every expression (tested). Errors carry
//! the 1-based column (in characters) of the offending token.

mod lex;
mod parse;

use std::fmt;

use thiserror::Error;

/// An atom: a name with an optional value, `digit=3` or `even`.
///
/// Equality ignores `column` (where the atom was written), so re-parsing a displayed
/// expression gives an equal value.
#[derive(Debug, Clone, Eq)]
pub struct Atom {
    /// The name (`digit`, `even`, ...).
    pub name: String,
    /// The value after `=`, if any.
    pub value: Option<String>,
    /// The 1-based column where the atom starts in the source (0 if built in code).
    pub column: usize,
}

impl Atom {
    /// An atom built in code (column 0).
    pub fn new(name: impl Into<String>, value: Option<&str>) -> Self {
        Self {
            name: name.into(),
            value: value.map(str::to_string),
            column: 0,
        }
    }
}

impl PartialEq for Atom {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.value == other.value
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={v}", self.name),
            None => write!(f, "{}", self.name),
        }
    }
}

/// A parsed composition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// One expert.
    Atom(Atom),
    /// `!e`: the negation of `e`.
    Not(Box<Expr>),
    /// `e_1 & e_2 & ...` (at least two operands when parsed).
    And(Vec<Expr>),
    /// `e_1 | e_2 | ...` (at least two operands when parsed).
    Or(Vec<Expr>),
}

/// Why an expression did not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot parse `{input}`: column {column}: {message}\n  {input}\n  {caret}^", caret = " ".repeat(column.saturating_sub(1)))]
pub struct ParseError {
    /// The expression as given.
    pub input: String,
    /// The 1-based column (in characters) of the offending token; one past the end for a
    /// premature end of input.
    pub column: usize,
    /// What was expected or found.
    pub message: String,
}

impl Expr {
    /// Every atom, left to right.
    pub fn atoms(&self) -> Vec<&Atom> {
        let mut out = Vec::new();
        self.collect_atoms(&mut out);
        out
    }

    fn collect_atoms<'a>(&'a self, out: &mut Vec<&'a Atom>) {
        match self {
            Expr::Atom(a) => out.push(a),
            Expr::Not(e) => e.collect_atoms(out),
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.collect_atoms(out)),
        }
    }

    /// Boolean evaluation with a truth value per atom (`None` if any atom has none): the set
    /// semantics that a composition aims at (used to name the intended set of digits).
    pub fn holds(&self, truth: &dyn Fn(&Atom) -> Option<bool>) -> Option<bool> {
        Some(match self {
            Expr::Atom(a) => truth(a)?,
            Expr::Not(e) => !e.holds(truth)?,
            Expr::And(v) => {
                let mut all = true;
                for e in v {
                    all &= e.holds(truth)?;
                }
                all
            }
            Expr::Or(v) => {
                let mut any = false;
                for e in v {
                    any |= e.holds(truth)?;
                }
                any
            }
        })
    }

    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(_) => 0,
            Expr::And(_) => 1,
            Expr::Not(_) | Expr::Atom(_) => 2,
        }
    }
}

impl fmt::Display for Expr {
    /// Writes the expression with the fewest parentheses that parse back to the same tree: an
    /// operand is parenthesised when it binds no tighter than its parent (so nested chains of
    /// the same operator keep their grouping).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let operand = |f: &mut fmt::Formatter<'_>, e: &Expr, parent: u8| {
            if e.precedence() <= parent {
                write!(f, "({e})")
            } else {
                write!(f, "{e}")
            }
        };
        match self {
            Expr::Atom(a) => write!(f, "{a}"),
            Expr::Not(e) => {
                write!(f, "!")?;
                operand(f, e, 1)
            }
            Expr::And(v) | Expr::Or(v) => {
                let sep = if matches!(self, Expr::And(_)) {
                    " & "
                } else {
                    " | "
                };
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        write!(f, "{sep}")?;
                    }
                    operand(f, e, self.precedence())?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn atom(name: &str, value: Option<&str>) -> Expr {
        Expr::Atom(Atom::new(name, value))
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let e = Expr::parse("!a & b | c").unwrap();
        assert_eq!(
            e,
            Expr::Or(vec![
                Expr::And(vec![Expr::Not(Box::new(atom("a", None))), atom("b", None)]),
                atom("c", None)
            ])
        );
        let e = Expr::parse("digit=3 & !digit=8").unwrap();
        assert_eq!(
            e,
            Expr::And(vec![
                atom("digit", Some("3")),
                Expr::Not(Box::new(atom("digit", Some("8"))))
            ])
        );
        let e = Expr::parse("(digit=0 | digit=1) & thick").unwrap();
        assert_eq!(e.to_string(), "(digit=0 | digit=1) & thick");
        assert_eq!(
            e.atoms().iter().map(|a| a.column).collect::<Vec<_>>(),
            vec![2, 12, 23]
        );
        assert_eq!(Expr::parse(" a|b&c ").unwrap().to_string(), "a | b & c");
        assert_eq!(Expr::parse("!(a | b)").unwrap().to_string(), "!(a | b)");
        assert_eq!(Expr::parse("!!a").unwrap().to_string(), "!!a");
    }

    #[test]
    fn bad_input_is_rejected_at_its_column() {
        let cases = [
            ("", 1, "expected a name"),
            ("even &", 7, "found the end"),
            ("even & & ge5", 8, "found `&`"),
            (
                "(even | ge5",
                12,
                "expected `)` to close the `(` at column 1",
            ),
            ("even)", 5, "unmatched `)`"),
            ("digit=", 7, "expected a value"),
            ("digit= & even", 8, "expected a value after `=`, found `&`"),
            ("even ge5", 6, "expected `&`, `|` or the end, found `ge5`"),
            ("even # ge5", 6, "unexpected character `#`"),
            ("3", 1, "unexpected character `3`"),
            ("a & ()", 6, "found `)`"),
        ];
        for (input, column, message) in cases {
            let err = Expr::parse(input).unwrap_err();
            assert_eq!(err.column, column, "{input}: {err}");
            assert!(err.message.contains(message), "{input}: {err}");
            assert!(
                err.to_string().contains(&format!("column {column}")),
                "{err}"
            );
        }
    }

    #[test]
    fn set_semantics_of_an_expression() {
        let e = Expr::parse("(digit=0 | digit=1) & !digit=1").unwrap();
        let set: Vec<u8> = (0..10u8)
            .filter(|d| {
                e.holds(&|a: &Atom| Some(a.value.as_deref() == Some(&d.to_string())))
                    .unwrap()
            })
            .collect();
        assert_eq!(set, vec![0]);
        assert_eq!(e.holds(&|_| None), None);
    }

    fn arb_expr() -> impl Strategy<Value = Expr> {
        let leaf = (
            "[a-z_][a-z0-9_]{0,4}",
            proptest::option::of("[a-z0-9.+-]{1,3}"),
        )
            .prop_map(|(n, v)| Expr::Atom(Atom::new(n, v.as_deref())));
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
                proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
                proptest::collection::vec(inner, 2..4).prop_map(Expr::Or),
            ]
        })
    }

    proptest! {
        #[test]
        fn display_round_trips(e in arb_expr()) {
            let text = e.to_string();
            let back = Expr::parse(&text).map_err(|err| TestCaseError::fail(err.to_string()))?;
            prop_assert_eq!(back, e);
        }
    }
}
