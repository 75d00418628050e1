//! The recursive-descent parser of the expression language (precedence `!` > `&` > `|`).

use super::lex::{Token, lex};
use super::{Atom, Expr, ParseError};

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
}
