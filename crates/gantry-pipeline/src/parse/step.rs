//! Steps: a map of step settings, or a plain string as shorthand for `{ run: … }`.

use crate::model::Step;
use crate::yaml::{Kind, Node};

use super::Cx;

const STEP_KEYS: &[&str] = &[
    "id",
    "name",
    "run",
    "shell",
    "working_directory",
    "env",
    "if",
    "timeout",
    "continue_on_error",
    "retry",
];
const SHELLS: &[&str] = &["bash", "sh", "python"];

fn step_hint(key: &str) -> Option<String> {
    Some(
        match key {
            "uses" | "with" => "Gantry has no actions; write the commands in `run`",
            "script" | "command" | "cmd" | "exec" => "did you mean 'run'?",
            "needs" => "steps run in order; `needs` orders jobs",
            "cwd" | "dir" | "workdir" => "did you mean 'working_directory'?",
            "timeout-minutes" | "timeout_minutes" => {
                "did you mean 'timeout'? write a duration with its unit, e.g. `timeout: 10m`"
            }
            _ => return None,
        }
        .to_string(),
    )
}

pub fn step(cx: &mut Cx, node: &Node, index: usize, jid: &str) -> Option<Step> {
    let place = format!("step {} of job '{jid}'", index + 1);
    let blank = |run| Step {
        span: node.span,
        id: None,
        name: None,
        run,
        shell: None,
        working_directory: None,
        env: Vec::new(),
        condition: None,
        timeout: None,
        continue_on_error: false,
        retry: 0,
    };
    if matches!(
        node.kind,
        Kind::Str | Kind::Int(_) | Kind::Bool(_) | Kind::Float(_)
    ) {
        return cx.nonempty_text(node, &place).map(blank);
    }
    let entries = cx.map(node, "a command or a map of step settings", &place)?;
    cx.check_keys(entries, STEP_KEYS, &format!("in {place}"), step_hint);
    let mut step = blank(cx.as_text(node));
    let mut run = None;
    for (key, value) in entries {
        let what = format!("'{}' in {place}", key.text);
        match key.text.as_str() {
            "id" => step.id = cx.ident(value, "step id"),
            "name" => step.name = cx.nonempty_text(value, &what),
            "run" => run = cx.nonempty_text(value, &what),
            "shell" => step.shell = shell(cx, value, &what),
            "working_directory" => step.working_directory = cx.nonempty_text(value, &what),
            "env" => step.env = cx.env(value, &what),
            "if" => step.condition = cx.nonempty_text(value, &what),
            "timeout" => step.timeout = cx.duration(value, &what),
            "continue_on_error" => step.continue_on_error = cx.bool(value, &what).unwrap_or(false),
            "retry" => step.retry = cx.count(value, &what, 10).unwrap_or(0),
            _ => {}
        }
    }
    cx.require(
        node,
        "run",
        &place,
        "every step runs a command: `run: make test`",
    );
    step.run = run?;
    Some(step)
}

/// `bash`, `sh`, `python`, or a command line with `{0}` where the script file goes.
fn shell(cx: &mut Cx, node: &Node, what: &str) -> Option<String> {
    let text = cx.nonempty_text(node, what)?;
    if SHELLS.contains(&text.value.as_str()) || text.value.contains("{0}") {
        return Some(text.value);
    }
    let diag = cx
        .error(
            text.span,
            format!("unknown shell '{}' for {what}", text.value),
        )
        .with_help(format!(
            "use bash, sh or python, or a command with {{0}} for the script file, e.g. '{} {{0}}'",
            text.value
        ));
    cx.push(diag);
    None
}
