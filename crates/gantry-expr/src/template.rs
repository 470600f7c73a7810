//! Templates: text with embedded `${{ … }}` expressions, such as `ci-${{ git.branch }}`.

use crate::ast::Expr;
use crate::lexer::{Mode, error, lex};
use crate::parser::{check_len, parse_tokens};
use crate::value::to_display_string;
use crate::{EvalError, ExprError, MAX_STRING_LEN, MAX_TEMPLATE_LEN, Scope, Value};

/// A parsed template. Text outside `${{ }}` is literal; there is no escape for `${{`.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Expr(Expr),
}

/// Parses a template. Expression offsets (and error offsets) are relative to `src`.
pub fn parse_template(src: &str) -> Result<Template, ExprError> {
    if src.len() > MAX_TEMPLATE_LEN {
        return Err(error(
            0,
            src.len(),
            format!(
                "text is too long ({} bytes; the limit is {MAX_TEMPLATE_LEN})",
                src.len()
            ),
            None,
        ));
    }
    let mut parts = Vec::new();
    let mut text_start = 0;
    while let Some(open) = src
        .get(text_start..)
        .and_then(|rest| rest.find("${{"))
        .map(|i| i + text_start)
    {
        if open > text_start {
            parts.push(Part::Text(
                src.get(text_start..open).unwrap_or_default().to_string(),
            ));
        }
        let (tokens, close) = lex(src, open + 3, Mode::Template { open })?;
        if tokens.len() == 1 {
            return Err(error(
                open,
                close + 2 - open,
                "empty expression in '${{ }}'",
                None,
            ));
        }
        check_len(open + 3, close - (open + 3))?;
        parts.push(Part::Expr(parse_tokens(tokens, close)?));
        text_start = close + 2;
    }
    if text_start < src.len() {
        parts.push(Part::Text(
            src.get(text_start..).unwrap_or_default().to_string(),
        ));
    }
    Ok(Template { parts })
}

impl Template {
    /// The text with each expression replaced by its value's text ([`to_display_string`]).
    pub fn render(&self, scope: &Scope<'_>) -> Result<String, EvalError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Expr(e) => out.push_str(&to_display_string(&e.eval(scope)?)),
            }
            if out.len() > MAX_STRING_LEN {
                return Err(EvalError(format!(
                    "the rendered text is longer than {MAX_STRING_LEN} bytes"
                )));
            }
        }
        Ok(out)
    }

    /// A template that is exactly one `${{ }}` gives that expression's value unconverted (so
    /// `${{ matrix.shards }}` can be a list); any other template gives its rendered text.
    pub fn eval(&self, scope: &Scope<'_>) -> Result<Value, EvalError> {
        match self.parts.as_slice() {
            [Part::Expr(e)] => e.eval(scope),
            _ => self.render(scope).map(Value::String),
        }
    }

    /// The static context paths read by all the expressions, in source order.
    pub fn references(&self) -> Vec<crate::Reference> {
        self.exprs().flat_map(Expr::references).collect()
    }

    /// Whether the template has no `${{ }}` at all.
    pub fn is_literal(&self) -> bool {
        self.exprs().next().is_none()
    }

    /// The embedded expressions, in source order.
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.parts.iter().filter_map(|p| match p {
            Part::Expr(e) => Some(e),
            Part::Text(_) => None,
        })
    }

    /// True when the template is one expression with at most whitespace around it: the shape
    /// of an `if:` written as `${{ … }}`.
    pub(crate) fn is_single_expr_in_whitespace(&self) -> bool {
        let mut exprs = 0;
        for part in &self.parts {
            match part {
                Part::Expr(_) => exprs += 1,
                Part::Text(t) if t.trim().is_empty() => {}
                Part::Text(_) => return false,
            }
        }
        exprs == 1
    }
}
