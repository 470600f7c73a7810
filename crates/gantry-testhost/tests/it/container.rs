//! Container hosts: two Debian machines with systemd running, reachable over SSH with the
//! test's key and strict host key checking, each with its own file system; a killed host
//! stops answering; dropping removes the container.

use std::process::Command;

use gantry_testhost::ContainerHost;

use crate::sshd::{keygen, ssh};

#[test]
fn container_hosts_boot_systemd_and_let_the_key_in_over_ssh() {
    if let Err(why) = gantry_testhost::containers_available() {
        panic!("container hosts cannot run here: {why}");
    }
    let keys = tempfile::tempdir().unwrap();
    let key = keygen(keys.path(), "client");
    let public = std::fs::read_to_string(format!("{key}.pub")).unwrap();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| ContainerHost::start("box-a", &public).unwrap());
        let b = s.spawn(|| ContainerHost::start("box-b", &public).unwrap());
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ne!(a.addr(), b.addr());
    assert_ne!(
        a.host_public_key(),
        b.host_public_key(),
        "fresh host keys per host"
    );
    let known_hosts = keys.path().join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!("{}\n{}\n", a.known_hosts_line(), b.known_hosts_line()),
    )
    .unwrap();

    let script = "hostname; ps -p 1 -o comm=; systemctl is-system-running --wait; touch /root/mine";
    let out = ssh(&key, &known_hosts, a.addr(), script)
        .wait_with_output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[..2], ["box-a", "systemd"], "{stdout}");
    assert!(
        matches!(lines[2], "running" | "degraded"),
        "systemd state: {stdout}"
    );
    // Each host has its own file system.
    assert!(a.exec("test -f /root/mine").unwrap().status.success());
    assert!(!b.exec("test -f /root/mine").unwrap().status.success());

    let stranger = keygen(keys.path(), "stranger");
    let refused = ssh(&stranger, &known_hosts, b.addr(), "true")
        .wait_with_output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(255), "{refused:?}");

    let id = b.id().to_owned();
    b.kill().unwrap();
    let dead = ssh(&key, &known_hosts, b.addr(), "true")
        .wait_with_output()
        .unwrap();
    assert_eq!(dead.status.code(), Some(255), "{dead:?}");
    drop(b);
    let gone = Command::new("docker")
        .args(["inspect", &id])
        .output()
        .unwrap();
    assert!(!gone.status.success(), "dropped container still exists");
}
