//! `gantry validate` and `gantry run` on broken pipelines: every problem at once, with
//! file:line:col, the source line, a caret and a suggestion; nothing runs.

use crate::support::{Project, stderr};

const BROKEN: &str = "jobs:
  build:
    need: [lint]
    steps:
      - run: make
  deploy:
    needs: [biuld]
    steps:
      - run: ./deploy
";

#[test]
fn validate_reports_every_problem_with_location_and_suggestion() {
    let p = Project::with_pipeline(BROKEN);
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(".gantry/pipelines/ci.yml:3:5: error: unknown key 'need'"),
        "{err}"
    );
    assert!(err.contains("did you mean 'needs'?"), "{err}");
    assert!(err.contains("3 |     need: [lint]"), "{err}");
    assert!(err.contains("^^^^"), "{err}");
    assert!(err.contains(".gantry/pipelines/ci.yml:7:"), "{err}");
    assert!(err.contains("did you mean 'build'?"), "{err}");
}

#[test]
fn run_refuses_an_invalid_pipeline_and_runs_nothing() {
    let p = Project::with_pipeline(BROKEN);
    let out = p.run(&["run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nothing was run"));
    assert!(!p.data.path().join("runs").exists());
}

#[test]
fn validate_accepts_every_example() {
    let root = crate::support::repo_root().join("examples");
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join(".gantry").is_dir() {
            continue;
        }
        let out = std::process::Command::new(crate::support::gantry_bin())
            .arg("validate")
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {}", dir.display(), stderr(&out));
    }
}

#[test]
fn validate_checks_deploy_jobs_against_the_workspace_when_given_one() {
    let p = Project::with_pipeline(
        "jobs:
  build:
    artifacts: [dist/app]
    steps: [make]
  ship:
    deploy: { service: web, environment: staging }
",
    );
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(
        ws.path().join("gantry.yml"),
        "hosts:
  app1: { address: 10.0.0.1 }
environments:
  staging: { hosts: [app1] }
services:
  web:
    artifact: { job: build, path: dist/app }
    run: { systemd: { exec: \"{{ release_dir }}/app\" } }
",
    )
    .unwrap();
    // Without the workspace there is nothing to check the deploy job against.
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));

    let out = p.run(&["validate", "--workspace", ws.path().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "warnings only: {}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("warning: deploy job 'ship' ships the artifact of job 'build'")
            && err.contains("add 'build' to the `needs` of job 'ship'"),
        "{err}"
    );
}
