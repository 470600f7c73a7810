//! `symlink`: a symbolic link at `path` pointing at `target`, replaced atomically.

use serde::Serialize;

use super::{Change, Check, ResourceType};
use crate::report::Observed;
use crate::shell::quote;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymlinkSpec {
    pub path: String,
    pub target: String,
}

impl ResourceType for SymlinkSpec {
    fn type_name(&self) -> &'static str {
        "symlink"
    }

    fn default_id(&self) -> String {
        format!("symlink {}", self.path)
    }

    fn check_script(&self, index: usize, out: &mut String) {
        out.push_str(&format!("_gstat {index} {}\n", quote(&self.path)));
    }

    fn compare(&self, observed: &Observed) -> Check {
        match observed.kind() {
            "none" => Check::Change {
                changes: vec![Change::new("create", None, Some(self.target.clone()))],
            },
            "link" => {
                let have = observed.text("target");
                if have.as_deref() == Some(self.target.as_str()) {
                    Check::Unchanged
                } else {
                    Check::Change {
                        changes: vec![Change::new("target", have, Some(self.target.clone()))],
                    }
                }
            }
            "file" => Check::Change {
                changes: vec![Change::new(
                    "replace",
                    Some("regular file".into()),
                    Some(self.target.clone()),
                )],
            },
            other => Check::Error {
                message: format!("{} exists and is not a symlink ({other})", self.path),
            },
        }
    }

    fn apply_script(&self, _observed: &Observed, out: &mut String) {
        let p = quote(&self.path);
        out.push_str(&format!(
            "_t={p}.gantry-$$\nln -sfn -- {} \"$_t\"\nmv -Tf -- \"$_t\" {p}\n",
            quote(&self.target)
        ));
    }
}
