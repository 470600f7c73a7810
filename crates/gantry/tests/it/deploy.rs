//! `gantry deploy` and `gantry rollback` through the real binary: errors before any host
//! (unknown service or environment, naming the workspace file; bad version; a secret the
//! service reads that cannot be resolved, naming it and its place) exit 1, and
//! on a container host with systemd a deploy, a bad release rolled back automatically
//! (exit 1, `--json` outcome `rolled_back`) and a rollback by hand. The scenarios with
//! many hosts, health checks and the lock are in crates/gantry-deploy/tests/it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use gantry_testhost::ContainerHost;

use crate::support::gantry_bin;

fn gantry(dir: &Path, args: &[&str]) -> Output {
    Command::new(gantry_bin())
        .args(args)
        .arg("--workspace")
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SERVICES: &str = r#"services:
  web:
    artifact: { path: app }
    run: { systemd: { exec: "{{ release_dir }}/run {{ version }}" } }
"#;

#[test]
fn unknown_services_and_environments_name_the_workspace_file() {
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    fs::write(
        dir.join("gantry.yml"),
        format!(
            "hosts:\n  local: {{}}\nenvironments:\n  staging: {{ hosts: [local] }}\n{SERVICES}"
        ),
    )
    .unwrap();
    let file = dir.join("gantry.yml").display().to_string();

    let out = gantry(
        dir,
        &["deploy", "wbe", "--env", "staging", "--version", "v1"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        format!("error: {file}: no service 'wbe' in `services:` (declared: web)")
    );
    let out = gantry(dir, &["rollback", "web", "--env", "prod"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        format!("error: {file}: no environment 'prod' in `environments:` (declared: staging)")
    );
    let out = gantry(
        dir,
        &["deploy", "web", "--env", "staging", "--version", "../x"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("invalid version '../x'"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_secret_that_cannot_be_resolved_stops_the_deploy_before_any_host() {
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    fs::write(
        dir.join("gantry.yml"),
        "hosts:\n  local: {}\nsecrets:\n  db: { env: GANTRY_TEST_NEVER_SET_DB }\n  other: { file: keys/missing }\nenvironments:\n  staging: { hosts: [local] }\nservices:\n  web:\n    artifact: { path: app }\n    run: { systemd: { exec: /bin/true, env: { DB: \"{{ secrets.db }}\" } } }\n",
    )
    .unwrap();
    for args in [
        &["deploy", "web", "--env", "staging", "--version", "v1"][..],
        &["rollback", "web", "--env", "staging"][..],
    ] {
        let out = gantry(dir, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        // Only the secret the service reads is resolved (`other` is not needed).
        assert!(
            stderr.contains("gantry.yml:4:7: error: environment variable 'GANTRY_TEST_NEVER_SET_DB' for secret 'db' is not set")
                && !stderr.contains("other"),
            "{stderr}"
        );
    }
}

/// An artifact directory `app/` whose `run` script serves nothing but stays up (or, bad,
/// exits at once, so its unit never stays active).
fn artifact(dir: &Path, good: bool) {
    let app = dir.join("app");
    fs::create_dir_all(&app).unwrap();
    let script = if good {
        "#!/bin/sh\necho \"$1\" > /root/running\nexec sleep 100000\n"
    } else {
        "#!/bin/sh\nexit 1\n"
    };
    fs::write(app.join("run"), script).unwrap();
    fs::set_permissions(app.join("run"), fs::Permissions::from_mode(0o755)).unwrap();
}

/// A workspace directory with an SSH key and one container host (Debian, systemd, sshd)
/// that accepts it, its host key in `keys/known_hosts`. The caller writes `gantry.yml`,
/// naming the host with [`HostWorkspace::inventory`].
pub struct HostWorkspace {
    pub ws: tempfile::TempDir,
    pub host: ContainerHost,
}

impl HostWorkspace {
    pub fn start(name: &str) -> HostWorkspace {
        if let Err(why) = gantry_testhost::containers_available() {
            panic!("container hosts cannot run here: {why}");
        }
        let ws = tempfile::tempdir().unwrap();
        let dir = ws.path();
        fs::create_dir_all(dir.join("keys")).unwrap();
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.join("keys/id"))
            .status()
            .unwrap();
        assert!(status.success());
        let public = fs::read_to_string(dir.join("keys/id.pub")).unwrap();
        let host = ContainerHost::start(name, &public).unwrap();
        fs::write(dir.join("keys/known_hosts"), host.known_hosts_line() + "\n").unwrap();
        HostWorkspace { ws, host }
    }

    pub fn dir(&self) -> &Path {
        self.ws.path()
    }

    /// The `hosts:` section naming the host.
    pub fn inventory(&self) -> String {
        format!(
            "hosts:\n  {}: {{ address: {}, user: root, ssh_key: keys/id, known_hosts: keys/known_hosts }}\n",
            self.host.name(),
            self.host.addr()
        )
    }
}

#[test]
fn deploy_a_bad_release_and_roll_back_through_the_binary() {
    let hw = HostWorkspace::start("cli1");
    let (dir, host) = (hw.dir(), &hw.host);
    fs::write(
        dir.join("gantry.yml"),
        format!(
            "{}environments:\n  staging: {{ hosts: [cli1] }}\n{SERVICES}",
            hw.inventory()
        ),
    )
    .unwrap();
    let running = || {
        host.exec_ok("cat /root/running")
            .unwrap()
            .trim()
            .to_string()
    };

    artifact(dir, true);
    let v1 = gantry(
        dir,
        &["deploy", "web", "--env", "staging", "--version", "v1"],
    );
    assert_eq!(
        v1.status.code(),
        Some(0),
        "{}{}",
        text(&v1.stdout),
        text(&v1.stderr)
    );
    assert!(text(&v1.stdout).starts_with("deploy web v1 to staging (previous: none): succeeded"));
    assert_eq!(running(), "v1");
    let v2 = gantry(
        dir,
        &["deploy", "web", "--env", "staging", "--version", "v2"],
    );
    assert_eq!(v2.status.code(), Some(0), "{}", text(&v2.stderr));
    assert_eq!(running(), "v2");

    artifact(dir, false);
    let bad = gantry(
        dir,
        &[
            "deploy",
            "web",
            "--env",
            "staging",
            "--version",
            "v3",
            "--json",
        ],
    );
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad.stderr));
    let report: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(report["outcome"], "rolled_back", "{report:#}");
    assert_eq!(report["previous_version"], "v2");
    assert_eq!(report["hosts"][0]["switched"], true);
    assert_eq!(report["hosts"][0]["rolled_back"], true);
    assert_eq!(
        host.exec_ok("readlink /opt/gantry/web/current")
            .unwrap()
            .trim(),
        "/opt/gantry/web/releases/v2"
    );

    let back = gantry(dir, &["rollback", "web", "--env", "staging"]);
    assert_eq!(back.status.code(), Some(0), "{}", text(&back.stderr));
    assert!(
        text(&back.stdout).starts_with("rollback web v1 to staging (previous: v2): succeeded"),
        "{}",
        text(&back.stdout)
    );
    assert_eq!(running(), "v1");
}
