//! Typing of plain scalars by the YAML 1.2 core schema: `null`/`~`/empty, `true`/`false`,
//! integers (decimal, `0o`, `0x`), floats (with `.inf`/`.nan`); anything else is a string.
//! Deliberately not YAML 1.1: `on`, `yes` and `no` stay strings.

use super::Kind;

pub fn resolve_plain(text: &str) -> Kind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        "true" | "True" | "TRUE" => return Kind::Bool(true),
        "false" | "False" | "FALSE" => return Kind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Kind::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Kind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Kind::Float(f64::NAN),
        _ => {}
    }
    if let Some(kind) = resolve_int(text) {
        return kind;
    }
    if is_core_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Kind::Float(f);
    }
    Kind::Str
}

fn resolve_int(text: &str) -> Option<Kind> {
    let (radix, digits, negative) = if let Some(rest) = text.strip_prefix("0o") {
        (8, rest, false)
    } else if let Some(rest) = text.strip_prefix("0x") {
        (16, rest, false)
    } else {
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        (10, rest, negative)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let parsed = i64::from_str_radix(digits, radix)
        .ok()
        .and_then(|v| if negative { v.checked_neg() } else { Some(v) });
    Some(match parsed {
        Some(v) => Kind::Int(v),
        // Too large for an i64: still a number, as YAML says.
        None => Kind::Float(text.parse::<f64>().unwrap_or(f64::INFINITY)),
    })
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_core_float(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        frac_digits = i - frac_start;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_core_schema() {
        assert_eq!(resolve_plain(""), Kind::Null);
        assert_eq!(resolve_plain("~"), Kind::Null);
        assert_eq!(resolve_plain("True"), Kind::Bool(true));
        assert_eq!(resolve_plain("on"), Kind::Str);
        assert_eq!(resolve_plain("yes"), Kind::Str);
        assert_eq!(resolve_plain("42"), Kind::Int(42));
        assert_eq!(resolve_plain("-7"), Kind::Int(-7));
        assert_eq!(resolve_plain("0x1F"), Kind::Int(31));
        assert_eq!(resolve_plain("0o17"), Kind::Int(15));
        assert_eq!(resolve_plain("1.10"), Kind::Float(1.1));
        assert_eq!(resolve_plain(".5"), Kind::Float(0.5));
        assert_eq!(resolve_plain("1e3"), Kind::Float(1000.0));
        assert_eq!(resolve_plain("1."), Kind::Float(1.0));
        assert_eq!(resolve_plain("-.inf"), Kind::Float(f64::NEG_INFINITY));
        assert_eq!(resolve_plain("99999999999999999999"), Kind::Float(1e20));
        for s in [
            "1.2.3",
            "1e",
            "e3",
            ".",
            "-",
            "0x",
            "0xZ",
            "v1",
            "1_000",
            "3.10-slim",
            "+",
        ] {
            assert_eq!(resolve_plain(s), Kind::Str, "{s}");
        }
    }
}
