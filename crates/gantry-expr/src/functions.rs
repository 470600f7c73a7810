//! The built-in functions: their names, how many arguments each takes (checked when
//! parsing), and what each computes.

use std::borrow::Cow;

use crate::value::{loose_eq, to_display_string};
use crate::{EvalError, MAX_STRING_LEN, Scope, Value};

/// A built-in function. The names are those of [`crate::FUNCTIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Contains,
    StartsWith,
    EndsWith,
    Format,
    Join,
    ToJson,
    FromJson,
    HashFiles,
    Success,
    Failure,
    Always,
    Cancelled,
}

const ALL: [Func; 12] = [
    Func::Contains,
    Func::StartsWith,
    Func::EndsWith,
    Func::Format,
    Func::Join,
    Func::ToJson,
    Func::FromJson,
    Func::HashFiles,
    Func::Success,
    Func::Failure,
    Func::Always,
    Func::Cancelled,
];

impl Func {
    /// Function names are case-sensitive, like context names.
    pub(crate) fn from_name(name: &str) -> Option<Func> {
        ALL.into_iter().find(|f| f.name() == name)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Func::Contains => "contains",
            Func::StartsWith => "starts_with",
            Func::EndsWith => "ends_with",
            Func::Format => "format",
            Func::Join => "join",
            Func::ToJson => "to_json",
            Func::FromJson => "from_json",
            Func::HashFiles => "hash_files",
            Func::Success => "success",
            Func::Failure => "failure",
            Func::Always => "always",
            Func::Cancelled => "cancelled",
        }
    }

    /// The least and (if bounded) the most arguments the function takes.
    pub(crate) fn arity(self) -> (usize, Option<usize>) {
        match self {
            Func::Contains | Func::StartsWith | Func::EndsWith => (2, Some(2)),
            Func::Format | Func::HashFiles => (1, None),
            Func::Join => (1, Some(2)),
            Func::ToJson | Func::FromJson => (1, Some(1)),
            Func::Success | Func::Failure | Func::Always | Func::Cancelled => (0, Some(0)),
        }
    }

    /// `success()`, `failure()`, `always()` and `cancelled()` read the run status; a condition
    /// using none of them gets an implicit `success() &&`.
    pub(crate) fn is_status(self) -> bool {
        matches!(
            self,
            Func::Success | Func::Failure | Func::Always | Func::Cancelled
        )
    }

    /// "takes 2 arguments", "takes 1 or 2 arguments", "takes at least 1 argument".
    pub(crate) fn arity_text(self) -> String {
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        match self.arity() {
            (min, Some(max)) if min == max => format!("takes {min} {}", plural(min)),
            (min, Some(max)) => format!("takes {min} or {max} {}", plural(max)),
            (min, None) => format!("takes at least {min} {}", plural(min)),
        }
    }
}

/// Calls `func` on already evaluated arguments. The parser has checked the argument count;
/// it is checked again here so that a hand-built call cannot index out of bounds.
pub(crate) fn call(
    func: Func,
    args: &[Cow<'_, Value>],
    scope: &Scope<'_>,
) -> Result<Value, EvalError> {
    let (min, max) = func.arity();
    if args.len() < min || max.is_some_and(|m| args.len() > m) {
        return Err(EvalError(format!(
            "'{}' {}, but {} were given",
            func.name(),
            func.arity_text(),
            args.len()
        )));
    }
    let arg = |i: usize| args.get(i).map_or(&Value::Null, |v| v.as_ref());
    let status = scope.status;
    Ok(match func {
        Func::Contains => Value::Bool(contains(arg(0), arg(1))?),
        Func::StartsWith => {
            let (s, p) = (text(func, 1, arg(0))?, text(func, 2, arg(1))?);
            Value::Bool(s.starts_with(p.as_ref()))
        }
        Func::EndsWith => {
            let (s, p) = (text(func, 1, arg(0))?, text(func, 2, arg(1))?);
            Value::Bool(s.ends_with(p.as_ref()))
        }
        Func::Format => Value::String(format(
            &text(func, 1, arg(0))?,
            args.get(1..).unwrap_or(&[]),
        )?),
        Func::Join => Value::String(join(arg(0), args.get(1).map(|v| v.as_ref()))?),
        Func::ToJson => {
            let s =
                serde_json::to_string(arg(0)).map_err(|e| EvalError(format!("to_json: {e}")))?;
            Value::String(capped("to_json", s)?)
        }
        Func::FromJson => match arg(0) {
            Value::String(s) => serde_json::from_str(s).map_err(|e| {
                EvalError(format!("from_json: the argument is not valid JSON ({e})"))
            })?,
            other => {
                return Err(EvalError(format!(
                    "from_json: the argument must be a string, not {}",
                    type_name(other)
                )));
            }
        },
        Func::HashFiles => {
            let patterns = (0..args.len())
                .map(|i| text(func, i + 1, arg(i)).map(Cow::into_owned))
                .collect::<Result<Vec<_>, _>>()?;
            let Some(hash) = scope.hash_files else {
                return Err(EvalError(
                    "hash_files() is not available here: it needs the job's workspace".into(),
                ));
            };
            Value::String(hash(&patterns).map_err(|e| EvalError(format!("hash_files: {e}")))?)
        }
        Func::Success => Value::Bool(!status.failed && !status.cancelled),
        Func::Failure => Value::Bool(status.failed && !status.cancelled),
        Func::Always => Value::Bool(true),
        Func::Cancelled => Value::Bool(status.cancelled),
    })
}

/// An argument used as text: strings as they are, null as `''`, booleans and numbers as
/// their JSON text. Arrays and objects are refused, since no text form of them is useful here.
fn text<'v>(func: Func, position: usize, v: &'v Value) -> Result<Cow<'v, str>, EvalError> {
    match v {
        Value::String(s) => Ok(Cow::Borrowed(s)),
        Value::Array(_) | Value::Object(_) => Err(EvalError(format!(
            "{}: argument {position} must be a string, not {}",
            func.name(),
            type_name(v)
        ))),
        _ => Ok(Cow::Owned(to_display_string(v))),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn capped(func: &str, s: String) -> Result<String, EvalError> {
    if s.len() > MAX_STRING_LEN {
        return Err(EvalError(format!(
            "{func}: the result is longer than {MAX_STRING_LEN} bytes"
        )));
    }
    Ok(s)
}

/// An array contains an element equal (`==`) to the needle; a string contains the needle's
/// text as a substring (case-sensitive).
fn contains(haystack: &Value, needle: &Value) -> Result<bool, EvalError> {
    match haystack {
        Value::Array(items) => Ok(items.iter().any(|item| loose_eq(item, needle))),
        _ => {
            let h = text(Func::Contains, 1, haystack)?;
            let n = text(Func::Contains, 2, needle)?;
            Ok(h.contains(n.as_ref()))
        }
    }
}

/// `format('{0} and {1}', a, b)`: `{N}` is the text of argument N (counting after the format
/// string), `{{` and `}}` are literal braces.
fn format(fmt: &str, args: &[Cow<'_, Value>]) -> Result<String, EvalError> {
    let mut out = String::with_capacity(fmt.len());
    let mut chars = fmt.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '{' if chars.next_if(|&(_, c)| c == '{').is_some() => out.push('{'),
            '}' if chars.next_if(|&(_, c)| c == '}').is_some() => out.push('}'),
            '{' => {
                let mut index: Option<usize> = None;
                loop {
                    match chars.next() {
                        Some((_, d @ '0'..='9')) => {
                            let digit = d as usize - '0' as usize;
                            index = index
                                .unwrap_or(0)
                                .checked_mul(10)
                                .and_then(|i| i.checked_add(digit));
                            if index.is_none() {
                                return Err(bad_placeholder(at));
                            }
                        }
                        Some((_, '}')) if index.is_some() => break,
                        _ => return Err(bad_placeholder(at)),
                    }
                }
                let i = index.unwrap_or(0);
                let value = args.get(i).ok_or_else(|| {
                    EvalError(format!(
                        "format: placeholder {{{i}}} has no argument ({} given)",
                        args.len()
                    ))
                })?;
                out.push_str(&to_display_string(value));
            }
            '}' => {
                return Err(EvalError(format!(
                    "format: unmatched '}}' at byte {at} of the format string; write '}}}}' for a literal '}}'"
                )));
            }
            c => out.push(c),
        }
        if out.len() > MAX_STRING_LEN {
            return Err(EvalError(format!(
                "format: the result is longer than {MAX_STRING_LEN} bytes"
            )));
        }
    }
    Ok(out)
}

fn bad_placeholder(at: usize) -> EvalError {
    EvalError(format!(
        "format: invalid placeholder at byte {at} of the format string: expected '{{N}}' with N a number; write '{{{{' for a literal '{{'"
    ))
}

/// `join(array, sep)`: the elements' text separated by `sep` (default `,`). A string or other
/// single value is returned as its text, so `join(x)` works whether `x` is a list or not.
fn join(items: &Value, sep: Option<&Value>) -> Result<String, EvalError> {
    let sep = match sep {
        Some(v) => text(Func::Join, 2, v)?,
        None => Cow::Borrowed(","),
    };
    let Value::Array(items) = items else {
        return text(Func::Join, 1, items).map(Cow::into_owned);
    };
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&sep);
        }
        out.push_str(&to_display_string(item));
        if out.len() > MAX_STRING_LEN {
            return Err(EvalError(format!(
                "join: the result is longer than {MAX_STRING_LEN} bytes"
            )));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_function_exists_and_names_round_trip() {
        for name in crate::FUNCTIONS {
            let f = Func::from_name(name);
            assert_eq!(f.map(Func::name), Some(*name));
        }
        assert_eq!(ALL.len(), crate::FUNCTIONS.len());
        assert_eq!(Func::from_name("startsWith"), None);
    }

    #[test]
    fn arity_text_reads_well() {
        assert_eq!(Func::Contains.arity_text(), "takes 2 arguments");
        assert_eq!(Func::Join.arity_text(), "takes 1 or 2 arguments");
        assert_eq!(Func::Format.arity_text(), "takes at least 1 argument");
        assert_eq!(Func::Always.arity_text(), "takes 0 arguments");
    }

    #[test]
    fn call_rechecks_argument_count() {
        let scope = Scope::default();
        let err = call(Func::Contains, &[], &scope);
        assert_eq!(
            err,
            Err(EvalError(
                "'contains' takes 2 arguments, but 0 were given".into()
            ))
        );
    }
}
