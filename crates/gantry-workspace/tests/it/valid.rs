//! Valid workspace files: every field read as written, the defaults, and the JSON the
//! server's API shows.

use std::path::PathBuf;
use std::time::Duration;

use gantry_core::Secret;
use gantry_workspace::{ForgeKind, ProjectSource, SecretSource};

use crate::{parse_ok, workspace_of};

const FULL: &str = r#"
server:
  url: https://ci.example.com/
  parallelism: 4
projects:
  web:
    repo: https://git.example.com/team/web.git
    branch: trunk
    poll: 2m
    pipelines: ci/pipelines
    webhook_secret: { env: WEB_HOOK_SECRET }
    forge:
      kind: github
      repo: team/web
      token: { env: WEB_FORGE_TOKEN }
  api:
    repo: git@git.example.com:team/api.git
    poll: off
    webhook_secret: { file: secrets/api-hook }
    forge:
      kind: gitea
      api_url: https://git.example.com/api/v1
      repo: team/api
      token: { file: secrets/api-token }
  tools:
    path: ../tools
  lab:
    repo: ssh://git@gitlab.example.com:2222/group/sub/lab.git
    forge: { kind: gitlab, repo: group/sub/lab, token: { env: LAB_TOKEN } }
  "0ps_tool-2":
    repo: file:///srv/git/ops.git
    forge: { kind: forgejo, api_url: "http://127.0.0.1:3000/api/v1", repo: o/p, token: { env: T } }
hosts:
  app1: { address: 10.0.0.11 }
monitors: [monitors/*.yml]
x-defaults: &defaults { poll: 30s }
"#;

#[test]
fn a_full_workspace_reads_every_field() {
    let parsed = parse_ok(FULL);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let ws = parsed.workspace.unwrap();
    assert_eq!(ws.file, "gantry.yml");
    assert_eq!(ws.server.url.as_deref(), Some("https://ci.example.com"));
    assert_eq!(ws.server.parallelism, Some(4));
    assert_eq!(ws.server.effective_parallelism(), 4);
    let names: Vec<&str> = ws.projects.keys().map(String::as_str).collect();
    assert_eq!(names, ["web", "api", "tools", "lab", "0ps_tool-2"]);

    let web = ws.project("web").unwrap();
    assert_eq!(
        web.source,
        ProjectSource::Repo("https://git.example.com/team/web.git".into())
    );
    assert_eq!((web.source_span.line, web.source_span.col), (7, 11));
    assert_eq!(web.branch, "trunk");
    assert_eq!(web.poll, Some(Duration::from_secs(120)));
    assert_eq!(web.pipelines_dir, PathBuf::from("ci/pipelines"));
    let hook = web.webhook_secret.as_ref().unwrap();
    assert_eq!(hook.source, SecretSource::Env("WEB_HOOK_SECRET".into()));
    assert_eq!((hook.span.line, hook.span.col), (11, 21));
    let forge = web.forge.as_ref().unwrap();
    assert_eq!(forge.kind, ForgeKind::Github);
    assert_eq!(forge.api_url, "https://api.github.com");
    assert_eq!(forge.repo, "team/web");
    assert_eq!(web.git_url(), "https://git.example.com/team/web.git");

    let api = ws.project("api").unwrap();
    assert_eq!(api.poll, None);
    assert_eq!(api.branch, "main");
    assert_eq!(api.pipelines_dir, PathBuf::from(".gantry/pipelines"));
    assert_eq!(
        api.webhook_secret.as_ref().unwrap().source,
        SecretSource::File("secrets/api-hook".into())
    );
    let forge = api.forge.as_ref().unwrap();
    assert_eq!(forge.kind, ForgeKind::Gitea);
    assert_eq!(forge.api_url, "https://git.example.com/api/v1");

    let tools = ws.project("tools").unwrap();
    assert_eq!(tools.source, ProjectSource::Path("../tools".into()));
    assert_eq!(tools.poll, Some(Duration::from_secs(60)));
    assert_eq!(tools.git_url(), "file://../tools");
    assert!(tools.webhook_secret.is_none() && tools.forge.is_none());

    let lab = ws.project("lab").unwrap().forge.as_ref().unwrap();
    assert_eq!(lab.kind, ForgeKind::Gitlab);
    assert_eq!(lab.api_url, "https://gitlab.com/api/v4");
    assert_eq!(lab.reporter_base_url(), "https://gitlab.com");
    let ops = ws.project("0ps_tool-2").unwrap().forge.as_ref().unwrap();
    assert_eq!(ops.kind, ForgeKind::Forgejo);
    assert_eq!(ops.api_url, "http://127.0.0.1:3000/api/v1");
    assert_eq!(ops.reporter_base_url(), "http://127.0.0.1:3000");
}

#[test]
fn an_instance_root_api_url_becomes_the_api_root() {
    let ws = workspace_of(
        "projects:\n  a:\n    repo: https://h/a.git\n    forge: { kind: gitea, api_url: \"https://git.example.com/\", repo: o/a, token: { env: T } }\n  b:\n    repo: https://h/b.git\n    forge: { kind: github, api_url: https://ghe.example.com/api/v3, repo: o/b, token: { env: T } }\n",
    );
    let a = ws.project("a").unwrap().forge.as_ref().unwrap();
    assert_eq!(a.api_url, "https://git.example.com/api/v1");
    assert_eq!(a.reporter_base_url(), "https://git.example.com");
    let b = ws.project("b").unwrap().forge.as_ref().unwrap();
    assert_eq!(b.api_url, "https://ghe.example.com/api/v3");
    assert_eq!(b.reporter_base_url(), "https://ghe.example.com/api/v3");
}

#[test]
fn defaults_apply_to_a_minimal_workspace() {
    let ws = workspace_of("projects:\n  web: { repo: https://h/w.git }\n");
    assert_eq!(ws.server.url, None);
    assert_eq!(ws.server.parallelism, None);
    assert!(ws.server.effective_parallelism() >= 1);
    assert_eq!(
        ws.server.public_url("127.0.0.1:8080".parse().unwrap()),
        "http://127.0.0.1:8080"
    );
    let web = ws.project("web").unwrap();
    assert_eq!(web.branch, "main");
    assert_eq!(web.poll, Some(Duration::from_secs(60)));
    assert_eq!(web.pipelines_dir, PathBuf::from(".gantry/pipelines"));
}

#[test]
fn the_api_json_shows_references_but_never_values_or_url_passwords() {
    let source = "projects:\n  web:\n    repo: https://bot:pa55word@h/w.git\n    webhook_secret: hunter2-literal\n    forge: { kind: gitlab, repo: 42, token: { env: TOK } }\n";
    let parsed = parse_ok(source);
    let ws = parsed.workspace.unwrap();
    let json = serde_json::to_value(&ws).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "server": { "url": null, "parallelism": null, "unlabeled_jobs": "server" },
            "projects": { "web": {
                "name": "web",
                "source": { "repo": "https://h/w.git" },
                "branch": "main",
                "poll": "1m",
                "pipelines": ".gantry/pipelines",
                "webhook_secret": "***",
                "forge": {
                    "kind": "gitlab",
                    "api_url": "https://gitlab.com/api/v4",
                    "repo": "42",
                    "token": { "env": "TOK" }
                }
            }}
        })
    );
    let debug = format!("{ws:?}");
    assert!(
        !debug.contains("hunter2") && !debug.contains("pa55word"),
        "{debug}"
    );
    // The clone URL keeps the credentials: git needs them.
    assert_eq!(
        ws.project("web").unwrap().git_url(),
        "https://bot:pa55word@h/w.git"
    );
    assert_eq!(
        ws.project("web")
            .unwrap()
            .webhook_secret
            .as_ref()
            .unwrap()
            .source,
        SecretSource::Literal(Secret::new("hunter2-literal"))
    );
}

#[test]
fn anchors_and_merge_keys_work_across_projects() {
    let ws = workspace_of(
        "x-common: &common { poll: 5m, branch: develop }\nprojects:\n  a: { <<: *common, repo: https://h/a.git }\n  b: { <<: *common, repo: https://h/b.git, poll: off }\n",
    );
    let a = ws.project("a").unwrap();
    assert_eq!(
        (a.poll, a.branch.as_str()),
        (Some(Duration::from_secs(300)), "develop")
    );
    assert_eq!(ws.project("b").unwrap().poll, None);
}

#[test]
fn an_empty_projects_section_is_a_warning_not_an_error() {
    let parsed = parse_ok("server: { parallelism: 1 }\nprojects: {}\n");
    assert!(parsed.workspace.is_some());
    assert_eq!(parsed.diagnostics.len(), 1);
    assert_eq!(
        parsed.diagnostics[0].one_line(),
        "gantry.yml:2:1: warning: the workspace declares no projects (add `projects:` with a project, e.g. `projects: { web: { repo: https://git.example.com/team/web.git } }`)"
    );
}

#[test]
fn the_examples_in_docs_workspace_md_are_valid() {
    let docs = include_str!("../../../../docs/workspace.md");
    let blocks: Vec<&str> = docs
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .filter(|block| block.starts_with("# gantry.yml") || block.starts_with("x-defaults"))
        .collect();
    assert_eq!(blocks.len(), 2);
    let full = workspace_of(blocks[0]);
    let names: Vec<&str> = full.projects.keys().map(String::as_str).collect();
    assert_eq!(names, ["web", "api", "tools"]);
    assert_eq!(workspace_of(blocks[1]).projects.len(), 2);
}
