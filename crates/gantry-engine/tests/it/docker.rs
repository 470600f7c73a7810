//! The docker executor against the local Docker Engine and the `gantry-test/*` images
//! that scripts/build-test-images.sh builds.

use crate::{TestJob, cancel_after, ensure_test_environment, run, run_with, sh, sink, step, texts};
use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder};
use gantry_engine::executor::docker::{
    DockerExecutor, GUEST_STATE_DIR, GUEST_WORKSPACE, LABEL_RUN,
};
use gantry_engine::executor::host::KILL_GRACE;
use gantry_engine::executor::{ExecError, Executor, JobSession, ServiceRun};
use gantry_engine::log::Stream;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

const BUSYBOX: &str = "gantry-test/busybox:latest";

fn docker_job() -> (TestJob, Sweep) {
    let mut job = TestJob::new();
    job.spec.image = Some(BUSYBOX.to_string());
    let sweep = Sweep(job.spec.run_id.clone());
    (job, sweep)
}

/// When a test fails half-way, removes what its run left on the engine so later runs
/// start clean. Passing tests never need it: they assert the executor's own cleanup.
struct Sweep(String);

impl Drop for Sweep {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let filter = format!("label={LABEL_RUN}={}", self.0);
        for (list, remove) in [
            (vec!["ps", "-aq", "--filter", &filter], vec!["rm", "-f"]),
            (
                vec!["network", "ls", "-q", "--filter", &filter],
                vec!["network", "rm"],
            ),
        ] {
            let Ok(out) = std::process::Command::new("docker").args(&list).output() else {
                continue;
            };
            let ids = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>();
            if !ids.is_empty() {
                let _ = std::process::Command::new("docker")
                    .args(&remove)
                    .args(&ids)
                    .output();
            }
        }
    }
}

async fn executor() -> DockerExecutor {
    ensure_test_environment();
    DockerExecutor::connect()
        .await
        .expect("connect to the Docker Engine")
}

async fn session(job: &TestJob) -> Box<dyn JobSession> {
    let (log, _rx) = sink(&[]);
    executor()
        .await
        .prepare(&job.spec, &log)
        .await
        .expect("prepare the job container")
}

/// Names of the containers and networks the engine has with this run's label.
async fn leftovers(run_id: &str) -> Vec<String> {
    let docker = Docker::connect_with_unix_defaults()
        .expect("client")
        .negotiate_version()
        .await
        .expect("version");
    let filters = HashMap::from([("label", vec![format!("{LABEL_RUN}={run_id}")])]);
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .expect("list containers");
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .expect("list networks");
    let mut names: Vec<String> = containers
        .into_iter()
        .flat_map(|c| c.names.unwrap_or_default())
        .collect();
    names.extend(networks.into_iter().filter_map(|n| n.name));
    names
}

/// Command lines of the processes running in the job container, seen from a step.
async fn container_processes(s: &dyn JobSession) -> Vec<String> {
    let (exit, lines) = run(s, &step(&["ps", "-o", "args"], Path::new(GUEST_WORKSPACE))).await;
    assert!(exit.success());
    texts(&lines, Stream::Stdout)
}

#[tokio::test]
async fn runs_steps_in_the_job_container() {
    let (job, _sweep) = docker_job();
    let s = session(&job).await;
    assert_eq!(s.paths().workspace, Path::new(GUEST_WORKSPACE));
    assert_eq!(s.paths().state_dir, Path::new(GUEST_STATE_DIR));
    std::fs::write(job.workspace().join("input"), "from the host\n").expect("write");

    let mut cmd = sh(
        "cat input; echo \"$GREETING\" > made-inside; echo oops >&2; pwd; exit 3",
        Path::new(GUEST_WORKSPACE),
    );
    cmd.env = vec![("GREETING".into(), "hello from the container".into())];
    let (exit, lines) = run(&*s, &cmd).await;
    assert_eq!(exit.code, Some(3), "{exit:?} {lines:?}");
    assert!(!exit.timed_out && !exit.cancelled);
    assert_eq!(
        texts(&lines, Stream::Stdout),
        ["from the host", GUEST_WORKSPACE]
    );
    assert_eq!(texts(&lines, Stream::Stderr), ["oops"]);
    let made = std::fs::read_to_string(job.workspace().join("made-inside"))
        .expect("file written in the container");
    assert_eq!(made, "hello from the container\n");

    // The state directory is shared too, and a second step sees the first one's files.
    std::fs::write(
        job.spec.state_dir.join("step.sh"),
        "echo from the script; cat made-inside\n",
    )
    .expect("write");
    let (exit, lines) = run(
        &*s,
        &step(
            &["sh", &format!("{GUEST_STATE_DIR}/step.sh")],
            Path::new(GUEST_WORKSPACE),
        ),
    )
    .await;
    assert!(exit.success(), "{lines:?}");
    assert_eq!(
        texts(&lines, Stream::Stdout),
        ["from the script", "hello from the container"]
    );
    // The step's marker files do not pile up in the state directory.
    let names: Vec<_> = std::fs::read_dir(&job.spec.state_dir)
        .expect("state")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, ["step.sh"]);

    s.cleanup().await.expect("cleanup");
    assert_eq!(leftovers(&job.spec.run_id).await, Vec::<String>::new());
}

#[tokio::test]
async fn services_are_reachable_by_name_once_ready() {
    let (mut job, _sweep) = docker_job();
    job.spec.services = vec![
        ServiceRun {
            name: "web".into(),
            image: "gantry-test/httpd:latest".into(),
            env: vec![],
            command: None,
        },
        // Starts its server a second after the container starts; its HEALTHCHECK
        // makes prepare wait for it.
        ServiceRun {
            name: "slow".into(),
            image: "gantry-test/httpd-health:latest".into(),
            env: vec![("UNUSED".into(), "x".into())],
            command: None,
        },
    ];
    let (log, mut rx) = sink(&[]);
    let s = executor()
        .await
        .prepare(&job.spec, &log)
        .await
        .expect("prepare");
    drop(log);
    let system = texts(&crate::drain(&mut rx), Stream::System);
    assert!(
        system.contains(&"service 'slow' is healthy".to_string()),
        "{system:?}"
    );

    // No retry for `slow`: prepare returned only once it was healthy. `web` has no
    // health check, so its server may still be binding its port.
    let script = "wget -qO- http://slow:8080/ && for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://web:8080/ && exit 0; sleep 0.2; done; exit 1";
    let (exit, lines) = run(&*s, &sh(script, Path::new(GUEST_WORKSPACE))).await;
    assert!(exit.success(), "{lines:?}");
    assert_eq!(
        texts(&lines, Stream::Stdout),
        ["hello from the sidecar", "hello from the sidecar"]
    );

    s.cleanup().await.expect("cleanup");
    assert_eq!(leftovers(&job.spec.run_id).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_missing_image_is_reported_and_nothing_is_created() {
    let (mut job, _sweep) = docker_job();
    job.spec.image = Some("gantry-test/does-not-exist:latest".into());
    let (log, _rx) = sink(&[]);
    let executor = executor().await;
    match executor.prepare(&job.spec, &log).await {
        Err(ExecError::ImageMissing(image)) => {
            assert_eq!(image, "gantry-test/does-not-exist:latest")
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("prepare succeeded with a missing image"),
    }

    let (mut job, _sweep) = docker_job();
    job.spec.services = vec![ServiceRun {
        name: "db".into(),
        image: "gantry-test/no-db:1".into(),
        env: vec![],
        command: None,
    }];
    match executor.prepare(&job.spec, &log).await {
        Err(ExecError::ImageMissing(image)) => assert_eq!(image, "gantry-test/no-db:1"),
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("prepare succeeded with a missing service image"),
    }
    assert_eq!(leftovers(&job.spec.run_id).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_prepare_that_fails_half_way_leaves_nothing() {
    let (mut job, _sweep) = docker_job();
    // The service exits at once: the network and its container exist when prepare fails.
    job.spec.services = vec![ServiceRun {
        name: "broken".into(),
        image: BUSYBOX.into(),
        env: vec![],
        command: Some(vec![
            "sh".into(),
            "-c".into(),
            "echo cannot start >&2; exit 7".into(),
        ]),
    }];
    let (log, mut rx) = sink(&[]);
    let err = match executor().await.prepare(&job.spec, &log).await {
        Err(err) => err.to_string(),
        Ok(_) => panic!("prepare succeeded with a broken service"),
    };
    assert!(
        err.contains("service 'broken'") && err.contains("exit code 7"),
        "{err}"
    );
    drop(log);
    let system = texts(&crate::drain(&mut rx), Stream::System);
    assert!(
        system.contains(&"service 'broken': cannot start".to_string()),
        "{system:?}"
    );
    assert_eq!(leftovers(&job.spec.run_id).await, Vec::<String>::new());
}

#[tokio::test]
async fn timeout_kills_the_step_inside_the_container() {
    let (job, _sweep) = docker_job();
    let s = session(&job).await;
    let mut cmd = sh(
        "sleep 3181 & sleep 3182; echo never",
        Path::new(GUEST_WORKSPACE),
    );
    cmd.timeout = Some(Duration::from_millis(800));
    let started = Instant::now();
    let (exit, lines) = run(&*s, &cmd).await;
    let elapsed = started.elapsed();
    assert!(exit.timed_out && !exit.success(), "{exit:?}");
    assert!(texts(&lines, Stream::Stdout).is_empty());
    assert!(
        elapsed < Duration::from_millis(800) + KILL_GRACE,
        "{elapsed:?}"
    );
    let ps = container_processes(&*s).await;
    assert!(!ps.iter().any(|p| p.contains("sleep 318")), "{ps:?}");
    s.cleanup().await.expect("cleanup");
    assert_eq!(leftovers(&job.spec.run_id).await, Vec::<String>::new());
}

#[tokio::test]
async fn processes_ignoring_sigterm_are_killed_after_the_grace_period() {
    let (job, _sweep) = docker_job();
    let s = session(&job).await;
    let mut cmd = sh("trap '' TERM; sleep 3183", Path::new(GUEST_WORKSPACE));
    cmd.timeout = Some(Duration::from_millis(300));
    let started = Instant::now();
    let (exit, _) = run(&*s, &cmd).await;
    let elapsed = started.elapsed();
    assert!(exit.timed_out, "{exit:?}");
    assert!(elapsed >= KILL_GRACE, "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(300) + KILL_GRACE + Duration::from_secs(2),
        "{elapsed:?}"
    );
    let ps = container_processes(&*s).await;
    assert!(!ps.iter().any(|p| p.contains("sleep 3183")), "{ps:?}");
    s.cleanup().await.expect("cleanup");
}

#[tokio::test]
async fn cancel_stops_the_step_and_cleanup_leaves_nothing() {
    let (job, _sweep) = docker_job();
    let s = session(&job).await;
    let cancel = cancel_after(Duration::from_millis(500));
    let started = Instant::now();
    let (exit, _) = run_with(
        &*s,
        &sh("sleep 3184", Path::new(GUEST_WORKSPACE)),
        &cancel,
        &[],
    )
    .await;
    assert!(exit.cancelled && !exit.timed_out, "{exit:?}");
    assert!(
        started.elapsed() < Duration::from_millis(500) + KILL_GRACE,
        "{:?}",
        started.elapsed()
    );
    s.cleanup().await.expect("cleanup");
    assert_eq!(leftovers(&job.spec.run_id).await, Vec::<String>::new());
}

#[tokio::test]
async fn background_children_die_when_the_step_ends() {
    let (job, _sweep) = docker_job();
    let s = session(&job).await;
    let started = Instant::now();
    let (exit, lines) = run(
        &*s,
        &sh("sleep 3185 & echo done; exit 5", Path::new(GUEST_WORKSPACE)),
    )
    .await;
    // Docker would otherwise hold the exec open ~2 s for the child's output.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(exit.code, Some(5));
    assert_eq!(texts(&lines, Stream::Stdout), ["done"]);
    let ps = container_processes(&*s).await;
    assert!(!ps.iter().any(|p| p.contains("sleep 3185")), "{ps:?}");
    s.cleanup().await.expect("cleanup");
}

#[tokio::test]
async fn secrets_are_masked_in_container_output() {
    let (job, _sweep) = docker_job();
    let s = session(&job).await;
    let secret = "pa55-w0rd-for-docker";
    let mut cmd = sh(
        "echo \"the password is $PASSWORD\"",
        Path::new(GUEST_WORKSPACE),
    );
    cmd.env = vec![("PASSWORD".into(), secret.into())];
    let (exit, lines) = run_with(
        &*s,
        &cmd,
        &tokio_util::sync::CancellationToken::new(),
        &[secret],
    )
    .await;
    assert!(exit.success());
    assert_eq!(texts(&lines, Stream::Stdout), ["the password is ***"]);
    s.cleanup().await.expect("cleanup");
}
