//! The grammar of the system resources (`package`, `service`, `cron`) and of service
//! handlers, on the same parsing context as the rest of `parse`: every bad field reported
//! at its place with what to write instead.

use gantry_core::did_you_mean;
use gantry_pipeline::yaml::{Kind, Node};
use gantry_workspace::grammar::Cx;

use super::{account_name_at, flag, has_typo_of, names, state, state_word};
use crate::resource::{
    CronSpec, PackageSpec, PackageState, ServiceSpec, ServiceState, Spec, State,
};

/// A handler's `service: { name: nginx, state: restarted }`: the unit and the systemctl
/// verb.
pub(super) fn handler_service(
    cx: &mut Cx,
    node: &Node,
    what: &str,
) -> Option<(String, &'static str)> {
    let inner = format!("service {what}");
    let entries = cx.map(node, "a map (name, state)", &inner)?;
    cx.check_keys(entries, &["name", "state"], &format!("in {inner}"));
    let mut ok = true;
    for key in ["name", "state"] {
        if node.get(key).is_none() {
            ok = false;
            let help = if key == "state" {
                "add `state: restarted` (or `reloaded`)"
            } else {
                "add `name:` with the unit, e.g. `name: nginx`"
            };
            cx.require(node, key, &inner, help);
        }
    }
    if !ok {
        return None;
    }
    let name = unit_name(cx, node, &inner);
    let state = state_word(
        cx,
        node,
        &inner,
        &["restarted", "reloaded"],
        &[
            (
                "running",
                "a handler restarts or reloads; `state: running` belongs to a `service` resource",
            ),
            (
                "stopped",
                "a handler restarts or reloads; `state: stopped` belongs to a `service` resource",
            ),
        ],
    );
    let verb = match state?? {
        "reloaded" => "reload",
        _ => "restart",
    };
    Some((name?, verb))
}

/// A systemd unit name: letters, digits and `:-_.@\`, as systemd allows.
fn unit_name(cx: &mut Cx, body: &Node, what: &str) -> Option<String> {
    let node = body.get("name")?;
    let name = cx.text(node, &format!("'name' in {what}"))?;
    let valid = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":-_.@\\".contains(c));
    if valid {
        return Some(name);
    }
    let diag = cx
        .error(node.span, format!("invalid unit name '{name}' in {what}"))
        .with_label("not a systemd unit name")
        .with_help("write the unit as systemctl takes it, e.g. nginx or app@1.service");
    cx.push(diag);
    None
}

/// `package: { name: nginx }` or `{ names: [curl, git], state: latest }`.
pub(super) fn package(cx: &mut Cx, body: &Node, what: &str) -> Option<Spec> {
    let names: Vec<(String, gantry_core::Span)> = match (body.get("name"), body.get("names")) {
        (Some(_), Some(list)) => {
            let diag = cx
                .error(list.span, format!("a {what} has both 'name' and 'names'"))
                .with_help("keep one: `name` for one package, `names` for a list");
            cx.push(diag);
            return None;
        }
        (Some(n), None) => vec![(cx.text(n, &format!("'name' in a {what}"))?, n.span)],
        (None, Some(list)) => {
            let names = names(cx, list, &format!("'names' in a {what}"));
            if names.is_empty() && list.as_seq().is_some_and(|s| s.is_empty()) {
                let diag = cx
                    .error(list.span, format!("'names' in a {what} is empty"))
                    .with_help("list at least one package, e.g. `names: [curl, git]`");
                cx.push(diag);
                return None;
            }
            names
        }
        (None, None) => {
            if !has_typo_of(body, &["name", "names"]) {
                cx.require(
                    body,
                    "name",
                    &format!("a {what}"),
                    "add `name:` with the package, or `names:` with a list",
                );
            }
            return None;
        }
    };
    let mut ok = true;
    for (name, span) in &names {
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-._".contains(c));
        if !valid {
            ok = false;
            let diag = cx
                .error(*span, format!("invalid package name '{name}' in a {what}"))
                .with_label("not a package name")
                .with_help("a package name starts with a letter or digit, then letters, digits, '+', '-', '.' or '_'; for a version use `version:`");
            cx.push(diag);
        }
    }
    let state = state_word(
        cx,
        body,
        what,
        &["present", "absent", "latest"],
        &[
            ("installed", "write `state: present`"),
            ("removed", "write `state: absent`"),
            (
                "purged",
                "write `state: absent` (configuration files are kept)",
            ),
        ],
    );
    let version = match body.get("version") {
        None => Some(None),
        Some(n) => cx.text(n, &format!("'version' in a {what}")).map(Some),
    };
    let update_cache = flag(cx, body, "update_cache", what);
    let state = match state? {
        Some("absent") => PackageState::Absent,
        Some("latest") => PackageState::Latest,
        _ => PackageState::Present,
    };
    let version = version?;
    if let (Some(v), Some(node)) = (&version, body.get("version")) {
        let why = if state != PackageState::Present {
            Some("'version' only goes with `state: present`")
        } else if names.len() != 1 {
            Some("'version' only goes with one package (`name:`)")
        } else if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c == '=') {
            Some("a version has no spaces and no '='")
        } else {
            None
        };
        if let Some(why) = why {
            let diag = cx
                .error(node.span, format!("invalid 'version' in a {what}: {why}"))
                .with_help("pin the version with one `name:` and `state: present`, e.g. `{ name: nginx, version: \"1.22.1-9\" }`");
            cx.push(diag);
            return None;
        }
    }
    if !ok {
        return None;
    }
    Some(Spec::Package(PackageSpec {
        names: names.into_iter().map(|(n, _)| n).collect(),
        state,
        version,
        update_cache: update_cache?,
    }))
}

/// `service: { name: nginx, enabled: true, state: running }`.
pub(super) fn service(cx: &mut Cx, body: &Node, what: &str) -> Option<Spec> {
    let name = unit_name(cx, body, &format!("a {what}"));
    let enabled = match body.get("enabled") {
        None => Some(None),
        Some(_) => flag(cx, body, "enabled", what).map(Some),
    };
    let handler_only = "restarting or reloading is a handler's job: declare `restart NAME: { service: { name: …, state: restarted } }` under `handlers:` and `notify:` it from the resources that change the service's configuration";
    let state = state_word(
        cx,
        body,
        what,
        &["running", "stopped"],
        &[
            ("restarted", handler_only),
            ("reloaded", handler_only),
            ("started", "write `state: running`"),
        ],
    );
    if body.get("enabled").is_none()
        && body.get("state").is_none()
        && !has_typo_of(body, &["enabled", "state"])
    {
        let diag = cx
            .error(
                body.span,
                format!("a {what} has neither 'enabled' nor 'state'"),
            )
            .with_help("add `enabled: true` (started at boot) and/or `state: running`");
        cx.push(diag);
        return None;
    }
    let state = match state? {
        Some("running") => Some(ServiceState::Running),
        Some(_) => Some(ServiceState::Stopped),
        None => None,
    };
    Some(Spec::Service(ServiceSpec {
        name: name?,
        enabled: enabled?,
        state,
    }))
}

/// `cron: { name: backup, schedule: "30 3 * * *", command: …, user: root, env: {…} }`.
pub(super) fn cron(cx: &mut Cx, body: &Node, what: &str) -> Option<Spec> {
    let one_line = |cx: &mut Cx, key: &str| -> Option<Option<String>> {
        let Some(node) = body.get(key) else {
            return Some(None);
        };
        let value = cx.text(node, &format!("'{key}' in a {what}"))?;
        if value.contains('\n') || value.trim().is_empty() {
            let diag = cx
                .error(
                    node.span,
                    format!("'{key}' in a {what} must be one non-empty line"),
                )
                .with_help(
                    "a crontab entry is one line; put longer scripts in a file and run that",
                );
            cx.push(diag);
            return None;
        }
        Some(Some(value))
    };
    let name = one_line(cx, "name");
    let user = match body.get("user") {
        None => Some("root".to_string()),
        Some(_) => account_name_at(cx, body, "user", what),
    };
    let state = state(cx, body, what);
    let command = one_line(cx, "command");
    let schedule = match body.get("schedule") {
        None => Some(None),
        Some(node) => cx
            .text(node, &format!("'schedule' in a {what}"))
            .and_then(|s| check_schedule(cx, node, &s, what).then_some(Some(s))),
    };
    let env = cron_env(cx, body, what);
    let (name, user, state, command, schedule, env) =
        (name??, user?, state?, command?, schedule?, env?);
    if state == State::Present {
        let mut missing = false;
        for (key, present, help) in [
            (
                "schedule",
                schedule.is_some(),
                "add `schedule:` with five fields, e.g. \"30 3 * * *\"",
            ),
            (
                "command",
                command.is_some(),
                "add `command:` with the command to run",
            ),
        ] {
            if !present && !has_typo_of(body, &[key]) {
                missing = true;
                cx.require(body, key, &format!("a {what}"), help);
            }
        }
        if missing || schedule.is_none() || command.is_none() {
            return None;
        }
    }
    Some(Spec::Cron(CronSpec {
        name,
        user,
        schedule: schedule.unwrap_or_default(),
        command: command.unwrap_or_default(),
        env,
        state,
    }))
}

/// A cron schedule: five fields (minute hour day-of-month month day-of-week), checked
/// with croner, or one of crontab's nicknames.
fn check_schedule(cx: &mut Cx, node: &Node, schedule: &str, what: &str) -> bool {
    const NICKNAMES: &[&str] = &[
        "@reboot",
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    let trimmed = schedule.trim();
    let reason = if trimmed.starts_with('@') {
        (!NICKNAMES.contains(&trimmed)).then(|| {
            did_you_mean(trimmed, NICKNAMES.iter().copied()).map_or_else(
                || format!("unknown nickname (crontab knows {})", NICKNAMES.join(", ")),
                |s| format!("unknown nickname (did you mean '{s}'?)"),
            )
        })
    } else {
        gantry_pipeline::cron_problem(trimmed)
    };
    let Some(reason) = reason else {
        return true;
    };
    let diag = cx
        .error(node.span, format!("invalid schedule '{schedule}' in a {what}: {reason}"))
        .with_label("not a cron schedule")
        .with_help("write five fields: minute hour day-of-month month day-of-week, e.g. \"30 3 * * *\" for 03:30 every day")
        .with_note("@reboot, @hourly, @daily, @weekly, @monthly and @yearly work too");
    cx.push(diag);
    false
}

/// A cron entry's `env: { MAILTO: ops@example.com }`: variable lines above the entry.
fn cron_env(cx: &mut Cx, body: &Node, what: &str) -> Option<Vec<(String, String)>> {
    let Some(node) = body.get("env") else {
        return Some(Vec::new());
    };
    if node.kind == Kind::Null {
        return Some(Vec::new());
    }
    let entries = cx.map(
        node,
        "a map of variable names to values",
        &format!("'env' in a {what}"),
    )?;
    let mut out = Vec::new();
    let mut ok = true;
    for (k, v) in entries {
        let name_ok = k
            .text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !name_ok {
            ok = false;
            let diag = cx
                .error(
                    k.span,
                    format!("invalid variable name '{}' in 'env'", k.text),
                )
                .with_help("a variable name is letters, digits and '_', not starting with a digit");
            cx.push(diag);
            continue;
        }
        let value = match &v.kind {
            Kind::Seq(_) | Kind::Map(_) => {
                cx.type_error(v, "a string", &format!("'env.{}'", k.text));
                ok = false;
                continue;
            }
            Kind::Null => String::new(),
            _ => v.text.clone(),
        };
        if value.contains('\n') {
            ok = false;
            let diag = cx
                .error(v.span, format!("'env.{}' must be one line", k.text))
                .with_help("crontab variables are one line each");
            cx.push(diag);
            continue;
        }
        out.push((k.text.clone(), value));
    }
    ok.then_some(out)
}
