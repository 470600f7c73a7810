//! The fleet a test deploys to: container hosts started in parallel, an SSH key they
//! accept, a known_hosts file with their keys, artifacts (good and bad releases of the
//! test service) and a workspace directory whose `gantry.yml` names them all.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use gantry_deploy::{DeployError, DeploymentReport, Options};
use gantry_testhost::ContainerHost;

pub const PORT: u16 = 8080;

pub struct Fleet {
    pub hosts: Vec<ContainerHost>,
    pub ws: tempfile::TempDir,
}

impl Fleet {
    pub fn dir(&self) -> &Path {
        self.ws.path()
    }

    /// Runs `script` on host `i` (through docker, not Gantry) and returns its stdout.
    pub fn sh(&self, i: usize, script: &str) -> String {
        self.hosts[i].exec_ok(script).unwrap()
    }

    /// The body of `GET path` on host `i`'s service.
    pub fn get(&self, i: usize, path: &str) -> Option<String> {
        http_get(&self.hosts[i].addr().to_string(), path)
    }
}

/// Starts `n` hosts named `<prefix>1…` (in the group `fleet`) and writes the workspace:
/// `environments` and `services` are the YAML of those sections.
pub fn fleet(prefix: &str, n: usize, environments: &str, services: &str) -> Fleet {
    fleet_of(prefix, n, environments, services, false)
}

/// Like [`fleet`], with hosts whose docker CLI drives this machine's Docker Engine
/// (`ContainerHost::start_with_docker`). Each host has the vars `network`
/// (`container:<its container id>`: a container joining it answers on its address)
/// and `instance` (its name: the hosts share one engine, where container names must
/// differ).
pub fn docker_fleet(prefix: &str, n: usize, environments: &str, services: &str) -> Fleet {
    fleet_of(prefix, n, environments, services, true)
}

fn fleet_of(prefix: &str, n: usize, environments: &str, services: &str, docker: bool) -> Fleet {
    if let Err(why) = gantry_testhost::containers_available() {
        panic!("container hosts cannot run here: {why}");
    }
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let key = dir.join("keys/id");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let public = std::fs::read_to_string(dir.join("keys/id.pub")).unwrap();
    let names: Vec<String> = (1..=n).map(|i| format!("{prefix}{i}")).collect();
    let hosts: Vec<ContainerHost> = std::thread::scope(|s| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                s.spawn(|| {
                    if docker {
                        ContainerHost::start_with_docker(name, &public)
                    } else {
                        ContainerHost::start(name, &public)
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect()
    });
    let known: String = hosts.iter().map(|h| h.known_hosts_line() + "\n").collect();
    std::fs::write(dir.join("keys/known_hosts"), known).unwrap();

    let app = PathBuf::from(env!("CARGO_BIN_EXE_gantry-deploy-testservice"));
    for (name, unhealthy) in [("good", None), ("bad", Some(String::new()))] {
        let release = dir.join("artifacts").join(name);
        std::fs::create_dir_all(&release).unwrap();
        std::fs::copy(&app, release.join("app")).unwrap();
        if let Some(text) = unhealthy {
            std::fs::write(release.join("unhealthy"), text).unwrap();
        }
    }

    let mut yml = String::from("hosts:\n");
    for h in &hosts {
        let vars = if docker {
            format!(
                ", vars: {{ network: \"container:{}\", instance: {} }}",
                h.id(),
                h.name()
            )
        } else {
            String::new()
        };
        yml.push_str(&format!(
            "  {}: {{ address: {}, user: root, ssh_key: keys/id, known_hosts: keys/known_hosts, groups: [fleet]{vars} }}\n",
            h.name(),
            h.addr()
        ));
    }
    yml.push_str("environments:\n");
    yml.push_str(environments);
    yml.push_str("services:\n");
    yml.push_str(services);
    std::fs::write(dir.join("gantry.yml"), yml).unwrap();
    Fleet { hosts, ws }
}

/// A bad release unhealthy only on the hosts named in `hosts`.
pub fn bad_on(fleet: &Fleet, name: &str, hosts: &[&str]) -> PathBuf {
    let release = fleet.dir().join("artifacts").join(name);
    std::fs::create_dir_all(&release).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_gantry-deploy-testservice"),
        release.join("app"),
    )
    .unwrap();
    std::fs::write(release.join("unhealthy"), hosts.join("\n")).unwrap();
    release
}

/// Options for tests: quick lock polls.
pub fn options(lock_timeout: Duration) -> Options {
    Options {
        lock_timeout,
        lock_poll: Duration::from_millis(300),
        ..Options::default()
    }
}

/// The secrets the service's env reads, resolved as `gantry deploy` resolves them
/// (files relative to the workspace, this process's environment).
pub fn with_secrets(
    loaded: &gantry_workspace::Loaded,
    resolved: &gantry_deploy::Resolved<'_>,
    options: &Options,
) -> Options {
    let secrets = loaded
        .workspace
        .inventory
        .resolve_named_secrets(
            &loaded.workspace.file,
            &resolved.secrets_used(),
            |name| std::env::var(name).ok(),
            |path| std::fs::read_to_string(path),
        )
        .unwrap_or_else(|diags| panic!("{}", loaded.render(&diags, false)));
    Options {
        secrets,
        ..options.clone()
    }
}

/// A deploy as `gantry deploy` makes it: the workspace loaded from its directory, the
/// secrets its service reads resolved.
pub fn deploy(
    dir: &Path,
    service: &str,
    env: &str,
    version: &str,
    artifact: Option<&Path>,
    options: &Options,
) -> (Result<DeploymentReport, DeployError>, Vec<String>) {
    let loaded = load(dir);
    let resolved = gantry_deploy::resolve(&loaded.workspace, &loaded.dir, service, env).unwrap();
    let lines = Mutex::new(Vec::new());
    let progress = |line: &str| {
        eprintln!("[{env}] {line}");
        lines.lock().unwrap().push(line.to_string());
    };
    let options = with_secrets(&loaded, &resolved, options);
    let result = gantry_deploy::deploy(&resolved, version, artifact, &options, &progress);
    (result, lines.into_inner().unwrap())
}

pub fn rollback(
    dir: &Path,
    service: &str,
    env: &str,
    to: Option<&str>,
) -> Result<DeploymentReport, DeployError> {
    let loaded = load(dir);
    let resolved = gantry_deploy::resolve(&loaded.workspace, &loaded.dir, service, env).unwrap();
    let progress = |line: &str| eprintln!("[{env}] {line}");
    let options = with_secrets(&loaded, &resolved, &options(Duration::from_secs(60)));
    gantry_deploy::rollback(&resolved, to, &options, &progress)
}

pub fn load(dir: &Path) -> gantry_workspace::Loaded {
    match gantry_workspace::load(dir) {
        Ok(l) => l,
        Err(gantry_workspace::LoadError::Invalid(invalid)) => panic!("{}", invalid.render(false)),
        Err(e) => panic!("{e}"),
    }
}

/// The body of a GET, or `None` when the service does not answer with 200.
pub fn http_get(address: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(
        &format!("{address}:{PORT}").parse().ok()?,
        Duration::from_secs(2),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.trim().to_string())
}

/// Asserts what host `i` runs: `current` → releases/<version>, the unit active, and
/// the service answering its version.
pub fn assert_runs(fleet: &Fleet, i: usize, service: &str, version: &str) {
    let name = fleet.hosts[i].name();
    let current = fleet.sh(i, &format!("readlink /opt/gantry/{service}/current"));
    assert_eq!(
        current.trim(),
        format!("/opt/gantry/{service}/releases/{version}"),
        "{name}: current"
    );
    let active = fleet.hosts[i]
        .exec(&format!("systemctl is-active gantry-{service}.service"))
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&active.stdout).trim(),
        "active",
        "{name}: unit"
    );
    assert_eq!(
        fleet.get(i, "/").as_deref(),
        Some(version),
        "{name}: GET / answers the version"
    );
}

/// A bounded load generator: `threads` threads per address, each sending `GET /` over a
/// new connection every `pace` until stopped (or `MAX_REQUESTS` in all), counting the
/// answers that are not a 200 and the versions that answered.
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handles: Vec<std::thread::JoinHandle<LoadResult>>,
}

/// What a load run saw.
#[derive(Debug, Default)]
pub struct LoadResult {
    pub ok: usize,
    pub failed: usize,
    /// The first few failures, for the assertion message.
    pub errors: Vec<String>,
    pub versions: std::collections::BTreeMap<String, usize>,
}

const MAX_REQUESTS: usize = 200_000;

impl Load {
    pub fn start(addresses: &[String], port: u16, threads: usize, pace: Duration) -> Load {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let sent = std::sync::Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for address in addresses {
            for _ in 0..threads {
                let (stop, sent, address) = (stop.clone(), sent.clone(), address.clone());
                handles.push(std::thread::spawn(move || {
                    let mut r = LoadResult::default();
                    while !stop.load(Ordering::Relaxed)
                        && sent.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS
                    {
                        match get(&address, port, "/") {
                            Ok(version) => {
                                r.ok += 1;
                                *r.versions.entry(version).or_default() += 1;
                            }
                            Err(e) => {
                                r.failed += 1;
                                if r.errors.len() < 5 {
                                    r.errors.push(format!("{address}: {e}"));
                                }
                            }
                        }
                        std::thread::sleep(pace);
                    }
                    r
                }));
            }
        }
        Load { stop, handles }
    }

    pub fn stop(self) -> LoadResult {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut all = LoadResult::default();
        for h in self.handles {
            let r = h.join().unwrap();
            all.ok += r.ok;
            all.failed += r.failed;
            all.errors.extend(r.errors);
            for (v, n) in r.versions {
                *all.versions.entry(v).or_default() += n;
            }
        }
        all
    }
}

/// `GET path` on `address:port`: the body of a 200, else why not.
pub fn get(address: &str, port: u16, path: &str) -> Result<String, String> {
    let addr = format!("{address}:{port}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("send: {e}"))?;
    let mut text = String::new();
    s.read_to_string(&mut text)
        .map_err(|e| format!("read: {e}"))?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no complete answer: {text:?}"))?;
    let status = head.lines().next().unwrap_or_default();
    if status.starts_with("HTTP/1.1 200") {
        Ok(body.trim().to_string())
    } else {
        Err(status.to_string())
    }
}
