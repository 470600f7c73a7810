//! `gantry infra plan|apply` on the `local` host, through the real binary: exit codes
//! (plan 0/2/1, apply 0/1), the summary line, `--json`, the refusal to apply without
//! `--yes` when stdin is not a terminal, the per-host progress lines an apply prints off
//! a terminal, and a bad resource file reported at file:line.
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

    // `apply --check` is the plan, for Ansible hands: same report and exit code.
    let check = infra(dir, &["apply", "--check"]);
    assert_eq!(check.status.code(), Some(2), "{}", text(&check.stderr));
    assert_eq!(text(&check.stdout), stdout);
    assert!(!out_dir.exists(), "--check applies nothing");

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
    // Off a terminal, an apply prints a progress line per host on stderr as it finishes
    // (a plan prints none: its report is the output).
    assert!(
        !text(&replan.stderr).contains("local:"),
        "{}",
        text(&replan.stderr)
    );
    fs::write(out_dir.join("a.conf"), "changed by hand\n").unwrap();
    let repair = infra(dir, &["apply", "--yes"]);
    assert_eq!(repair.status.code(), Some(0), "{}", text(&repair.stderr));
    assert!(
        text(&repair.stderr).contains("local: 1 applied, 1 unchanged"),
        "{}",
        text(&repair.stderr)
    );
    assert!(!text(&repair.stdout).contains("local: 1 applied"));
    assert_eq!(fs::read_to_string(out_dir.join("count")).unwrap(), "x\nx\n");

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

#[test]
fn a_saved_plan_applies_only_while_the_host_still_matches() {
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    let o = dir.join("out");
    fs::create_dir_all(dir.join("infra")).unwrap();
    fs::create_dir_all(&o).unwrap();
    fs::write(dir.join("gantry.yml"), "hosts:\n  local:\n").unwrap();
    fs::write(
        dir.join("infra/local.yml"),
        format!(
            "- hosts: [local]\n  resources:\n    - file: {{ path: {o}/a.conf, content: \"a = 1\\n\" }}\n    - template: {{ path: {o}/b.conf, content: \"host = {{{{ host.name }}}}\\n\" }}\n",
            o = o.display()
        ),
    )
    .unwrap();
    let plan_file = dir.join("plan.json");
    let plan_arg = plan_file.display().to_string();

    // plan --out, then apply --plan: applied as planned.
    let plan = infra(dir, &["plan", "--out", &plan_arg]);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan.stderr));
    let saved: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&plan_file).unwrap()).unwrap();
    assert_eq!(saved["hosts"][0]["host"], "local");
    assert_eq!(saved["hosts"][0]["to_change"].as_array().unwrap().len(), 2);
    assert_eq!(saved["hosts"][0]["fingerprint"].as_str().unwrap().len(), 64);
    let apply = infra(dir, &["apply", "--yes", "--plan", &plan_arg]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply.stdout));
    assert_eq!(
        fs::read_to_string(o.join("b.conf")).unwrap(),
        "host = local\n"
    );

    // plan --out, a change by hand, then apply --plan: refused, nothing applied.
    fs::write(o.join("a.conf"), "a = 2\n").unwrap();
    fs::write(o.join("b.conf"), "drift\n").unwrap();
    let plan = infra(dir, &["plan", "--out", &plan_arg]);
    assert_eq!(plan.status.code(), Some(2));
    fs::write(o.join("a.conf"), "a = 3\n").unwrap();
    let refused = infra(dir, &["apply", "--yes", "--plan", &plan_arg]);
    assert_eq!(refused.status.code(), Some(1));
    let out = text(&refused.stdout);
    assert!(
        out.contains("refusing to apply the saved plan: 'file ")
            && out.contains("/a.conf' (infra/local.yml:3) differs from when the plan was made"),
        "{out}"
    );
    assert_eq!(fs::read_to_string(o.join("a.conf")).unwrap(), "a = 3\n");
    assert_eq!(fs::read_to_string(o.join("b.conf")).unwrap(), "drift\n");

    // A file that is not a saved plan.
    fs::write(&plan_file, "{}").unwrap();
    let bad = infra(dir, &["apply", "--yes", "--plan", &plan_arg]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("not a saved plan"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn secrets_from_the_environment_are_masked_in_every_output_and_applied() {
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    let target = dir.join("app.conf");
    fs::create_dir_all(dir.join("infra")).unwrap();
    fs::write(
        dir.join("gantry.yml"),
        "hosts:\n  local:\nsecrets:\n  token: { env: GANTRY_TEST_INFRA_TOKEN }\n",
    )
    .unwrap();
    fs::write(
        dir.join("infra/local.yml"),
        format!(
            "- hosts: [local]\n  resources:\n    - template: {{ path: {}, content: \"token = {{{{ secrets.token }}}}\\n\" }}\n",
            target.display()
        ),
    )
    .unwrap();
    let with_env = |args: &[&str], value: Option<&str>| {
        let mut cmd = Command::new(gantry_bin());
        cmd.arg("infra")
            .args(args)
            .arg("--workspace")
            .arg(dir)
            .stdin(Stdio::null())
            .env_remove("GANTRY_TEST_INFRA_TOKEN");
        if let Some(v) = value {
            cmd.env("GANTRY_TEST_INFRA_TOKEN", v);
        }
        cmd.output().unwrap()
    };
    let secret = "tok-9f8e7d6c5b4a";
    for args in [&["plan"][..], &["plan", "--json"][..]] {
        let out = with_env(args, Some(secret));
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let all = text(&out.stdout) + &text(&out.stderr);
        assert!(!all.contains(secret), "the secret leaked: {all}");
        assert!(all.contains("+token = ***"), "{all}");
    }
    let applied = with_env(&["apply", "--yes"], Some(secret));
    assert_eq!(applied.status.code(), Some(0));
    assert!(!text(&applied.stdout).contains(secret));
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        format!("token = {secret}\n")
    );

    let missing = with_env(&["plan"], None);
    assert_eq!(missing.status.code(), Some(1));
    let err = text(&missing.stderr);
    assert!(
        err.contains("gantry.yml:4:10: error: environment variable 'GANTRY_TEST_INFRA_TOKEN' for secret 'token' is not set"),
        "{err}"
    );
}
