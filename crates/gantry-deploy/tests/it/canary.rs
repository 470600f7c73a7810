//! Canary through Debian's nginx on two container hosts: a good canary passes both
//! steps and goes live with zero failed requests under load; a canary whose `GET /`
//! answers 500 on one request in five (its health check passing) is aborted by the
//! analysis of nginx's log, and every request goes back to the stable release. Then the
//! analysis's Prometheus query against a real Prometheus server (Debian's package,
//! started by the test on loopback): a query above `max` aborts, one under it passes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use gantry_deploy::Outcome;

use crate::support::{Fleet, Load, deploy, fleet, get, options};

fn service(analysis: &str) -> String {
    format!(
        r#"  web:
    artifact: {{ path: artifacts/good }}
    run: {{ systemd: {{ exec: "{{{{ release_dir }}}}/app --port {{{{ port }}}} --version {{{{ version }}}}" }} }}
    port: 8080
    health: {{ http: {{ path: /healthz, timeout: 1s }}, interval: 300ms, retries: 8 }}
    strategy:
      canary:
        ports: [8081, 8082]
        steps: [{{ weight: 20, hold: 3s }}, {{ weight: 50, hold: 3s }}]
        analysis: {analysis}
        drain: 1s
"#
    )
}

/// A release of the test service that answers every `n`th `GET /` with a 500.
fn failing_release(fleet: &Fleet, name: &str, n: u32) -> PathBuf {
    let release = fleet.dir().join("artifacts").join(name);
    std::fs::create_dir_all(&release).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_gantry-deploy-testservice"),
        release.join("app"),
    )
    .unwrap();
    std::fs::write(release.join("fail_every"), n.to_string()).unwrap();
    release
}

#[test]
fn a_canary_passes_its_steps_or_is_aborted_by_its_error_rate() {
    let fleet = fleet(
        "cn",
        2,
        "  production: { hosts: [fleet], lock_lease: 10s }\n",
        &service("{ interval: 1s, max_error_rate: 5%, min_requests: 10 }"),
    );
    let opts = options(Duration::from_secs(60));
    let addresses: Vec<String> = fleet.hosts.iter().map(|h| h.addr().to_string()).collect();

    // No stable release yet: the first deploy goes live as blue-green.
    let (v1, lines) = deploy(fleet.dir(), "web", "production", "v1", None, &opts);
    let v1 = v1.unwrap();
    assert_eq!(
        v1.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&v1)
    );
    assert!(
        lines.iter().any(|l| l.contains("no stable release")),
        "{lines:?}"
    );

    // A good canary under load: both steps pass, it goes live, nothing fails.
    let load = Load::start(&addresses, 8080, 2, Duration::from_millis(5));
    let (v2, lines) = deploy(fleet.dir(), "web", "production", "v2", None, &opts);
    std::thread::sleep(Duration::from_millis(300));
    let seen = load.stop();
    let v2 = v2.unwrap();
    let text = gantry_deploy::render(&v2);
    assert_eq!(v2.outcome, Outcome::Succeeded, "{text}\n{lines:#?}");
    assert_eq!(seen.failed, 0, "{seen:?}");
    assert!(seen.ok > 100, "{seen:?}");
    assert_eq!(v2.canary.len(), 2, "{text}");
    for step in &v2.canary {
        assert!(step.passed, "{step:?}");
        assert!(step.canary.requests >= 10, "{step:?}");
        assert_eq!(step.canary.errors, 0, "{step:?}");
        // The weights are honoured roughly: the canary gets its share, never everything.
        let share =
            step.canary.requests as f64 / (step.canary.requests + step.stable.requests) as f64;
        assert!(
            share > f64::from(step.weight) / 200.0 && share < f64::from(step.weight) * 2.0 / 100.0,
            "{step:?}"
        );
    }
    for address in &addresses {
        assert_eq!(get(address, 8080, "/").as_deref(), Ok("v2"));
    }

    // A canary failing one `GET /` in five: aborted at its first step by the error
    // rate nginx logged, and traffic returns to v2.
    let bad = failing_release(&fleet, "v3-flaky", 5);
    let load = Load::start(&addresses, 8080, 2, Duration::from_millis(5));
    let (v3, lines) = deploy(fleet.dir(), "web", "production", "v3", Some(&bad), &opts);
    let during = load.stop();
    let v3 = v3.unwrap();
    let text = gantry_deploy::render(&v3);
    assert_eq!(v3.outcome, Outcome::RolledBack, "{text}\n{lines:#?}");
    assert_eq!(v3.canary.len(), 1, "{text}");
    let step = &v3.canary[0];
    assert!(!step.passed, "{step:?}");
    assert!(
        step.reason.as_deref().unwrap_or("").contains("error rate"),
        "{step:?}"
    );
    assert!(step.canary.error_rate() > 0.1, "{step:?}");
    assert!(
        v3.error
            .as_deref()
            .unwrap_or("")
            .contains("the canary analysis failed at step 1"),
        "{text}"
    );
    // Only requests the canary answered failed while it ran.
    assert!(
        during.failed > 0 && during.versions.contains_key("v3"),
        "{during:?}"
    );
    let after = Load::start(&addresses, 8080, 2, Duration::from_millis(5));
    std::thread::sleep(Duration::from_secs(2));
    let after = after.stop();
    assert_eq!(after.failed, 0, "{after:?}");
    assert_eq!(
        after.versions.keys().collect::<Vec<_>>(),
        ["v2"],
        "{after:?}"
    );
    for i in 0..2 {
        let current = fleet.sh(i, "readlink /opt/gantry/web/current");
        assert_eq!(current.trim(), "/opt/gantry/web/releases/v2");
        let canary = fleet.hosts[i]
            .exec("systemctl is-active gantry-web.blue.service")
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&canary.stdout).trim(), "inactive");
    }
}

/// A Prometheus server on loopback with no scrape targets: `vector(…)` queries give the
/// values the test wants through the real HTTP API.
struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn prometheus() -> Prometheus {
    let binary = Path::new("/usr/bin/prometheus");
    assert!(
        binary.exists(),
        "Prometheus is not installed (scripts/test.sh installs Debian's prometheus package)"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "global: { scrape_interval: 15s }\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary)
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while get("127.0.0.1", port, "/-/ready").is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Prometheus did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Prometheus {
        child,
        url,
        _dir: dir,
    }
}

#[test]
fn a_prometheus_query_above_its_max_aborts_the_canary() {
    let prom = prometheus();
    let analysis = |query: &str, max: &str| {
        format!(
            "{{ interval: 1s, prometheus: {{ url: \"{}\", query: \"{query}\", max: {max} }} }}",
            prom.url
        )
    };
    let fleet = fleet(
        "cnp",
        1,
        "  production: { hosts: [fleet] }\n",
        &service(&analysis("vector(0.3)", "0.05")),
    );
    let opts = options(Duration::from_secs(60));
    let (v1, _) = deploy(fleet.dir(), "web", "production", "v1", None, &opts);
    assert_eq!(v1.unwrap().outcome, Outcome::Succeeded);

    let (v2, _) = deploy(fleet.dir(), "web", "production", "v2", None, &opts);
    let v2 = v2.unwrap();
    let text = gantry_deploy::render(&v2);
    assert_eq!(v2.outcome, Outcome::RolledBack, "{text}");
    let reason = v2.canary[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("gives 0.3, above 0.05"), "{reason}");
    assert_eq!(
        get(&fleet.hosts[0].addr().to_string(), 8080, "/").as_deref(),
        Ok("v1")
    );

    // Under the bound: the canary passes and goes live.
    let yml = std::fs::read_to_string(fleet.dir().join("gantry.yml")).unwrap();
    std::fs::write(
        fleet.dir().join("gantry.yml"),
        yml.replace("vector(0.3)", "vector(0.01)"),
    )
    .unwrap();
    let (v2, _) = deploy(fleet.dir(), "web", "production", "v2", None, &opts);
    let v2 = v2.unwrap();
    let text = gantry_deploy::render(&v2);
    assert_eq!(v2.outcome, Outcome::Succeeded, "{text}");
    assert!(
        v2.canary.iter().all(|s| s.prometheus == Some(0.01)),
        "{text}"
    );
    assert_eq!(
        get(&fleet.hosts[0].addr().to_string(), 8080, "/").as_deref(),
        Ok("v2")
    );
}
