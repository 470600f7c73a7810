//! How expression values behave: truthiness, conversion to text and numbers, and the
//! loose equality and ordering used by `==`, `<` and friends.

use std::cmp::Ordering;

use serde_json::Number;

use crate::Value;

/// Whether a value counts as true in a condition: `null`, `false`, `0` and `''` are false,
/// everything else (including empty arrays and objects) is true.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// The text a value becomes inside a template: strings as they are, `null` as nothing,
/// booleans and numbers as JSON text (integers without `.0`), arrays and objects as
/// compact JSON.
pub fn to_display_string(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_to_string(n),
        Value::String(s) => s.clone(),
        // Serialising a `Value` cannot fail (its keys are strings, its numbers finite).
        Value::Array(_) | Value::Object(_) => serde_json::to_string(v).unwrap_or_default(),
    }
}

/// A number as text; whole floats print like integers (`3`, not `3.0`) so that a number read
/// from JSON as `3.0` renders the same as the literal `3`.
pub(crate) fn number_to_string(n: &Number) -> String {
    if n.is_f64()
        && let Some(f) = n.as_f64()
    {
        // Below 2^53 every whole float is exactly an i64; beyond it keep JSON's form.
        if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
            return (f as i64).to_string();
        }
    }
    n.to_string()
}

/// The number a value is coerced to when compared with a value of another type:
/// `null` → 0, `false` → 0, `true` → 1, a string → its numeric value (blank → 0,
/// not a number → NaN), arrays and objects → NaN (so they equal nothing).
pub(crate) fn to_number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => parse_number_text(s).unwrap_or(f64::NAN),
        Value::Array(_) | Value::Object(_) => f64::NAN,
    }
}

/// Parses the text of a number the way a string is coerced: surrounding whitespace is
/// ignored, an empty string is 0, decimal, exponent and `0x` hex forms are accepted, and
/// words such as `inf` or `NaN` are not numbers.
pub(crate) fn parse_number_text(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return Some(0.0);
    }
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let v = u64::from_str_radix(hex, 16).ok()? as f64;
        return Some(if neg { -v } else { v });
    }
    let allowed = |b: u8| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-');
    if !body.bytes().any(|b| b.is_ascii_digit()) || !body.bytes().all(allowed) {
        return None;
    }
    let v: f64 = body.parse().ok()?;
    v.is_finite().then_some(if neg { -v } else { v })
}

/// `==`: values of the same type compare by value (strings case-sensitively, arrays and
/// objects structurally); a mix of null, booleans, numbers and strings compares as
/// numbers; an array or object never equals a value of another type.
pub(crate) fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Some(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(_), Value::Array(_)) | (Value::Object(_), Value::Object(_)) => deep_eq(a, b),
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => false,
        _ => to_number(a) == to_number(b),
    }
}

/// `<`, `<=`, `>`, `>=`: `None` when the values are not ordered (arrays, objects, NaN), which
/// makes every ordering comparison false.
pub(crate) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y),
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => None,
        _ => to_number(a).partial_cmp(&to_number(b)),
    }
}

fn compare_numbers(x: &Number, y: &Number) -> Option<Ordering> {
    // Exact for integers, so large ids compare correctly; floats otherwise.
    if let (Some(a), Some(b)) = (x.as_i64(), y.as_i64()) {
        return Some(a.cmp(&b));
    }
    if let (Some(a), Some(b)) = (x.as_u64(), y.as_u64()) {
        return Some(a.cmp(&b));
    }
    x.as_f64()?.partial_cmp(&y.as_f64()?)
}

/// Structural equality where numbers compare by value (`1` equals `1.0`).
fn deep_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| deep_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_eq(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_floats_print_as_integers() {
        assert_eq!(to_display_string(&json!(3.0)), "3");
        assert_eq!(to_display_string(&json!(-2.0)), "-2");
        assert_eq!(to_display_string(&json!(2.5)), "2.5");
        assert_eq!(to_display_string(&json!(1e300)), "1e+300");
        assert_eq!(to_display_string(&json!(u64::MAX)), "18446744073709551615");
    }

    #[test]
    fn number_text_parsing() {
        assert_eq!(parse_number_text(" 12 "), Some(12.0));
        assert_eq!(parse_number_text(""), Some(0.0));
        assert_eq!(parse_number_text("0x1F"), Some(31.0));
        assert_eq!(parse_number_text("-1.5e1"), Some(-15.0));
        assert_eq!(parse_number_text("inf"), None);
        assert_eq!(parse_number_text("NaN"), None);
        assert_eq!(parse_number_text("1e999"), None);
        assert_eq!(parse_number_text("12abc"), None);
        assert_eq!(parse_number_text("-"), None);
        assert_eq!(parse_number_text("0x"), None);
    }

    #[test]
    fn deep_equality_compares_numbers_by_value() {
        assert!(loose_eq(&json!([1, {"a": 2}]), &json!([1.0, {"a": 2.0}])));
        assert!(!loose_eq(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!loose_eq(&json!([1]), &json!("1")));
    }
}
