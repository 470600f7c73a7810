//! Git ref names and object ids as forges and `git ls-remote` report them.

use serde::{Deserialize, Serialize};

/// What a full ref name (`refs/heads/main`, `refs/tags/v1`) points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum RefTarget {
    Branch(String),
    Tag(String),
    /// Any other ref (`refs/notes/…`, `refs/merge-requests/…`): never starts a run.
    Other(String),
}

impl RefTarget {
    pub fn parse(full_ref: &str) -> RefTarget {
        if let Some(branch) = full_ref
            .strip_prefix("refs/heads/")
            .filter(|b| !b.is_empty())
        {
            RefTarget::Branch(branch.to_string())
        } else if let Some(tag) = full_ref
            .strip_prefix("refs/tags/")
            .filter(|t| !t.is_empty())
        {
            RefTarget::Tag(tag.to_string())
        } else {
            RefTarget::Other(full_ref.to_string())
        }
    }

    pub fn branch(&self) -> Option<&str> {
        match self {
            RefTarget::Branch(b) => Some(b),
            _ => None,
        }
    }

    pub fn tag(&self) -> Option<&str> {
        match self {
            RefTarget::Tag(t) => Some(t),
            _ => None,
        }
    }
}

/// A full hexadecimal object id: 40 digits (SHA-1) or 64 (SHA-256 repositories).
/// Checking this before an id reaches a `git` command line also keeps a hostile value
/// such as `--upload-pack=…` from being read as an option.
pub fn is_object_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The all-zero id forges send as `before` of a new ref and `after` of a deleted one.
pub fn is_zero_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b == b'0')
}

/// Whether `name` (a branch or tag name without `refs/…/`, or a full ref) could be a git
/// ref name: the rules of `git check-ref-format` that matter for safety and display.
pub fn is_valid_ref_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 1024
        && !name.starts_with('-')
        && !name.starts_with('/')
        && !name.ends_with('/')
        && !name.ends_with('.')
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && !name
            .chars()
            .any(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_branches_tags_and_other_refs() {
        assert_eq!(
            RefTarget::parse("refs/heads/release/1.0"),
            RefTarget::Branch("release/1.0".into())
        );
        assert_eq!(
            RefTarget::parse("refs/tags/v1.2.3"),
            RefTarget::Tag("v1.2.3".into())
        );
        assert_eq!(
            RefTarget::parse("refs/heads/"),
            RefTarget::Other("refs/heads/".into())
        );
        assert_eq!(RefTarget::parse("main"), RefTarget::Other("main".into()));
        assert_eq!(RefTarget::parse("refs/notes/commits").branch(), None);
    }

    #[test]
    fn object_ids_and_ref_names() {
        assert!(is_object_id(&"a".repeat(40)));
        assert!(is_object_id(&"0F".repeat(32)));
        assert!(!is_object_id(&"a".repeat(39)));
        assert!(!is_object_id("--upload-pack=touch /tmp/x"));
        assert!(is_zero_id(&"0".repeat(40)));
        assert!(!is_zero_id(""));
        for good in ["main", "release/1.0", "feature/x-y_z", "v1.0.0", "日本"] {
            assert!(is_valid_ref_name(good), "{good}");
        }
        for bad in [
            "", "-x", "a..b", "a b", "a\nb", "x.lock", "a/", "a//b", "x~1", "HEAD@{1}", "a\\b",
        ] {
            assert!(!is_valid_ref_name(bad), "{bad:?}");
        }
    }
}
