//! `user` and `group` against a real OpenSSH server on a test host: planned, applied,
//! a second plan clean, a shell changed by hand detected, `state: absent` removing both.
//! Test hosts share this machine's /etc/passwd, so the names carry a random suffix and a
//! guard removes them whatever happens.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use gantry_infra::{Mode, Options, ResourceStatus, RunReport};
use gantry_testhost::Lab;

/// Removes the test's user and group from this machine when dropped.
struct Accounts {
    user: String,
    group: String,
}

impl Drop for Accounts {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.user).output();
        let _ = Command::new("groupdel").arg(&self.group).output();
    }
}

fn suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{:08x}", nanos ^ std::process::id().rotate_left(16))
}

fn getent(db: &str, name: &str) -> Option<String> {
    let out = Command::new("getent").args([db, name]).output().unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn play(accounts: &Accounts, home: &Path, state: &str) -> String {
    let (u, g) = (&accounts.user, &accounts.group);
    let h = home.display();
    if state == "absent" {
        // The user first: a group cannot be removed while it is someone's primary group.
        return format!(
            "- hosts: [h1]\n  resources:\n    - user: {{ name: {u}, state: absent }}\n    - group: {{ name: {g}, state: absent }}\n"
        );
    }
    format!(
        "- hosts: [h1]\n  resources:\n    - group: {{ name: {g} }}\n    - user: {{ name: {u}, group: {g}, groups: [], home: {h}, shell: /bin/sh }}\n"
    )
}

fn run(dir: &Path, mode: Mode) -> RunReport {
    let loaded = gantry_workspace::load(dir).unwrap();
    let declarations = match gantry_infra::load(&loaded.dir, &loaded.workspace.inventory) {
        Ok(d) => d,
        Err(invalid) => panic!("{}", invalid.render(false)),
    };
    let inventory = &loaded.workspace.inventory;
    let hosts = gantry_infra::select_hosts(inventory, &declarations, &[]).unwrap();
    let options = Options {
        parallelism: 4,
        connect_timeout: Duration::from_secs(3),
        secrets: Default::default(),
        saved: None,

        ..Options::default()
    };
    let report = gantry_infra::run(
        mode,
        inventory,
        &declarations,
        &hosts,
        &loaded.dir,
        &options,
    );
    eprintln!("{}", gantry_infra::render(&report, false));
    report
}

#[test]
fn users_and_groups_plan_apply_drift_and_removal() {
    if let Err(why) = gantry_testhost::available() {
        panic!("test hosts are unavailable (they need root): {why}");
    }
    if let Err(why) = gantry_testhost::sshd_available() {
        panic!("OpenSSH server is unavailable: {why}");
    }
    let id = suffix();
    let accounts = Accounts {
        user: format!("gtest_{id}"),
        group: format!("gtestg_{id}"),
    };
    let lab = Lab::new().unwrap();
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    fs::create_dir_all(dir.join("keys")).unwrap();
    fs::create_dir_all(dir.join("infra")).unwrap();
    let key = dir.join("keys/id");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let public = fs::read_to_string(dir.join("keys/id.pub")).unwrap();
    let host = lab.host("h1").unwrap();
    let sshd = host.start_sshd(&public).unwrap();
    fs::write(
        dir.join("keys/known_hosts"),
        format!("{}\n", sshd.known_hosts_line()),
    )
    .unwrap();
    fs::write(
        dir.join("gantry.yml"),
        format!(
            "hosts:\n  h1: {{ address: {}, user: root, ssh_key: keys/id, known_hosts: keys/known_hosts }}\n",
            sshd.addr().ip()
        ),
    )
    .unwrap();
    let home = dir.join("home").join(&accounts.user);
    fs::create_dir_all(dir.join("home")).unwrap();
    let infra = dir.join("infra/accounts.yml");
    fs::write(&infra, play(&accounts, &home, "present")).unwrap();

    // 1. Both are to be created; planning creates nothing.
    let plan = run(dir, Mode::Plan);
    assert_eq!(plan.exit_code(), 2);
    assert_eq!(plan.summary.changed, 2, "{:?}", plan.summary);
    assert!(getent("passwd", &accounts.user).is_none());

    // 2. Apply creates the group, then the user in it with its home and shell.
    let applied = run(dir, Mode::Apply);
    assert_eq!(applied.exit_code(), 0);
    assert_eq!(applied.summary.changed, 2);
    let passwd = getent("passwd", &accounts.user).expect("the user exists");
    assert!(
        passwd.ends_with(&format!(":{}:/bin/sh", home.display())),
        "{passwd}"
    );
    let group = getent("group", &accounts.group).expect("the group exists");
    let gid = group.split(':').nth(2).unwrap();
    assert_eq!(passwd.split(':').nth(3), Some(gid), "{passwd} / {group}");
    assert!(home.is_dir(), "useradd -m made the home directory");

    // 3. Nothing left to do.
    let replan = run(dir, Mode::Plan);
    assert_eq!(replan.exit_code(), 0, "{:?}", replan.summary);
    assert_eq!(replan.summary.unchanged, 2);

    // 4. A shell changed by hand is drift, shown and converged back.
    let status = Command::new("usermod")
        .args(["-s", "/bin/bash", &accounts.user])
        .status()
        .unwrap();
    assert!(status.success());
    let drift = run(dir, Mode::Plan);
    assert_eq!(drift.exit_code(), 2);
    let res = drift
        .host("h1")
        .and_then(|h| h.resource(&format!("user {}", accounts.user)))
        .unwrap();
    assert_eq!(res.status, ResourceStatus::Change);
    assert_eq!(res.changes.len(), 1, "{:?}", res.changes);
    assert_eq!(res.changes[0].field, "shell");
    assert_eq!(res.changes[0].from.as_deref(), Some("/bin/bash"));
    assert_eq!(res.changes[0].to.as_deref(), Some("/bin/sh"));
    assert!(gantry_infra::render(&drift, false).contains("/bin/bash"));
    assert_eq!(run(dir, Mode::Apply).exit_code(), 0);
    assert!(
        getent("passwd", &accounts.user)
            .unwrap()
            .ends_with(":/bin/sh")
    );
    assert_eq!(run(dir, Mode::Plan).exit_code(), 0);

    // 5. `state: absent` removes both, and then there is nothing to do.
    fs::write(&infra, play(&accounts, &home, "absent")).unwrap();
    let remove = run(dir, Mode::Apply);
    assert_eq!(remove.exit_code(), 0);
    assert_eq!(remove.summary.changed, 2);
    assert!(getent("passwd", &accounts.user).is_none());
    assert!(getent("group", &accounts.group).is_none());
    assert_eq!(run(dir, Mode::Plan).exit_code(), 0);
}
