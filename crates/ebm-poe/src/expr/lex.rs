//! The lexer of the expression language: characters to tokens with their 1-based columns.

use super::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
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
    pub(super) fn describe(&self) -> String {
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
pub(super) fn lex(input: &str) -> Result<Vec<(Token, usize)>, ParseError> {
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
