//! (b) A bad release: healthy on the first hosts, failing its health check on the last;
//! every host switched in the deploy (the failing one too) goes back to v1 automatically,
//! healthy, and the outcome is rolled back.

use std::time::Duration;

use gantry_deploy::Outcome;

use crate::support::{assert_runs, bad_on, deploy, fleet, options};

const SERVICES: &str = r#"  api:
    artifact: { path: artifacts/good }
    run: { systemd: { exec: "{{ release_dir }}/app --port {{ port }} --version {{ version }}" } }
    port: 8080
    health: { http: { path: /healthz, timeout: 1s }, tcp: {}, command: "systemctl is-active --quiet gantry-api", interval: 300ms, retries: 5 }
    strategy: { rolling: { batch: 1 } }
"#;

#[test]
fn a_release_failing_its_health_check_is_rolled_back_everywhere() {
    let fleet = fleet("bad", 3, "  production: { hosts: [fleet] }\n", SERVICES);
    let opts = options(Duration::from_secs(60));
    let (v1, _) = deploy(fleet.dir(), "api", "production", "v1", None, &opts);
    let v1 = v1.unwrap();
    assert_eq!(
        v1.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&v1)
    );

    // Healthy on bad1 and bad2, unhealthy on bad3: the deploy gets to the third batch.
    let artifact = bad_on(&fleet, "v2-bad", &["bad3"]);
    let (v2, lines) = deploy(
        fleet.dir(),
        "api",
        "production",
        "v2",
        Some(&artifact),
        &opts,
    );
    let v2 = v2.unwrap();
    let text = gantry_deploy::render(&v2);
    assert_eq!(v2.outcome, Outcome::RolledBack, "{text}");
    assert_eq!(v2.exit_code(), 1);
    assert!(
        v2.error
            .as_deref()
            .unwrap_or("")
            .contains("v2 failed on bad3"),
        "{text}"
    );
    for (i, host) in v2.hosts.iter().enumerate() {
        assert!(host.switched, "{text}");
        assert!(host.rolled_back, "{text}");
        assert_eq!(
            host.rollback_health.as_ref().map(|h| h.healthy),
            Some(true),
            "{text}"
        );
        assert_eq!(host.healthy(), Some(i < 2), "{text}");
        assert_runs(&fleet, i, "api", "v1");
        // `previous` is as it was before the deploy: none (v1 was the first release).
        assert!(
            fleet.hosts[i]
                .exec("test -L /opt/gantry/api/previous")
                .unwrap()
                .status
                .code()
                != Some(0)
        );
    }
    assert!(text.contains("rolled back"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("bad3: unhealthy on v2: GET http://")),
        "{lines:?}"
    );
    let json = serde_json::to_value(&v2).unwrap();
    assert_eq!(json["outcome"], "rolled_back");
    assert_eq!(json["hosts"][2]["health"]["healthy"], false);

    // A release bad everywhere stops at the first batch.
    let (w, _) = deploy(
        fleet.dir(),
        "api",
        "production",
        "v3",
        Some(&fleet.dir().join("artifacts/bad")),
        &opts,
    );
    let w = w.unwrap();
    assert_eq!(
        w.outcome,
        Outcome::RolledBack,
        "{}",
        gantry_deploy::render(&w)
    );
    assert_eq!(
        w.hosts.iter().filter(|h| h.switched).count(),
        1,
        "stops at the first batch"
    );
    assert_runs(&fleet, 0, "api", "v1");
}
