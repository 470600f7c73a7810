//! A protected environment: a build of a branch it does not take is refused before any
//! host changes; a deploy needing an approval waits, touching nothing, until someone
//! other than the deployer approves that exact version (the deployer's own approval
//! does not count, and a short wait times out); a deploy outside the environment's
//! windows is refused, and goes with `outside_window`, which the record keeps.

use std::time::Duration;

use gantry_deploy::{DeployError, Options, Outcome};

use crate::support::{deploy, fleet, load, options};

const SERVICES: &str = r#"  web:
    artifact: { path: artifacts/good }
    run: { systemd: { exec: "{{ release_dir }}/app --port {{ port }} --version {{ version }}" } }
    port: 8080
    health: { http: { path: /healthz }, interval: 300ms, retries: 20 }
"#;

fn approve(dir: &std::path::Path, env: &str, version: &str, who: &str) -> Vec<String> {
    let loaded = load(dir);
    let resolved = gantry_deploy::resolve(&loaded.workspace, &loaded.dir, "web", env).unwrap();
    let opts = Options {
        identity: who.to_string(),
        ..Options::default()
    };
    gantry_deploy::approve(&resolved, version, &opts)
        .unwrap()
        .into_iter()
        .map(|a| a.by)
        .collect()
}

#[test]
fn a_protected_environment_checks_the_branch_and_waits_for_an_approval() {
    // A window a few hours from now, one minute long: closed whenever the test runs.
    let hour = (jiff::Timestamp::now().as_second() / 3600 + 6) % 24;
    let envs = format!(
        "  production: {{ hosts: [fleet], approvals: 1, branches: [main, \"release/*\"] }}\n  night: {{ hosts: [fleet], windows: [{{ from: \"{hour:02}:00\", to: \"{hour:02}:01\" }}] }}\n"
    );
    let fleet = fleet("prot", 1, &envs, SERVICES);
    let base = Options {
        identity: "deployer@ci".into(),
        approval_poll: Duration::from_millis(300),
        ..options(Duration::from_secs(60))
    };
    let nothing_deployed = || {
        fleet
            .sh(
                0,
                "test -e /opt/gantry/web/current && echo deployed || echo none",
            )
            .trim()
            .to_string()
    };

    // A branch production does not take.
    let opts = Options {
        branch: Some("feature/x".into()),
        ..base.clone()
    };
    let (r, _) = deploy(fleet.dir(), "web", "production", "v1", None, &opts);
    match r {
        Err(DeployError::Protected(why)) => {
            assert!(why.contains("not of branch 'feature/x'"), "{why}")
        }
        other => panic!("{other:?}"),
    }

    // No approval within a short wait: refused, nothing installed.
    let opts = Options {
        branch: Some("release/2.1".into()),
        approval_timeout: Duration::from_secs(2),
        ..base.clone()
    };
    let (r, lines) = deploy(fleet.dir(), "web", "production", "v1", None, &opts);
    match r {
        Err(DeployError::Protected(why)) => {
            assert!(why.contains("needs 1 approval(s) of web v1"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("gantry approve web --env production --version v1")),
        "{lines:?}"
    );
    assert_eq!(nothing_deployed(), "none");

    // The deployer's own approval does not count; a reviewer's lets the waiting deploy go.
    assert_eq!(
        approve(fleet.dir(), "production", "v1", "deployer@ci"),
        ["deployer@ci"]
    );
    let opts = Options {
        branch: Some("main".into()),
        approval_timeout: Duration::from_secs(120),
        ..base.clone()
    };
    let report = std::thread::scope(|s| {
        let waiting = s.spawn(|| deploy(fleet.dir(), "web", "production", "v1", None, &opts));
        std::thread::sleep(Duration::from_secs(3));
        assert!(
            !waiting.is_finished(),
            "the deploy went on without an approval"
        );
        assert_eq!(nothing_deployed(), "none");
        let all = approve(fleet.dir(), "production", "v1", "reviewer@laptop");
        assert_eq!(all.len(), 2, "{all:?}");
        waiting.join().unwrap()
    });
    let (report, lines) = report;
    let report = report.unwrap();
    assert_eq!(
        report.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&report)
    );
    assert_eq!(report.approved_by, ["reviewer@laptop"]);
    assert_eq!(report.triggered_by, "deployer@ci");
    assert_eq!(report.branch.as_deref(), Some("main"));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("waiting for 1 approval(s)")),
        "{lines:?}"
    );
    assert_eq!(nothing_deployed(), "deployed");

    // Outside its windows: refused, unless overridden — and then the record says so.
    let (r, _) = deploy(fleet.dir(), "web", "night", "v2", None, &base);
    match r {
        Err(DeployError::Protected(why)) => {
            assert!(
                why.contains("takes deploys only in its windows")
                    && why.contains("the next opens at"),
                "{why}"
            )
        }
        other => panic!("{other:?}"),
    }
    let opts = Options {
        outside_window: true,
        ..base.clone()
    };
    let (r, _) = deploy(fleet.dir(), "web", "night", "v2", None, &opts);
    let report = r.unwrap();
    assert_eq!(
        report.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&report)
    );
    assert!(report.outside_window);
}
