//! (i) The release's env with secrets, on a container host: a service whose env reads
//! `{{ secrets.db }}` (from a file of the workspace) and plain values with spaces,
//! quotes, `$`, backquotes, backslashes and `%` sees each exactly as written (systemd's
//! `EnvironmentFile=` parsing), and so does its pre hook (sh sourcing the same file);
//! the unit file holds no value, the env file is mode 600 and root's; no progress line,
//! error or record shows the secret, even when a failing hook prints it.

use std::sync::Mutex;
use std::time::Duration;

use gantry_deploy::{DeployError, DeploymentReport, Outcome};

use crate::support::{fleet, load, options, with_secrets};

/// The secret's value: what a password can hold that a careless quoting breaks.
const SECRET: &str = r#"s3cr3t pa$$word "quoted" `id` \n 100%"#;
/// A plain value, written in gantry.yml (YAML double-quoted: `\\` is one backslash).
const TRICKY_YAML: &str = r#"it's \"x\" $HOME ${USER} `id` back\\slash 50%"#;
const TRICKY: &str = r#"it's "x" $HOME ${USER} `id` back\slash 50%"#;

fn services(pre: &str) -> String {
    format!(
        r#"  web:
    artifact: {{ path: artifacts/good }}
    run:
      systemd:
        exec: "{{{{ release_dir }}}}/app --port {{{{ port }}}} --version {{{{ version }}}}"
        env: {{ DB_PASSWORD: "{{{{ secrets.db }}}}", MODE: "x y", TRICKY: "{TRICKY_YAML}" }}
    port: 8080
    health: {{ http: {{ path: /healthz }}, interval: 300ms, retries: 20, timeout: 2s }}
    hooks: {{ pre: '{pre}' }}
secrets:
  db: {{ file: keys/db }}
"#
    )
}

/// Deploys with the secrets resolved as `gantry deploy` does; the progress lines too.
fn deploy(
    dir: &std::path::Path,
    version: &str,
) -> (Result<DeploymentReport, DeployError>, Vec<String>) {
    let loaded = load(dir);
    let resolved =
        gantry_deploy::resolve(&loaded.workspace, &loaded.dir, "web", "staging").unwrap();
    let opts = with_secrets(&loaded, &resolved, &options(Duration::from_secs(60)));
    assert!(!format!("{opts:?}").contains("s3cr3t"), "Options' Debug");
    let lines = Mutex::new(Vec::new());
    let progress = |line: &str| {
        eprintln!("[secrets] {line}");
        lines.lock().unwrap().push(line.to_string());
    };
    let result = gantry_deploy::deploy(&resolved, version, None, &opts, &progress);
    (result, lines.into_inner().unwrap())
}

#[test]
fn the_service_and_its_hooks_get_the_env_and_no_record_shows_the_secret() {
    let fleet = fleet(
        "sec",
        1,
        "  staging: { hosts: [fleet], lock_lease: 10s }\n",
        &services(
            r#"printf "%s" "$DB_PASSWORD" > /root/hook-secret; printf "%s|%s|%s" "$MODE" "$TRICKY" "$GANTRY_VERSION" > /root/hook-env"#,
        ),
    );
    std::fs::write(fleet.dir().join("keys/db"), format!("{SECRET}\n")).unwrap();

    let (report, lines) = deploy(fleet.dir(), "v1");
    let report = report.unwrap();
    assert_eq!(
        report.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&report)
    );
    // The service sees each value exactly, through systemd's EnvironmentFile= parsing.
    assert_eq!(fleet.get(0, "/env/DB_PASSWORD").as_deref(), Some(SECRET));
    assert_eq!(fleet.get(0, "/env/MODE").as_deref(), Some("x y"));
    assert_eq!(fleet.get(0, "/env/TRICKY").as_deref(), Some(TRICKY));
    // The hook, through sh sourcing the same file.
    assert_eq!(fleet.sh(0, "cat /root/hook-secret"), SECRET);
    assert_eq!(
        fleet.sh(0, "cat /root/hook-env"),
        format!("x y|{TRICKY}|v1")
    );
    // Values live in the env file only: root's, mode 600; the unit names it.
    let unit = fleet.sh(0, "cat /etc/systemd/system/gantry-web.service");
    assert!(
        unit.contains("EnvironmentFile=/opt/gantry/web/releases/v1/.gantry/env\n"),
        "{unit}"
    );
    for value in ["s3cr3t", "x y", "$HOME"] {
        assert!(!unit.contains(value), "{value} in the unit:\n{unit}");
    }
    assert_eq!(
        fleet
            .sh(0, "stat -c '%a %U' /opt/gantry/web/releases/v1/.gantry/env")
            .trim(),
        "600 root"
    );
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("s3cr3t"), "{json}");
    assert!(lines.iter().all(|l| !l.contains("s3cr3t")), "{lines:?}");

    // A failing hook that prints the secret: the record and the lines mask it.
    let yml = std::fs::read_to_string(fleet.dir().join("gantry.yml")).unwrap();
    let yml = yml.replace(
        r#"printf "%s" "$DB_PASSWORD" > /root/hook-secret;"#,
        // printf, not echo: dash's echo would turn the secret's `\n` into a new line.
        r#"printf "leaking %s\n" "$DB_PASSWORD" >&2; exit 1;"#,
    );
    std::fs::write(fleet.dir().join("gantry.yml"), yml).unwrap();
    let (report, lines) = deploy(fleet.dir(), "v2");
    let report = report.unwrap();
    assert_eq!(report.outcome, Outcome::Failed);
    let error = report.error.clone().unwrap_or_default();
    assert!(error.contains("leaking ***"), "{error}");
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("s3cr3t"), "{json}");
    assert!(lines.iter().all(|l| !l.contains("s3cr3t")), "{lines:?}");
    assert_eq!(fleet.get(0, "/").as_deref(), Some("v1"), "nothing switched");

    // A secret that cannot be read stops the deploy before any host is contacted,
    // naming the secret and the file, never a value.
    std::fs::remove_file(fleet.dir().join("keys/db")).unwrap();
    let loaded = load(fleet.dir());
    let resolved =
        gantry_deploy::resolve(&loaded.workspace, &loaded.dir, "web", "staging").unwrap();
    let err = loaded
        .workspace
        .inventory
        .resolve_named_secrets(
            &loaded.workspace.file,
            &resolved.secrets_used(),
            |_| None,
            |path| std::fs::read_to_string(path),
        )
        .unwrap_err();
    let text = loaded.render(&err, false);
    assert!(
        text.contains("cannot read secret file") && text.contains("for secret 'db'"),
        "{text}"
    );
    // And gantry-deploy itself refuses a service whose secrets were not resolved.
    let err = gantry_deploy::deploy(
        &resolved,
        "v3",
        None,
        &options(Duration::from_secs(5)),
        &|_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("reads secret(s) 'db'"), "{err}");
}
