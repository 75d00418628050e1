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

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Value(String),
    Eq,
    And,
    Or,
    Not,
    Open,
    Close,
    End,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Ident(s) | Token::Value(s) => format!("`{s}`"),
            Token::Eq => "`=`".into(),
            Token::And => "`&`".into(),
            Token::Or => "`|`".into(),
            Token::Not => "`!`".into(),
            Token::Open => "`(`".into(),
            Token::Close => "`)`".into(),
            Token::End => "the end of the expression".into(),
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_value_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-')
}

/// Splits `input` into tokens with their 1-based columns.
fn lex(input: &str) -> Result<Vec<(Token, usize)>, ParseError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |column: usize, message: String| ParseError {
        input: input.to_string(),
        column,
        message,
    };
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '&' | '|' | '!' | '(' | ')' => {
                out.push((
                    match c {
                        '&' => Token::And,
                        '|' => Token::Or,
                        '!' => Token::Not,
                        '(' => Token::Open,
                        _ => Token::Close,
                    },
                    col,
                ));
                i += 1;
            }
            '=' => {
                out.push((Token::Eq, col));
                i += 1;
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                let start = i;
                while i < chars.len() && is_value_char(chars[i]) {
                    i += 1;
                }
                if i == start {
                    return Err(match chars.get(i) {
                        Some(c) => err(i + 1, format!("expected a value after `=`, found `{c}`")),
                        None => err(i + 1, "expected a value after `=`, found the end".into()),
                    });
                }
                out.push((Token::Value(chars[start..i].iter().collect()), start + 1));
            }
            c if is_ident_start(c) => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push((Token::Ident(chars[start..i].iter().collect()), start + 1));
            }
            c => {
                return Err(err(
                    col,
                    format!(
                        "unexpected character `{c}` (expected a name, `!`, `(`, `&`, `|` or `)`)"
                    ),
                ));
            }
        }
    }
    out.push((Token::End, chars.len() + 1));
    Ok(out)
}

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<(Token, usize)>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &(Token, usize) {
        &self.tokens[self.pos]
    }

    fn bump(&mut self) -> (Token, usize) {
        let t = self.tokens[self.pos].clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn error(&self, column: usize, message: String) -> ParseError {
        ParseError {
            input: self.input.to_string(),
            column,
            message,
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.and()?];
        while self.peek().0 == Token::Or {
            self.bump();
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.unary()?];
        while self.peek().0 == Token::And {
            self.bump();
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.peek().0 == Token::Not {
            self.bump();
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let (token, col) = self.bump();
        match token {
            Token::Open => {
                let inner = self.or()?;
                let (close, c2) = self.bump();
                if close != Token::Close {
                    return Err(self.error(
                        c2,
                        format!(
                            "expected `)` to close the `(` at column {col}, found {}",
                            close.describe()
                        ),
                    ));
                }
                Ok(inner)
            }
            Token::Ident(name) => {
                let value = if self.peek().0 == Token::Eq {
                    self.bump();
                    match self.bump() {
                        (Token::Value(v), _) => Some(v),
                        (t, c) => {
                            return Err(self.error(
                                c,
                                format!("expected a value after `=`, found {}", t.describe()),
                            ));
                        }
                    }
                } else {
                    None
                };
                Ok(Expr::Atom(Atom {
                    name,
                    value,
                    column: col,
                }))
            }
            other => Err(self.error(
                col,
                format!("expected a name, `!` or `(`, found {}", other.describe()),
            )),
        }
    }
}

impl Expr {
    /// Parses an expression; the error names the column of the offending token.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let tokens = lex(input)?;
        let mut p = Parser {
            input,
            tokens,
            pos: 0,
        };
        let e = p.or()?;
        let (t, col) = p.peek().clone();
        if t != Token::End {
            let message = if t == Token::Close {
                "unmatched `)`".to_string()
            } else {
                format!("expected `&`, `|` or the end, found {}", t.describe())
            };
            return Err(p.error(col, message));
        }
        Ok(e)
    }

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
