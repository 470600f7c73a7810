//! `file`: a regular file with the declared content (inline or from a file in the
//! workspace), mode, owner and group. Content is written atomically: a temporary file in
//! the same directory, its mode and owner set, then renamed over the old one.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Change, Check, ResourceType, attr_changes, attr_script};
use crate::report::Observed;
use crate::shell::quote;

/// Largest file whose old content the check sends back for a diff.
pub const DIFF_LIMIT: u64 = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileSpec {
    pub path: String,
    pub content: FileContent,
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// Where a file's content comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileContent {
    Inline(String),
    /// `source:` relative to the workspace; `bytes` is filled in by `load`.
    Source {
        path: String,
        #[serde(skip)]
        bytes: Option<Vec<u8>>,
    },
}

impl FileContent {
    pub fn bytes(&self) -> &[u8] {
        match self {
            FileContent::Inline(text) => text.as_bytes(),
            FileContent::Source { bytes, .. } => bytes.as_deref().unwrap_or_default(),
        }
    }
}

impl FileSpec {
    pub(crate) fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.content.bytes()))
    }
}

impl ResourceType for FileSpec {
    fn type_name(&self) -> &'static str {
        "file"
    }

    fn default_id(&self) -> String {
        format!("file {}", self.path)
    }

    fn check_script(&self, index: usize, out: &mut String) {
        file_check_script(index, &self.path, Some(&self.sha256()), out);
    }

    fn compare(&self, observed: &Observed) -> Check {
        let new = self.content.bytes();
        match observed.kind() {
            "none" => {
                let mut change = Change::new("create", None, Some(format!("{} bytes", new.len())));
                change.diff = Some(unified_diff(&self.path, b"", new));
                Check::Change {
                    changes: vec![change],
                }
            }
            "file" => {
                let mut changes = Vec::new();
                if observed.get("sha256") != Some(self.sha256().as_str()) {
                    let mut change = Change::new("content", None, None);
                    change.diff = Some(match observed.bytes("content") {
                        Some(old) => unified_diff(&self.path, &old, new),
                        None => "(old content too large to show)\n".to_string(),
                    });
                    changes.push(change);
                }
                changes.extend(attr_changes(
                    observed,
                    self.mode,
                    self.owner.as_deref(),
                    self.group.as_deref(),
                ));
                if changes.is_empty() {
                    Check::Unchanged
                } else {
                    Check::Change { changes }
                }
            }
            other => Check::Error {
                message: format!("{} exists and is not a regular file ({other})", self.path),
            },
        }
    }

    fn apply_script(&self, observed: &Observed, out: &mut String) {
        let p = quote(&self.path);
        if observed.kind() == "file" && observed.get("sha256") == Some(self.sha256().as_str()) {
            attr_script(
                &p,
                self.mode,
                self.owner.as_deref(),
                self.group.as_deref(),
                out,
            );
            return;
        }
        let b64 = STANDARD.encode(self.content.bytes());
        out.push_str(&format!(
            "_t=$(mktemp \"$(dirname -- {p})/.gantry.XXXXXX\")\n\
             trap 'rm -f \"$_t\"' EXIT\n\
             printf '%s' '{b64}' | base64 -d > \"$_t\"\n\
             if [ -e {p} ]; then chmod --reference={p} \"$_t\"; chown --reference={p} \"$_t\"; else chmod 0644 \"$_t\"; fi\n",
        ));
        attr_script(
            "\"$_t\"",
            self.mode,
            self.owner.as_deref(),
            self.group.as_deref(),
            out,
        );
        out.push_str(&format!("mv -f -- \"$_t\" {p}\n"));
    }
}

/// The check of a regular file at `path`: `_gstat`, its sha256, and its content (for
/// the diff, up to [`DIFF_LIMIT`]) when it differs from `want` — always, without `want`
/// (a template's content is known only after the facts this same script gathers).
pub(crate) fn file_check_script(index: usize, path: &str, want: Option<&str>, out: &mut String) {
    let p = quote(path);
    let differs = match want {
        Some(want) => format!("[ \"$_h\" != {} ] && ", quote(want)),
        None => String::new(),
    };
    out.push_str(&format!(
        "_gstat {index} {p}\n\
         if [ -f {p} ] && [ ! -L {p} ]; then\n\
         _h=$(sha256sum -- {p} | cut -d' ' -f1); echo \"R {index} sha256 $_h\"\n\
         if {differs}[ \"$(stat -c %s -- {p})\" -le {DIFF_LIMIT} ]; then echo \"R {index} content $(base64 -w0 -- {p})\"; fi\n\
         fi\n",
    ));
}

/// A unified diff of two file contents; binary content is summarised.
pub fn unified_diff(path: &str, old: &[u8], new: &[u8]) -> String {
    match (std::str::from_utf8(old), std::str::from_utf8(new)) {
        (Ok(old), Ok(new)) => similar::TextDiff::from_lines(old, new)
            .unified_diff()
            .context_radius(3)
            .header(&format!("{path} (actual)"), &format!("{path} (declared)"))
            .to_string(),
        _ => format!(
            "binary content differs ({} bytes → {} bytes)\n",
            old.len(),
            new.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(content: &str) -> FileSpec {
        FileSpec {
            path: "/etc/motd".into(),
            content: FileContent::Inline(content.into()),
            mode: Some(0o644),
            owner: None,
            group: None,
        }
    }

    fn observed(pairs: &[(&str, &str)]) -> Observed {
        Observed(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn same_content_and_mode_is_unchanged() {
        let s = spec("hi\n");
        let o = observed(&[
            ("type", "file"),
            ("stat", "644 root root"),
            ("sha256", &s.sha256()),
        ]);
        assert_eq!(s.compare(&o), Check::Unchanged);
    }

    #[test]
    fn changed_content_gives_a_unified_diff() {
        let s = spec("a\nb\n");
        let old = STANDARD.encode("a\nc\n");
        let o = observed(&[
            ("type", "file"),
            ("stat", "600 root root"),
            ("sha256", "x"),
            ("content", &old),
        ]);
        let Check::Change { changes } = s.compare(&o) else {
            panic!("expected a change")
        };
        assert_eq!(changes[0].field, "content");
        let diff = changes[0].diff.as_deref().unwrap_or_default();
        assert!(diff.contains("-c\n") && diff.contains("+b\n"), "{diff}");
        assert_eq!(changes[1].field, "mode");
        assert_eq!(changes[1].from.as_deref(), Some("0600"));
    }

    #[test]
    fn a_directory_in_the_way_is_an_error() {
        let o = observed(&[("type", "dir")]);
        assert!(matches!(spec("x").compare(&o), Check::Error { .. }));
    }
}
