//! The deploy benchmark (`bench/deploy.sh`): N container hosts (gantry-testhost: Debian,
//! systemd, sshd, nginx), a small HTTP service (gantry-deploy's test service), and the
//! same release deployed to all of them by `gantry-deploy` with `rolling` (batch 2) and
//! with `blue_green`, and by an Ansible playbook doing the same steps with `serial: 2`.
//! For each: the wall time of a deploy of a new version (RUNS of them, median), and the
//! requests that failed meanwhile (a bounded load: one thread per host, a new connection
//! per request, every PACE ms, against the port users reach: the service's own port for
//! rolling and Ansible, nginx's for blue-green). Then the time from an unhealthy release
//! answering its first request to the previous release answering all of them again
//! (`rolling`, health interval 1 s).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use gantry_deploy::{Options, Outcome};
use gantry_testhost::ContainerHost;

#[derive(Debug, Parser)]
#[command(about = "Deploy benchmark: gantry rolling and blue_green vs an Ansible playbook")]
struct Args {
    /// Container hosts to deploy to.
    #[arg(long, default_value_t = 10)]
    hosts: usize,
    /// Timed deploys per strategy (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The service binary (gantry-deploy-testservice).
    #[arg(long)]
    app: PathBuf,
    /// `ansible-playbook` to compare with (skipped when missing).
    #[arg(long)]
    ansible_playbook: Option<PathBuf>,
    /// Milliseconds between two requests of one load thread.
    #[arg(long, default_value_t = 20)]
    pace_ms: u64,
}

const ROLL_PORT: u16 = 8080;
const BG_PORT: u16 = 8180;
const ANSIBLE_PORT: u16 = 8280;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    gantry_testhost::containers_available().map_err(|e| anyhow::anyhow!(e))?;
    let dir = tempfile::tempdir()?;
    let ws = dir.path();
    std::fs::create_dir_all(ws.join("keys"))?;
    let key = ws.join("keys/id");
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()?
        .success();
    if !ok {
        bail!("ssh-keygen failed");
    }
    let public = std::fs::read_to_string(ws.join("keys/id.pub"))?;
    let t0 = Instant::now();
    let hosts: Vec<ContainerHost> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..=args.hosts)
            .map(|i| {
                let public = &public;
                s.spawn(move || ContainerHost::start(&format!("db{i}"), public))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a host thread panicked"))?
                    .context("starting a container host")
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    eprintln!(
        "{} container hosts up in {:.1}s",
        hosts.len(),
        t0.elapsed().as_secs_f64()
    );
    let known: String = hosts.iter().map(|h| h.known_hosts_line() + "\n").collect();
    std::fs::write(ws.join("keys/known_hosts"), known)?;
    for (name, bad) in [("good", false), ("bad", true)] {
        let release = ws.join("artifacts").join(name);
        std::fs::create_dir_all(&release)?;
        std::fs::copy(&args.app, release.join("app"))?;
        if bad {
            std::fs::write(release.join("unhealthy"), "")?;
        }
    }
    write_workspace(ws, &hosts)?;
    let addresses: Vec<String> = hosts.iter().map(|h| h.addr().to_string()).collect();
    let pace = Duration::from_millis(args.pace_ms);
    let mut table = Vec::new();

    for (service, port) in [("roll", ROLL_PORT), ("bg", BG_PORT)] {
        let (first, _) = gantry(ws, service, "v1", None)?;
        if first != Outcome::Succeeded {
            bail!("the first deploy of {service} did not succeed");
        }
        let mut times = Vec::new();
        let mut failed = 0;
        let mut sent = 0;
        for r in 0..args.runs {
            let load = Load::start(&addresses, port, pace);
            let started = Instant::now();
            let (outcome, _) = gantry(ws, service, &format!("v{}", r + 2), None)?;
            let took = started.elapsed();
            std::thread::sleep(Duration::from_millis(500));
            let seen = load.stop();
            if outcome != Outcome::Succeeded {
                bail!("deploy {} of {service} ended {outcome:?}", r + 2);
            }
            eprintln!(
                "{service} run {}: {:.2}s, {} of {} requests failed",
                r + 1,
                took.as_secs_f64(),
                seen.failed,
                seen.ok + seen.failed
            );
            times.push(took.as_secs_f64());
            failed += seen.failed;
            sent += seen.ok + seen.failed;
        }
        table.push((
            format!("gantry {service}"),
            median(&mut times),
            failed,
            sent,
        ));
    }

    if let Some(playbook) = &args.ansible_playbook {
        match ansible(ws, &hosts, playbook, &addresses, pace, args.runs) {
            Ok(row) => table.push(row),
            Err(e) => eprintln!("ansible skipped: {e:#}"),
        }
    }

    // An unhealthy release on `roll` (health interval 1 s, 3 retries): from its first
    // answer (or the first failed request, the restart) to the last one before the
    // previous release answers everything again.
    let load = Load::start(&addresses, ROLL_PORT, Duration::from_millis(10));
    let bad = ws.join("artifacts/bad");
    let started = Instant::now();
    let (outcome, _) = gantry(ws, "roll", "vbad", Some(&bad))?;
    let took = started.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    let seen = load.stop();
    let window = seen.bad_window("vbad");

    println!(
        "\n{} hosts; {} timed deploys each (median)\n",
        hosts.len(),
        args.runs
    );
    println!("| deploy | median time | failed requests / sent |");
    println!("|---|---:|---:|");
    for (name, t, failed, sent) in &table {
        println!("| {name} | {t:.2} s | {failed} / {sent} |");
    }
    println!(
        "\nunhealthy release on rolling (outcome {outcome:?}, deploy {:.1}s): bad or failed answers for {} s ({} failed, {} from vbad)",
        took.as_secs_f64(),
        window.map_or("-".to_string(), |w| format!("{:.2}", w.as_secs_f64())),
        seen.failed,
        seen.versions.get("vbad").copied().unwrap_or(0)
    );
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn write_workspace(ws: &Path, hosts: &[ContainerHost]) -> anyhow::Result<()> {
    let mut yml = String::from("hosts:\n");
    for h in hosts {
        yml.push_str(&format!(
            "  {}: {{ address: {}, user: root, ssh_key: keys/id, known_hosts: keys/known_hosts, groups: [fleet] }}\n",
            h.name(),
            h.addr()
        ));
    }
    yml.push_str("environments:\n  bench: { hosts: [fleet], lock_lease: 30s }\n");
    yml.push_str(&format!(
        r#"services:
  roll:
    artifact: {{ path: artifacts/good }}
    run: {{ systemd: {{ exec: "{{{{ release_dir }}}}/app --port {{{{ port }}}} --version {{{{ version }}}}" }} }}
    port: {ROLL_PORT}
    health: {{ http: {{ path: /healthz, timeout: 2s }}, interval: 1s, retries: 3 }}
    strategy: {{ rolling: {{ batch: 2 }} }}
  bg:
    artifact: {{ path: artifacts/good }}
    run: {{ systemd: {{ exec: "{{{{ release_dir }}}}/app --port {{{{ port }}}} --version {{{{ version }}}}" }} }}
    port: {BG_PORT}
    health: {{ http: {{ path: /healthz, timeout: 2s }}, interval: 1s, retries: 3 }}
    strategy: {{ blue_green: {{ ports: [8181, 8182], drain: 2s }} }}
"#
    ));
    std::fs::write(ws.join("gantry.yml"), yml)?;
    Ok(())
}

fn gantry(
    ws: &Path,
    service: &str,
    version: &str,
    artifact: Option<&Path>,
) -> anyhow::Result<(Outcome, String)> {
    let loaded = gantry_workspace::load(ws).map_err(|e| anyhow::anyhow!("{e}"))?;
    let resolved = gantry_deploy::resolve(&loaded.workspace, &loaded.dir, service, "bench")?;
    let progress = |_: &str| {};
    let report =
        gantry_deploy::deploy(&resolved, version, artifact, &Options::default(), &progress)?;
    Ok((report.outcome, gantry_deploy::render(&report)))
}

/// The same steps as `rolling` batch 2, by Ansible: release directory, binary, unit,
/// `current` link, restart, wait for /healthz.
fn ansible(
    ws: &Path,
    hosts: &[ContainerHost],
    playbook_bin: &Path,
    addresses: &[String],
    pace: Duration,
    runs: usize,
) -> anyhow::Result<(String, f64, usize, usize)> {
    // Ansible's modules need Python on the hosts; the test image has none.
    std::thread::scope(|s| {
        let handles: Vec<_> = hosts
            .iter()
            .map(|h| {
                s.spawn(move || {
                    h.exec_ok("command -v python3 >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-minimal python3-apt >/dev/null; }")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("panicked"))?
                    .context("installing python3 on a host (needs Debian's mirror)")
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let key = ws.join("keys/id");
    let known = ws.join("keys/known_hosts");
    let mut inv = String::from("[fleet]\n");
    for h in hosts {
        inv.push_str(&format!("{} ansible_host={}\n", h.name(), h.addr()));
    }
    inv.push_str(&format!(
        "[fleet:vars]\nansible_user=root\nansible_ssh_private_key_file={}\nansible_ssh_common_args='-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o ControlMaster=auto -o ControlPersist=600s'\nansible_python_interpreter=/usr/bin/python3\n",
        key.display(),
        known.display()
    ));
    std::fs::write(ws.join("inventory.ini"), inv)?;
    std::fs::write(
        ws.join("ansible.cfg"),
        "[defaults]\nhost_key_checking = True\nforks = 50\n[ssh_connection]\npipelining = True\n",
    )?;
    std::fs::write(
        ws.join("deploy.yml"),
        format!(
            r#"- hosts: fleet
  serial: 2
  gather_facts: false
  vars: {{ base: /opt/ansible/web }}
  tasks:
    - file: {{ path: "{{{{ base }}}}/releases/{{{{ version }}}}", state: directory }}
    - copy: {{ src: artifacts/good/app, dest: "{{{{ base }}}}/releases/{{{{ version }}}}/app", mode: "0755" }}
    - copy:
        dest: /etc/systemd/system/ansible-web.service
        content: |
          [Service]
          ExecStart={{{{ base }}}}/releases/{{{{ version }}}}/app --port {ANSIBLE_PORT} --version {{{{ version }}}}
          Restart=on-failure
          [Install]
          WantedBy=multi-user.target
    - file: {{ src: "{{{{ base }}}}/releases/{{{{ version }}}}", dest: "{{{{ base }}}}/current", state: link }}
    - systemd: {{ name: ansible-web, state: restarted, enabled: true, daemon_reload: true }}
    - uri: {{ url: "http://127.0.0.1:{ANSIBLE_PORT}/healthz", status_code: 200 }}
      register: health
      until: health.status == 200
      retries: 3
      delay: 1
"#
        ),
    )?;
    let play = |version: &str| -> anyhow::Result<()> {
        let out = Command::new(playbook_bin)
            .current_dir(ws)
            .env("ANSIBLE_CONFIG", ws.join("ansible.cfg"))
            .args(["-i", "inventory.ini", "deploy.yml", "-e"])
            .arg(format!("version={version}"))
            .output()?;
        if !out.status.success() {
            bail!(
                "ansible-playbook failed: {}",
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .rev()
                    .take(15)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        Ok(())
    };
    play("v1")?;
    let mut times = Vec::new();
    let (mut failed, mut sent) = (0, 0);
    for r in 0..runs {
        let load = Load::start(addresses, ANSIBLE_PORT, pace);
        let started = Instant::now();
        play(&format!("v{}", r + 2))?;
        let took = started.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(500));
        let seen = load.stop();
        eprintln!(
            "ansible run {}: {took:.2}s, {} of {} requests failed",
            r + 1,
            seen.failed,
            seen.ok + seen.failed
        );
        times.push(took);
        failed += seen.failed;
        sent += seen.ok + seen.failed;
    }
    Ok(("ansible serial: 2".into(), median(&mut times), failed, sent))
}

/// One thread per address, a new connection per request, every `pace`; bounded to
/// 100 000 requests in all.
struct Load {
    stop: Arc<AtomicBool>,
    handles: Vec<std::thread::JoinHandle<Seen>>,
}

#[derive(Default)]
struct Seen {
    ok: usize,
    failed: usize,
    versions: BTreeMap<String, usize>,
    /// When each answer that was a failure or came from a given version arrived.
    marks: Vec<(Instant, Option<String>)>,
}

impl Seen {
    /// From the first failure or answer of `bad` to the last one.
    fn bad_window(&self, bad: &str) -> Option<Duration> {
        let hits: Vec<Instant> = self
            .marks
            .iter()
            .filter(|(_, v)| v.as_deref().is_none_or(|v| v == bad))
            .map(|(t, _)| *t)
            .collect();
        Some(hits.iter().max()?.duration_since(*hits.iter().min()?))
    }
}

impl Load {
    fn start(addresses: &[String], port: u16, pace: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let budget = Arc::new(Mutex::new(100_000usize));
        let handles = addresses
            .iter()
            .map(|a| {
                let (stop, budget, a) = (stop.clone(), budget.clone(), a.clone());
                std::thread::spawn(move || {
                    let mut seen = Seen::default();
                    while !stop.load(Ordering::Relaxed) {
                        {
                            let mut b = budget.lock().unwrap_or_else(|e| e.into_inner());
                            if *b == 0 {
                                break;
                            }
                            *b -= 1;
                        }
                        match get(&a, port) {
                            Some(v) => {
                                seen.ok += 1;
                                seen.marks.push((Instant::now(), Some(v.clone())));
                                *seen.versions.entry(v).or_default() += 1;
                            }
                            None => {
                                seen.failed += 1;
                                seen.marks.push((Instant::now(), None));
                            }
                        }
                        std::thread::sleep(pace);
                    }
                    seen
                })
            })
            .collect();
        Load { stop, handles }
    }

    fn stop(self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Seen::default();
        for h in self.handles {
            if let Ok(s) = h.join() {
                all.ok += s.ok;
                all.failed += s.failed;
                for (v, n) in s.versions {
                    *all.versions.entry(v).or_default() += n;
                }
                all.marks.extend(s.marks);
            }
        }
        all
    }
}

/// `GET /`: the body of a 200, `None` for anything else.
fn get(address: &str, port: u16) -> Option<String> {
    let addr = format!("{address}:{port}").parse().ok()?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.trim().to_string())
}
