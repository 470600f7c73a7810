//! Parsing the file a step writes at `$GANTRY_OUTPUT`: `key=value` lines, and the
//! heredoc form for multi-line values:
//! ```text
//! version=1.2.3
//! notes<<EOF
//! line one
//! line two
//! EOF
//! ```

use indexmap::IndexMap;

/// Output values larger than this are refused, so a step cannot balloon the report.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;

/// Parses an output file. Later keys overwrite earlier ones. Malformed lines are
/// returned as errors naming the line, and the rest is still parsed.
pub fn parse_outputs(text: &str) -> (IndexMap<String, String>, Vec<String>) {
    let mut out = IndexMap::new();
    let mut errors = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some((key, delim)) = line.split_once("<<")
            && valid_key(key)
            && !delim.trim().is_empty()
            && !key.contains('=')
        {
            let delim = delim.trim();
            let mut value = Vec::new();
            let mut closed = false;
            for (_, l) in lines.by_ref() {
                if l == delim {
                    closed = true;
                    break;
                }
                value.push(l);
            }
            if !closed {
                errors.push(format!(
                        "line {}: output '{key}' opened with '<<{delim}' is never closed by a '{delim}' line",
                        n + 1
                    ));
            }
            out.insert(key.to_string(), value.join("\n"));
            continue;
        }
        match line.split_once('=') {
            Some((key, value)) if valid_key(key) => {
                out.insert(key.to_string(), value.to_string());
            }
            _ => errors.push(format!(
                "line {}: expected 'name=value' or 'name<<DELIMITER', found '{}'",
                n + 1,
                line.chars().take(40).collect::<String>()
            )),
        }
    }
    out.retain(|k, v| {
        if v.len() > MAX_OUTPUT_BYTES {
            errors.push(format!(
                "output '{k}' is larger than {MAX_OUTPUT_BYTES} bytes and was dropped"
            ));
            false
        } else {
            true
        }
    });
    (out, errors)
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !key.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_heredocs() {
        let (out, errors) = parse_outputs("version=1.2=3\nnotes<<EOF\na\nb\nEOF\n\nempty=\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(out["version"], "1.2=3");
        assert_eq!(out["notes"], "a\nb");
        assert_eq!(out["empty"], "");
    }

    #[test]
    fn reports_bad_lines_and_keeps_the_rest() {
        let (out, errors) = parse_outputs("oops\nok=1\nx<<END\nnever closed\n");
        assert_eq!(out["ok"], "1");
        assert_eq!(out["x"], "never closed");
        assert_eq!(errors.len(), 2);
        assert!(errors[0].starts_with("line 1:"));
        assert!(errors[1].contains("never closed"));
    }
}
