//! `directory`: a directory (and its parents) with the declared mode, owner and group.

use serde::Serialize;

use super::{Change, Check, ResourceType, attr_changes, attr_script};
use crate::report::Observed;
use crate::shell::quote;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectorySpec {
    pub path: String,
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl ResourceType for DirectorySpec {
    fn type_name(&self) -> &'static str {
        "directory"
    }

    fn default_id(&self) -> String {
        format!("directory {}", self.path)
    }

    fn check_script(&self, index: usize, out: &mut String) {
        out.push_str(&format!("_gstat {index} {}\n", quote(&self.path)));
    }

    fn compare(&self, observed: &Observed) -> Check {
        match observed.kind() {
            "none" => Check::Change {
                changes: vec![Change::new("create", None, Some("directory".into()))],
            },
            "dir" => {
                let changes = attr_changes(
                    observed,
                    self.mode,
                    self.owner.as_deref(),
                    self.group.as_deref(),
                );
                if changes.is_empty() {
                    Check::Unchanged
                } else {
                    Check::Change { changes }
                }
            }
            other => Check::Error {
                message: format!("{} exists and is not a directory ({other})", self.path),
            },
        }
    }

    fn apply_script(&self, _observed: &Observed, out: &mut String) {
        let p = quote(&self.path);
        out.push_str(&format!("mkdir -p -- {p}\n"));
        attr_script(
            &p,
            self.mode,
            self.owner.as_deref(),
            self.group.as_deref(),
            out,
        );
    }
}
