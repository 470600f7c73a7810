//! Resource types. Each type lives in its own file and implements [`ResourceType`]: the
//! shell lines that report its actual state (run with every other resource's in one
//! script per host), the comparison of that report with the declared state, and the
//! shell lines that converge it. Adding a type is one more file and one more [`Spec`]
//! variant. `package` is also batched per host (one check, one transaction for
//! consecutive packages) and `service` reloads systemd after unit files changed: both in
//! `script`, which sees all of a host's resources at once.

mod command;
mod cron;
mod directory;
mod file;
mod git;
mod group;
mod line;
mod package;
mod service;
mod symlink;
mod template;
mod user;

pub use command::CommandSpec;
pub use cron::{CronSpec, edit as edit_crontab};
pub use directory::DirectorySpec;
pub use file::{FileContent, FileSpec, unified_diff};
pub use git::GitSpec;
pub use group::GroupSpec;
pub use line::LineSpec;
pub use package::{PackageSpec, PackageState};
pub(crate) use package::{batch_apply as package_batch_apply, batch_check as package_batch_check};
pub(crate) use service::touches_units;
pub use service::{ServiceSpec, ServiceState};
pub use symlink::SymlinkSpec;
pub(crate) use template::{SECRET_MARK, redact_old};
pub use template::{TemplateSpec, syntax_error};
pub use user::{State, UserSpec};

use serde::Serialize;

use crate::report::Observed;

/// The declared state of one resource, by type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Spec {
    File(FileSpec),
    Template(TemplateSpec),
    Directory(DirectorySpec),
    Symlink(SymlinkSpec),
    Line(LineSpec),
    Command(CommandSpec),
    Git(GitSpec),
    User(UserSpec),
    Group(GroupSpec),
    Package(PackageSpec),
    Service(ServiceSpec),
    Cron(CronSpec),
}

/// Resource type names, as written in resource files.
pub const TYPES: &[&str] = &[
    "file",
    "template",
    "directory",
    "symlink",
    "line",
    "command",
    "git",
    "user",
    "group",
    "package",
    "service",
    "cron",
];

impl Spec {
    pub fn as_type(&self) -> &dyn ResourceType {
        match self {
            Spec::File(s) => s,
            Spec::Template(s) => s,
            Spec::Directory(s) => s,
            Spec::Symlink(s) => s,
            Spec::Line(s) => s,
            Spec::Command(s) => s,
            Spec::Git(s) => s,
            Spec::User(s) => s,
            Spec::Group(s) => s,
            Spec::Package(s) => s,
            Spec::Service(s) => s,
            Spec::Cron(s) => s,
        }
    }
}

/// What every resource type does.
pub trait ResourceType {
    /// The name written in resource files (`file`).
    fn type_name(&self) -> &'static str;
    /// The default id: `file /etc/motd`.
    fn default_id(&self) -> String;
    /// Appends shell lines that print this resource's actual state as report lines
    /// (`R <index> <key> <value>`, see `report`). They must not change anything.
    fn check_script(&self, index: usize, out: &mut String);
    /// Compares the declared state with what the check reported.
    fn compare(&self, observed: &Observed) -> Check;
    /// Appends shell lines that converge the resource; they run in a subshell with
    /// `set -e`, after `compare` found changes.
    fn apply_script(&self, observed: &Observed, out: &mut String);
}

/// The result of comparing declared and actual state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Check {
    Unchanged,
    Change {
        changes: Vec<Change>,
    },
    /// The resource cannot be converged as declared (a directory where a file should be).
    Error {
        message: String,
    },
}

/// One difference between declared and actual state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What changes: `create`, `content`, `mode`, `owner`, `group`, `target`, `line`, `run`.
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// A unified diff, for file contents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl Change {
    pub fn new(field: &str, from: Option<String>, to: Option<String>) -> Change {
        Change {
            field: field.to_string(),
            from,
            to,
            diff: None,
        }
    }
}

/// Mode, owner and group differences of an existing file or directory.
pub(crate) fn attr_changes(
    observed: &Observed,
    mode: Option<u32>,
    owner: Option<&str>,
    group: Option<&str>,
) -> Vec<Change> {
    let mut changes = Vec::new();
    if let Some(mode) = mode {
        let want = format!("{mode:04o}");
        let have = observed.mode().map(|m| format!("{m:04o}"));
        if have.as_deref() != Some(want.as_str()) {
            changes.push(Change::new("mode", have, Some(want)));
        }
    }
    if let Some(owner) = owner
        && observed.owner() != Some(owner)
    {
        changes.push(Change::new(
            "owner",
            observed.owner().map(String::from),
            Some(owner.to_string()),
        ));
    }
    if let Some(group) = group
        && observed.group() != Some(group)
    {
        changes.push(Change::new(
            "group",
            observed.group().map(String::from),
            Some(group.to_string()),
        ));
    }
    changes
}

/// Shell lines setting mode, owner and group of `target` (a quoted shell word).
pub(crate) fn attr_script(
    target: &str,
    mode: Option<u32>,
    owner: Option<&str>,
    group: Option<&str>,
    out: &mut String,
) {
    use crate::shell::quote;
    if let Some(mode) = mode {
        out.push_str(&format!("chmod {mode:04o} -- {target}\n"));
    }
    if let Some(owner) = owner {
        out.push_str(&format!("chown {} -- {target}\n", quote(owner)));
    }
    if let Some(group) = group {
        out.push_str(&format!("chgrp {} -- {target}\n", quote(group)));
    }
}
