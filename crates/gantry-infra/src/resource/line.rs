//! `line`: a line present in a file. With `regexp`, the lines matching it are replaced
//! by the line (the first one; the others removed); without, the line is appended when
//! missing. The file is rewritten atomically (temporary file, then rename), keeping its
//! mode and owner; a missing file is created with mode 0644.

use serde::Serialize;

use super::{Change, Check, ResourceType};
use crate::report::Observed;
use crate::shell::quote;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineSpec {
    pub path: String,
    pub line: String,
    /// A POSIX extended regular expression (awk's dialect).
    pub regexp: Option<String>,
}

/// Counts, for the check: is the line there (0/1), and how many other lines match.
const CHECK_AWK: &str = r#"BEGIN { L = ENVIRON["GANTRY_LINE"]; R = ENVIRON["GANTRY_RE"]; p = 0; s = 0 } $0 == L { p = 1; next } R != "" && $0 ~ R { s++ } END { print p, s }"#;
/// The rewrite: the first line equal to the line or matching the regexp becomes the
/// line, later ones go; appended at the end when none was there.
const APPLY_AWK: &str = r#"BEGIN { L = ENVIRON["GANTRY_LINE"]; R = ENVIRON["GANTRY_RE"]; d = 0 } { if ($0 == L || (R != "" && $0 ~ R)) { if (!d) { print L; d = 1 }; next }; print } END { if (!d) print L }"#;

impl LineSpec {
    fn env(&self) -> String {
        format!(
            "GANTRY_LINE={} GANTRY_RE={}",
            quote(&self.line),
            quote(self.regexp.as_deref().unwrap_or(""))
        )
    }
}

impl ResourceType for LineSpec {
    fn type_name(&self) -> &'static str {
        "line"
    }

    fn default_id(&self) -> String {
        format!("line {}", self.path)
    }

    fn check_script(&self, index: usize, out: &mut String) {
        let p = quote(&self.path);
        out.push_str(&format!(
            "_gstat {index} {p}\n\
             if [ -f {p} ]; then echo \"R {index} line $({env} awk {awk} {p})\"; fi\n",
            env = self.env(),
            awk = quote(CHECK_AWK),
        ));
    }

    fn compare(&self, observed: &Observed) -> Check {
        match observed.kind() {
            "none" => Check::Change {
                changes: vec![Change::new("create", None, Some(self.line.clone()))],
            },
            "file" => {
                let mut counts = observed.get("line").unwrap_or("0 0").split(' ');
                let present = counts.next() == Some("1");
                let stale: u64 = counts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                if present && stale == 0 {
                    Check::Unchanged
                } else {
                    let from = (stale > 0).then(|| {
                        format!(
                            "{stale} line{} matching /{}/",
                            if stale == 1 { "" } else { "s" },
                            self.regexp.as_deref().unwrap_or("")
                        )
                    });
                    Check::Change {
                        changes: vec![Change::new("line", from, Some(self.line.clone()))],
                    }
                }
            }
            other => Check::Error {
                message: format!("{} exists and is not a regular file ({other})", self.path),
            },
        }
    }

    fn apply_script(&self, _observed: &Observed, out: &mut String) {
        let p = quote(&self.path);
        out.push_str(&format!(
            "_t=$(mktemp \"$(dirname -- {p})/.gantry.XXXXXX\")\n\
             trap 'rm -f \"$_t\"' EXIT\n\
             if [ -e {p} ]; then {env} awk {awk} {p} > \"$_t\"; chmod --reference={p} \"$_t\"; chown --reference={p} \"$_t\"\n\
             else printf '%s\\n' {line} > \"$_t\"; chmod 0644 \"$_t\"; fi\n\
             mv -f -- \"$_t\" {p}\n",
            env = self.env(),
            awk = quote(APPLY_AWK),
            line = quote(&self.line),
        ));
    }
}
