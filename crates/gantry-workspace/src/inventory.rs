//! The inventory: the machines `gantry infra` configures (`hosts:`), the groups they are
//! in (`groups:`, with vars), and where resource declarations live (`infra:`). Plain data.
//!
//! Vars precedence, lowest first: the vars of each group the host is in, in the order
//! the host lists its groups, then the host's own vars. A later value replaces an
//! earlier one whole (maps are not merged key by key).

use std::path::PathBuf;

use gantry_core::Span;
use indexmap::IndexMap;
use serde::Serialize;

/// The built-in host name meaning "this machine, without SSH".
pub const LOCAL_HOST: &str = "local";
/// The group every declared host is in.
pub const ALL_GROUP: &str = "all";
/// Where resource declarations live unless `infra:` says otherwise.
pub const DEFAULT_INFRA_GLOB: &str = "infra/*.yml";
/// The SSH port unless a host sets `port`.
pub const DEFAULT_SSH_PORT: u16 = 22;

/// One machine Gantry reaches over SSH, or `local`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Host {
    pub name: String,
    /// How the host is reached.
    pub connection: Connection,
    /// Groups in the order written: the order their vars apply in.
    pub groups: Vec<String>,
    pub vars: IndexMap<String, serde_json::Value>,
    /// `sudo: true`: scripts run as root through `sudo -n` (passwordless sudo).
    pub sudo: bool,
    /// Where the host's name is written, for diagnostics found later.
    #[serde(skip)]
    pub span: Span,
}

/// How a host is reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "transport")]
pub enum Connection {
    /// This machine, commands run with `sh`.
    Local,
    Ssh(SshTarget),
}

/// Where and as whom to log in over SSH. Relative paths are relative to the workspace
/// directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshTarget {
    /// A host name or IP address.
    pub address: String,
    pub port: u16,
    /// The login user; `None` leaves it to ssh (its config, or the local user).
    pub user: Option<String>,
    /// A private key file (`ssh_key`); `None` uses the SSH agent and ssh's defaults.
    pub ssh_key: Option<PathBuf>,
    /// A known_hosts file to check the host key against (`known_hosts`); `None` uses
    /// ssh's defaults. Host keys are always checked strictly.
    pub known_hosts: Option<PathBuf>,
}

/// A named set of hosts, with vars for all of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Group {
    pub name: String,
    pub vars: IndexMap<String, serde_json::Value>,
    /// `drift: { every: 30m }`: how often the server plans the group's hosts to find
    /// drift; `None` when the group is not checked on a schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftSchedule>,
}

/// A group's scheduled drift check (`drift:` in a group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DriftSchedule {
    /// Time between two checks of the group's hosts.
    #[serde(with = "crate::inventory::millis")]
    pub every: std::time::Duration,
}

/// Durations serialized as whole milliseconds.
mod millis {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// The `hosts:`, `groups:` and `infra:` sections.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inventory {
    /// Declared hosts in file order (`local` among them only when declared).
    pub hosts: IndexMap<String, Host>,
    pub groups: IndexMap<String, Group>,
    /// Globs of resource declaration files, relative to the workspace directory.
    pub infra: Vec<String>,
    /// `secrets:`: named secret references, usable in infra templates as
    /// `secrets.NAME` (resolved by [`Inventory::resolve_secrets`]).
    pub secrets: IndexMap<String, crate::SecretRef>,
}

impl Default for Inventory {
    fn default() -> Self {
        Inventory {
            hosts: IndexMap::new(),
            groups: IndexMap::new(),
            infra: vec![DEFAULT_INFRA_GLOB.to_string()],
            secrets: IndexMap::new(),
        }
    }
}

impl Inventory {
    /// A declared host, or the built-in `local` host when `local` is not declared.
    pub fn host(&self, name: &str) -> Option<Host> {
        if let Some(host) = self.hosts.get(name) {
            return Some(host.clone());
        }
        (name == LOCAL_HOST).then(|| Host {
            name: LOCAL_HOST.to_string(),
            connection: Connection::Local,
            groups: Vec::new(),
            vars: IndexMap::new(),
            sudo: false,
            span: Span::default(),
        })
    }

    /// Whether `name` is a group: declared in `groups:`, named by a host, or `all`.
    pub fn is_group(&self, name: &str) -> bool {
        name == ALL_GROUP
            || self.groups.contains_key(name)
            || self
                .hosts
                .values()
                .any(|h| h.groups.iter().any(|g| g == name))
    }

    /// The hosts `target` names: the host of that name, or the members of that group
    /// (every declared host for `all`), in inventory order.
    pub fn resolve(&self, target: &str) -> Vec<Host> {
        if let Some(host) = self.host(target) {
            return vec![host];
        }
        self.hosts
            .values()
            .filter(|h| target == ALL_GROUP || h.groups.iter().any(|g| g == target))
            .cloned()
            .collect()
    }

    /// A host's vars with the documented precedence: group vars in the host's group
    /// order, then the host's own vars.
    pub fn vars(&self, host: &Host) -> IndexMap<String, serde_json::Value> {
        let mut vars = IndexMap::new();
        for group in &host.groups {
            if let Some(group) = self.groups.get(group) {
                for (k, v) in &group.vars {
                    vars.insert(k.clone(), v.clone());
                }
            }
        }
        for (k, v) in &host.vars {
            vars.insert(k.clone(), v.clone());
        }
        vars
    }
}
