//! Blue-green through the real nginx of Debian on two container hosts, under a bounded
//! load through nginx the whole time: a first deploy (blue slot), v2 beside it (green),
//! a release unhealthy on the second host (the first host, already switched, is put
//! back), and a rollback by hand — zero failed requests throughout.

use std::time::Duration;

use gantry_deploy::{Outcome, Slot};

use crate::support::{Load, LoadResult, bad_on, deploy, fleet, get, options, rollback};

const SERVICES: &str = r#"  web:
    artifact: { path: artifacts/good }
    run: { systemd: { exec: "{{ release_dir }}/app --port {{ port }} --version {{ version }}" } }
    port: 8080
    health: { http: { path: /healthz, timeout: 1s }, interval: 300ms, retries: 8 }
    strategy: { blue_green: { ports: [8081, 8082], drain: 1s, batch: 1 } }
"#;

fn assert_no_failures(what: &str, load: &LoadResult) {
    assert_eq!(load.failed, 0, "{what}: {load:?}");
    assert!(
        load.ok > 50,
        "{what}: too few requests to mean much: {load:?}"
    );
}

#[test]
fn blue_green_switches_slots_through_nginx_without_a_failed_request() {
    let fleet = fleet(
        "bg",
        2,
        "  production: { hosts: [fleet], lock_lease: 10s }\n",
        SERVICES,
    );
    let opts = options(Duration::from_secs(60));
    let addresses: Vec<String> = fleet.hosts.iter().map(|h| h.addr().to_string()).collect();
    let live = |i: usize| fleet.sh(i, "cat /opt/gantry/web/live").trim().to_string();
    let active = |i: usize, unit: &str| {
        let out = fleet.hosts[i]
            .exec(&format!("systemctl is-active {unit}"))
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };

    // A first deploy: the blue slot, nginx started with the site.
    let (v1, _) = deploy(fleet.dir(), "web", "production", "v1", None, &opts);
    let v1 = v1.unwrap();
    assert_eq!(
        v1.outcome,
        Outcome::Succeeded,
        "{}",
        gantry_deploy::render(&v1)
    );
    for (i, address) in addresses.iter().enumerate() {
        assert_eq!(get(address, 8080, "/").as_deref(), Ok("v1"));
        assert_eq!(live(i), "blue");
        assert_eq!(v1.hosts[i].slot, Some(Slot::Blue));
    }

    // v2 beside it under load: every request answered, by v1 then v2.
    let load = Load::start(&addresses, 8080, 2, Duration::from_millis(5));
    let (v2, lines) = deploy(fleet.dir(), "web", "production", "v2", None, &opts);
    std::thread::sleep(Duration::from_millis(300));
    let seen = load.stop();
    let v2 = v2.unwrap();
    let text = gantry_deploy::render(&v2);
    assert_eq!(v2.outcome, Outcome::Succeeded, "{text}");
    assert_no_failures("v1 -> v2", &seen);
    assert!(
        seen.versions.contains_key("v1") && seen.versions.contains_key("v2"),
        "{seen:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("draining the old slots")),
        "{lines:?}"
    );
    for (i, address) in addresses.iter().enumerate() {
        assert_eq!(get(address, 8080, "/").as_deref(), Ok("v2"));
        assert_eq!(live(i), "green");
        assert_eq!(active(i, "gantry-web.green.service"), "active");
        // The old slot drained and stopped; v1 stays on disk as `previous`.
        assert_eq!(active(i, "gantry-web.blue.service"), "inactive");
        assert_eq!(
            fleet.sh(i, "readlink /opt/gantry/web/previous").trim(),
            "/opt/gantry/web/releases/v1"
        );
        assert!(
            fleet
                .sh(i, "cat /etc/nginx/conf.d/gantry-web.conf")
                .contains("127.0.0.1:8082")
        );
    }

    // v3 is unhealthy on bg2 only: bg1 goes live on it first (batch 1), then bg2's gate
    // fails in its idle slot and bg1 is put back on the green slot, which never stopped.
    let bad = bad_on(&fleet, "v3-bad", &["bg2"]);
    let load = Load::start(&addresses, 8080, 2, Duration::from_millis(5));
    let (v3, _) = deploy(fleet.dir(), "web", "production", "v3", Some(&bad), &opts);
    std::thread::sleep(Duration::from_millis(300));
    let seen = load.stop();
    let v3 = v3.unwrap();
    let text = gantry_deploy::render(&v3);
    assert_eq!(v3.outcome, Outcome::RolledBack, "{text}");
    assert_no_failures("v2 -> bad v3 -> v2", &seen);
    assert!(v3.hosts[0].switched && v3.hosts[0].rolled_back, "{text}");
    assert!(!v3.hosts[1].switched && !v3.hosts[1].rolled_back, "{text}");
    assert_eq!(
        v3.hosts[0].rollback_health.as_ref().map(|h| h.healthy),
        Some(true),
        "{text}"
    );
    for (i, address) in addresses.iter().enumerate() {
        assert_eq!(get(address, 8080, "/").as_deref(), Ok("v2"), "{text}");
        assert_eq!(live(i), "green");
        assert_eq!(active(i, "gantry-web.blue.service"), "inactive", "{text}");
        assert_eq!(
            fleet.sh(i, "readlink /opt/gantry/web/current").trim(),
            "/opt/gantry/web/releases/v2"
        );
    }

    // A rollback by hand is a switch-over too: v1 starts in the blue slot, under load.
    let load = Load::start(&addresses, 8080, 2, Duration::from_millis(5));
    let back = rollback(fleet.dir(), "web", "production", None).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let seen = load.stop();
    let text = gantry_deploy::render(&back);
    assert_eq!(back.outcome, Outcome::Succeeded, "{text}");
    assert_no_failures("rollback v2 -> v1", &seen);
    for (i, address) in addresses.iter().enumerate() {
        assert_eq!(get(address, 8080, "/").as_deref(), Ok("v1"), "{text}");
        assert_eq!(live(i), "blue");
    }
}
