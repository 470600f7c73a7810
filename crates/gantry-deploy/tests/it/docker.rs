//! (f) A docker service (`run: { docker: … }`) on 2 container hosts: a first deploy and a
//! rolling v1 → v2, each host's container answering its version over HTTP; a container
//! whose process is killed replaced, none left over; a release failing its health check
//! rolled back automatically with v2 serving again and no container of it left; pruning
//! removing the images of pruned releases; a rollback by hand after the previous
//! release's image was removed from the engine (as `docker image prune -a` does), loaded
//! again from its archive; a release whose image is on the host already, deployed
//! without an artifact, and one whose image is nowhere, refused at the install.
//!
//! How the hosts get Docker: a Docker Engine inside a container host would need
//! privileges this machine's engine refuses, so each host gets the machine's docker CLI
//! and engine socket (`ContainerHost::start_with_docker`). The service's containers thus
//! run on the machine's engine beside the hosts; `network: container:<host>` puts each
//! into its host's network namespace, so it answers on the host's address and port as a
//! service of that host would, and the health gate probes it exactly as it probes a
//! systemd service. Two consequences of the shared engine, which a real fleet does not
//! have: container names must differ per host (the `name` key, with a per-host var), and
//! both hosts load, tag and prune the same images (harmless: same archives, same ids).
//! The published-port path (`-p`) cannot be shown this way (every host would publish on
//! the machine's one address); its rendering is covered by the unit tests.
//! Images are built here from the test service's binary (`images.rs`): no registry.

use std::time::{Duration, Instant};

use gantry_deploy::Outcome;

use crate::images::{Images, docker};
use crate::support::{Load, assert_runs, deploy, docker_fleet, get, options, rollback};

/// The arguments the container must receive exactly: a space, quotes, `;`, `%`, `$`
/// and an empty one, through systemd's `ExecStart` parsing and the docker CLI.
const MOTD: &str = r#"it's a \"fine\" day; 50% off $HOME"#;

fn services(service: &str, repository: &str) -> String {
    format!(
        r#"  {service}:
    run:
      docker:
        image: "{repository}:{{{{ version }}}}"
        network: "{{{{ network }}}}"
        name: "gantry-{{{{ service }}}}-{{{{ instance }}}}"
        args: [--port, "{{{{ port }}}}", --version, "{{{{ version }}}}", --motd, "{MOTD}", ""]
        env: {{ GREETING: "hello from {{{{ instance }}}}", DB_PASSWORD: "{{{{ secrets.db }}}}" }}
    port: 8080
    health: {{ http: {{ path: /healthz }}, interval: 300ms, retries: 20, timeout: 2s }}
    strategy: {{ rolling: {{ batch: 1 }} }}
    keep: 2
secrets:
  db: {{ file: keys/db }}
"#
    )
}

/// The value of the docker services' secret `db` (in `keys/db` of the workspace).
const SECRET: &str = "d0cker-s3cret with \"quotes\" and $dollars";

/// `name version` of every container of `service` on the machine's engine, sorted.
fn containers(service: &str) -> Vec<String> {
    let out = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=gantry.service={service}"),
        "--format",
        "{{.Names}} {{.Label \"gantry.version\"}}",
    ]);
    let mut list: Vec<String> = out.lines().map(str::to_string).collect();
    list.sort();
    list
}

fn expect_containers(service: &str, version: &str) {
    assert_eq!(
        containers(service),
        [
            format!("gantry-{service}-dock1 {version}"),
            format!("gantry-{service}-dock2 {version}"),
        ],
        "one container per host, of {version} only"
    );
}

#[test]
fn a_docker_service_deploys_rolls_back_and_leaves_no_container_behind() {
    // Unique per test process: the engine is the machine's, shared with other runs.
    let service = format!("dock{}", std::process::id());
    let repository = format!("gantry-test/testservice-{}", std::process::id());
    let images = Images::new(&repository, &service);
    let fleet = docker_fleet(
        "dock",
        2,
        "  staging: { hosts: [fleet], lock_lease: 10s }\n",
        &services(&service, &repository),
    );
    std::fs::write(fleet.dir().join("keys/db"), format!("{SECRET}\n")).unwrap();
    let dir = fleet.dir().join("artifacts");
    let v1 = images.archive(&dir, "v1", false);
    let v2 = images.archive(&dir, "v2", false);
    let v3 = images.archive(&dir, "v3", true);
    let v4 = images.archive(&dir, "v4", false);
    let opts = options(Duration::from_secs(60));
    let deploy_ok = |version: &str, artifact: &std::path::Path| {
        let (report, _) = deploy(
            fleet.dir(),
            &service,
            "staging",
            version,
            Some(artifact),
            &opts,
        );
        let report = report.unwrap();
        assert_eq!(
            report.outcome,
            Outcome::Succeeded,
            "{}",
            gantry_deploy::render(&report)
        );
        report
    };

    // A first deploy: the image comes with the release and is loaded on each host.
    let first = deploy_ok("v1", &v1);
    assert!(first.hosts.iter().all(|h| h.uploaded));
    for i in 0..2 {
        assert_runs(&fleet, i, &service, "v1");
    }
    expect_containers(&service, "v1");
    let unit = fleet.sh(
        0,
        &format!("cat /etc/systemd/system/gantry-{service}.service"),
    );
    assert!(
        unit.contains(&format!(
            "ExecStart=docker run --rm --name gantry-{service}-dock1 --pull never --init --label gantry.service={service} --label gantry.version=v1 --network container:{} -e GREETING -e DB_PASSWORD gantry/{service}:v1 --port 8080 --version v1 --motd ",
            fleet.hosts[0].id()
        )),
        "{unit}"
    );
    // The values reach the container from the release's env file, not the unit.
    assert!(
        unit.contains(&format!(
            "EnvironmentFile=/opt/gantry/{service}/releases/v1/.gantry/env\n"
        )) && !unit.contains("hello from")
            && !unit.contains("d0cker"),
        "{unit}"
    );
    assert!(unit.contains(" -e GREETING -e DB_PASSWORD "), "{unit}");
    assert_eq!(fleet.get(0, "/env/DB_PASSWORD").as_deref(), Some(SECRET));
    assert_eq!(
        fleet.get(1, "/env/GREETING").as_deref(),
        Some("hello from dock2")
    );
    let name = format!("gantry-{service}-dock1");
    let args = docker(&["inspect", "--format", "{{json .Args}}", &name]);
    let expected = serde_json::json!([
        "--port",
        "8080",
        "--version",
        "v1",
        "--motd",
        MOTD.replace("\\\"", "\""),
        ""
    ]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&args).unwrap(),
        expected,
        "every argument arrives exactly as written"
    );
    let env = docker(&["inspect", "--format", "{{json .Config.Env}}", &name]);
    assert!(env.contains("\"GREETING=hello from dock1\""), "{env}");
    let release = format!("/opt/gantry/{service}/releases/v1");
    assert_eq!(
        fleet.sh(1, &format!("cat {release}/.gantry/image")).trim(),
        format!("{repository}:v1")
    );
    assert!(Images::exists(&format!("gantry/{service}:v1")));

    // The container's process killed under systemd: the unit removes what is left and
    // starts a new one; never two.
    let before = docker(&["inspect", "--format", "{{.Id}}", &name]);
    fleet.sh(
        0,
        &format!("systemctl kill -s KILL gantry-{service}.service"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = docker(&[
            "ps",
            "-q",
            "--no-trunc",
            "--filter",
            &format!("name=^{name}$"),
        ]);
        if !now.trim().is_empty()
            && now.trim() != before.trim()
            && fleet.get(0, "/").as_deref() == Some("v1")
        {
            break;
        }
        assert!(Instant::now() < deadline, "no new container after the kill");
        std::thread::sleep(Duration::from_millis(200));
    }
    expect_containers(&service, "v1");

    // Rolling v1 → v2.
    let second = deploy_ok("v2", &v2);
    assert_eq!(second.previous_version.as_deref(), Some("v1"));
    for i in 0..2 {
        assert_runs(&fleet, i, &service, "v2");
    }
    expect_containers(&service, "v2");

    // A release whose container fails its health check: rolled back, v2 serves again.
    let (bad, lines) = deploy(fleet.dir(), &service, "staging", "v3", Some(&v3), &opts);
    let bad = bad.unwrap();
    let text = gantry_deploy::render(&bad);
    assert_eq!(bad.outcome, Outcome::RolledBack, "{text}");
    assert!(
        bad.error
            .as_deref()
            .unwrap_or("")
            .contains("v3 failed on dock1"),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("dock1: unhealthy on v3: GET http://")),
        "{lines:?}"
    );
    assert!(bad.hosts[0].rolled_back && !bad.hosts[1].switched, "{text}");
    for i in 0..2 {
        assert_runs(&fleet, i, &service, "v2");
    }
    expect_containers(&service, "v2");

    // v4: keep 2 leaves v4 and v2; v1 and v3 go, with their images.
    let fourth = deploy_ok("v4", &v4);
    for host in &fourth.hosts {
        assert_eq!(host.pruned, ["v1", "v3"], "{host:?}");
    }
    expect_containers(&service, "v4");
    for gone in ["v1", "v3"] {
        assert!(
            !Images::exists(&format!("gantry/{service}:{gone}")),
            "{gone}"
        );
        assert!(!Images::exists(&format!("{repository}:{gone}")), "{gone}");
    }
    assert!(Images::exists(&format!("gantry/{service}:v2")));

    // v2's image removed from the engine (as `docker image prune -a` would, no container
    // using it): a rollback loads it again from the release's archive.
    docker(&[
        "rmi",
        &format!("gantry/{service}:v2"),
        &format!("{repository}:v2"),
    ]);
    let back = rollback(fleet.dir(), &service, "staging", None).unwrap();
    assert_eq!(
        back.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&back)
    );
    for i in 0..2 {
        assert_runs(&fleet, i, &service, "v2");
    }
    expect_containers(&service, "v2");

    // A release whose image is on the host already needs no artifact: the install finds
    // it and records the release (and pruning will leave that image alone: not Gantry's).
    let v5 = images.archive(&dir, "v5", false);
    docker(&["load", "-i", &v5.to_string_lossy()]);
    let (fifth, _) = deploy(fleet.dir(), &service, "staging", "v5", None, &opts);
    let fifth = fifth.unwrap();
    assert_eq!(
        fifth.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&fifth)
    );
    assert!(
        fifth
            .hosts
            .iter()
            .all(|h| !h.uploaded && h.pruned == ["v4"])
    );
    for i in 0..2 {
        assert_runs(&fleet, i, &service, "v5");
    }
    expect_containers(&service, "v5");
    let owned = fleet.hosts[0]
        .exec(&format!(
            "test -e /opt/gantry/{service}/releases/v5/.gantry/image-loaded"
        ))
        .unwrap();
    assert!(!owned.status.success());
    // …and one that is nowhere fails at the install, nothing switched, nothing left.
    let (missing, _) = deploy(fleet.dir(), &service, "staging", "v6", None, &opts);
    let missing = missing.unwrap();
    let text = gantry_deploy::render(&missing);
    assert_eq!(missing.outcome, Outcome::Failed, "{text}");
    assert!(
        missing.hosts[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains(&format!(
                "image {repository}:v6 is not on this host and the release brings no image archive"
            )),
        "{text}"
    );
    assert!(missing.hosts.iter().all(|h| !h.switched), "{text}");
    assert_eq!(
        fleet.sh(0, &format!("ls /opt/gantry/{service}/releases")),
        "v2\nv5\n"
    );
    expect_containers(&service, "v5");

    // Stopping the unit leaves no container.
    fleet.sh(1, &format!("systemctl stop gantry-{service}.service"));
    assert_eq!(containers(&service), [format!("gantry-{service}-dock1 v5")]);
    drop(fleet);
    assert!(containers(&service).is_empty(), "removed with the hosts");
    drop(images);
}

/// (g) The same docker service with `blue_green`: each slot is a container of its own
/// (`<name>.blue`, `<name>.green`) on the slot's port, nginx in front on the service's
/// port, under a bounded load through nginx: a first deploy, a switch to v2 after which
/// the old slot's container is gone, and a rollback by hand — no failed request.
#[test]
fn a_blue_green_docker_service_runs_a_container_per_slot() {
    let service = format!("dockbg{}", std::process::id());
    let repository = format!("gantry-test/testservice-bg-{}", std::process::id());
    let images = Images::new(&repository, &service);
    let services = services(&service, &repository).replace(
        "strategy: { rolling: { batch: 1 } }",
        "strategy: { blue_green: { ports: [8081, 8082], drain: 1s } }",
    );
    let fleet = docker_fleet(
        "dockbg",
        1,
        "  production: { hosts: [fleet], lock_lease: 10s }\n",
        &services,
    );
    std::fs::write(fleet.dir().join("keys/db"), format!("{SECRET}\n")).unwrap();
    let dir = fleet.dir().join("artifacts");
    let v1 = images.archive(&dir, "v1", false);
    let v2 = images.archive(&dir, "v2", false);
    let opts = options(Duration::from_secs(60));
    let address = fleet.hosts[0].addr().to_string();
    let name = format!("gantry-{service}-dockbg1");

    let (first, _) = deploy(fleet.dir(), &service, "production", "v1", Some(&v1), &opts);
    let first = first.unwrap();
    assert_eq!(
        first.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&first)
    );
    assert_eq!(containers(&service), [format!("{name}.blue v1")]);
    assert_eq!(get(&address, 8080, "/").as_deref(), Ok("v1"));
    // The slot's container reads the slot's env file (mode 600), secret included.
    assert_eq!(
        get(&address, 8081, "/env/DB_PASSWORD").as_deref(),
        Ok(SECRET)
    );
    assert_eq!(
        fleet
            .sh(
                0,
                &format!("stat -c '%a %U' /opt/gantry/{service}/releases/v1/.gantry/env.blue")
            )
            .trim(),
        "600 root"
    );
    // From here on nginx holds the port: no request may fail.
    let load = Load::start(
        std::slice::from_ref(&address),
        8080,
        2,
        Duration::from_millis(20),
    );
    let (second, _) = deploy(fleet.dir(), &service, "production", "v2", Some(&v2), &opts);
    let second = second.unwrap();
    assert_eq!(
        second.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&second)
    );
    assert_eq!(containers(&service), [format!("{name}.green v2")]);
    let unit = fleet.sh(
        0,
        &format!("cat /etc/systemd/system/gantry-{service}.green.service"),
    );
    assert!(
        unit.contains(&format!("--name {name}.green ")) && unit.contains(" --port 8082 "),
        "{unit}"
    );
    let back = rollback(fleet.dir(), &service, "production", None).unwrap();
    assert_eq!(
        back.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&back)
    );
    let seen = load.stop();
    assert_eq!(seen.failed, 0, "{seen:?}");
    assert!(seen.versions.contains_key("v2") && seen.ok > 50, "{seen:?}");
    assert_eq!(containers(&service), [format!("{name}.blue v1")]);
    assert_eq!(get(&address, 8080, "/").as_deref(), Ok("v1"));
    drop(fleet);
    assert!(containers(&service).is_empty(), "removed with the host");
    drop(images);
}
