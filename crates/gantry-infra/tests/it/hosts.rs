//! Plan and apply against real OpenSSH servers on two test hosts (own addresses, own
//! sshd, strict host keys from a known_hosts file) plus the `local` host: changes
//! planned, applied, a second plan clean, drift made by hand detected with a diff,
//! handlers run once, and an unreachable host reported while the others complete.
//! The hosts share this machine's file system, so each host's paths are under its own
//! directory.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gantry_infra::{
    Declarations, HandlerStatus, HostStatus, Mode, Options, ResourceStatus, RunReport, SavedPlan,
};
use gantry_testhost::Lab;
use gantry_workspace::Loaded;

struct Setup {
    _lab: Lab,
    hosts: Vec<gantry_testhost::TestHost>,
    _sshds: Vec<gantry_testhost::Sshd>,
    ws: tempfile::TempDir,
}

fn lab() -> Lab {
    if let Err(why) = gantry_testhost::available() {
        panic!("test hosts are unavailable (they need root): {why}");
    }
    if let Err(why) = gantry_testhost::sshd_available() {
        panic!("OpenSSH server is unavailable: {why}");
    }
    Lab::new().unwrap()
}

/// The resources of one host, under `root`.
fn play(host: &str, root: &Path) -> String {
    let r = root.display();
    format!(
        r#"- hosts: [{host}]
  resources:
    - directory: {{ path: {r}/etc, mode: "0755" }}
    - file: {{ path: {r}/etc/app.conf, content: "port = 80\nworkers = 4\n", mode: "0640" }}
      requires: [directory {r}/etc]
      notify: [reload]
    - file: {{ path: {r}/etc/motd, source: files/motd }}
      requires: [directory {r}/etc]
      notify: [reload]
    - symlink: {{ path: {r}/current, target: {r}/etc }}
    - line: {{ path: {r}/etc/hosts.allow, line: "ALL: 10.0.0.0/8", regexp: "^ALL:" }}
      requires: [directory {r}/etc]
    - command: {{ run: "echo built > {r}/built", creates: {r}/built }}
  handlers:
    reload: {{ run: "echo reloaded >> {r}/reloads" }}
"#
    )
}

fn setup() -> Setup {
    let lab = lab();
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    fs::create_dir_all(dir.join("keys")).unwrap();
    fs::create_dir_all(dir.join("infra")).unwrap();
    fs::create_dir_all(dir.join("files")).unwrap();
    let key = dir.join("keys/id");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let public = fs::read_to_string(dir.join("keys/id.pub")).unwrap();

    let mut hosts = Vec::new();
    let mut sshds = Vec::new();
    let mut known_hosts = String::new();
    let mut inventory = String::from("hosts:\n");
    let mut infra = String::new();
    for name in ["web1", "web2"] {
        let host = lab.host(name).unwrap();
        let sshd = host.start_sshd(&public).unwrap();
        known_hosts.push_str(&format!("{}\n", sshd.known_hosts_line()));
        inventory.push_str(&format!(
            "  {name}: {{ address: {}, user: root, ssh_key: keys/id, known_hosts: keys/known_hosts, groups: [web] }}\n",
            sshd.addr().ip()
        ));
        infra.push_str(&play(name, &dir.join("root").join(name)));
        hosts.push(host);
        sshds.push(sshd);
    }
    infra.push_str(&play("local", &dir.join("root/local")));
    for name in ["web1", "web2", "local"] {
        fs::create_dir_all(dir.join("root").join(name)).unwrap();
    }
    inventory.push_str("groups:\n  web: { vars: { port: 80 } }\n");
    fs::write(dir.join("keys/known_hosts"), known_hosts).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(dir.join("gantry.yml"), inventory).unwrap();
    fs::write(dir.join("infra/app.yml"), infra).unwrap();
    fs::write(dir.join("files/motd"), "welcome\n").unwrap();
    Setup {
        _lab: lab,
        hosts,
        _sshds: sshds,
        ws,
    }
}

fn load(dir: &Path) -> (Loaded, Declarations) {
    let loaded = gantry_workspace::load(dir).unwrap();
    let declarations = match gantry_infra::load(&loaded.dir, &loaded.workspace.inventory) {
        Ok(d) => d,
        Err(invalid) => panic!("{}", invalid.render(false)),
    };
    (loaded, declarations)
}

fn run(dir: &Path, mode: Mode) -> RunReport {
    run_saved(dir, mode, None)
}

/// `apply --plan`: the run refuses hosts that no longer match `saved`.
fn run_saved(dir: &Path, mode: Mode, saved: Option<SavedPlan>) -> RunReport {
    let (loaded, declarations) = load(dir);
    let inventory = &loaded.workspace.inventory;
    let hosts = gantry_infra::select_hosts(inventory, &declarations, &[]).unwrap();
    let secrets = inventory
        .resolve_secrets("gantry.yml", |_| None, |p| fs::read_to_string(p))
        .unwrap();
    let options = Options {
        parallelism: 8,
        connect_timeout: Duration::from_secs(3),
        secrets,
        saved,

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

fn root(setup: &Setup, host: &str) -> PathBuf {
    setup.ws.path().join("root").join(host)
}

fn lines(path: &Path) -> usize {
    fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

#[test]
fn plan_apply_replan_drift_and_an_unreachable_host() {
    let setup = setup();
    let dir = setup.ws.path();

    // 1. Everything is to be created: 6 resources on each of 3 hosts.
    let plan = run(dir, Mode::Plan);
    assert_eq!(plan.exit_code(), 2);
    let names: Vec<&str> = plan.hosts.iter().map(|h| h.host.as_str()).collect();
    assert_eq!(names, ["web1", "web2", "local"]);
    assert_eq!(plan.summary.changed, 18, "{:?}", plan.summary);
    assert_eq!(plan.summary.unchanged, 0);
    for host in &plan.hosts {
        assert_eq!(host.status, HostStatus::Ok, "{host:?}");
        assert!(host.facts.get("arch").is_some_and(|a| !a.is_empty()));
        assert!(host.facts.get("os_id").is_some());
        assert!(host.facts.get("cpus").is_some());
        let names: Vec<&str> = host.handlers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["reload"], "the handler would run once");
        assert_eq!(host.handlers[0].status, HandlerStatus::WouldRun);
    }
    // Planning changed nothing.
    assert!(!root(&setup, "web1").join("etc").exists());

    // 2. Apply: every resource applied, the handler run once for two notifications.
    let applied = run(dir, Mode::Apply);
    assert_eq!(applied.exit_code(), 0);
    assert_eq!(applied.summary.changed, 18);
    for name in ["web1", "web2", "local"] {
        let r = root(&setup, name);
        let host = applied.host(name).unwrap();
        assert!(
            host.resources
                .iter()
                .all(|r| r.status == ResourceStatus::Applied),
            "{host:?}"
        );
        assert_eq!(host.handlers.len(), 1);
        assert_eq!(host.handlers[0].status, HandlerStatus::Ran);
        assert_eq!(lines(&r.join("reloads")), 1, "handler ran once on {name}");
        let conf = r.join("etc/app.conf");
        assert_eq!(
            fs::read_to_string(&conf).unwrap(),
            "port = 80\nworkers = 4\n"
        );
        assert_eq!(
            fs::metadata(&conf).unwrap().permissions().mode() & 0o7777,
            0o640
        );
        assert_eq!(fs::read_to_string(r.join("etc/motd")).unwrap(), "welcome\n");
        assert_eq!(fs::read_link(r.join("current")).unwrap(), r.join("etc"));
        assert_eq!(
            fs::read_to_string(r.join("etc/hosts.allow")).unwrap(),
            "ALL: 10.0.0.0/8\n"
        );
        assert_eq!(fs::read_to_string(r.join("built")).unwrap(), "built\n");
        // No temporary files left behind by the atomic writes.
        let leftovers: Vec<_> = fs::read_dir(r.join("etc"))
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".gantry"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    // 3. A second plan finds nothing to do, and a second apply changes nothing.
    let replan = run(dir, Mode::Plan);
    assert_eq!(replan.exit_code(), 0, "{:?}", replan.summary);
    assert_eq!(replan.summary.unchanged, 18);
    assert!(replan.hosts.iter().all(|h| h.handlers.is_empty()));
    let reapply = run(dir, Mode::Apply);
    assert_eq!((reapply.exit_code(), reapply.summary.changed), (0, 0));
    assert_eq!(lines(&root(&setup, "web1").join("reloads")), 1);

    // 4. Drift made by hand on web1: content, mode and a line regexp match.
    let r1 = root(&setup, "web1");
    let conf = r1.join("etc/app.conf");
    fs::write(&conf, "port = 8080\nworkers = 4\n").unwrap();
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(r1.join("etc/hosts.allow"), "ALL: 0.0.0.0/0\nsshd: ALL\n").unwrap();
    let drift = run(dir, Mode::Plan);
    assert_eq!(drift.exit_code(), 2);
    assert_eq!(drift.summary.changed, 2, "{:?}", drift.summary);
    let web1 = drift.host("web1").unwrap();
    let conf_id = format!("file {}", conf.display());
    let res = web1.resource(&conf_id).unwrap();
    assert_eq!(res.status, ResourceStatus::Change);
    let diff = res.changes[0].diff.as_deref().unwrap();
    assert!(
        diff.contains("-port = 8080\n") && diff.contains("+port = 80\n"),
        "{diff}"
    );
    assert_eq!(res.changes[1].field, "mode");
    assert_eq!(res.changes[1].from.as_deref(), Some("0644"));
    let text = gantry_infra::render(&drift, false);
    assert!(text.contains("-port = 8080"), "{text}");
    assert!(text.contains("2 to change, 16 unchanged"), "{text}");
    assert!(
        drift
            .host("web2")
            .unwrap()
            .resources
            .iter()
            .all(|r| r.status == ResourceStatus::Unchanged)
    );

    let fixed = run(dir, Mode::Apply);
    assert_eq!(fixed.exit_code(), 0);
    assert_eq!(
        fs::read_to_string(&conf).unwrap(),
        "port = 80\nworkers = 4\n"
    );
    assert_eq!(
        fs::read_to_string(r1.join("etc/hosts.allow")).unwrap(),
        "ALL: 10.0.0.0/8\nsshd: ALL\n"
    );
    assert_eq!(lines(&r1.join("reloads")), 2, "the handler ran again, once");
    assert_eq!(lines(&root(&setup, "web2").join("reloads")), 1);

    // 5. web2 is cut off the network; web1 and local still complete.
    fs::write(r1.join("etc/motd"), "changed by hand\n").unwrap();
    fs::write(root(&setup, "web2").join("etc/motd"), "changed by hand\n").unwrap();
    setup.hosts[1].cut().unwrap();
    let partial = run(dir, Mode::Apply);
    assert_eq!(partial.exit_code(), 1);
    assert_eq!(partial.summary.hosts_unreachable, 1);
    let web2 = partial.host("web2").unwrap();
    assert_eq!(web2.status, HostStatus::Unreachable);
    assert!(
        web2.error.as_deref().unwrap_or("").contains("unreachable"),
        "{web2:?}"
    );
    let web1 = partial.host("web1").unwrap();
    assert_eq!(web1.status, HostStatus::Ok);
    let motd_id = format!("file {}", r1.join("etc/motd").display());
    assert_eq!(
        web1.resource(&motd_id).unwrap().status,
        ResourceStatus::Applied
    );
    assert_eq!(
        fs::read_to_string(r1.join("etc/motd")).unwrap(),
        "welcome\n"
    );
    assert_eq!(
        fs::read_to_string(root(&setup, "web2").join("etc/motd")).unwrap(),
        "changed by hand\n",
        "nothing was applied to the unreachable host"
    );
    let text = gantry_infra::render(&partial, false);
    assert!(text.contains("1 host unreachable"), "{text}");
    setup.hosts[1].restore().unwrap();
}

#[test]
fn a_wrong_key_is_an_authentication_failure_of_that_host_only() {
    let lab = lab();
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    fs::create_dir_all(dir.join("infra")).unwrap();
    for key in ["right", "wrong"] {
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.join(key))
            .status()
            .unwrap();
        assert!(status.success());
    }
    let host = lab.host("locked").unwrap();
    let sshd = host
        .start_sshd(&fs::read_to_string(dir.join("right.pub")).unwrap())
        .unwrap();
    fs::write(
        dir.join("known_hosts"),
        format!("{}\n", sshd.known_hosts_line()),
    )
    .unwrap();
    fs::write(
        dir.join("gantry.yml"),
        format!(
            "hosts:\n  locked: {{ address: {}, user: root, ssh_key: wrong, known_hosts: known_hosts }}\n",
            sshd.addr().ip()
        ),
    )
    .unwrap();
    let target = dir.join("local-file");
    fs::write(
        dir.join("infra/all.yml"),
        format!(
            "- hosts: [locked, local]\n  resources:\n    - file: {{ path: {}, content: hi }}\n",
            target.display()
        ),
    )
    .unwrap();
    let report = run(dir, Mode::Apply);
    let locked = report.host("locked").unwrap();
    assert_eq!(locked.status, HostStatus::Failed);
    assert!(
        locked
            .error
            .as_deref()
            .unwrap_or("")
            .contains("authentication failed"),
        "{locked:?}"
    );
    assert_eq!(report.host("local").unwrap().status, HostStatus::Ok);
    assert_eq!(fs::read_to_string(&target).unwrap(), "hi");
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn a_bad_resource_file_is_reported_with_file_and_line() {
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    fs::create_dir_all(dir.join("infra")).unwrap();
    fs::write(
        dir.join("gantry.yml"),
        "hosts:\n  web1: { address: 10.0.0.1, groups: [web] }\n",
    )
    .unwrap();
    fs::write(
        dir.join("infra/good.yml"),
        "- hosts: [web]\n  resources:\n    - directory: { path: /srv }\n",
    )
    .unwrap();
    fs::write(
        dir.join("infra/bad.yml"),
        "- hosts: [wbe]\n  resources:\n    - file: { path: /etc/motd, source: files/missing }\n",
    )
    .unwrap();
    let loaded = gantry_workspace::load(dir).unwrap();
    let invalid = gantry_infra::load(&loaded.dir, &loaded.workspace.inventory).unwrap_err();
    let text = invalid.render(false);
    assert!(
        text.contains(
            "infra/bad.yml:1:11: error: 'wbe' is neither a host nor a group of the inventory"
        ),
        "{text}"
    );
    assert!(text.contains("did you mean 'web"), "{text}");
    assert!(
        text.contains("infra/bad.yml:3:7: error: cannot read 'source' file files/missing"),
        "{text}"
    );
}

/// A workspace with an ssh key and a known_hosts file for test hosts `names` (each with
/// its own sshd), their inventory lines under `hosts:` in `gantry.yml` written by the
/// caller from the returned text.
struct Hosts {
    _lab: Lab,
    _hosts: Vec<gantry_testhost::TestHost>,
    _sshds: Vec<gantry_testhost::Sshd>,
    ws: tempfile::TempDir,
    /// `  name: { address: …, user: root, ssh_key: …, known_hosts: … `, open for more keys.
    lines: Vec<String>,
}

fn hosts(names: &[&str]) -> Hosts {
    let lab = lab();
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    for sub in ["keys", "infra", "templates"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let key = dir.join("keys/id");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let public = fs::read_to_string(dir.join("keys/id.pub")).unwrap();
    let (mut hosts, mut sshds, mut lines) = (Vec::new(), Vec::new(), Vec::new());
    let mut known_hosts = String::new();
    for name in names {
        let host = lab.host(name).unwrap();
        let sshd = host.start_sshd(&public).unwrap();
        known_hosts.push_str(&format!("{}\n", sshd.known_hosts_line()));
        lines.push(format!(
            "  {name}: {{ address: {}, user: root, ssh_key: keys/id, known_hosts: keys/known_hosts",
            sshd.addr().ip()
        ));
        fs::create_dir_all(dir.join("root").join(name)).unwrap();
        hosts.push(host);
        sshds.push(sshd);
    }
    fs::write(dir.join("keys/known_hosts"), known_hosts).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    Hosts {
        _lab: lab,
        _hosts: hosts,
        _sshds: sshds,
        ws,
        lines,
    }
}

#[test]
fn templates_render_vars_facts_host_and_redacted_secrets_per_host() {
    let h = hosts(&["tpl1", "tpl2"]);
    let dir = h.ws.path();
    let r = |name: &str| dir.join("root").join(name);
    fs::write(
        dir.join("gantry.yml"),
        format!(
            "hosts:\n{}, groups: [app] }}\n{}, groups: [app], vars: {{ port: 8080 }} }}\ngroups:\n  app: {{ vars: {{ port: 80 }} }}\nsecrets:\n  db_password: {{ file: keys/db_password }}\n",
            h.lines[0], h.lines[1]
        ),
    )
    .unwrap();
    fs::write(dir.join("keys/db_password"), "hunter2-old-value\n").unwrap();
    fs::write(
        dir.join("templates/app.conf.j2"),
        "# {{ host.name }} at {{ host.address }} ({{ host.groups | join(',') }})\nport = {{ port }}\narch = {{ facts.arch }}\npassword = {{ secrets.db_password }}\n",
    )
    .unwrap();
    let mut infra = String::new();
    for name in ["tpl1", "tpl2"] {
        infra.push_str(&format!(
            "- hosts: [{name}]\n  resources:\n    - template: {{ path: {}/app.conf, source: templates/app.conf.j2, mode: \"0600\" }}\n",
            r(name).display()
        ));
    }
    // Line 7 of the file: a template with an undefined variable, on tpl1 only.
    infra.push_str(&format!(
        "- hosts: [tpl1]\n  resources:\n    - template: {{ path: {}/bad.conf, content: \"ok\\nx = {{{{ nope }}}}\\n\" }}\n",
        r("tpl1").display()
    ));
    fs::write(dir.join("infra/app.yml"), infra).unwrap();
    let arch = String::from_utf8(Command::new("uname").arg("-m").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string();

    // 1. The plan: both files to create, the secret masked; the bad template an error
    //    naming its resource and template line while the other hosts plan.
    let plan = run(dir, Mode::Plan);
    assert_eq!(plan.exit_code(), 1);
    let id = |name: &str| format!("template {}/app.conf", r(name).display());
    let res = plan.host("tpl2").unwrap().resource(&id("tpl2")).unwrap();
    assert_eq!((res.status, res.kind), (ResourceStatus::Change, "template"));
    let diff = res.changes[0].diff.as_deref().unwrap();
    assert!(diff.contains("+port = 8080\n"), "{diff}");
    assert!(diff.contains("+password = ***\n"), "{diff}");
    let bad = plan
        .host("tpl1")
        .unwrap()
        .resource(&format!("template {}/bad.conf", r("tpl1").display()))
        .unwrap();
    assert_eq!(bad.status, ResourceStatus::Failed);
    let message = bad.message.as_deref().unwrap();
    assert!(
        message.starts_with("infra/app.yml:9: cannot render its content, line 2: undefined"),
        "{message}"
    );
    let text = gantry_infra::render(&plan, false);
    let json = serde_json::to_string(&plan).unwrap();
    for out in [&text, &json, &format!("{plan:?}")] {
        assert!(!out.contains("hunter2"), "the secret leaked: {out}");
    }

    // 2. Apply writes the real value, rendered per host; the bad template fails alone.
    let applied = run(dir, Mode::Apply);
    assert_eq!(applied.summary.changed, 2, "{:?}", applied.summary);
    assert_eq!(
        fs::read_to_string(r("tpl1").join("app.conf")).unwrap(),
        format!(
            "# tpl1 at {} (app)\nport = 80\narch = {arch}\npassword = hunter2-old-value\n",
            h.lines[0]
                .split("address: ")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap()
        )
    );
    let conf2 = r("tpl2").join("app.conf");
    assert!(
        fs::read_to_string(&conf2)
            .unwrap()
            .contains("port = 8080\narch = ")
    );
    assert_eq!(
        fs::metadata(&conf2).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    assert!(!r("tpl1").join("bad.conf").exists());

    // 3. Nothing to do again for the templates.
    let replan = run(dir, Mode::Plan);
    assert_eq!(replan.summary.unchanged, 2, "{:?}", replan.summary);

    // 4. A changed secret: the diff shows the line changed, both values masked.
    fs::write(dir.join("keys/db_password"), "hunter2-new-value\n").unwrap();
    let changed = run(dir, Mode::Plan);
    let res = changed.host("tpl1").unwrap().resource(&id("tpl1")).unwrap();
    let diff = res.changes[0].diff.as_deref().unwrap();
    assert!(
        diff.contains("-password = ***\n") && diff.contains("+password = ***\n"),
        "{diff}"
    );
    let text = gantry_infra::render(&changed, false);
    let json = serde_json::to_string(&changed).unwrap();
    for out in [&text, &json, &format!("{changed:?}")] {
        assert!(!out.contains("hunter2"), "the secret leaked: {out}");
    }
    run(dir, Mode::Apply);
    assert!(
        fs::read_to_string(&conf2)
            .unwrap()
            .contains("password = hunter2-new-value\n")
    );
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn git_checkouts_follow_branches_and_tags_and_drift_is_found() {
    let h = hosts(&["git1"]);
    let dir = h.ws.path();
    let root = dir.join("root/git1");
    // A repository with a tag on its first commit, served as a bare repository.
    let work = dir.join("work");
    fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    let commit = |text: &str| {
        fs::write(work.join("VERSION"), text).unwrap();
        git(&work, &["add", "VERSION"]);
        git(&work, &["commit", "-q", "-m", text]);
        git(&work, &["rev-parse", "HEAD"])
    };
    let one = commit("one\n");
    git(&work, &["tag", "-a", "-m", "v1", "v1"]);
    let two = commit("two\n");
    let bare = dir.join("repo.git");
    git(
        dir,
        &[
            "clone",
            "-q",
            "--bare",
            &work.display().to_string(),
            "repo.git",
        ],
    );
    fs::write(
        dir.join("gantry.yml"),
        format!("hosts:\n{} }}\n", h.lines[0]),
    )
    .unwrap();
    fs::write(
        dir.join("infra/git.yml"),
        format!(
            "- hosts: [git1]\n  resources:\n    - git: {{ path: {r}/app, repo: {b}, ref: main }}\n    - git: {{ path: {r}/rel, repo: {b}, ref: v1 }}\n",
            r = root.display(),
            b = bare.display()
        ),
    )
    .unwrap();
    let version = |name: &str| fs::read_to_string(root.join(name).join("VERSION")).unwrap();
    let head = |name: &str| git(&root.join(name), &["rev-parse", "HEAD"]);

    let plan = run(dir, Mode::Plan);
    assert_eq!((plan.exit_code(), plan.summary.changed), (2, 2));
    let applied = run(dir, Mode::Apply);
    assert_eq!(applied.exit_code(), 0);
    assert_eq!(
        (version("app"), head("app")),
        ("two\n".to_string(), two.clone())
    );
    assert_eq!(
        (version("rel"), head("rel")),
        ("one\n".to_string(), one.clone())
    );
    let replan = run(dir, Mode::Plan);
    assert_eq!((replan.exit_code(), replan.summary.unchanged), (0, 2));

    // The branch moves: the plan shows the commits, the apply follows.
    let three = commit("three\n");
    git(&work, &["push", "-q", &bare.display().to_string(), "main"]);
    let moved = run(dir, Mode::Plan);
    assert_eq!(moved.summary.changed, 1);
    let id = format!("git {}/app", root.display());
    let change = &moved.host("git1").unwrap().resource(&id).unwrap().changes[0];
    assert_eq!(
        (change.from.as_deref(), change.to.as_deref()),
        (Some(two.as_str()), Some(three.as_str()))
    );
    run(dir, Mode::Apply);
    assert_eq!(version("app"), "three\n");

    // Drift by hand: another commit checked out is found and undone.
    git(&root.join("rel"), &["checkout", "-q", "--detach", &two]);
    let drift = run(dir, Mode::Plan);
    assert_eq!(drift.summary.changed, 1);
    run(dir, Mode::Apply);
    assert_eq!(head("rel"), one);

    // A saved plan is applied while the host matches it ...
    let push = || git(&work, &["push", "-q", &bare.display().to_string(), "main"]);
    commit("four\n");
    push();
    let saved = SavedPlan::from_report(&run(dir, Mode::Plan).hosts).unwrap();
    assert_eq!(saved.hosts[0].to_change, std::slice::from_ref(&id));
    let applied = run_saved(dir, Mode::Apply, Some(saved));
    assert_eq!(applied.exit_code(), 0);
    assert_eq!(version("app"), "four\n");
    // ... an unrelated branch moving does not make it stale ...
    git(&work, &["branch", "-q", "other"]);
    git(&work, &["push", "-q", &bare.display().to_string(), "other"]);
    commit("five\n");
    push();
    let saved = SavedPlan::from_report(&run(dir, Mode::Plan).hosts).unwrap();
    git(&work, &["commit", "-q", "--allow-empty", "-m", "x"]);
    git(
        &work,
        &[
            "push",
            "-q",
            "-f",
            &bare.display().to_string(),
            "HEAD:other",
        ],
    );
    assert_eq!(
        run_saved(dir, Mode::Plan, Some(saved.clone())).exit_code(),
        2
    );
    // ... and refused once what it was computed against changed: the branch moved.
    commit("six\n");
    push();
    let refused = run_saved(dir, Mode::Apply, Some(saved));
    assert_eq!(refused.exit_code(), 1);
    let host = refused.host("git1").unwrap();
    assert_eq!(host.status, HostStatus::Failed);
    let error = host.error.as_deref().unwrap();
    assert!(
        error.contains(&format!(
            "'{id}' (infra/git.yml:3) differs from when the plan was made"
        )),
        "{error}"
    );
    assert_eq!(
        host.resource(&id).unwrap().status,
        ResourceStatus::NotApplied
    );
    assert_eq!(version("app"), "four\n", "nothing applied");
}
