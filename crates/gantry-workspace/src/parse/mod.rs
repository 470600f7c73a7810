//! The workspace grammar: reads the spanned YAML tree into the model, reporting every
//! unknown key, wrong type and missing value at its place.

mod cx;
mod environment;
mod forge;
mod inventory;
mod project;
mod run;
mod secret;
mod service;
mod strategy;
mod window;

pub use cx::Cx;
pub use inventory::to_json;

use gantry_pipeline::yaml::{Kind, Node};

use crate::model::{ServerSettings, UnlabeledJobs, Workspace};
use crate::url::{check_http_url, userinfo_range};

/// Top-level keys, in DESIGN.md's order. This version reads `server`, `projects`,
/// `hosts`, `groups`, `environments`, `services`, `infra` and `secrets`; the others belong to later capabilities and are
/// accepted, not yet read, so a workspace written for a newer Gantry still serves its
/// projects.
const TOP_KEYS: &[&str] = &[
    "server",
    "projects",
    "hosts",
    "groups",
    "environments",
    "services",
    "infra",
    "monitors",
    "oncall",
    "secrets",
];
const SERVER_KEYS: &[&str] = &["url", "parallelism", "unlabeled_jobs", "agent_lease"];
/// Most jobs one server runs at once; more is a typo, not a machine.
const MAX_PARALLELISM: u32 = 1024;

pub fn workspace(cx: &mut Cx, root: &Node) -> Option<Workspace> {
    let entries = cx.map(root, "a map (server, projects, …)", "the workspace file")?;
    // `x-` keys are free for the user, e.g. to hold anchors (`x-defaults: &defaults`),
    // as in pipeline files and Docker Compose.
    let checked: Vec<(Node, Node)> = entries
        .iter()
        .filter(|(k, _)| !k.text.starts_with("x-"))
        .cloned()
        .collect();
    cx.check_keys(&checked, TOP_KEYS, "at the top level of the workspace");

    let server = match root.get("server") {
        Some(node) => server(cx, node),
        None => Some(ServerSettings::default()),
    };
    let projects = match root.get("projects") {
        Some(node) => project::projects(cx, node),
        None => Default::default(),
    };
    let inventory = inventory::inventory(cx, root);
    let environments = match root.get("environments") {
        Some(node) => environment::environments(cx, node, &inventory),
        None => Default::default(),
    };
    // From the file rather than `inventory.secrets`: a secret whose reference has a
    // mistake is reported there, not again as unknown wherever it is used.
    let secret_names: Vec<String> = root
        .get("secrets")
        .and_then(Node::as_map)
        .map(|entries| entries.iter().map(|(k, _)| k.text.clone()).collect())
        .unwrap_or_default();
    let services = match root.get("services") {
        Some(node) => service::services(cx, node, &projects, &secret_names),
        None => Default::default(),
    };
    // Judged on the file, not on `projects`: an invalid project or a `projects:` of
    // the wrong type is reported already.
    let none_declared = match root.get("projects") {
        None => !cx::has_typo_of(root, "projects"),
        Some(node) => match &node.kind {
            Kind::Null => true,
            Kind::Map(entries) => entries.is_empty(),
            _ => false,
        },
    };
    // A workspace for infrastructure only needs no projects.
    let infra_only = root.get("hosts").is_some();
    if none_declared && !infra_only {
        let span = root
            .as_map()
            .and_then(|e| e.iter().find(|(k, _)| k.text == "projects"))
            .map_or(root.span, |(k, _)| k.span);
        let diag = cx
            .warning(span, "the workspace declares no projects")
            .with_help("add `projects:` with a project, e.g. `projects: { web: { repo: https://git.example.com/team/web.git } }`");
        cx.push(diag);
    }
    Some(Workspace {
        file: cx.file.to_string(),
        server: server?,
        projects,
        inventory,
        environments,
        services,
    })
}

fn server(cx: &mut Cx, node: &Node) -> Option<ServerSettings> {
    if node.kind == Kind::Null {
        return Some(ServerSettings::default());
    }
    let entries = cx.map(
        node,
        "a map (url, parallelism, unlabeled_jobs, agent_lease)",
        "'server'",
    )?;
    cx.check_keys(entries, SERVER_KEYS, "in 'server'");
    let url = node.get("url").map(|n| server_url(cx, n));
    let parallelism = node
        .get("parallelism")
        .map(|n| cx.count(n, "'parallelism' in 'server'", 1, MAX_PARALLELISM));
    let unlabeled_jobs = match node.get("unlabeled_jobs") {
        None => Some(UnlabeledJobs::Server),
        Some(n) => match cx.text(n, "'unlabeled_jobs' in 'server'")?.as_str() {
            "server" => Some(UnlabeledJobs::Server),
            "agents" => Some(UnlabeledJobs::Agents),
            "any" => Some(UnlabeledJobs::Any),
            other => {
                let diag = cx
                    .error(n.span, format!("'{other}' is not a place jobs run"))
                    .with_help("use `server`, `agents` or `any`");
                cx.push(diag);
                None
            }
        },
    };
    let agent_lease = match node.get("agent_lease") {
        None => Some(None),
        Some(n) => cx
            .duration(n, "'agent_lease' in 'server'")
            .and_then(|d| {
                if (std::time::Duration::from_secs(2)..=std::time::Duration::from_secs(3600))
                    .contains(&d)
                {
                    Some(Some(d))
                } else {
                    let diag = cx
                        .error(n.span, "'agent_lease' must be between 2s and 1h")
                        .with_help("30s suits most networks: long enough to ride out a short cut, short enough to move a dead agent's job soon");
                    cx.push(diag);
                    None
                }
            }),
    };
    Some(ServerSettings {
        url: url.map_or(Some(None), |u| u.map(Some))?,
        parallelism: parallelism.map_or(Some(None), |p| p.map(Some))?,
        unlabeled_jobs: unlabeled_jobs?,
        agent_lease: agent_lease?,
    })
}

fn server_url(cx: &mut Cx, node: &Node) -> Option<String> {
    let url = cx.text(node, "'url' in 'server'")?;
    if userinfo_range(&url).is_some() {
        // Refused below; blanked so the rendered source line does not show them either.
        cx.secret_spans.push(node.span);
    }
    match check_http_url(&url) {
        // Links are built as `{url}/runs/…`; a trailing `/` would double it.
        Ok(()) => Some(url.trim_end_matches('/').to_string()),
        Err(problem) => {
            let diag = cx
                .error(
                    node.span,
                    format!("invalid URL for 'url' in 'server': {}", problem.reason),
                )
                .with_help(problem.help.unwrap_or_else(|| {
                    "write the server's public base URL, e.g. https://ci.example.com".into()
                }));
            cx.push(diag);
            None
        }
    }
}
