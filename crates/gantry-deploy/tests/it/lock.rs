//! The environment's deploy lock on real hosts: (c) a second deploy waits for the first
//! and then proceeds, a third with a short wait gives up with a clear message; (d) a
//! deployer killed (SIGKILL) while it holds the lock leaves it to expire, and the next
//! deploy takes it over.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gantry_deploy::{DeployError, Outcome};

use crate::support::{Fleet, assert_runs, deploy, fleet, options};

/// The pre hook sleeps while `/root/slow` exists on the first host, so a test can keep
/// a deploy (and its lock) going as long as it needs.
const SERVICES: &str = r#"  queue:
    artifact: { path: artifacts/good }
    run: { systemd: { exec: "{{ release_dir }}/app --port {{ port }} --version {{ version }}" } }
    port: 8080
    health: { http: { path: /healthz }, interval: 300ms, retries: 20 }
    hooks: { pre: "while [ -f /root/slow ]; do sleep 0.2; done" }
    strategy: { rolling: { batch: 2 } }
"#;

const LOCK_FILE: &str = "/opt/gantry/.locks/qa.lock";

/// Holds deploys in their pre hook until dropped, also when an assertion fails: a
/// panicking test must not leave a scoped deploy thread waiting forever.
struct Slow<'a>(&'a Fleet);

impl<'a> Slow<'a> {
    fn hold(fleet: &'a Fleet) -> Slow<'a> {
        fleet.sh(0, "touch /root/slow");
        Slow(fleet)
    }
}

impl Drop for Slow<'_> {
    fn drop(&mut self) {
        let _ = self.0.hosts[0].exec("rm -f /root/slow");
    }
}

/// Waits until the lock file on the first host names `pid` (or anyone, for `None`).
fn wait_for_lock(fleet: &Fleet, pid: Option<u32>) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = fleet.hosts[0].exec(&format!("cat {LOCK_FILE}")).unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let held = out.status.success()
            && pid.is_none_or(|p| text.lines().any(|l| l == format!("pid={p}")));
        if held {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "the lock was never taken: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_second_deploy_waits_for_the_lock_and_a_short_wait_times_out() {
    let fleet = fleet(
        "lk",
        2,
        "  qa: { hosts: [fleet], lock_lease: 12s }\n",
        SERVICES,
    );
    let slow = Slow::hold(&fleet);
    let dir = fleet.dir();
    std::thread::scope(|s| {
        let first = s.spawn(|| {
            deploy(
                dir,
                "queue",
                "qa",
                "v1",
                None,
                &options(Duration::from_secs(60)),
            )
        });
        wait_for_lock(&fleet, None);
        let second = s.spawn(|| {
            deploy(
                dir,
                "queue",
                "qa",
                "v2",
                None,
                &options(Duration::from_secs(120)),
            )
        });
        // Longer than a lease: the first deploy's renewals keep the lock its own.
        let started = Instant::now();
        let (third, _) = deploy(
            dir,
            "queue",
            "qa",
            "v3",
            None,
            &options(Duration::from_secs(15)),
        );
        assert!(started.elapsed() >= Duration::from_secs(15));
        match third {
            Err(DeployError::Lock(e)) => {
                let text = e.to_string();
                assert!(
                    text.contains("timed out after 15s waiting for the deploy lock of qa, held by"),
                    "{text}"
                );
                assert!(text.contains("(pid "), "{text}");
            }
            other => panic!("expected a lock timeout, got {other:?}"),
        }
        drop(slow);
        let (first, _) = first.join().unwrap();
        let first = first.unwrap();
        assert_eq!(
            first.outcome,
            Outcome::Succeeded,
            "{}",
            gantry_deploy::render(&first)
        );
        let (second, lines) = second.join().unwrap();
        let second = second.unwrap();
        assert_eq!(
            second.outcome,
            Outcome::Succeeded,
            "{}",
            gantry_deploy::render(&second)
        );
        assert_eq!(
            second.previous_version.as_deref(),
            Some("v1"),
            "ran after the first"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("waiting for the deploy lock of qa held by ")),
            "{lines:?}"
        );
    });
    for i in 0..2 {
        assert_runs(&fleet, i, "queue", "v2");
    }
    let left = fleet.hosts[0]
        .exec(&format!("test -e {LOCK_FILE}"))
        .unwrap();
    assert!(!left.status.success(), "the lock is released at the end");
}

/// Not a test on its own: the deployer that `a_killed_deployer…` starts and kills.
#[test]
#[ignore = "helper process of a_killed_deployers_lock_expires_and_the_next_deploy_proceeds"]
fn helper_deployer() {
    let Ok(dir) = std::env::var("GANTRY_DEPLOY_HELPER_WORKSPACE") else {
        return;
    };
    let (result, _) = deploy(
        Path::new(&dir),
        "queue",
        "qa",
        "v1",
        None,
        &options(Duration::from_secs(60)),
    );
    eprintln!("helper finished: {result:?}");
}

#[test]
fn a_killed_deployers_lock_expires_and_the_next_deploy_proceeds() {
    let fleet = fleet(
        "kd",
        2,
        "  qa: { hosts: [fleet], lock_lease: 5s }\n",
        SERVICES,
    );
    let slow = Slow::hold(&fleet);
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "lock::helper_deployer",
            "--ignored",
            "--nocapture",
        ])
        .env("GANTRY_DEPLOY_HELPER_WORKSPACE", fleet.dir())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let held = wait_for_lock(&fleet, Some(helper.id()));
    assert!(held.contains("expires="), "{held}");
    // Mid-deploy: the release is installed, the pre hook is running.
    std::thread::sleep(Duration::from_secs(1));
    helper.kill().unwrap(); // SIGKILL: no clean-up runs
    helper.wait().unwrap();
    drop(slow);

    let started = Instant::now();
    let (next, lines) = deploy(
        fleet.dir(),
        "queue",
        "qa",
        "v2",
        None,
        &options(Duration::from_secs(120)),
    );
    let next = next.unwrap();
    assert_eq!(
        next.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&next)
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("waiting for the deploy lock of qa held by ")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("took over the deploy lock of qa")),
        "{lines:?}"
    );
    // It waited for the lease to run out (5 s), not for the 120 s wait limit; the rest
    // is the deploy itself, slow on a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "{:?}",
        started.elapsed()
    );
    for i in 0..2 {
        assert_runs(&fleet, i, "queue", "v2");
    }
}
