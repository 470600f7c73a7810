//! Promotion: the release staging runs, fetched from its host and deployed to
//! production, byte for byte (the same binary, the same version name); nothing to
//! promote when staging runs nothing.

use std::time::Duration;

use gantry_deploy::{DeployError, Outcome};

use crate::support::{assert_runs, deploy, fleet, load, options};

const SERVICES: &str = r#"  web:
    artifact: { path: artifacts/good }
    run: { systemd: { exec: "{{ release_dir }}/app --port {{ port }} --version {{ version }}" } }
    port: 8080
    health: { http: { path: /healthz }, interval: 300ms, retries: 20 }
"#;

#[test]
fn promote_deploys_exactly_the_release_staging_runs() {
    let fleet = fleet(
        "prm",
        2,
        "  staging: { hosts: [prm1] }\n  production: { hosts: [prm2] }\n",
        SERVICES,
    );
    let opts = options(Duration::from_secs(60));
    let loaded = load(fleet.dir());
    let staging = gantry_deploy::resolve(&loaded.workspace, &loaded.dir, "web", "staging").unwrap();
    let progress = |line: &str| eprintln!("[promote] {line}");
    match gantry_deploy::fetch_current(&staging, &opts, &progress) {
        Err(DeployError::Setup(why)) => assert!(why.contains("nothing to promote"), "{why}"),
        other => panic!("{other:?}"),
    }

    let (v7, _) = deploy(fleet.dir(), "web", "staging", "v7", None, &opts);
    assert_eq!(v7.unwrap().outcome, Outcome::Succeeded);
    let fetched = gantry_deploy::fetch_current(&staging, &opts, &progress).unwrap();
    assert_eq!(fetched.version, "v7");
    assert!(fetched.dir.path().join("app").is_file());
    assert!(!fetched.dir.path().join(".gantry").exists());

    let (report, _) = deploy(
        fleet.dir(),
        "web",
        "production",
        &fetched.version,
        Some(fetched.dir.path()),
        &opts,
    );
    let report = report.unwrap();
    assert_eq!(
        report.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&report)
    );
    assert_runs(&fleet, 1, "web", "v7");
    let sum = |i: usize| {
        fleet
            .sh(
                i,
                "sha256sum /opt/gantry/web/releases/v7/app | cut -d' ' -f1",
            )
            .trim()
            .to_string()
    };
    assert_eq!(sum(0), sum(1));
}
