//! An sshd on each of two hosts: root logs in with the test's key (strict host key
//! checking against the server's own host key) and lands on the right host; other keys are
//! refused.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::support::lab;

#[test]
fn ssh_reaches_each_host_with_the_authorized_key_only() {
    if let Err(why) = gantry_testhost::sshd_available() {
        panic!("sshd tests cannot run here: {why}");
    }
    let lab = lab();
    let keys = tempfile::tempdir().unwrap();
    let key = keygen(keys.path(), "client");
    let stranger = keygen(keys.path(), "stranger");
    let public = std::fs::read_to_string(format!("{key}.pub")).unwrap();

    let a = lab.host("ssh-a").unwrap();
    let b = lab.host("ssh-b").unwrap();
    let sshd_a = a.start_sshd(&public).unwrap();
    let sshd_b = b.start_sshd(&public).unwrap();
    let known_hosts = keys.path().join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!(
            "{}\n{}\n",
            sshd_a.known_hosts_line(),
            sshd_b.known_hosts_line()
        ),
    )
    .unwrap();

    // Each login takes most of a second (key exchange), so all three run at once.
    let targets = [(&a, &sshd_a, &b), (&b, &sshd_b, &a)];
    let logins: Vec<Child> = targets
        .iter()
        .map(|(host, ..)| ssh(&key, &known_hosts, host.addr(), "hostname -I; whoami"))
        .collect();
    let refused = ssh(&stranger, &known_hosts, a.addr(), "true");

    for ((host, sshd, other), login) in targets.into_iter().zip(logins) {
        assert_eq!(sshd.addr().ip(), host.addr());
        let out = login.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "ssh failed: {out:?}\nsshd log:\n{}",
            sshd.log()
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let addresses: Vec<&str> = stdout.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(addresses, [host.addr().to_string()], "{stdout}");
        assert!(!stdout.contains(&other.addr().to_string()));
        assert_eq!(stdout.lines().nth(1), Some("root"));
    }
    let refused = refused.wait_with_output().unwrap();
    assert_eq!(refused.status.code(), Some(255), "{refused:?}");
}

/// A passwordless ed25519 key pair; returns the private key's path.
pub(crate) fn keygen(dir: &Path, name: &str) -> String {
    let path = dir.join(name).to_string_lossy().into_owned();
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f", &path])
        .status()
        .unwrap();
    assert!(status.success());
    path
}

/// Starts `ssh root@addr remote` with only the given key and known hosts file.
pub(crate) fn ssh(
    key: &str,
    known_hosts: &Path,
    addr: impl std::fmt::Display,
    remote: &str,
) -> Child {
    Command::new("ssh")
        .args(["-F", "/dev/null", "-i", key])
        .args(["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"])
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=5"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .arg(format!("root@{addr}"))
        .arg(remote)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}
