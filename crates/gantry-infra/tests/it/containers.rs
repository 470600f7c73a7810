//! `package`, `service` and `cron` against whole Debian machines: two container hosts
//! (systemd as PID 1, apt, cron, nginx; gantry-testhost's `ContainerHost`) per test,
//! reached over SSH with strict host keys like any host. Planned, applied, a second
//! apply changing nothing, drift made by hand detected; `sudo: true` for a login user. No
//! test host uses the network:
//! packages come from a local apt repository of .deb files built here.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gantry_infra::{HandlerStatus, Mode, Options, ResourceStatus, RunReport};
use gantry_testhost::ContainerHost;

/// A workspace whose inventory holds two container hosts, `c1` and `c2`.
struct Setup {
    hosts: Vec<ContainerHost>,
    ws: tempfile::TempDir,
}

impl Setup {
    fn new(prefix: &str) -> Setup {
        if let Err(why) = gantry_testhost::containers_available() {
            panic!("container hosts cannot run here: {why}");
        }
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
        let hosts: Vec<ContainerHost> = std::thread::scope(|s| {
            let started: Vec<_> = ["c1", "c2"]
                .iter()
                .map(|n| {
                    let name = format!("{prefix}-{n}");
                    let public = &public;
                    s.spawn(move || ContainerHost::start(&name, public).unwrap())
                })
                .collect();
            started.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut known_hosts = String::new();
        let mut inventory = String::from("hosts:\n");
        for (n, host) in ["c1", "c2"].iter().zip(&hosts) {
            known_hosts.push_str(&format!("{}\n", host.known_hosts_line()));
            inventory.push_str(&format!(
                "  {n}: {{ address: {}, user: root, ssh_key: keys/id, known_hosts: keys/known_hosts }}\n",
                host.addr()
            ));
        }
        fs::write(dir.join("keys/known_hosts"), known_hosts).unwrap();
        fs::write(dir.join("gantry.yml"), inventory).unwrap();
        Setup { hosts, ws }
    }

    fn dir(&self) -> &Path {
        self.ws.path()
    }

    fn infra(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir().join("infra").join(name);
        fs::write(&path, text).unwrap();
        path
    }

    /// Runs `script` on both hosts, returning their outputs.
    fn on_both(&self, script: &str) -> Vec<String> {
        self.hosts
            .iter()
            .map(|h| h.exec_ok(script).unwrap())
            .collect()
    }
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
        connect_timeout: Duration::from_secs(5),
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

/// Asserts a report's summary as (changed, unchanged, failed) and its exit code.
#[track_caller]
fn expect(report: &RunReport, code: u8, changed: usize, unchanged: usize) {
    let s = &report.summary;
    assert_eq!(
        (report.exit_code(), s.changed, s.unchanged),
        (code, changed, unchanged),
        "{s:?}\n{}",
        gantry_infra::render(report, true)
    );
}

/// The changes planned for one resource on one host, as `field: from → to`.
fn changes(report: &RunReport, host: &str, id: &str) -> Vec<String> {
    let r = report
        .host(host)
        .and_then(|h| h.resource(id))
        .unwrap_or_else(|| panic!("{id} on {host} in {report:?}"));
    r.changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                c.field,
                c.from.as_deref().unwrap_or(""),
                c.to.as_deref().unwrap_or("")
            )
        })
        .collect()
}

/// A tiny `.deb` built here: `/usr/share/<name>/version` holding its version.
fn deb(out: &Path, name: &str, version: &str) -> PathBuf {
    let root = out.join(format!("{name}-{version}"));
    fs::create_dir_all(root.join("DEBIAN")).unwrap();
    fs::create_dir_all(root.join("usr/share").join(name)).unwrap();
    fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: Gantry tests <tests@example.invalid>\nDescription: a package for Gantry's tests\n"
        ),
    )
    .unwrap();
    fs::write(root.join("usr/share").join(name).join("version"), version).unwrap();
    let file = out.join(format!("{name}_{version}_all.deb"));
    let built = Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group"])
        .arg(&root)
        .arg(&file)
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    file
}

/// Makes a local apt repository `/srv/<repo>` of `debs` on both hosts, in apt's sources
/// (without refreshing apt's lists: that is `apt-get update`'s or `update_cache`'s job).
fn publish(setup: &Setup, repo: &str, debs: &[&Path]) {
    setup.on_both(&format!("mkdir -p /srv/{repo}"));
    for host in &setup.hosts {
        for deb in debs {
            let name = deb.file_name().unwrap().to_string_lossy();
            host.copy_in(deb, &format!("/srv/{repo}/{name}")).unwrap();
        }
    }
    setup.on_both(&format!(
        "cd /srv/{repo} && apt-ftparchive packages . > Packages && apt-ftparchive release . > Release\n\
         echo 'deb [trusted=yes] file:/srv/{repo} ./' > /etc/apt/sources.list.d/gantry-{repo}.list"
    ));
}

fn installed(host: &ContainerHost) -> Option<String> {
    host.exec("cat /usr/share/gantry-hello/version")
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn packages_install_upgrade_remove_and_drift_from_a_local_repository() {
    let setup = Setup::new("pkg");
    let dir = setup.dir();
    let debs = tempfile::tempdir().unwrap();
    let hello_10 = deb(debs.path(), "gantry-hello", "1.0");
    let hello_11 = deb(debs.path(), "gantry-hello", "1.1");
    let extra = deb(debs.path(), "gantry-extra", "1.0");
    // Only the local repository: apt must never reach the network from a test host.
    setup.on_both("rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*");
    publish(&setup, "repo", &[&hello_10]);
    setup.on_both("apt-get update -q");

    // 1. Plan: install, and nothing installed by planning.
    setup.infra(
        "pkg.yml",
        "- hosts: [c1, c2]\n  resources:\n    - package: { name: gantry-hello }\n",
    );
    let plan = run(dir, Mode::Plan);
    expect(&plan, 2, 2, 0);
    assert_eq!(
        changes(&plan, "c1", "package gantry-hello"),
        ["gantry-hello: not installed → 1.0"]
    );
    assert!(setup.hosts.iter().all(|h| installed(h).is_none()));

    // 2. Apply installs on both hosts; 3. a second apply changes nothing.
    expect(&run(dir, Mode::Apply), 0, 2, 0);
    for host in &setup.hosts {
        assert_eq!(installed(host).as_deref(), Some("1.0"));
    }
    expect(&run(dir, Mode::Apply), 0, 0, 2);

    // 4. A newer version and a new package in a new repository, apt's lists not yet
    // refreshed. `latest` compares with the lists as they are (a plan never runs
    // apt-get update); `update_cache` refreshes them once in the apply, which installs
    // gantry-extra, and from then on the plan sees 1.1.
    publish(&setup, "repo2", &[&hello_11, &extra]);
    setup.infra(
        "pkg.yml",
        "- hosts: [c1, c2]\n  resources:\n    - package: { name: gantry-hello, state: latest }\n    - package: { name: gantry-extra, update_cache: true }\n",
    );
    let plan = run(dir, Mode::Plan);
    expect(&plan, 2, 2, 2);
    assert_eq!(
        changes(&plan, "c2", "package gantry-extra"),
        ["gantry-extra: not installed → latest available"]
    );
    expect(&run(dir, Mode::Apply), 0, 2, 2);
    let extra_installed = setup.on_both("cat /usr/share/gantry-extra/version");
    assert_eq!(extra_installed, ["1.0", "1.0"]);
    let plan = run(dir, Mode::Plan);
    expect(&plan, 2, 2, 2);
    assert_eq!(
        changes(&plan, "c1", "package gantry-hello"),
        ["gantry-hello: 1.0 → 1.1"]
    );
    expect(&run(dir, Mode::Apply), 0, 2, 2);
    for host in &setup.hosts {
        assert_eq!(installed(host).as_deref(), Some("1.1"));
    }
    expect(&run(dir, Mode::Apply), 0, 0, 4);

    // 5. `absent` removes both packages, in one apt-get remove.
    setup.infra(
        "pkg.yml",
        "- hosts: [c1, c2]\n  resources:\n    - package: { name: gantry-hello, state: absent }\n    - package: { names: [gantry-extra], state: absent }\n",
    );
    let plan = run(dir, Mode::Plan);
    assert_eq!(
        changes(&plan, "c1", "package gantry-hello"),
        ["gantry-hello: 1.1 → absent"]
    );
    expect(&run(dir, Mode::Apply), 0, 4, 0);
    for host in &setup.hosts {
        assert!(installed(host).is_none());
        assert!(!host.exec("dpkg -s gantry-extra").unwrap().status.success());
    }
    expect(&run(dir, Mode::Apply), 0, 0, 4);

    // 6. A pinned version (a downgrade from the candidate), then drift by hand on one
    // host: only that host plans a change.
    setup.infra(
        "pkg.yml",
        "- hosts: [c1, c2]\n  resources:\n    - package: { name: gantry-hello, version: \"1.0\" }\n",
    );
    expect(&run(dir, Mode::Apply), 0, 2, 0);
    for host in &setup.hosts {
        assert_eq!(installed(host).as_deref(), Some("1.0"));
    }
    expect(&run(dir, Mode::Plan), 0, 0, 2);
    setup.hosts[1].exec_ok("dpkg -r gantry-hello").unwrap();
    let drift = run(dir, Mode::Plan);
    expect(&drift, 2, 1, 1);
    assert_eq!(
        changes(&drift, "c2", "package gantry-hello"),
        ["gantry-hello: not installed → 1.0"]
    );
    assert_eq!(
        drift.host("c1").unwrap().resources[0].status,
        ResourceStatus::Unchanged
    );

    // 7. A host without apt or dnf: the resource fails there, saying why; the other
    // host is planned as usual.
    setup.hosts[1]
        .exec_ok("mv /usr/bin/apt-get /usr/bin/apt-get.off")
        .unwrap();
    let other = run(dir, Mode::Plan);
    setup.hosts[1]
        .exec_ok("mv /usr/bin/apt-get.off /usr/bin/apt-get")
        .unwrap();
    assert_eq!(other.exit_code(), 1);
    let failed = other
        .host("c2")
        .unwrap()
        .resource("package gantry-hello")
        .unwrap();
    assert_eq!(failed.status, ResourceStatus::Failed);
    assert_eq!(
        failed.message.as_deref(),
        Some("package resources support apt and dnf; this host's package manager is unknown")
    );
    assert_eq!(
        other.host("c1").unwrap().resources[0].status,
        ResourceStatus::Unchanged
    );
}

const UNIT: &str = "[Unit]\nDescription=Gantry test service\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=multi-user.target\n";

/// Counts nginx's starts: a drop-in adds a line to /root/nginx-starts at each start.
const COUNTER: &str = "[Service]\nExecStartPre=/bin/sh -c 'echo start >> /root/nginx-starts'\n";

fn services_file(listen: u16) -> String {
    format!(
        r#"- hosts: [c1, c2]
  resources:
    - file: {{ path: /etc/systemd/system/gantry-demo.service, content: {unit:?} }}
    - service: {{ name: gantry-demo, enabled: true, state: running }}
      requires: [file /etc/systemd/system/gantry-demo.service]
    - file: {{ path: /etc/systemd/system/nginx.service.d/count.conf, content: {counter:?} }}
      notify: [restart nginx]
    - file: {{ path: /etc/nginx/conf.d/gantry.conf, content: "server {{ listen {listen}; return 200 ok; }}\n" }}
      notify: [restart nginx]
    - service: {{ name: nginx, enabled: true, state: running }}
  handlers:
    restart nginx: {{ service: {{ name: nginx, state: restarted }} }}
"#,
        unit = UNIT,
        counter = COUNTER,
    )
}

fn nginx_pid(host: &ContainerHost) -> String {
    host.exec_ok("systemctl show -p MainPID --value nginx")
        .unwrap()
        .trim()
        .to_string()
}

fn starts(host: &ContainerHost) -> usize {
    host.exec_ok("cat /root/nginx-starts 2>/dev/null || true")
        .unwrap()
        .lines()
        .count()
}

#[test]
fn services_start_enable_reload_units_and_restart_once_through_a_handler() {
    let setup = Setup::new("svc");
    let dir = setup.dir();
    // The drop-in's directory exists: a `file` does not make parents.
    setup.on_both("mkdir -p /etc/systemd/system/nginx.service.d; systemctl is-active nginx");
    let pids: Vec<String> = setup.hosts.iter().map(nginx_pid).collect();
    setup.infra("svc.yml", &services_file(8081));

    // 1. Plan: the unit does not exist yet, so it is to be enabled and started; nginx
    // is running and enabled already, its handler would run once.
    let plan = run(dir, Mode::Plan);
    expect(&plan, 2, 8, 2);
    assert_eq!(
        changes(&plan, "c1", "service gantry-demo"),
        ["enabled: not found → enabled", "state: not found → running"]
    );
    for host in &plan.hosts {
        assert_eq!(host.handlers.len(), 1);
        assert_eq!(host.handlers[0].status, HandlerStatus::WouldRun);
    }
    assert!(
        setup.hosts[0]
            .exec("systemctl is-active gantry-demo")
            .map(|o| !o.status.success())
            .unwrap()
    );

    // 2. Apply: the unit file, then daemon-reload, enable and start; nginx restarted
    // once for two notifications, with the drop-in (reloaded first) in effect.
    let applied = run(dir, Mode::Apply);
    expect(&applied, 0, 8, 2);
    for (host, pid) in setup.hosts.iter().zip(&pids) {
        let state = host
            .exec_ok("systemctl is-active gantry-demo; systemctl is-enabled gantry-demo")
            .unwrap();
        assert_eq!(state, "active\nenabled\n");
        assert_ne!(&nginx_pid(host), pid, "nginx restarted");
        assert_eq!(starts(host), 1, "nginx restarted once");
        host.exec_ok("curl -sf http://127.0.0.1:8081/").unwrap();
    }
    for h in &applied.hosts {
        assert_eq!(h.handlers.len(), 1, "{h:?}");
        assert_eq!(h.handlers[0].status, HandlerStatus::Ran);
    }

    // 3. Nothing to do: no handler, no restart.
    let pids: Vec<String> = setup.hosts.iter().map(nginx_pid).collect();
    let again = run(dir, Mode::Apply);
    expect(&again, 0, 0, 10);
    assert!(again.hosts.iter().all(|h| h.handlers.is_empty()));
    for (host, pid) in setup.hosts.iter().zip(&pids) {
        assert_eq!(&nginx_pid(host), pid);
        assert_eq!(starts(host), 1);
    }

    // 4. Stopped by hand on one host: drift there only, converged back.
    setup.hosts[0]
        .exec_ok("systemctl stop gantry-demo")
        .unwrap();
    let drift = run(dir, Mode::Plan);
    expect(&drift, 2, 1, 9);
    assert_eq!(
        changes(&drift, "c1", "service gantry-demo"),
        ["state: inactive → running"]
    );
    expect(&run(dir, Mode::Apply), 0, 1, 9);
    assert_eq!(
        setup.hosts[0]
            .exec_ok("systemctl is-active gantry-demo")
            .unwrap(),
        "active\n"
    );

    // 5. The nginx config changes: restarted once more, serving the new port.
    setup.infra("svc.yml", &services_file(8082));
    let changed = run(dir, Mode::Apply);
    expect(&changed, 0, 2, 8);
    for (host, pid) in setup.hosts.iter().zip(&pids) {
        assert_ne!(&nginx_pid(host), pid);
        assert_eq!(starts(host), 2);
        host.exec_ok("curl -sf http://127.0.0.1:8082/").unwrap();
    }
}

#[test]
fn cron_entries_are_added_kept_and_removed_beside_hand_written_ones() {
    let setup = Setup::new("cron");
    let dir = setup.dir();
    let mine = "# written by hand\nMAILTO=\"\"\n17 * * * * /bin/true\n";
    setup.on_both(&format!("printf '%s' '{mine}' | crontab -u root -"));
    let declared = "- hosts: [c1, c2]\n  resources:\n    - cron: { name: hello, schedule: \"*/5 * * * *\", command: \"echo hi > /tmp/hi\", env: { GREETING: hi } }\n";
    setup.infra("cron.yml", declared);

    // 1. Plan: a diff adding the block after the hand-written lines; nothing written.
    let plan = run(dir, Mode::Plan);
    expect(&plan, 2, 2, 0);
    let r = plan.host("c1").unwrap().resource("cron hello").unwrap();
    let diff = r.changes[0].diff.as_deref().unwrap();
    assert!(
        diff.contains("+# gantry: hello\n+GREETING=hi\n+*/5 * * * * echo hi > /tmp/hi"),
        "{diff}"
    );
    assert!(diff.contains(" 17 * * * * /bin/true"), "{diff}");
    assert_eq!(
        setup.on_both("crontab -l -u root"),
        [mine, mine],
        "a plan changes nothing"
    );

    // 2. Apply adds it; the hand-written entry stays; 3. a second apply changes nothing.
    expect(&run(dir, Mode::Apply), 0, 2, 0);
    let want = format!("{mine}# gantry: hello\nGREETING=hi\n*/5 * * * * echo hi > /tmp/hi\n");
    assert_eq!(
        setup.on_both("crontab -l -u root"),
        [want.as_str(), want.as_str()]
    );
    expect(&run(dir, Mode::Apply), 0, 0, 2);

    // 4. A new schedule replaces the entry in place; an entry added by hand after it
    // stays where it is.
    setup.hosts[0]
        .exec_ok("(crontab -l -u root; echo '0 4 * * * /bin/later') | crontab -u root -")
        .unwrap();
    setup.infra("cron.yml", &declared.replace("*/5 * * * *", "0 6 * * 1"));
    let plan = run(dir, Mode::Plan);
    assert_eq!(
        changes(&plan, "c1", "cron hello"),
        ["entry: */5 * * * * echo hi > /tmp/hi → 0 6 * * 1 echo hi > /tmp/hi"]
    );
    expect(&run(dir, Mode::Apply), 0, 2, 0);
    assert_eq!(
        setup.hosts[0].exec_ok("crontab -l -u root").unwrap(),
        format!(
            "{mine}# gantry: hello\nGREETING=hi\n0 6 * * 1 echo hi > /tmp/hi\n0 4 * * * /bin/later\n"
        )
    );

    // 5. Absent removes only the block.
    setup.infra(
        "cron.yml",
        "- hosts: [c1, c2]\n  resources:\n    - cron: { name: hello, state: absent }\n",
    );
    expect(&run(dir, Mode::Apply), 0, 2, 0);
    assert_eq!(
        setup.on_both("crontab -l -u root"),
        [format!("{mine}0 4 * * * /bin/later\n"), mine.to_string()]
    );
    expect(&run(dir, Mode::Apply), 0, 0, 2);

    // 6. A bad schedule stops everything before any host is contacted, at its line.
    setup.infra(
        "cron.yml",
        "- hosts: [c1, c2]\n  resources:\n    - cron: { name: bad, schedule: \"0 25 * * *\", command: x }\n",
    );
    let loaded = gantry_workspace::load(dir).unwrap();
    let Err(invalid) = gantry_infra::load(&loaded.dir, &loaded.workspace.inventory) else {
        panic!("a bad schedule must not load");
    };
    let out = invalid.render(false);
    assert!(
        out.contains(
            "infra/cron.yml:3:36: error: invalid schedule '0 25 * * *' in a 'cron' resource"
        ),
        "{out}"
    );
}

#[test]
fn sudo_runs_the_scripts_as_root_for_a_login_user_and_a_refusal_is_reported() {
    let setup = Setup::new("sudo");
    let dir = setup.dir();
    // c1: `deploy` may sudo without a password; c2: `nosudo` is in no sudoers rule.
    let login = |user: &str| {
        format!(
            "useradd -m -s /bin/bash {user} && install -d -m 700 -o {user} -g {user} /home/{user}/.ssh \
             && install -m 600 -o {user} -g {user} /root/.ssh/authorized_keys /home/{user}/.ssh/"
        )
    };
    setup.hosts[0]
        .exec_ok(&format!(
            "{} && echo 'deploy ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/deploy && chmod 440 /etc/sudoers.d/deploy",
            login("deploy")
        ))
        .unwrap();
    setup.hosts[1].exec_ok(&login("nosudo")).unwrap();
    let inventory = |sudo: bool| {
        let mut text = String::from("hosts:\n");
        for (n, (host, user)) in ["c1", "c2"]
            .iter()
            .zip(setup.hosts.iter().zip(["deploy", "nosudo"]))
        {
            text.push_str(&format!(
                "  {n}: {{ address: {}, user: {user}, sudo: {sudo}, ssh_key: keys/id, known_hosts: keys/known_hosts }}\n",
                host.addr()
            ));
        }
        fs::write(dir.join("gantry.yml"), text).unwrap();
    };
    setup.infra(
        "root.yml",
        "- hosts: [c1, c2]\n  resources:\n    - file: { path: /etc/gantry-sudo, content: \"root only\\n\", mode: \"0600\", owner: root }\n",
    );

    // Without sudo the login user cannot write under /etc.
    inventory(false);
    let denied = run(dir, Mode::Apply);
    assert_eq!(denied.exit_code(), 1);
    let r = denied
        .host("c1")
        .unwrap()
        .resource("file /etc/gantry-sudo")
        .unwrap();
    assert_eq!(r.status, ResourceStatus::Failed, "{r:?}");

    // With sudo: c1 applies as root; c2's sudo wants a password, which is reported for
    // c2 alone, with sudo's own words.
    inventory(true);
    let applied = run(dir, Mode::Apply);
    let c1 = applied.host("c1").unwrap();
    assert_eq!(
        c1.resource("file /etc/gantry-sudo").unwrap().status,
        ResourceStatus::Applied,
        "{c1:?}"
    );
    assert_eq!(
        setup.hosts[0]
            .exec_ok("stat -c '%U %a' /etc/gantry-sudo && cat /etc/gantry-sudo")
            .unwrap(),
        "root 600\nroot only\n"
    );
    let c2 = applied.host("c2").unwrap();
    let error = c2.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("sudo: a password is required") && error.contains("NOPASSWD"),
        "{c2:?}"
    );
    assert!(c2.resources.is_empty(), "nothing ran on c2: {c2:?}");
    assert!(
        !setup.hosts[1]
            .exec("test -e /etc/gantry-sudo")
            .unwrap()
            .status
            .success()
    );
    // Facts come from the same root shell: a second apply on c1 changes nothing.
    let again = run(dir, Mode::Plan);
    let c1 = again.host("c1").unwrap();
    assert_eq!(
        c1.resource("file /etc/gantry-sudo").unwrap().status,
        ResourceStatus::Unchanged
    );
}
