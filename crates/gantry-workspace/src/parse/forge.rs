//! Reads a project's `forge:` section: where its commit statuses are reported.

use gantry_core::did_you_mean;
use gantry_pipeline::yaml::Node;

use super::cx::Cx;
use super::secret::{env_hint, secret_ref};
use crate::model::{ForgeKind, ForgeSettings};
use crate::url::{check_http_url, redact_url, userinfo_range};

const FORGE_KEYS: &[&str] = &["kind", "api_url", "repo", "token"];

pub fn forge(cx: &mut Cx, project: &str, node: &Node) -> Option<ForgeSettings> {
    let what = format!("the forge of project '{project}'");
    let entries = cx.map(node, "a map (kind, api_url, repo, token)", &what)?;
    cx.check_keys(entries, FORGE_KEYS, &format!("in {what}"));
    let kind_names: Vec<&str> = ForgeKind::ALL.iter().map(|k| k.name()).collect();
    cx.require(
        node,
        "kind",
        &what,
        &format!("add `kind:` with one of {}", kind_names.join(", ")),
    );
    cx.require(
        node,
        "repo",
        &what,
        "add `repo:` with the repository on the forge: owner/name, or the GitLab project path",
    );
    cx.require(
        node,
        "token",
        &what,
        &format!(
            "add `token: {{ env: {} }}` with a token that may set commit statuses",
            env_hint(project, "FORGE_TOKEN")
        ),
    );

    let kind = node.get("kind").and_then(|n| kind_of(cx, n, &what));
    let api_url = match node.get("api_url") {
        Some(n) => api_url(cx, n, &what).map(|url| match kind.and_then(ForgeKind::api_suffix) {
            // The instance root is accepted too (it is what the forge's own settings
            // pages show); the API root is kept, so every consumer sees one form.
            Some(suffix) if !url.ends_with(suffix) => format!("{url}{suffix}"),
            _ => url,
        }),
        None => match kind {
            Some(kind) => match kind.default_api_url() {
                Some(url) => Some(url.to_string()),
                None => {
                    let diag = cx
                        .error(node.span, format!("{what} has no 'api_url'; {kind} has no default"))
                        .with_help(format!(
                            "add the API root of your {kind} instance, e.g. `api_url: https://git.example.com/api/v1`"
                        ));
                    cx.push(diag);
                    None
                }
            },
            None => None,
        },
    };
    let repo = node
        .get("repo")
        .and_then(|n| forge_repo(cx, n, kind, &format!("'repo' in {what}")));
    let token = node.get("token").and_then(|n| {
        secret_ref(
            cx,
            n,
            &format!("'token' in {what}"),
            &env_hint(project, "FORGE_TOKEN"),
        )
    });
    Some(ForgeSettings {
        kind: kind?,
        api_url: api_url?,
        repo: repo?,
        token: token?,
    })
}

fn kind_of(cx: &mut Cx, node: &Node, what: &str) -> Option<ForgeKind> {
    let name = cx.text(node, &format!("'kind' in {what}"))?;
    if let Some(kind) = ForgeKind::from_name(&name) {
        return Some(kind);
    }
    let names: Vec<&str> = ForgeKind::ALL.iter().map(|k| k.name()).collect();
    let lower = name.to_ascii_lowercase();
    let help = match ForgeKind::from_name(&lower)
        .map(ForgeKind::name)
        .or_else(|| did_you_mean(&name, names.iter().copied()))
    {
        Some(s) => format!("did you mean '{s}'? The kinds are: {}", names.join(", ")),
        None => format!("the kinds are: {}", names.join(", ")),
    };
    let diag = cx
        .error(node.span, format!("unknown forge kind '{name}'"))
        .with_label("unknown kind")
        .with_help(help);
    cx.push(diag);
    None
}

fn api_url(cx: &mut Cx, node: &Node, what: &str) -> Option<String> {
    let url = cx.text(node, &format!("'api_url' in {what}"))?;
    if userinfo_range(&url).is_some() {
        cx.secret_spans.push(node.span);
    }
    match check_http_url(&url) {
        Ok(()) => Some(url.trim_end_matches('/').to_string()),
        Err(problem) => {
            let diag = cx
                .error(
                    node.span,
                    format!(
                        "invalid URL '{}' for 'api_url' in {what}: {}",
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

/// `owner/name` on GitHub, Gitea and Forgejo; on GitLab a `group/…/project` path or the
/// numeric project id.
fn forge_repo(cx: &mut Cx, node: &Node, kind: Option<ForgeKind>, what: &str) -> Option<String> {
    let repo = cx.text(node, what)?;
    if kind == Some(ForgeKind::Gitlab) && repo.chars().all(|c| c.is_ascii_digit()) {
        return Some(repo);
    }
    let part_ok = |p: &str| {
        !p.is_empty()
            && p != "."
            && p != ".."
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    let parts: Vec<&str> = repo.split('/').collect();
    let (valid, help) = match kind {
        Some(ForgeKind::Gitlab) => (
            parts.len() >= 2 && parts.iter().all(|p| part_ok(p)),
            "write the project path (group/project, group/subgroup/project) or its numeric id",
        ),
        _ => (
            parts.len() == 2 && parts.iter().all(|p| part_ok(p)),
            "write owner/name, e.g. team/web",
        ),
    };
    if valid {
        return Some(repo);
    }
    let diag = cx
        .error(
            node.span,
            format!("invalid forge repository '{repo}' for {what}"),
        )
        .with_help(help);
    cx.push(diag);
    None
}
