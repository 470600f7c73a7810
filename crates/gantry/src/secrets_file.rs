//! Loading secrets for a local run: a `--secret-file` in dotenv form (`NAME=value`,
//! `NAME="quoted\nvalue"`, or `NAME<<EOF` … `EOF` for multi-line values, `#` comments)
//! and `GANTRY_SECRET_<NAME>` environment variables. Errors name the line but never
//! show a value.

use anyhow::bail;
use gantry_core::Secret;
use indexmap::IndexMap;

pub const ENV_PREFIX: &str = "GANTRY_SECRET_";

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

pub fn parse(file: &str, text: &str) -> anyhow::Result<IndexMap<String, Secret>> {
    let mut out = IndexMap::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, raw)) = lines.next() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        if let Some((name, delim)) = line.split_once("<<") {
            let (name, delim) = (name.trim(), delim.trim());
            if valid_name(name) && !delim.is_empty() {
                let mut value = Vec::new();
                let mut closed = false;
                for (_, l) in lines.by_ref() {
                    if l.trim_end() == delim {
                        closed = true;
                        break;
                    }
                    value.push(l);
                }
                if !closed {
                    bail!(
                        "{file}:{}: secret '{name}' opened with '<<{delim}' has no closing '{delim}' line",
                        n + 1
                    );
                }
                out.insert(name.to_string(), Secret::new(value.join("\n")));
                continue;
            }
        }
        let Some((name, value)) = line.split_once('=') else {
            bail!(
                "{file}:{}: expected NAME=value (the value is not shown)",
                n + 1
            );
        };
        let name = name.trim();
        if !valid_name(name) {
            bail!(
                "{file}:{}: '{name}' is not a valid secret name (letters, digits and _; not starting with a digit)",
                n + 1
            );
        }
        let value = value.trim();
        let value = if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            inner
                .replace("\\n", "\n")
                .replace("\\\"", "\"")
                .replace("\\\\", "\\")
        } else if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            inner.to_string()
        } else {
            value.to_string()
        };
        out.insert(name.to_string(), Secret::new(value));
    }
    Ok(out)
}

/// Secrets from `GANTRY_SECRET_<NAME>` variables.
pub fn from_env() -> IndexMap<String, Secret> {
    std::env::vars()
        .filter_map(|(k, v)| {
            k.strip_prefix(ENV_PREFIX)
                .filter(|n| valid_name(n))
                .map(|n| (n.to_string(), Secret::new(v)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_forms() {
        let s = parse(
            "s.env",
            "# c\nTOKEN=abc123\nexport QUOTED=\"a\\nb\"\nSINGLE='x y'\nKEY<<END\nline1\nline2\nEND\n",
        )
        .unwrap();
        assert_eq!(s["TOKEN"].expose(), "abc123");
        assert_eq!(s["QUOTED"].expose(), "a\nb");
        assert_eq!(s["SINGLE"].expose(), "x y");
        assert_eq!(s["KEY"].expose(), "line1\nline2");
    }

    #[test]
    fn errors_name_the_line_not_the_value() {
        let e = parse("s.env", "OK=1\nnot a pair supersecretvalue\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.env:2:"), "{e}");
        assert!(!e.contains("supersecretvalue"));
        let e = parse("s.env", "K<<END\nsupersecretvalue\n")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("supersecretvalue"));
    }
}
