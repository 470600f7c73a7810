//! Splits expression text into tokens. In template mode it also finds where the expression
//! ends: at the first `}}` that is not inside a string literal.

use serde_json::Number;

use crate::{ExprError, Value};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Str(String),
    Num(Value),
    True,
    False,
    Null,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    Comma,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Not,
    End,
}

impl Tok {
    /// How the token is named in an error message.
    pub(crate) fn describe(&self) -> String {
        let fixed = match self {
            Tok::Ident(name) => return format!("'{name}'"),
            Tok::Str(_) => "a string",
            Tok::Num(_) => "a number",
            Tok::True => "'true'",
            Tok::False => "'false'",
            Tok::Null => "'null'",
            Tok::LParen => "'('",
            Tok::RParen => "')'",
            Tok::LBracket => "'['",
            Tok::RBracket => "']'",
            Tok::Dot => "'.'",
            Tok::Comma => "','",
            Tok::Eq => "'=='",
            Tok::Ne => "'!='",
            Tok::Lt => "'<'",
            Tok::Le => "'<='",
            Tok::Gt => "'>'",
            Tok::Ge => "'>='",
            Tok::And => "'&&'",
            Tok::Or => "'||'",
            Tok::Not => "'!'",
            Tok::End => "the end of the expression",
        };
        fixed.to_string()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) offset: usize,
    pub(crate) len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The whole rest of the text is the expression.
    Bare,
    /// Inside `${{`, which starts at byte `open`: the expression ends at `}}`.
    Template { open: usize },
}

pub(crate) fn error(
    offset: usize,
    len: usize,
    message: impl Into<String>,
    help: Option<&str>,
) -> ExprError {
    ExprError {
        message: message.into(),
        offset,
        len,
        help: help.map(str::to_string),
    }
}

/// Lexes `src` from byte `start`. Returns the tokens (the last is always `End`) and the byte
/// offset where the expression ends (the `}}` in template mode, else `src.len()`).
pub(crate) fn lex(src: &str, start: usize, mode: Mode) -> Result<(Vec<Token>, usize), ExprError> {
    let bytes = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = start;
    loop {
        let Some(&b) = bytes.get(i) else {
            if let Mode::Template { open } = mode {
                return Err(error(open, 3, "unterminated '${{': missing '}}'", None));
            }
            toks.push(Token {
                tok: Tok::End,
                offset: i,
                len: 0,
            });
            return Ok((toks, i));
        };
        let next = bytes.get(i + 1).copied();
        let (tok, len) = match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'}' if matches!(mode, Mode::Template { .. }) && next == Some(b'}') => {
                toks.push(Token {
                    tok: Tok::End,
                    offset: i,
                    len: 0,
                });
                return Ok((toks, i));
            }
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b'[' => (Tok::LBracket, 1),
            b']' => (Tok::RBracket, 1),
            b'.' => (Tok::Dot, 1),
            b',' => (Tok::Comma, 1),
            b'=' if next == Some(b'=') => (Tok::Eq, 2),
            b'=' => {
                return Err(error(
                    i,
                    1,
                    "unexpected '='",
                    Some("use '==' to compare values"),
                ));
            }
            b'!' if next == Some(b'=') => (Tok::Ne, 2),
            b'!' => (Tok::Not, 1),
            b'<' if next == Some(b'=') => (Tok::Le, 2),
            b'<' => (Tok::Lt, 1),
            b'>' if next == Some(b'=') => (Tok::Ge, 2),
            b'>' => (Tok::Gt, 1),
            b'&' if next == Some(b'&') => (Tok::And, 2),
            b'&' => return Err(error(i, 1, "unexpected '&'", Some("use '&&' for 'and'"))),
            b'|' if next == Some(b'|') => (Tok::Or, 2),
            b'|' => return Err(error(i, 1, "unexpected '|'", Some("use '||' for 'or'"))),
            b'\'' => lex_string(src, i)?,
            b'0'..=b'9' => lex_number(src, i)?,
            b'-' if next.is_some_and(|c| c.is_ascii_digit()) => lex_number(src, i)?,
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let len = bytes
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|&&c| is_ident_byte(c))
                    .count();
                let word = src.get(i..i + len).unwrap_or_default();
                let tok = match word {
                    "true" => Tok::True,
                    "false" => Tok::False,
                    "null" => Tok::Null,
                    _ => Tok::Ident(word.to_string()),
                };
                (tok, len)
            }
            b'"' => {
                return Err(error(
                    i,
                    1,
                    "unexpected '\"'",
                    Some("strings use single quotes: 'text' (write '' for a quote inside)"),
                ));
            }
            b'$' if bytes.get(i..i + 3) == Some(b"${{") && mode == Mode::Bare => {
                return Err(error(
                    i,
                    3,
                    "unexpected '${{'",
                    Some("a condition is either a bare expression or one whole '${{ … }}'"),
                ));
            }
            _ => {
                let c = src
                    .get(i..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('\u{fffd}');
                let help = matches!(c, '-' | '+' | '*' | '/' | '%')
                    .then_some("expressions have no arithmetic");
                return Err(error(
                    i,
                    c.len_utf8(),
                    format!("unexpected character '{c}'"),
                    help,
                ));
            }
        };
        toks.push(Token {
            tok,
            offset: i,
            len,
        });
        i += len;
    }
}

fn is_ident_byte(c: u8) -> bool {
    // '-' is allowed because job and step ids often contain it: `needs.deploy-staging.result`.
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// A single-quoted string starting at `start`; `''` stands for one quote.
fn lex_string(src: &str, start: usize) -> Result<(Tok, usize), ExprError> {
    let bytes = src.as_bytes();
    let mut out = String::new();
    let mut i = start + 1;
    let mut chunk = i;
    loop {
        match bytes.get(i) {
            None => {
                return Err(error(
                    start,
                    1,
                    "unterminated string: missing closing quote (')",
                    Some("write '' for a quote inside a string"),
                ));
            }
            Some(b'\'') if bytes.get(i + 1) == Some(&b'\'') => {
                out.push_str(src.get(chunk..=i).unwrap_or_default());
                i += 2;
                chunk = i;
            }
            Some(b'\'') => {
                out.push_str(src.get(chunk..i).unwrap_or_default());
                return Ok((Tok::Str(out), i + 1 - start));
            }
            // A quote is ASCII, so it never occurs inside a multi-byte character: stepping by
            // bytes is safe, and `chunk`/`i` always sit on character boundaries when sliced.
            Some(_) => i += 1,
        }
    }
}

/// A number starting at `start`: optional `-`, then `0x` hex digits or decimal digits with an
/// optional fraction and exponent.
fn lex_number(src: &str, start: usize) -> Result<(Tok, usize), ExprError> {
    let bytes = src.as_bytes();
    let digits_from = |i: usize, hex: bool| {
        bytes
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| {
                if hex {
                    c.is_ascii_hexdigit()
                } else {
                    c.is_ascii_digit()
                }
            })
            .count()
    };
    let neg = bytes.get(start) == Some(&b'-');
    let body = start + usize::from(neg);
    let mut i = body;
    let mut is_float = false;
    let hex = bytes.get(i) == Some(&b'0') && matches!(bytes.get(i + 1), Some(b'x' | b'X'));
    if hex {
        i += 2;
        let n = digits_from(i, true);
        if n == 0 {
            return Err(error(
                start,
                i - start,
                "invalid number: '0x' needs hex digits after it",
                None,
            ));
        }
        i += n;
    } else {
        i += digits_from(i, false);
        if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            is_float = true;
            i += 1 + digits_from(i + 1, false);
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
            let n = digits_from(i + 1 + sign, false);
            if n > 0 {
                is_float = true;
                i += 1 + sign + n;
            }
        }
    }
    let len = i - start;
    if bytes.get(i).is_some_and(|&c| is_ident_byte(c) || c == b'.') {
        let bad = bytes
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&c| is_ident_byte(c) || c == b'.')
            .count();
        return Err(error(start, len + bad, "invalid number", None));
    }
    let text = src.get(start..i).unwrap_or_default();
    let out_of_range = || error(start, len, "number out of range", None);
    let value = if hex {
        let digits = src.get(body + 2..i).unwrap_or_default();
        let v = i64::from_str_radix(digits, 16).map_err(|_| out_of_range())?;
        Value::from(if neg { -v } else { v })
    } else if let (false, Ok(v)) = (is_float, text.parse::<i64>()) {
        Value::from(v)
    } else {
        let f: f64 = text.parse().map_err(|_| out_of_range())?;
        Value::Number(Number::from_f64(f).ok_or_else(out_of_range)?)
    };
    Ok((Tok::Num(value), len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn toks(src: &str) -> Vec<Tok> {
        match lex(src, 0, Mode::Bare) {
            Ok((t, _)) => t.into_iter().map(|t| t.tok).collect(),
            Err(e) => panic!("lex error {e:?}"),
        }
    }

    #[test]
    fn lexes_operators_and_literals() {
        assert_eq!(
            toks("a.b-c == 'it''s' && !x"),
            vec![
                Tok::Ident("a".into()),
                Tok::Dot,
                Tok::Ident("b-c".into()),
                Tok::Eq,
                Tok::Str("it's".into()),
                Tok::And,
                Tok::Not,
                Tok::Ident("x".into()),
                Tok::End
            ]
        );
        assert_eq!(
            toks("-0x1f 1.5e2 7 -3"),
            vec![
                Tok::Num(json!(-31)),
                Tok::Num(json!(150.0)),
                Tok::Num(json!(7)),
                Tok::Num(json!(-3)),
                Tok::End
            ]
        );
    }

    #[test]
    fn template_mode_stops_at_braces_outside_strings() {
        let src = "${{ '}}' }} rest";
        let (t, end) = lex(src, 3, Mode::Template { open: 0 }).unwrap_or_default();
        assert_eq!(end, 9);
        assert_eq!(t.first().map(|t| &t.tok), Some(&Tok::Str("}}".into())));
    }

    #[test]
    fn strings_keep_non_ascii_text() {
        assert_eq!(
            toks("'héllo ''wörld'''"),
            vec![Tok::Str("héllo 'wörld'".into()), Tok::End]
        );
    }
}
