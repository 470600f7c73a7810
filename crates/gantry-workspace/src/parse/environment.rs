//! Reads the `environments:` section: each environment's hosts (host and group names
//! checked against the inventory), approvals, allowed branches, deploy windows and the
//! deploy lock lease and `auto_deploy`.

use std::time::Duration;

use gantry_core::did_you_mean;
use gantry_pipeline::yaml::{Kind, Node};
use indexmap::IndexMap;

use super::cx::Cx;
use super::inventory::{check_name, string_list};
use crate::environment::{AutoDeploy, DEFAULT_LOCK_LEASE, Environment};
use crate::inventory::{ALL_GROUP, Inventory, LOCAL_HOST};

const ENVIRONMENT_KEYS: &[&str] = &[
    "hosts",
    "approvals",
    "branches",
    "windows",
    "lock_lease",
    "auto_deploy",
];
/// Shortest lease: renewals every lease/3 must get through a slow SSH round trip.
const MIN_LEASE: Duration = Duration::from_secs(3);
const MAX_LEASE: Duration = Duration::from_secs(3600);
const MAX_APPROVALS: u32 = 10;

pub fn environments(
    cx: &mut Cx,
    node: &Node,
    inventory: &Inventory,
) -> IndexMap<String, Environment> {
    let mut out = IndexMap::new();
    if node.kind == Kind::Null {
        return out;
    }
    let Some(entries) = cx.map(
        node,
        "a map of environment names to environments",
        "'environments'",
    ) else {
        return out;
    };
    for (key, value) in entries {
        let name_ok = check_name(cx, key, "environment");
        if let Some(env) = environment(cx, key, value, inventory)
            && name_ok
        {
            out.insert(env.name.clone(), env);
        }
    }
    out
}

fn environment(cx: &mut Cx, key: &Node, node: &Node, inventory: &Inventory) -> Option<Environment> {
    let name = key.text.clone();
    let what = format!("environment '{name}'");
    if node.kind == Kind::Null {
        let diag = cx
            .error(key.span, format!("{what} has no 'hosts'"))
            .with_help(
                "add `hosts:` with the host or group names to deploy to, e.g. `hosts: [staging]`",
            );
        cx.push(diag);
        return None;
    }
    let entries = cx.map(
        node,
        "a map (hosts, approvals, branches, windows, lock_lease, auto_deploy)",
        &what,
    )?;
    cx.check_keys(entries, ENVIRONMENT_KEYS, &format!("in {what}"));

    let hosts = match node.get("hosts") {
        Some(n) => hosts(cx, n, &what, inventory),
        None => {
            cx.require(
                node,
                "hosts",
                &what,
                "add `hosts:` with the host or group names to deploy to, e.g. `hosts: [staging]`",
            );
            None
        }
    };
    let approvals = match node.get("approvals") {
        Some(n) => cx.count(n, &format!("'approvals' in {what}"), 0, MAX_APPROVALS),
        None => Some(0),
    };
    let branches = match node.get("branches") {
        Some(n) if n.kind == Kind::Null => Some(Vec::new()),
        Some(n) => {
            let list = string_list(cx, n, &format!("'branches' in {what}"));
            Some(list.into_iter().map(|(b, _)| b).collect())
        }
        None => Some(Vec::new()),
    };
    let windows = match node.get("windows") {
        Some(n) if n.kind == Kind::Null => Some(Vec::new()),
        Some(n) => super::window::windows(cx, n, &format!("'windows' in {what}")),
        None => Some(Vec::new()),
    };
    let lock_lease = match node.get("lock_lease") {
        None => Some(DEFAULT_LOCK_LEASE),
        Some(n) => cx
            .duration(n, &format!("'lock_lease' in {what}"))
            .and_then(|d| {
                if (MIN_LEASE..=MAX_LEASE).contains(&d) {
                    Some(d)
                } else {
                    let diag = cx
                        .error(n.span, "'lock_lease' must be between 3s and 1h")
                        .with_help("60s suits most deploys: a crashed deployer's lock frees itself a minute later");
                    cx.push(diag);
                    None
                }
            }),
    };
    let auto_deploy = match node.get("auto_deploy") {
        None => Some(None),
        Some(n) if n.kind == Kind::Null => Some(None),
        Some(n) => auto_deploy(cx, n, &what).map(Some),
    };
    Some(Environment {
        name,
        hosts: hosts?,
        approvals: approvals?,
        branches: branches?,
        windows: windows?,
        lock_lease: lock_lease?,
        auto_deploy: auto_deploy?,
        span: key.span,
    })
}

/// `auto_deploy: { branch: main }`.
fn auto_deploy(cx: &mut Cx, node: &Node, what: &str) -> Option<AutoDeploy> {
    let place = format!("'auto_deploy' in {what}");
    let entries = cx.map(node, "a map with 'branch', e.g. `{ branch: main }`", &place)?;
    cx.check_keys(entries, &["branch"], &format!("in {place}"));
    let Some(branch) = node.get("branch") else {
        cx.require(
            node,
            "branch",
            &place,
            "name the branch whose successful builds go out, e.g. `auto_deploy: { branch: main }`",
        );
        return None;
    };
    let branch = cx.text(branch, &format!("'branch' in {place}"))?;
    if branch.trim().is_empty() {
        let diag = cx.error(node.span, format!("'branch' in {place} is empty"));
        cx.push(diag);
        return None;
    }
    Some(AutoDeploy { branch })
}

/// Host and group names; each must be in the inventory, and together name a host.
fn hosts(cx: &mut Cx, node: &Node, what: &str, inventory: &Inventory) -> Option<Vec<String>> {
    let list = match &node.kind {
        Kind::Seq(_) => string_list(cx, node, &format!("'hosts' in {what}")),
        _ => cx
            .text(node, &format!("'hosts' in {what}"))
            .map(|t| vec![(t, node.span)])
            .unwrap_or_default(),
    };
    let mut ok = true;
    for (target, span) in &list {
        if inventory.host(target).is_some() || inventory.is_group(target) {
            continue;
        }
        ok = false;
        let mut known: Vec<&str> = inventory.hosts.keys().map(String::as_str).collect();
        let groups: Vec<String> = inventory
            .hosts
            .values()
            .flat_map(|h| h.groups.iter().cloned())
            .chain(inventory.groups.keys().cloned())
            .collect();
        known.extend(groups.iter().map(String::as_str));
        known.push(ALL_GROUP);
        known.push(LOCAL_HOST);
        let help = match did_you_mean(target, known.iter().copied()) {
            Some(s) => format!("did you mean '{s}'?"),
            None => "name a host of `hosts:` or a group (declared in `groups:` or named by a host)"
                .to_string(),
        };
        let diag = cx
            .error(*span, format!("unknown host or group '{target}' in {what}"))
            .with_label("not in the inventory")
            .with_help(help);
        cx.push(diag);
    }
    if !ok {
        return None;
    }
    if list.is_empty() && node.kind != Kind::Null {
        // An empty list, or items already reported.
        if node.as_seq().is_some_and(<[Node]>::is_empty) {
            let diag = cx
                .error(node.span, format!("{what} has no hosts"))
                .with_help("name at least one host or group, e.g. `hosts: [staging]`");
            cx.push(diag);
        }
        return None;
    }
    let names: Vec<String> = list.into_iter().map(|(t, _)| t).collect();
    let count = names
        .iter()
        .flat_map(|t| inventory.resolve(t))
        .map(|h| h.name)
        .collect::<std::collections::HashSet<_>>()
        .len();
    if count == 0 {
        let diag = cx
            .error(
                node.span,
                format!("{what} has no hosts: its groups are empty"),
            )
            .with_help(
                "put hosts in the group (`groups: [...]` on a host), or name hosts directly",
            );
        cx.push(diag);
        return None;
    }
    Some(names)
}
