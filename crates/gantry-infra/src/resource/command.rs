//! `command`: a shell command, run when its guards say so: `creates` (skip when that
//! path exists), `unless` (skip when that command succeeds), `only_if` (skip unless
//! that command succeeds). Guards run in the check, so they must not change anything.
//! A command without guards runs on every apply.

use serde::Serialize;

use super::{Change, Check, ResourceType};
use crate::report::Observed;
use crate::shell::quote;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandSpec {
    pub run: String,
    pub creates: Option<String>,
    pub unless: Option<String>,
    pub only_if: Option<String>,
}

impl ResourceType for CommandSpec {
    fn type_name(&self) -> &'static str {
        "command"
    }

    fn default_id(&self) -> String {
        let first = self.run.lines().next().unwrap_or_default();
        let short: String = first.chars().take(40).collect();
        format!("command {short}")
    }

    fn check_script(&self, index: usize, out: &mut String) {
        out.push_str(&format!("echo \"R {index} type command\"\n"));
        if let Some(path) = &self.creates {
            out.push_str(&format!(
                "if [ -e {} ]; then echo \"R {index} creates 1\"; else echo \"R {index} creates 0\"; fi\n",
                quote(path)
            ));
        }
        for (key, guard) in [("unless", &self.unless), ("only_if", &self.only_if)] {
            if let Some(cmd) = guard {
                out.push_str(&format!(
                    "sh -c {} >/dev/null 2>&1 </dev/null; echo \"R {index} {key} $?\"\n",
                    quote(cmd)
                ));
            }
        }
    }

    fn compare(&self, observed: &Observed) -> Check {
        let skip = (self.creates.is_some() && observed.get("creates") == Some("1"))
            || (self.unless.is_some() && observed.get("unless") == Some("0"))
            || (self.only_if.is_some() && observed.get("only_if") != Some("0"));
        if skip {
            Check::Unchanged
        } else {
            Check::Change {
                changes: vec![Change::new("run", None, Some(self.run.clone()))],
            }
        }
    }

    fn apply_script(&self, _observed: &Observed, out: &mut String) {
        out.push_str(&format!("sh -c {} </dev/null\n", quote(&self.run)));
    }
}
