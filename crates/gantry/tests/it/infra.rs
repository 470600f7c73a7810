//! `gantry infra plan|apply` on the `local` host, through the real binary: exit codes
//! (plan 0/2/1, apply 0/1), the summary line, `--json`, the refusal to apply without
//! `--yes` when stdin is not a terminal, and a bad resource file reported at file:line.
//! The SSH side is tested in crates/gantry-infra/tests/it/hosts.rs.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::gantry_bin;

fn infra(dir: &Path, args: &[&str]) -> Output {
    Command::new(gantry_bin())
        .arg("infra")
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

#[test]
fn plan_apply_and_replan_on_the_local_host() {
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    let out_dir = dir.join("out");
    fs::create_dir_all(dir.join("infra")).unwrap();
    fs::write(
        dir.join("gantry.yml"),
        "hosts:\n  local: { groups: [laptop] }\n",
    )
    .unwrap();
    fs::write(
        dir.join("infra/laptop.yml"),
        format!(
            "- hosts: [laptop]\n  resources:\n    - directory: {{ path: {o} }}\n    - file: {{ path: {o}/a.conf, content: \"a = 1\\n\", mode: \"0600\" }}\n      notify: [count]\n  handlers:\n    count: {{ run: \"echo x >> {o}/count\" }}\n",
            o = out_dir.display()
        ),
    )
    .unwrap();

    let plan = infra(dir, &["plan"]);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan.stderr));
    let stdout = text(&plan.stdout);
    assert!(stdout.contains("+a = 1"), "{stdout}");
    assert!(stdout.contains("2 to change, 0 unchanged"), "{stdout}");

    let refused = infra(dir, &["apply"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("refusing to apply without --yes"));
    assert!(!out_dir.exists(), "nothing applied without --yes");

    let apply = infra(dir, &["apply", "--yes", "--json"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply.stderr));
    let report: serde_json::Value = serde_json::from_slice(&apply.stdout).unwrap();
    assert_eq!(report["mode"], "apply");
    assert_eq!(report["summary"]["changed"], 2);
    assert_eq!(report["hosts"][0]["host"], "local");
    assert_eq!(report["hosts"][0]["resources"][1]["status"], "applied");
    assert_eq!(report["hosts"][0]["handlers"][0]["status"], "ran");
    assert_eq!(
        fs::read_to_string(out_dir.join("a.conf")).unwrap(),
        "a = 1\n"
    );
    assert_eq!(fs::read_to_string(out_dir.join("count")).unwrap(), "x\n");

    let replan = infra(dir, &["plan"]);
    assert_eq!(replan.status.code(), Some(0));
    assert!(text(&replan.stdout).contains("0 to change, 2 unchanged"));
    let again = infra(dir, &["apply", "--yes"]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(fs::read_to_string(out_dir.join("count")).unwrap(), "x\n");

    let none = infra(dir, &["plan", "--hosts", "web*"]);
    assert_eq!(none.status.code(), Some(0));
    assert!(text(&none.stderr).contains("no host matches"));
}

#[test]
fn a_bad_resource_file_exits_1_with_file_and_line() {
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    fs::create_dir_all(dir.join("infra")).unwrap();
    fs::write(dir.join("gantry.yml"), "hosts:\n  local:\n").unwrap();
    fs::write(
        dir.join("infra/bad.yml"),
        "- hosts: [local]\n  resources:\n    - file: { path: /tmp/x, content: x, mdoe: \"0644\" }\n",
    )
    .unwrap();
    let out = infra(dir, &["plan"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("infra/bad.yml:3:41: error: unknown key 'mdoe' in a 'file' resource"),
        "{err}"
    );
    assert!(err.contains("did you mean 'mode'?"), "{err}");
}
