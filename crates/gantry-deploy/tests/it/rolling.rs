//! (a) A rolling deploy across 4 hosts in batches of 2: every host ends on v2 (`current`
//! → releases/v2, unit active, serving v2); then a rollback by hand to v1 and back, and
//! old releases pruned down to `keep` without touching current or previous.

use std::time::Duration;

use gantry_deploy::Outcome;

use crate::support::{assert_runs, deploy, fleet, options, rollback};

const SERVICES: &str = r#"  web:
    artifact: { path: artifacts/good }
    run: { systemd: { exec: "{{ release_dir }}/app --port {{ port }} --version {{ version }}", env: { REGION: "{{ region }}" } } }
    port: 8080
    health: { http: { path: /healthz }, interval: 300ms, retries: 20, timeout: 2s }
    strategy: { rolling: { batch: 2, pause: 500ms } }
    hooks: { pre: "echo \"$GANTRY_PREVIOUS_VERSION>$GANTRY_VERSION\" >> /root/hooks", post: "echo post >> /root/hooks" }
    keep: 2
"#;

#[test]
fn a_rolling_deploy_reaches_every_host_batch_by_batch() {
    let fleet = fleet(
        "roll",
        4,
        "  staging: { hosts: [fleet], lock_lease: 10s }\n",
        SERVICES,
    );
    // Host vars reach the unit's templates.
    let yml = std::fs::read_to_string(fleet.dir().join("gantry.yml")).unwrap();
    let yml = yml.replace(
        "groups: [fleet] }",
        "groups: [fleet], vars: { region: eu } }",
    );
    std::fs::write(fleet.dir().join("gantry.yml"), yml).unwrap();
    let opts = options(Duration::from_secs(60));

    let (v1, _) = deploy(fleet.dir(), "web", "staging", "v1", None, &opts);
    let v1 = v1.unwrap();
    assert_eq!(
        v1.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&v1)
    );
    assert_eq!(v1.previous_version, None);
    for i in 0..4 {
        assert_runs(&fleet, i, "web", "v1");
    }

    let (v2, lines) = deploy(fleet.dir(), "web", "staging", "v2", None, &opts);
    let v2 = v2.unwrap();
    assert_eq!(
        v2.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&v2)
    );
    assert_eq!(v2.exit_code(), 0);
    assert_eq!(v2.previous_version.as_deref(), Some("v1"));
    for i in 0..4 {
        assert_runs(&fleet, i, "web", "v2");
        let host = &v2.hosts[i];
        assert!(
            host.switched && host.uploaded && host.healthy() == Some(true),
            "{host:?}"
        );
        assert_eq!(host.previous_version.as_deref(), Some("v1"));
    }
    let batches: Vec<&String> = lines.iter().filter(|l| l.starts_with("batch ")).collect();
    assert_eq!(
        batches,
        [
            "batch 1/2: switching roll1, roll2 to v2",
            "batch 2/2: switching roll3, roll4 to v2"
        ],
        "{lines:?}"
    );
    // The unit is rendered per release, with host vars; hooks ran once, on the first host.
    let unit = fleet.sh(3, "cat /etc/systemd/system/gantry-web.service");
    assert!(
        unit.contains("ExecStart=/opt/gantry/web/releases/v2/app --port 8080 --version v2"),
        "{unit}"
    );
    // Env values are in the release's env file, not in the unit.
    assert!(
        unit.contains("EnvironmentFile=/opt/gantry/web/releases/v2/.gantry/env\n")
            && !unit.contains("REGION"),
        "{unit}"
    );
    let env = fleet.sh(3, "cat /opt/gantry/web/releases/v2/.gantry/env");
    assert!(env.contains("\nREGION=\"eu\"\n"), "{env}");
    assert_eq!(fleet.get(3, "/env/REGION").as_deref(), Some("eu"));
    assert_eq!(fleet.sh(0, "cat /root/hooks"), ">v1\npost\nv1>v2\npost\n");
    assert!(
        fleet.hosts[1]
            .exec("test -e /root/hooks")
            .unwrap()
            .status
            .code()
            != Some(0)
    );
    let json = serde_json::to_value(&v2).unwrap();
    assert_eq!(json["outcome"], "succeeded");
    assert_eq!(json["hosts"][3]["switched"], true);

    // A rollback by hand: v1 everywhere, then a second one undoes it.
    let back = rollback(fleet.dir(), "web", "staging", None).unwrap();
    assert_eq!(
        back.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&back)
    );
    assert_eq!(
        (back.version.as_str(), back.previous_version.as_deref()),
        ("v1", Some("v2"))
    );
    for i in 0..4 {
        assert_runs(&fleet, i, "web", "v1");
    }
    let again = rollback(fleet.dir(), "web", "staging", Some("v2")).unwrap();
    assert_eq!(
        again.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&again)
    );
    assert_runs(&fleet, 2, "web", "v2");
    let missing = rollback(fleet.dir(), "web", "staging", Some("v9")).unwrap();
    assert_eq!(missing.outcome, Outcome::Failed);
    assert!(
        missing
            .error
            .as_deref()
            .unwrap_or("")
            .contains("release v9 is not on this host"),
        "{missing:?}"
    );

    // keep: 2 — v3 and its previous (v2) stay, v1 goes.
    let (v3, _) = deploy(fleet.dir(), "web", "staging", "v3", None, &opts);
    let v3 = v3.unwrap();
    assert_eq!(
        v3.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&v3)
    );
    assert_eq!(v3.hosts[0].pruned, ["v1"]);
    for i in 0..4 {
        assert_eq!(fleet.sh(i, "ls /opt/gantry/web/releases"), "v2\nv3\n");
        assert_eq!(
            fleet.sh(i, "readlink /opt/gantry/web/previous").trim(),
            "/opt/gantry/web/releases/v2"
        );
    }
}
