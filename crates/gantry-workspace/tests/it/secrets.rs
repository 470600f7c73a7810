//! Secret references: resolution from the environment and from files (with the missing
//! cases reported at their line), and literal secrets, which must never show in a
//! diagnostic, a rendered source line, `Debug` output or the API.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use gantry_core::Secret;
use gantry_workspace::{SecretSource, parse};

use crate::{parse_ok, workspace_of};

const REFS: &str = "projects:
  web:
    repo: https://h/w.git
    webhook_secret: { env: WEB_HOOK }
    forge: { kind: github, repo: t/web, token: { file: secrets/web-token } }
  api:
    repo: https://h/a.git
  ops:
    repo: https://h/o.git
    forge: { kind: gitlab, repo: g/ops, token: { env: OPS_TOKEN } }
";

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

fn files(entries: &[(&str, &str)]) -> impl Fn(&Path) -> io::Result<String> {
    let map: HashMap<PathBuf, String> = entries
        .iter()
        .map(|(k, v)| (PathBuf::from(k), v.to_string()))
        .collect();
    move |path| {
        map.get(path)
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
}

#[test]
fn resolves_env_and_file_references() {
    let ws = workspace_of(REFS);
    let resolved = ws
        .resolve_secrets(
            env(&[("WEB_HOOK", "hook-value"), ("OPS_TOKEN", "ops-token-value")]),
            files(&[("secrets/web-token", "web-token-value\n")]),
        )
        .unwrap();
    let web = resolved.project("web").unwrap();
    assert_eq!(web.webhook_secret, Some(Secret::new("hook-value")));
    // The trailing newline of the file is not part of the token.
    assert_eq!(web.forge_token, Some(Secret::new("web-token-value")));
    let api = resolved.project("api").unwrap();
    assert_eq!(
        (api.webhook_secret.as_ref(), api.forge_token.as_ref()),
        (None, None)
    );
    assert_eq!(
        resolved.project("ops").unwrap().forge_token,
        Some(Secret::new("ops-token-value"))
    );
    assert_eq!(resolved.values().count(), 3);
    assert_eq!(
        resolved.masker().mask("x hook-value web-token-value y"),
        "x *** *** y"
    );
    let debug = format!("{resolved:?}");
    for value in ["hook-value", "web-token-value", "ops-token-value"] {
        assert!(!debug.contains(value), "{debug}");
    }
}

#[test]
fn missing_variables_and_files_are_all_reported_at_their_reference() {
    let ws = workspace_of(REFS);
    let diags = ws
        .resolve_secrets(env(&[("OPS_TOKEN", "")]), files(&[]))
        .unwrap_err();
    let lines: Vec<String> = diags.iter().map(|d| d.one_line()).collect();
    assert_eq!(
        lines,
        [
            "gantry.yml:4:21: error: environment variable 'WEB_HOOK' for the webhook secret of project 'web' is not set (set it where the server starts, e.g. in its systemd unit, or use { file: PATH })",
            "gantry.yml:5:48: error: cannot read secret file 'secrets/web-token' for the forge token of project 'web': no such file (a relative path is read from the workspace directory, where gantry.yml is)",
            "gantry.yml:10:48: error: environment variable 'OPS_TOKEN' for the forge token of project 'ops' is empty (set it to the secret's value where the server starts)",
        ]
    );
}

#[test]
fn an_empty_secret_file_is_an_error() {
    let ws = workspace_of(REFS);
    let diags = ws
        .resolve_secrets(
            env(&[("WEB_HOOK", "a"), ("OPS_TOKEN", "b")]),
            files(&[("secrets/web-token", "\n\n")]),
        )
        .unwrap_err();
    assert_eq!(diags.len(), 1);
    assert_eq!(
        diags[0].message,
        "secret file 'secrets/web-token' for the forge token of project 'web' is empty"
    );
}

#[test]
fn a_literal_secret_is_a_warning_and_never_shown() {
    const VALUE: &str = "hunter2-xyzzy";
    let source = format!(
        "projects:\n  web:\n    repo: https://h/w.git\n    webhook_secret: {VALUE}\n    forge: {{ kind: github, repo: t/w, token: \"{VALUE}-tok\" }}\n"
    );
    let parsed = parse_ok(&source);
    let ws = parsed.workspace.clone().unwrap();
    assert_eq!(
        ws.project("web")
            .unwrap()
            .webhook_secret
            .as_ref()
            .unwrap()
            .source,
        SecretSource::Literal(Secret::new(VALUE))
    );
    assert_eq!(parsed.diagnostics.len(), 2);
    assert!(parsed.diagnostics.iter().all(|d| !d.is_error()));
    assert_eq!(
        parsed.diagnostics[0].one_line(),
        "gantry.yml:4:21: warning: a literal secret in gantry.yml is kept in git; use { env: NAME } or { file: PATH } (move the value to an environment variable of the server: { env: WEB_WEBHOOK_SECRET })"
    );
    let rendered = parsed.render(&source, false);
    assert!(
        rendered.contains("4 |     webhook_secret: *************\n  |                     ^^^^^^^^^^^^^ literal secret"),
        "{rendered}"
    );
    // Resolution passes the literal through without looking anything up.
    let resolved = ws
        .resolve_secrets(|_| None, |_| Err(io::ErrorKind::NotFound.into()))
        .unwrap();
    assert_eq!(
        resolved.project("web").unwrap().forge_token,
        Some(Secret::new(format!("{VALUE}-tok")))
    );
    for text in [
        format!("{parsed:?}"),
        format!("{ws:?}"),
        format!("{resolved:?}"),
        format!("{:?}", parsed.diagnostics),
        rendered,
        parsed.redacted_source(&source),
        serde_json::to_string(&ws).unwrap(),
        serde_json::to_string(&parsed.diagnostics).unwrap(),
    ] {
        assert!(!text.contains(VALUE), "secret leaked into: {text}");
    }
}

#[test]
fn a_literal_secret_in_an_invalid_file_is_still_blanked() {
    let source = "projects:\n  web:\n    repo: https://h/w.git\n    webhook_secret: s3cr3t-value\n    brnach: x\n";
    let parsed = parse("gantry.yml", source);
    assert!(parsed.has_errors());
    let rendered = parsed.render(source, false);
    assert!(rendered.contains("did you mean 'branch'?"), "{rendered}");
    assert!(!rendered.contains("s3cr3t-value"), "{rendered}");
    assert!(!format!("{parsed:?}").contains("s3cr3t-value"));
}

#[test]
fn url_passwords_are_warned_about_and_blanked() {
    let source = "projects:\n  web:\n    repo: https://bot:pa55w0rd@h/w.git\n";
    let parsed = parse_ok(source);
    assert_eq!(
        parsed.diagnostics[0].one_line(),
        "gantry.yml:3:11: warning: the URL in 'repo' in project 'web' contains a password, which is kept in git (give the server an SSH key or a git credential helper instead)"
    );
    let rendered = parsed.render(source, false);
    assert!(!rendered.contains("pa55w0rd"), "{rendered}");
    assert!(!format!("{parsed:?}").contains("pa55w0rd"));
}
