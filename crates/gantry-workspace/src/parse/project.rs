//! Reads the `projects:` section: each project's name, source (`repo` or `path`),
//! branch, poll interval, pipeline directory, webhook secret and forge.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use gantry_pipeline::yaml::{Kind, Node};
use indexmap::IndexMap;

use super::cx::{Cx, has_typo_of};
use super::forge::forge;
use super::secret::{env_hint, secret_ref};
use crate::model::{
    DEFAULT_BRANCH, DEFAULT_PIPELINES_DIR, DEFAULT_POLL, MIN_POLL, Project, ProjectSource,
    format_duration,
};
use crate::url::{check_git_url, redact_url, userinfo_range};

const PROJECT_KEYS: &[&str] = &[
    "repo",
    "path",
    "branch",
    "poll",
    "pipelines",
    "webhook_secret",
    "forge",
];

pub fn projects(cx: &mut Cx, node: &Node) -> IndexMap<String, Project> {
    let mut out = IndexMap::new();
    if node.kind == Kind::Null {
        return out;
    }
    let Some(entries) = cx.map(node, "a map of project names to projects", "'projects'") else {
        return out;
    };
    for (key, value) in entries {
        let name_ok = check_name(cx, key);
        if let Some(project) = project(cx, key, value)
            && name_ok
        {
            out.insert(project.name.clone(), project);
        }
    }
    out
}

/// `[a-z0-9][a-z0-9_-]{0,62}`: safe in a URL path, a directory name and a label.
fn check_name(cx: &mut Cx, key: &Node) -> bool {
    let name = key.text.as_str();
    if super::cx::is_slug(name) {
        return true;
    }
    let rule = "a project name has lowercase letters, digits, '-' and '_', starts with a letter or digit, and is at most 63 characters long";
    let lower = name.to_ascii_lowercase().replace([' ', '.'], "-");
    let help = if lower != name && super::cx::is_slug(&lower) {
        format!("{rule}; e.g. '{lower}'")
    } else {
        rule.to_string()
    };
    let diag = cx
        .error(key.span, format!("invalid project name '{name}'"))
        .with_label("invalid name")
        .with_help(help);
    cx.push(diag);
    false
}

fn project(cx: &mut Cx, key: &Node, node: &Node) -> Option<Project> {
    let name = key.text.clone();
    let what = format!("project '{name}'");
    if node.kind == Kind::Null {
        let diag = cx
            .error(key.span, format!("{what} has neither 'repo' nor 'path'"))
            .with_help("add `repo:` with a git URL, or `path:` with a directory");
        cx.push(diag);
        return None;
    }
    let entries = cx.map(
        node,
        "a map (repo or path, branch, poll, pipelines, webhook_secret, forge)",
        &what,
    )?;
    cx.check_keys(entries, PROJECT_KEYS, &format!("in {what}"));

    let source = source(cx, key, node, &what);
    let branch = match node.get("branch") {
        Some(n) => branch(cx, n, &format!("'branch' in {what}")),
        None => Some(DEFAULT_BRANCH.to_string()),
    };
    let poll = match node.get("poll") {
        Some(n) => poll(cx, n, &format!("'poll' in {what}")),
        None => Some(Some(DEFAULT_POLL)),
    };
    let pipelines_dir = match node.get("pipelines") {
        Some(n) => pipelines_dir(cx, n, &format!("'pipelines' in {what}")),
        None => Some(PathBuf::from(DEFAULT_PIPELINES_DIR)),
    };
    // Each optional section is read even when an earlier one failed, so that every
    // problem is reported; `None` inside means "set, but invalid".
    let webhook_secret = node.get("webhook_secret").map(|n| {
        secret_ref(
            cx,
            n,
            &format!("'webhook_secret' in {what}"),
            &env_hint(&name, "WEBHOOK_SECRET"),
        )
    });
    let forge = node
        .get("forge")
        .filter(|n| n.kind != Kind::Null)
        .map(|n| forge(cx, &name, n));
    let (source, source_span) = source?;
    Some(Project {
        name,
        source,
        source_span,
        branch: branch?,
        poll: poll?,
        pipelines_dir: pipelines_dir?,
        webhook_secret: set_and_valid(webhook_secret)?,
        forge: set_and_valid(forge)?,
    })
}

/// An optional section: `Some(None)` when absent, `None` when present but invalid.
fn set_and_valid<T>(section: Option<Option<T>>) -> Option<Option<T>> {
    section.map_or(Some(None), |value| value.map(Some))
}

/// Exactly one of `repo` and `path`.
fn source(
    cx: &mut Cx,
    key: &Node,
    node: &Node,
    what: &str,
) -> Option<(ProjectSource, gantry_core::Span)> {
    let repo = node.as_map()?.iter().find(|(k, _)| k.text == "repo");
    let path = node.as_map()?.iter().find(|(k, _)| k.text == "path");
    match (repo, path) {
        (Some(_), Some((path_key, _))) => {
            let diag = cx
                .error(path_key.span, format!("{what} has both 'repo' and 'path'"))
                .with_help("keep one: `repo` for a git URL, `path` for a local directory");
            cx.push(diag);
            None
        }
        (Some((_, value)), None) => {
            let url = repo_url(cx, value, &format!("'repo' in {what}"))?;
            Some((ProjectSource::Repo(url), value.span))
        }
        (None, Some((_, value))) => {
            let path = cx.text(value, &format!("'path' in {what}"))?;
            Some((ProjectSource::Path(PathBuf::from(path)), value.span))
        }
        (None, None) => {
            if !has_typo_of(node, "repo") && !has_typo_of(node, "path") {
                let diag = cx
                    .error(key.span, format!("{what} has neither 'repo' nor 'path'"))
                    .with_help("add `repo:` with a git URL, or `path:` with a directory");
                cx.push(diag);
            }
            None
        }
    }
}

fn repo_url(cx: &mut Cx, node: &Node, what: &str) -> Option<String> {
    let url = cx.text(node, what)?;
    if userinfo_range(&url).is_some_and(|r| url[r].contains(':')) {
        // The whole value is blanked in rendered source lines: the password is in it.
        cx.secret_spans.push(node.span);
        let diag = cx
            .warning(
                node.span,
                format!("the URL in {what} contains a password, which is kept in git"),
            )
            .with_help("give the server an SSH key or a git credential helper instead");
        cx.push(diag);
    }
    match check_git_url(&url) {
        Ok(()) => Some(url),
        Err(problem) => {
            let diag = cx
                .error(
                    node.span,
                    format!(
                        "invalid git URL '{}' for {what}: {}",
                        redact_url(&url),
                        problem.reason
                    ),
                )
                .with_help_opt(problem.help);
            cx.push(diag);
            None
        }
    }
}

/// A branch name git accepts (the parts of `git check-ref-format` a typo can break).
fn branch(cx: &mut Cx, node: &Node, what: &str) -> Option<String> {
    let name = cx.text(node, what)?;
    let problem = if name.starts_with('-') {
        Some("it starts with '-'")
    } else if name.starts_with("refs/") {
        Some("write the branch name without 'refs/heads/'")
    } else if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c))
    {
        Some("it contains a space or one of ~ ^ : ? * [ \\")
    } else if name.contains("..") || name.contains("@{") || name.contains("//") {
        Some("it contains '..', '@{' or '//'")
    } else if name.ends_with('/') || name.ends_with('.') || name.ends_with(".lock") {
        Some("it ends with '/', '.' or '.lock'")
    } else {
        None
    };
    match problem {
        None => Some(name),
        Some(reason) => {
            let diag = cx.error(
                node.span,
                format!("invalid branch name '{name}' for {what}: {reason}"),
            );
            cx.push(diag);
            None
        }
    }
}

/// `Some(None)` when polling is off, `None` after an error.
fn poll(cx: &mut Cx, node: &Node, what: &str) -> Option<Option<Duration>> {
    if node.kind == Kind::Str && node.text == "off" {
        return Some(None);
    }
    if node.kind == Kind::Bool(false) {
        let diag = cx
            .error(
                node.span,
                format!("expected a duration like 60s or off for {what}, found a boolean"),
            )
            .with_help("write `poll: off` to turn polling off");
        cx.push(diag);
        return None;
    }
    let interval = cx.duration(node, what)?;
    if interval < MIN_POLL {
        let diag = cx
            .error(
                node.span,
                format!(
                    "{what} must be at least {}, found {}",
                    format_duration(MIN_POLL),
                    format_duration(interval)
                ),
            )
            .with_help("poll less often, or write `poll: off` and let webhooks start runs");
        cx.push(diag);
        return None;
    }
    Some(Some(interval))
}

/// A relative path that stays inside the repository.
fn pipelines_dir(cx: &mut Cx, node: &Node, what: &str) -> Option<PathBuf> {
    let dir = cx.text(node, what)?;
    let path = Path::new(&dir);
    let inside = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside {
        let diag = cx
            .error(
                node.span,
                format!("{what} must be a directory inside the repository, found '{dir}'"),
            )
            .with_help("write a relative path without '..', e.g. .gantry/pipelines");
        cx.push(diag);
        return None;
    }
    Some(path.to_path_buf())
}
