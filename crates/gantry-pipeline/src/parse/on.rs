//! The `on:` section: event names, push/pull request globs, cron schedules and manual
//! inputs with their types.

use gantry_core::did_you_mean;

use crate::trigger::{
    InputKind, InputSpec, ManualTrigger, PullRequestTrigger, PushTrigger, ScheduleTrigger, Triggers,
};
use crate::validate::schedule;
use crate::yaml::{Kind, Node};

use super::Cx;

const EVENTS: &[&str] = &["push", "pull_request", "schedule", "manual"];
const PUSH_KEYS: &[&str] = &[
    "branches",
    "branches_ignore",
    "tags",
    "paths",
    "paths_ignore",
];
const PULL_REQUEST_KEYS: &[&str] = &["branches", "paths", "paths_ignore"];
const SCHEDULE_KEYS: &[&str] = &["cron", "timezone"];
const INPUT_KEYS: &[&str] = &["type", "description", "default", "options", "required"];
const INPUT_TYPES: &[&str] = &["string", "boolean", "number", "choice"];

/// Without `on:`, a pipeline runs on every push and can be started by hand.
pub fn default_triggers() -> Triggers {
    Triggers {
        push: Some(PushTrigger::default()),
        manual: Some(ManualTrigger::default()),
        ..Triggers::default()
    }
}

/// The triggers and the names of the declared manual inputs.
pub fn triggers(cx: &mut Cx, node: &Node) -> (Triggers, Vec<String>) {
    let mut triggers = Triggers::default();
    let mut inputs = Vec::new();
    match &node.kind {
        Kind::Str => event_name(cx, node, &mut triggers),
        Kind::Seq(items) => {
            for item in items {
                if item.kind == Kind::Str {
                    event_name(cx, item, &mut triggers);
                } else {
                    let diag = cx
                        .error(
                            item.span,
                            format!("expected an event name in 'on', found {}", item.describe()),
                        )
                        .with_help(events_help());
                    cx.push(diag);
                }
            }
        }
        Kind::Map(entries) => {
            cx.check_keys(entries, EVENTS, "in 'on'", event_hint);
            for (key, value) in entries {
                match key.text.as_str() {
                    "push" => triggers.push = Some(push(cx, value)),
                    "pull_request" => triggers.pull_request = Some(pull_request(cx, value)),
                    "schedule" => triggers.schedule = schedules(cx, value),
                    "manual" => {
                        let (manual, names) = manual(cx, value);
                        triggers.manual = Some(manual);
                        inputs = names;
                    }
                    _ => {}
                }
            }
        }
        _ => {
            let diag = cx
                .error(
                    node.span,
                    format!(
                        "expected an event name, a list of them or a map for 'on', found {}",
                        node.describe()
                    ),
                )
                .with_help(events_help());
            cx.push(diag);
        }
    }
    (triggers, inputs)
}

fn events_help() -> String {
    format!("the events are: {}", EVENTS.join(", "))
}

fn event_hint(key: &str) -> Option<String> {
    match key {
        "tag" | "tags" => Some("tag pushes are matched by `push: { tags: [\"v*\"] }`".into()),
        "workflow_dispatch" => Some("did you mean 'manual'?".into()),
        "cron" => Some("write `schedule: [{ cron: \"0 3 * * *\" }]`".into()),
        "pr" | "pull-request" | "merge_request" => Some("did you mean 'pull_request'?".into()),
        _ => None,
    }
}

fn event_name(cx: &mut Cx, node: &Node, triggers: &mut Triggers) {
    match node.text.as_str() {
        "push" => triggers.push = Some(PushTrigger::default()),
        "pull_request" => triggers.pull_request = Some(PullRequestTrigger::default()),
        "manual" => triggers.manual = Some(ManualTrigger::default()),
        "schedule" => {
            let diag = cx
                .error(node.span, "'schedule' needs at least one cron expression")
                .with_help("write `on: { schedule: [{ cron: \"0 3 * * *\" }] }`");
            cx.push(diag);
        }
        other => {
            let help = event_hint(other).or_else(|| {
                did_you_mean(other, EVENTS.iter().copied()).map(|s| format!("did you mean '{s}'?"))
            });
            let diag = cx
                .error(node.span, format!("unknown event '{other}' in 'on'"))
                .with_help(help.unwrap_or_else(events_help));
            cx.push(diag);
        }
    }
}

/// A list of globs (or one), each checked to compile.
fn globs(cx: &mut Cx, node: &Node, what: &str) -> Vec<String> {
    let mut out = Vec::new();
    for text in cx.texts(node, "a glob or a list of globs", what) {
        if let Some(rest) = text.value.strip_prefix('!') {
            let diag = cx
                .error(
                    text.span,
                    format!("negated glob '{}' in {what}", text.value),
                )
                .with_help(format!(
                    "list '{rest}' under the matching `*_ignore` key instead"
                ));
            cx.push(diag);
            continue;
        }
        match crate::trigger::glob(&text.value) {
            Ok(_) => out.push(text.value),
            Err(err) => {
                let diag = cx.error(
                    text.span,
                    format!("invalid glob '{}' in {what}: {err}", text.value),
                );
                cx.push(diag);
            }
        }
    }
    out
}

fn push(cx: &mut Cx, node: &Node) -> PushTrigger {
    let mut push = PushTrigger::default();
    if node.kind == Kind::Null {
        return push;
    }
    let Some(entries) = cx.map(
        node,
        "a map (branches, branches_ignore, tags, paths, paths_ignore)",
        "'on.push'",
    ) else {
        return push;
    };
    cx.check_keys(entries, PUSH_KEYS, "in 'on.push'", |_| None);
    for (key, value) in entries {
        let what = format!("'on.push.{}'", key.text);
        match key.text.as_str() {
            "branches" => push.branches = globs(cx, value, &what),
            "branches_ignore" => push.branches_ignore = globs(cx, value, &what),
            "tags" => push.tags = globs(cx, value, &what),
            "paths" => push.paths = globs(cx, value, &what),
            "paths_ignore" => push.paths_ignore = globs(cx, value, &what),
            _ => {}
        }
    }
    push
}

fn pull_request(cx: &mut Cx, node: &Node) -> PullRequestTrigger {
    let mut pr = PullRequestTrigger::default();
    if node.kind == Kind::Null {
        return pr;
    }
    let Some(entries) = cx.map(
        node,
        "a map (branches, paths, paths_ignore)",
        "'on.pull_request'",
    ) else {
        return pr;
    };
    cx.check_keys(entries, PULL_REQUEST_KEYS, "in 'on.pull_request'", |key| {
        (key == "branches_ignore")
            .then(|| "pull_request filters on the target branch with 'branches' only".to_string())
    });
    for (key, value) in entries {
        let what = format!("'on.pull_request.{}'", key.text);
        match key.text.as_str() {
            "branches" => pr.branches = globs(cx, value, &what),
            "paths" => pr.paths = globs(cx, value, &what),
            "paths_ignore" => pr.paths_ignore = globs(cx, value, &what),
            _ => {}
        }
    }
    pr
}

fn schedules(cx: &mut Cx, node: &Node) -> Vec<ScheduleTrigger> {
    let items: Vec<&Node> = match &node.kind {
        Kind::Seq(items) => items.iter().collect(),
        // One schedule written without the list brackets.
        Kind::Map(_) => vec![node],
        _ => {
            let diag = cx
                .error(
                    node.span,
                    format!(
                        "expected a list of schedules for 'on.schedule', found {}",
                        node.describe()
                    ),
                )
                .with_help("write `schedule: [{ cron: \"0 3 * * *\", timezone: Europe/Berlin }]`");
            cx.push(diag);
            return Vec::new();
        }
    };
    if items.is_empty() {
        let diag = cx
            .error(node.span, "'on.schedule' is empty")
            .with_help("add `- cron: \"0 3 * * *\"`, or remove 'schedule'");
        cx.push(diag);
    }
    let mut out = Vec::new();
    for item in items {
        let Some(entries) = cx.map(item, "a map {cron, timezone}", "a schedule") else {
            continue;
        };
        cx.check_keys(entries, SCHEDULE_KEYS, "in a schedule", |key| {
            matches!(key, "tz" | "time_zone" | "zone")
                .then(|| "did you mean 'timezone'?".to_string())
        });
        let mut cron = None;
        let mut timezone = "UTC".to_string();
        for (key, value) in entries {
            match key.text.as_str() {
                "cron" => {
                    if let Some(text) = cx.nonempty_text(value, "'cron'")
                        && schedule::check_cron(cx, &text)
                    {
                        cron = Some(text.value);
                    }
                }
                "timezone" => {
                    if let Some(text) = cx.nonempty_text(value, "'timezone'")
                        && let Some(name) = schedule::check_timezone(cx, &text)
                    {
                        timezone = name;
                    }
                }
                _ => {}
            }
        }
        cx.require(
            item,
            "cron",
            "this schedule",
            "write e.g. `cron: \"0 3 * * *\"` (minute hour day-of-month month day-of-week)",
        );
        if let Some(cron) = cron {
            out.push(ScheduleTrigger { cron, timezone });
        }
    }
    out
}

fn manual(cx: &mut Cx, node: &Node) -> (ManualTrigger, Vec<String>) {
    let mut manual = ManualTrigger::default();
    let mut names = Vec::new();
    if node.kind == Kind::Null {
        return (manual, names);
    }
    let Some(entries) = cx.map(node, "a map {inputs}", "'on.manual'") else {
        return (manual, names);
    };
    cx.check_keys(entries, &["inputs"], "in 'on.manual'", |_| None);
    let Some(inputs) = node.get("inputs") else {
        return (manual, names);
    };
    if inputs.kind == Kind::Null {
        return (manual, names);
    }
    let Some(entries) = cx.map(
        inputs,
        "a map of input names to their settings",
        "'on.manual.inputs'",
    ) else {
        return (manual, names);
    };
    for (key, value) in entries {
        let Some(name) = cx.ident(key, "input name") else {
            continue;
        };
        names.push(name.value.clone());
        if let Some(spec) = input(cx, &name.value, value) {
            manual.inputs.insert(name.value, spec);
        }
    }
    (manual, names)
}

fn input(cx: &mut Cx, name: &str, node: &Node) -> Option<InputSpec> {
    let mut spec = InputSpec::default();
    if node.kind == Kind::Null {
        return Some(spec);
    }
    let place = format!("in input '{name}'");
    let entries = cx.map(
        node,
        "a map (type, description, default, options, required)",
        &format!("input '{name}'"),
    )?;
    cx.check_keys(entries, INPUT_KEYS, &place, |key| {
        matches!(key, "choices" | "values").then(|| "did you mean 'options'?".to_string())
    });
    let mut kind = None;
    let mut ok = true;
    for (key, value) in entries {
        let what = format!("'{}' of input '{name}'", key.text);
        match key.text.as_str() {
            "type" => match cx.text(value, &what) {
                Some(t) => match t.value.as_str() {
                    "string" => kind = Some(InputKind::String),
                    "boolean" => kind = Some(InputKind::Boolean),
                    "number" => kind = Some(InputKind::Number),
                    "choice" => kind = Some(InputKind::Choice),
                    other => {
                        let help = did_you_mean(other, INPUT_TYPES.iter().copied()).map_or_else(
                            || format!("the types are: {}", INPUT_TYPES.join(", ")),
                            |s| format!("did you mean '{s}'?"),
                        );
                        let diag = cx
                            .error(t.span, format!("unknown type '{other}' for input '{name}'"))
                            .with_help(help);
                        cx.push(diag);
                        ok = false;
                    }
                },
                None => ok = false,
            },
            "description" => spec.description = cx.text(value, &what).map(|t| t.value),
            "options" => match &value.kind {
                Kind::Seq(items) if !items.is_empty() => {
                    for item in items {
                        if item.is_scalar() && item.kind != Kind::Null {
                            spec.options.push(item.text.clone());
                        } else {
                            let diag = cx.error(
                                item.span,
                                format!(
                                    "expected a string option for {what}, found {}",
                                    item.describe()
                                ),
                            );
                            cx.push(diag);
                            ok = false;
                        }
                    }
                }
                _ => {
                    let diag = cx.error(
                        value.span,
                        format!(
                            "expected a non-empty list of options for {what}, found {}",
                            value.describe()
                        ),
                    );
                    cx.push(diag);
                    ok = false;
                }
            },
            "required" => spec.required = cx.bool(value, &what).unwrap_or(false),
            _ => {}
        }
    }
    spec.kind = match (kind, spec.options.is_empty()) {
        (Some(k), _) => k,
        (None, false) => InputKind::Choice,
        (None, true) => InputKind::String,
    };
    if spec.kind == InputKind::Choice && spec.options.is_empty() {
        cx.require(
            node,
            "options",
            &format!("choice input '{name}'"),
            "list the allowed values, e.g. `options: [staging, production]`",
        );
        ok = false;
    }
    if spec.kind != InputKind::Choice
        && !spec.options.is_empty()
        && let Some(options) = node.get("options")
    {
        let diag = cx
            .error(
                options.span,
                format!(
                    "input '{name}' has options but its type is {}",
                    kind_name(spec.kind)
                ),
            )
            .with_help("options belong to `type: choice` (the default when options are given)");
        cx.push(diag);
        ok = false;
    }
    if let Some(default) = node.get("default") {
        spec.default = input_default(cx, name, &spec, default);
        ok &= spec.default.is_some();
    }
    ok.then_some(spec)
}

fn kind_name(kind: InputKind) -> &'static str {
    match kind {
        InputKind::String => "string",
        InputKind::Boolean => "boolean",
        InputKind::Number => "number",
        InputKind::Choice => "choice",
    }
}

fn input_default(
    cx: &mut Cx,
    name: &str,
    spec: &InputSpec,
    node: &Node,
) -> Option<serde_json::Value> {
    use serde_json::Value;
    let value = match (spec.kind, &node.kind) {
        (InputKind::Boolean, Kind::Bool(b)) => Some(Value::Bool(*b)),
        (InputKind::Number, Kind::Int(_) | Kind::Float(_)) => {
            node.scalar_json().filter(Value::is_number)
        }
        (InputKind::String, Kind::Str | Kind::Int(_) | Kind::Bool(_) | Kind::Float(_)) => {
            Some(Value::String(node.text.clone()))
        }
        (InputKind::Choice, kind) if node.is_scalar() && *kind != Kind::Null => {
            if spec.options.contains(&node.text) {
                Some(Value::String(node.text.clone()))
            } else {
                let diag = cx
                    .error(
                        node.span,
                        format!(
                            "the default '{}' of input '{name}' is not one of its options",
                            node.text
                        ),
                    )
                    .with_help(format!("the options are: {}", spec.options.join(", ")));
                cx.push(diag);
                return None;
            }
        }
        _ => None,
    };
    if value.is_none() {
        let expected = match spec.kind {
            InputKind::String => "a string",
            InputKind::Boolean => "true or false",
            InputKind::Number => "a number",
            InputKind::Choice => "one of its options",
        };
        let mut diag = cx.error(
            node.span,
            format!(
                "the default of {} input '{name}' must be {expected}, found {}",
                kind_name(spec.kind),
                node.describe()
            ),
        );
        if node.kind == Kind::Str && node.style != crate::yaml::Style::Plain {
            diag = diag.with_help("remove the quotes");
        }
        cx.push(diag);
    }
    value
}
