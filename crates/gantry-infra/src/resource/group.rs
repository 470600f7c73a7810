//! `group`: a local group, read with `getent group` in the check script and converged
//! with `groupadd`, `groupmod` or `groupdel`.

use serde::Serialize;

use super::user::State;
use super::{Change, Check, ResourceType};
use crate::report::Observed;
use crate::shell::quote;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupSpec {
    pub name: String,
    pub gid: Option<u32>,
    /// A system group (`groupadd -r`); used at creation only.
    pub system: bool,
    pub state: State,
}

impl ResourceType for GroupSpec {
    fn type_name(&self) -> &'static str {
        "group"
    }

    fn default_id(&self) -> String {
        format!("group {}", self.name)
    }

    fn check_script(&self, index: usize, out: &mut String) {
        out.push_str(&format!(
            "if _gl=$(getent group {}); then echo \"R {index} type group\"; \
             echo \"R {index} group $_gl\"; else echo \"R {index} type none\"; fi\n",
            quote(&self.name)
        ));
    }

    fn compare(&self, observed: &Observed) -> Check {
        match (self.state, observed.kind()) {
            (State::Absent, "none") => Check::Unchanged,
            (State::Absent, _) => Check::Change {
                changes: vec![Change::new("remove", Some(self.name.clone()), None)],
            },
            (State::Present, "none") => Check::Change {
                changes: vec![Change::new("create", None, Some(self.name.clone()))],
            },
            (State::Present, _) => {
                let Some(have) = observed.get("group").and_then(|l| l.split(':').nth(2)) else {
                    return Check::Error {
                        message: format!("cannot read the group '{}' from getent group", self.name),
                    };
                };
                match self.gid {
                    Some(gid) if gid.to_string() != have => Check::Change {
                        changes: vec![Change::new(
                            "gid",
                            Some(have.to_string()),
                            Some(gid.to_string()),
                        )],
                    },
                    _ => Check::Unchanged,
                }
            }
        }
    }

    fn apply_script(&self, observed: &Observed, out: &mut String) {
        let n = quote(&self.name);
        let gid = self.gid.map(|g| format!(" -g {g}")).unwrap_or_default();
        match (self.state, observed.kind()) {
            (State::Absent, _) => out.push_str(&format!("groupdel {n}\n")),
            (State::Present, "none") => {
                let system = if self.system { " -r" } else { "" };
                out.push_str(&format!("groupadd{system}{gid} {n}\n"));
            }
            (State::Present, _) => out.push_str(&format!("groupmod{gid} {n}\n")),
        }
    }
}
