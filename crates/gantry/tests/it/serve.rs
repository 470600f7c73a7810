//! `gantry serve` as a process: a workspace with errors is refused at start with every
//! diagnostic at its file:line, SIGHUP reloads `gantry.yml`, keeping the running
//! workspace when the new file has errors, and SIGTERM records running jobs as
//! cancelled and exits 0 (with `--log-format json` logs).

use std::process::Command;
use std::time::{Duration, Instant};

use crate::client::{Server, started_run};
use crate::support::gantry_bin;

#[test]
fn a_workspace_with_errors_is_refused_at_start() {
    let ws = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        ws.path().join("gantry.yml"),
        "projects:\n  app:\n    pth: ./app\n    poll: 1s\n",
    )
    .unwrap();
    let out = Command::new(gantry_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--workspace"])
        .arg(ws.path())
        .arg("--data")
        .arg(data.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("gantry.yml:3:5"), "{stderr}");
    assert!(stderr.contains("did you mean 'path'"), "{stderr}");
    assert!(
        stderr.contains("gantry.yml:4:"),
        "every problem is reported: {stderr}"
    );
    assert!(stderr.contains("did not start"), "{stderr}");
}

fn projects(server: &Server) -> String {
    let out = Command::new("curl")
        .args(["-sf", "-H"])
        .arg(format!("Authorization: Bearer {}", server.token))
        .arg(format!("{}/api/v1/projects", server.url))
        .output()
        .unwrap();
    assert!(out.status.success(), "curl failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn hup(server: &Server) {
    let ok = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[test]
fn sighup_reloads_and_keeps_the_old_workspace_on_errors() {
    let server = Server::start();
    let file = server.workspace.path().join("gantry.yml");
    let original = std::fs::read_to_string(&file).unwrap();
    assert!(projects(&server).contains("\"app\""));

    // An invalid file: the running workspace stays.
    std::fs::write(&file, "projects:\n  app: { pth: ./app }\n").unwrap();
    hup(&server);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        projects(&server).contains("\"app\""),
        "the old workspace stays"
    );

    // A valid change applies.
    std::fs::write(&file, original.replace("  app:", "  renamed:")).unwrap();
    hup(&server);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let p = projects(&server);
        if p.contains("\"renamed\"") {
            assert!(!p.contains("\"app\""), "{p}");
            break;
        }
        assert!(Instant::now() < deadline, "SIGHUP did not reload: {p}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sigterm_records_running_jobs_as_cancelled_and_exits_0_with_json_logs() {
    let mut server = Server::start_with(&["--log-format", "json"], &[("GANTRY_LOG", "info")]);
    let out = server.gantry(&["trigger", "app", "slow"]);
    assert_eq!(out.code, 0, "{out:?}");
    let id = started_run(&out.stdout);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !server
        .gantry(&["logs", &id.to_string(), "--raw"])
        .stdout
        .contains("sleeping-now")
    {
        assert!(Instant::now() < deadline, "the slow job never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    let ok = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "gantry serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = server.stderr.take().unwrap().join().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    // Every log line is a JSON object with a level and a message.
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "INFO"
            && l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("shutting down"))),
        "{stderr}"
    );

    // Started again on the same data, the run was recorded cancelled at shutdown (not
    // left running for crash recovery to fail).
    let workspace = std::mem::replace(&mut server.workspace, tempfile::tempdir().unwrap());
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().unwrap());
    let again = Server::start_in(workspace, data, Some(server.token.clone()), &[], &[]);
    let v = again.run_json(id);
    assert_eq!(v["run"]["status"], "cancelled", "{v:#}");
    let logs = again.gantry(&["logs", &id.to_string(), "--raw"]);
    assert!(!logs.stdout.contains("never-printed"), "{logs:?}");
}
