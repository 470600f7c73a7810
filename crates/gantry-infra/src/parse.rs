//! The resource file grammar (`infra/*.yml`), on the same spanned YAML tree and parsing
//! context as `gantry.yml`: every unknown key, wrong type and dangling reference is
//! reported at its line and column, all at once. Pure: `source:` files are read later.
//! The system resources (`package`, `service`, `cron`) and service handlers are read in
//! `system`.
//!
//! ```yaml
//! - hosts: [web, local]
//!   resources:
//!     - file: { path: /etc/motd, content: "hello\n", mode: "0644" }
//!       notify: [say]
//!   handlers:
//!     say: { run: "logger motd changed" }
//! ```

use gantry_core::{Diagnostic, did_you_mean};
use gantry_pipeline::yaml::{self, Kind, Node};
use gantry_workspace::grammar::Cx;

use crate::declaration::{Handler, InfraFile, Play, Resource, Target};
use crate::resource::{
    CommandSpec, DirectorySpec, FileContent, FileSpec, GitSpec, GroupSpec, LineSpec, Spec, State,
    SymlinkSpec, TYPES, TemplateSpec, UserSpec,
};
use crate::shell::quote;

mod system;
use system::{cron, handler_service, package, service};

const PLAY_KEYS: &[&str] = &["hosts", "resources", "handlers"];
const COMMON_KEYS: &[&str] = &["name", "requires", "notify"];

/// The result of parsing one resource file.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// `Some` exactly when no diagnostic is an error.
    pub file: Option<InfraFile>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses a resource file; `file` is the name diagnostics carry. Never panics.
pub fn parse(file: &str, source: &str) -> Parsed {
    match std::panic::catch_unwind(|| parse_inner(file, source)) {
        Ok(parsed) => parsed,
        Err(_) => Parsed {
            file: None,
            diagnostics: vec![
                Diagnostic::error(
                    file,
                    None,
                    "internal error: the resource file parser failed on this file",
                )
                .with_help("please report this with the file attached"),
            ],
        },
    }
}

fn parse_inner(file: &str, source: &str) -> Parsed {
    // A file with nothing but comments declares nothing; the YAML layer would call it
    // an empty document.
    if source
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Parsed {
            file: Some(InfraFile {
                file: file.to_string(),
                plays: Vec::new(),
            }),
            diagnostics: Vec::new(),
        };
    }
    let limits = yaml::Limits::default();
    let mut diagnostics = Vec::new();
    let index = yaml::LineIndex::new(
        source
            .get(..limits.max_bytes.saturating_add(1))
            .unwrap_or(source),
    );
    let root = yaml::parse(file, source, &index, &limits, &mut diagnostics);
    let Some(root) = root else {
        return Parsed {
            file: None,
            diagnostics,
        };
    };
    let mut cx = Cx::new(file);
    cx.diags = diagnostics;
    let plays = plays(&mut cx, &root);
    let mut diagnostics = cx.diags;
    diagnostics.sort_by_key(|d| d.span.map_or(0, |s| s.offset));
    let ok = !diagnostics.iter().any(Diagnostic::is_error);
    Parsed {
        file: ok.then(|| InfraFile {
            file: file.to_string(),
            plays,
        }),
        diagnostics,
    }
}

fn plays(cx: &mut Cx, root: &Node) -> Vec<Play> {
    if root.kind == Kind::Null {
        return Vec::new();
    }
    let Some(items) = root.as_seq() else {
        cx.type_error(
            root,
            "a list of plays (`- hosts: [...]` with `resources:`)",
            "the resource file",
        );
        return Vec::new();
    };
    let plays: Vec<Play> = items.iter().filter_map(|n| play(cx, n)).collect();
    check_references(cx, &plays);
    plays
}

fn play(cx: &mut Cx, node: &Node) -> Option<Play> {
    let entries = cx.map(node, "a map (hosts, resources, handlers)", "a play")?;
    cx.check_keys(entries, PLAY_KEYS, "in a play");
    let hosts = match node.get("hosts") {
        Some(n) => names(cx, n, "'hosts' in a play")
            .into_iter()
            .map(|(name, span)| Target { name, span })
            .collect(),
        None => {
            cx.require(
                node,
                "hosts",
                "a play",
                "add `hosts:` with the hosts or groups it applies to, e.g. `hosts: [web]`",
            );
            Vec::new()
        }
    };
    let resources = match node.get("resources") {
        Some(n) if n.kind == Kind::Null => Vec::new(),
        Some(n) => match n.as_seq() {
            Some(items) => items.iter().filter_map(|r| resource(cx, r)).collect(),
            None => {
                cx.type_error(n, "a list of resources", "'resources'");
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    let handlers = node
        .get("handlers")
        .map(|n| handlers(cx, n))
        .unwrap_or_default();
    Some(Play {
        hosts,
        resources,
        handlers,
    })
}

fn resource(cx: &mut Cx, node: &Node) -> Option<Resource> {
    let entries = cx.map(
        node,
        &format!("a map with one resource type ({})", TYPES.join(", ")),
        "a resource",
    )?;
    let valid: Vec<&str> = TYPES.iter().chain(COMMON_KEYS).copied().collect();
    cx.check_keys(entries, &valid, "in a resource");
    let typed: Vec<&(Node, Node)> = entries
        .iter()
        .filter(|(k, _)| TYPES.contains(&k.text.as_str()))
        .collect();
    let (key, body) = match typed.as_slice() {
        [one] => (&one.0, &one.1),
        [] => {
            if !entries.iter().any(|(k, _)| {
                !valid.contains(&k.text.as_str())
                    && did_you_mean(&k.text, TYPES.iter().copied()).is_some()
            }) {
                let diag = cx
                    .error(node.span, "a resource has no type")
                    .with_help(format!("add one of: {}", TYPES.join(", ")));
                cx.push(diag);
            }
            return None;
        }
        [_, second, ..] => {
            let diag = cx
                .error(second.0.span, "a resource has more than one type")
                .with_help("write each resource as its own list item");
            cx.push(diag);
            return None;
        }
    };
    let spec = spec(cx, key, body)?;
    let id = match node.get("name") {
        Some(n) => cx.text(n, "'name' of a resource")?,
        None => spec.as_type().default_id(),
    };
    let requires = node
        .get("requires")
        .map(|n| names(cx, n, &format!("'requires' in '{id}'")))
        .unwrap_or_default()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let notify = node
        .get("notify")
        .map(|n| names(cx, n, &format!("'notify' in '{id}'")))
        .unwrap_or_default()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    Some(Resource {
        id,
        spec,
        requires,
        notify,
        file: cx.file.to_string(),
        span: node.span,
    })
}

/// Keys of each type, required first.
fn type_keys(kind: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        "file" | "template" => (
            &["path"],
            &["path", "content", "source", "mode", "owner", "group"],
        ),
        "directory" => (&["path"], &["path", "mode", "owner", "group"]),
        "symlink" => (&["path", "target"], &["path", "target"]),
        "line" => (&["path", "line"], &["path", "line", "regexp"]),
        "git" => (&["path", "repo"], &["path", "repo", "ref"]),
        "user" => (
            &["name"],
            &[
                "name", "uid", "group", "groups", "home", "shell", "system", "state",
            ],
        ),
        "group" => (&["name"], &["name", "gid", "system", "state"]),
        // `name` or `names`: checked in `package`.
        "package" => (&[], &["name", "names", "state", "version", "update_cache"]),
        "service" => (&["name"], &["name", "enabled", "state"]),
        "cron" => (
            &["name"],
            &["name", "user", "schedule", "command", "env", "state"],
        ),
        _ => (&["run"], &["run", "creates", "unless", "only_if"]),
    }
}

fn spec(cx: &mut Cx, key: &Node, body: &Node) -> Option<Spec> {
    let kind = key.text.as_str();
    let what = format!("'{kind}' resource");
    let (required, allowed) = type_keys(kind);
    let entries = cx.map(body, &format!("a map ({})", allowed.join(", ")), &what)?;
    cx.check_keys(entries, allowed, &format!("in a {what}"));
    let mut missing = false;
    for req in required {
        if body.get(req).is_none() {
            missing = true;
            cx.require(body, req, &format!("a {what}"), &format!("add `{req}:`"));
        }
    }
    if missing {
        return None;
    }
    let text = |cx: &mut Cx, k: &str| -> Option<Option<String>> {
        match body.get(k) {
            None => Some(None),
            Some(n) => cx.text(n, &format!("'{k}' in a {what}")).map(Some),
        }
    };
    let path = text(cx, "path").flatten().map(|p| check_path(cx, body, p));
    match kind {
        "file" | "template" => {
            let mode = mode(cx, body);
            let owner = text(cx, "owner");
            let group = text(cx, "group");
            let content = match (body.get("content"), body.get("source")) {
                (Some(_), Some(src)) => {
                    let diag = cx
                        .error(src.span, format!("a {what} has both 'content' and 'source'"))
                        .with_help("keep one: `content` for text written here, `source` for a file in the workspace");
                    cx.push(diag);
                    None
                }
                (Some(c), None) => match &c.kind {
                    Kind::Seq(_) | Kind::Map(_) => {
                        cx.type_error(c, "a string", "'content'");
                        None
                    }
                    Kind::Null => Some(FileContent::Inline(String::new())),
                    _ => Some(FileContent::Inline(c.text.clone())),
                },
                (None, Some(s)) => cx
                    .text(s, &format!("'source' in a {what}"))
                    .map(|path| FileContent::Source { path, bytes: None }),
                (None, None) if !has_typo_of(body, &["content", "source"]) => {
                    let diag = cx
                        .error(body.span, format!("a {what} has neither 'content' nor 'source'"))
                        .with_help("add `content:` with the text, or `source:` with a file in the workspace");
                    cx.push(diag);
                    None
                }
                (None, None) => None,
            };
            if kind == "template"
                && let Some(FileContent::Inline(text)) = &content
                && let Some(error) = crate::resource::syntax_error(text)
            {
                let span = body.get("content").map_or(body.span, |n| n.span);
                let diag = cx
                    .error(span, format!("the template in 'content' does not parse: {error}"))
                    .with_help("templates use minijinja (Jinja2) syntax: {{ var }}, {% if … %}…{% endif %}");
                cx.push(diag);
                return None;
            }
            let (path, content, mode, owner, group) = (path??, content?, mode?, owner?, group?);
            Some(if kind == "template" {
                Spec::Template(TemplateSpec {
                    path,
                    template: content,
                    mode,
                    owner,
                    group,
                })
            } else {
                Spec::File(FileSpec {
                    path,
                    content,
                    mode,
                    owner,
                    group,
                })
            })
        }
        "directory" => {
            let mode = mode(cx, body);
            let owner = text(cx, "owner");
            let group = text(cx, "group");
            Some(Spec::Directory(DirectorySpec {
                path: path??,
                mode: mode?,
                owner: owner?,
                group: group?,
            }))
        }
        "symlink" => {
            let target = text(cx, "target");
            Some(Spec::Symlink(SymlinkSpec {
                path: path??,
                target: target??,
            }))
        }
        "line" => {
            let line = text(cx, "line");
            let regexp = text(cx, "regexp");
            let line = line??;
            if line.contains('\n') {
                let span = body.get("line").map_or(body.span, |n| n.span);
                let diag = cx
                    .error(span, "'line' must be a single line")
                    .with_help("use a `file` resource for several lines");
                cx.push(diag);
                return None;
            }
            Some(Spec::Line(LineSpec {
                path: path??,
                line,
                regexp: regexp?,
            }))
        }
        "git" => {
            let repo = text(cx, "repo");
            let reference = text(cx, "ref");
            Some(Spec::Git(GitSpec {
                path: path??,
                repo: repo??,
                reference: reference?.unwrap_or_else(|| "HEAD".to_string()),
            }))
        }
        "user" => {
            let name = account_name(cx, body, &what);
            let uid = id_number(cx, body, "uid", &what);
            let group = text(cx, "group");
            let groups = body.get("groups").map(|n| {
                names(cx, n, &format!("'groups' in a {what}"))
                    .into_iter()
                    .map(|(g, _)| g)
                    .collect::<Vec<_>>()
            });
            let home = absolute(cx, body, "home", &what);
            let shell = absolute(cx, body, "shell", &what);
            let system = flag(cx, body, "system", &what);
            let state = state(cx, body, &what);
            Some(Spec::User(UserSpec {
                name: name?,
                uid: uid?,
                group: group?,
                groups,
                home: home?,
                shell: shell?,
                system: system?,
                state: state?,
            }))
        }
        "group" => {
            let name = account_name(cx, body, &what);
            let gid = id_number(cx, body, "gid", &what);
            let system = flag(cx, body, "system", &what);
            let state = state(cx, body, &what);
            Some(Spec::Group(GroupSpec {
                name: name?,
                gid: gid?,
                system: system?,
                state: state?,
            }))
        }
        "package" => package(cx, body, &what),
        "service" => service(cx, body, &what),
        "cron" => cron(cx, body, &what),
        _ => {
            let run = text(cx, "run");
            let creates = text(cx, "creates");
            let unless = text(cx, "unless");
            let only_if = text(cx, "only_if");
            Some(Spec::Command(CommandSpec {
                run: run??,
                creates: creates?,
                unless: unless?,
                only_if: only_if?,
            }))
        }
    }
}

/// Whether `body` has a key that looks like a misspelling of one of `keys` (already
/// reported as unknown, with the suggestion).
fn has_typo_of(body: &Node, keys: &[&str]) -> bool {
    body.as_map().is_some_and(|entries| {
        entries.iter().any(|(k, _)| {
            !keys.contains(&k.text.as_str())
                && did_you_mean(&k.text, keys.iter().copied()).is_some()
        })
    })
}

/// Paths on hosts must be absolute: there is no meaningful working directory.
fn check_path(cx: &mut Cx, body: &Node, path: String) -> Option<String> {
    if path.starts_with('/') {
        return Some(path);
    }
    let span = body.get("path").map_or(body.span, |n| n.span);
    let diag = cx
        .error(span, format!("'path' must be absolute, found '{path}'"))
        .with_help(format!("write it from the root, e.g. /{path}"));
    cx.push(diag);
    None
}

/// A user or group name as `useradd` takes it: a lowercase letter or `_` first, then
/// lowercase letters, digits, `_`, `-` (and a final `$`), up to 32 characters.
fn account_name(cx: &mut Cx, body: &Node, what: &str) -> Option<String> {
    account_name_at(cx, body, "name", what)
}

/// [`account_name`] under another key (`user:` of a cron entry).
fn account_name_at(cx: &mut Cx, body: &Node, key: &str, what: &str) -> Option<String> {
    let node = body.get(key)?;
    let name = cx.text(node, &format!("'{key}' in a {what}"))?;
    let body_ok = name
        .trim_end_matches('$')
        .chars()
        .enumerate()
        .all(|(i, c)| {
            c.is_ascii_lowercase() || c == '_' || (i > 0 && (c.is_ascii_digit() || c == '-'))
        });
    if body_ok && !name.is_empty() && name.len() <= 32 && !name.trim_end_matches('$').is_empty() {
        return Some(name);
    }
    let diag = cx
        .error(node.span, format!("invalid {key} '{name}' in a {what}"))
        .with_label("not a valid account name")
        .with_help("start with a lowercase letter or '_', then lowercase letters, digits, '_' or '-' (at most 32)");
    cx.push(diag);
    None
}

/// `uid:` / `gid:`: a whole number.
fn id_number(cx: &mut Cx, body: &Node, key: &str, what: &str) -> Option<Option<u32>> {
    match body.get(key) {
        None => Some(None),
        Some(node) => cx
            .count(node, &format!("'{key}' in a {what}"), 0, u32::MAX - 1)
            .map(Some),
    }
}

/// `home:` / `shell:`: an absolute path on the host.
fn absolute(cx: &mut Cx, body: &Node, key: &str, what: &str) -> Option<Option<String>> {
    let Some(node) = body.get(key) else {
        return Some(None);
    };
    let value = cx.text(node, &format!("'{key}' in a {what}"))?;
    if value.starts_with('/') {
        return Some(Some(value));
    }
    let diag = cx
        .error(
            node.span,
            format!("'{key}' must be an absolute path, found '{value}'"),
        )
        .with_help(format!("write it from the root, e.g. /{value}"));
    cx.push(diag);
    None
}

/// `system: true`.
fn flag(cx: &mut Cx, body: &Node, key: &str, what: &str) -> Option<bool> {
    match body.get(key) {
        None => Some(false),
        Some(node) => match node.kind {
            Kind::Bool(b) => Some(b),
            _ => {
                cx.type_error(node, "true or false", &format!("'{key}' in a {what}"));
                None
            }
        },
    }
}

/// `state: present` (the default) or `absent`.
fn state(cx: &mut Cx, body: &Node, what: &str) -> Option<State> {
    match state_word(cx, body, what, &["present", "absent"], &[])? {
        Some("absent") => Some(State::Absent),
        _ => Some(State::Present),
    }
}

/// `state:` as one of `allowed` (`None` when not written); `hints` pairs a value that is
/// not allowed here with why and what to write instead.
fn state_word(
    cx: &mut Cx,
    body: &Node,
    what: &str,
    allowed: &[&'static str],
    hints: &[(&str, &str)],
) -> Option<Option<&'static str>> {
    let Some(node) = body.get("state") else {
        return Some(None);
    };
    let value = cx.text(node, &format!("'state' in a {what}"))?;
    if let Some(word) = allowed.iter().find(|a| **a == value) {
        return Some(Some(word));
    }
    let expected = match allowed {
        [a, b] => format!("expected {a} or {b}"),
        _ => format!("expected one of {}", allowed.join(", ")),
    };
    let mut diag = cx
        .error(node.span, format!("invalid state '{value}' in a {what}"))
        .with_label(expected);
    if let Some((_, hint)) = hints.iter().find(|(v, _)| *v == value) {
        diag = diag.with_help(*hint);
    } else if let Some(s) = did_you_mean(&value, allowed.iter().copied()) {
        diag = diag.with_help(format!("did you mean '{s}'?"));
    }
    cx.push(diag);
    None
}

/// `mode: "0644"` (or `0644`, `644`): octal permission bits.
fn mode(cx: &mut Cx, body: &Node) -> Option<Option<u32>> {
    let Some(node) = body.get("mode") else {
        return Some(None);
    };
    let text = node.text.trim_start_matches("0o");
    let parsed = match node.kind {
        Kind::Str | Kind::Int(_) if (3..=4).contains(&text.len()) => {
            u32::from_str_radix(text, 8).ok()
        }
        _ => None,
    };
    if parsed.is_none() {
        let diag = cx
            .error(node.span, format!("invalid mode '{}'", node.text))
            .with_label("expected octal permission bits")
            .with_help("write the mode in octal and quoted, e.g. mode: \"0644\"");
        cx.push(diag);
        return None;
    }
    Some(parsed.filter(|m| *m <= 0o7777))
}

fn names(cx: &mut Cx, node: &Node, what: &str) -> Vec<(String, gantry_core::Span)> {
    match &node.kind {
        Kind::Seq(items) => items
            .iter()
            .filter_map(|i| {
                cx.text(i, &format!("an item of {what}"))
                    .map(|t| (t, i.span))
            })
            .collect(),
        Kind::Str => vec![(node.text.clone(), node.span)],
        _ => {
            cx.type_error(node, "a list of names", what);
            Vec::new()
        }
    }
}

fn handlers(cx: &mut Cx, node: &Node) -> Vec<Handler> {
    if node.kind == Kind::Null {
        return Vec::new();
    }
    let Some(entries) = cx.map(node, "a map of handler names to `{ run: … }`", "'handlers'")
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        let what = format!("handler '{}'", key.text);
        let Some(body) = cx.map(value, "a map (run or service)", &what) else {
            continue;
        };
        cx.check_keys(body, &["run", "service"], &format!("in {what}"));
        let (run, service) = match (value.get("run"), value.get("service")) {
            (Some(_), Some(service)) => {
                let diag = cx
                    .error(service.span, format!("{what} has both 'run' and 'service'"))
                    .with_help("a handler does one thing: write two handlers and notify both");
                cx.push(diag);
                continue;
            }
            (Some(run), None) => match cx.text(run, &format!("'run' in {what}")) {
                Some(run) => (run, None),
                None => continue,
            },
            (None, Some(service)) => match handler_service(cx, service, &what) {
                Some((unit, verb)) => (format!("systemctl {verb} -- {}", quote(&unit)), Some(unit)),
                None => continue,
            },
            (None, None) => {
                if !has_typo_of(value, &["run", "service"]) {
                    cx.require(
                        value,
                        "run",
                        &what,
                        "add `run:` with the command to run, or `service: { name: …, state: restarted }`",
                    );
                }
                continue;
            }
        };
        out.push(Handler {
            name: key.text.clone(),
            run,
            service,
            file: cx.file.to_string(),
        });
    }
    out
}

/// Duplicate ids, and `requires` / `notify` naming nothing, across the whole file.
fn check_references(cx: &mut Cx, plays: &[Play]) {
    let ids: Vec<String> = plays
        .iter()
        .flat_map(|p| p.resources.iter().map(|r| r.id.clone()))
        .collect();
    let handler_names: Vec<String> = plays
        .iter()
        .flat_map(|p| p.handlers.iter().map(|h| h.name.clone()))
        .collect();
    let mut seen: Vec<&str> = Vec::new();
    for play in plays.iter() {
        for r in &play.resources {
            if seen.contains(&r.id.as_str()) {
                let diag = cx
                    .error(r.span, format!("two resources have the id '{}'", r.id))
                    .with_help("give one of them a different `name:`");
                cx.push(diag);
            }
            seen.push(&r.id);
            for req in &r.requires {
                if !ids.contains(req) {
                    let others = ids.iter().filter(|i| **i != r.id).map(String::as_str);
                    let help = did_you_mean(req, others)
                        .map_or_else(
                            || "refer to a resource by its `name`, or by its type and path (`file /etc/motd`)".to_string(),
                            |s| format!("did you mean '{s}'?"),
                        );
                    let diag = cx
                        .error(
                            r.span,
                            format!(
                                "'{}' requires '{req}', which is not declared in this file",
                                r.id
                            ),
                        )
                        .with_help(help);
                    cx.push(diag);
                }
            }
            for n in &r.notify {
                if !handler_names.contains(n) {
                    let help = did_you_mean(n, handler_names.iter().map(String::as_str))
                        .map_or_else(
                            || "declare it under `handlers:` in a play of this file".to_string(),
                            |s| format!("did you mean '{s}'?"),
                        );
                    let diag = cx
                        .error(
                            r.span,
                            format!(
                                "'{}' notifies '{n}', which is not a handler in this file",
                                r.id
                            ),
                        )
                        .with_help(help);
                    cx.push(diag);
                }
            }
        }
    }
}
