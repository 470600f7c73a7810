//! Container test hosts: whole Debian machines with systemd as PID 1, sshd, cron, apt and
//! nginx, each a container on this machine's Docker Engine with its own address. For the
//! suites that need what a network namespace cannot give (an init system, a package
//! manager, a file system of its own): infra's `package`, `service` and `cron` resources,
//! deploys' systemd units and nginx.
//!
//! No image can be pulled here, so the image is made on first use: `debootstrap` of Debian
//! bookworm (from Debian's package mirror, the one registry this machine reaches) into a
//! temp dir, then `docker import`. That takes about a minute once; the image stays in the
//! engine under [`IMAGE`], and a file lock keeps parallel test processes from building it
//! twice. Bump the tag's version when [`PACKAGES`] changes.

use std::fs::File;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{cmd, shared_engine};

/// The image's tag in the local engine.
pub const IMAGE: &str = "gantry-test/debian-systemd:1";

/// What the image holds besides Debian's minimal base.
const PACKAGES: &str = "systemd,systemd-sysv,dbus,openssh-server,cron,iproute2,procps,sudo,\
nginx,curl,ca-certificates,apt-utils,less";

/// Debian's mirror, as in the machine's own apt sources.
const MIRROR: &str = "http://deb.debian.org/debian";

/// Serialises image builds across test processes.
const BUILD_LOCK: &str = "/run/gantry-testhost/image.lock";

/// Label on every container this module starts, with the starting process's pid as value,
/// so [`cleanup_stale_containers`] can remove those of dead processes.
const OWNER_LABEL: &str = "gantry-testhost.pid";

/// How long systemd may take to bring sshd up.
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);

/// `Ok(())` when container hosts can work here: the docker CLI reaches an engine, and the
/// image exists or `debootstrap` can make it.
pub fn containers_available() -> Result<(), String> {
    let docker = cmd::find_tool("docker").ok_or("the docker CLI is missing")?;
    let out = Command::new(docker)
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .map_err(|e| format!("docker version: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the Docker Engine does not answer: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    if !image_exists()? && cmd::find_tool("debootstrap").is_none() {
        return Err(format!(
            "{IMAGE} is not built and debootstrap is missing; install the debootstrap package"
        ));
    }
    Ok(())
}

/// Makes sure [`IMAGE`] exists, building it when missing (about a minute, once).
pub fn ensure_image() -> io::Result<()> {
    if image_exists().map_err(io::Error::other)? {
        return Ok(());
    }
    std::fs::create_dir_all(Path::new(BUILD_LOCK).parent().unwrap_or(Path::new("/")))?;
    let lock = File::create(BUILD_LOCK)?;
    lock.lock()?;
    // Another process may have built it while this one waited for the lock.
    if image_exists().map_err(io::Error::other)? {
        return Ok(());
    }
    let debootstrap = cmd::find_tool("debootstrap").ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "debootstrap is missing; install the debootstrap package",
        )
    })?;
    let root = tempfile::Builder::new()
        .prefix("gantry-testhost-rootfs")
        .tempdir()?;
    let rootfs = root.path().join("rootfs");
    let rootfs_str = rootfs.to_string_lossy().into_owned();
    cmd::run(
        &debootstrap,
        &[
            "--variant=minbase",
            &format!("--include={PACKAGES}"),
            "bookworm",
            &rootfs_str,
            MIRROR,
        ],
        None,
    )?;
    // The image's apt lists are left empty on purpose: tests install from repositories
    // they make themselves, never from the internet.
    let tar = Command::new("tar")
        .args(["-C", &rootfs_str, "-c", "."])
        .stdout(Stdio::piped())
        .spawn()?;
    let import = Command::new(docker())
        .args([
            "import",
            "--change",
            "CMD [\"/lib/systemd/systemd\"]",
            "-",
            IMAGE,
        ])
        .stdin(
            tar.stdout
                .ok_or_else(|| io::Error::other("tar has no stdout"))?,
        )
        .output()?;
    if !import.status.success() {
        return Err(io::Error::other(format!(
            "docker import {IMAGE}: {}",
            String::from_utf8_lossy(&import.stderr).trim()
        )));
    }
    Ok(())
}

fn image_exists() -> Result<bool, String> {
    let out = Command::new(docker())
        .args(["image", "inspect", "--format", "{{.Id}}", IMAGE])
        .output()
        .map_err(|e| format!("docker image inspect: {e}"))?;
    Ok(out.status.success())
}

fn docker() -> std::path::PathBuf {
    cmd::find_tool("docker").unwrap_or_else(|| "docker".into())
}

/// A running container host: systemd, sshd on port 22 letting root in with one key, its
/// own address on Docker's default bridge (reachable from the test process). Dropping it
/// removes the container.
#[derive(Debug)]
pub struct ContainerHost {
    id: String,
    name: String,
    addr: IpAddr,
    host_public_key: String,
    /// Started with the machine's docker CLI and engine (see `shared_engine`).
    shared_engine: bool,
}

impl ContainerHost {
    /// Starts a container host named `name` (made unique with this process's pid) whose sshd
    /// lets root in with `authorized_public_key` only, with fresh host keys, and waits until
    /// sshd accepts connections. Builds the image first if needed.
    pub fn start(name: &str, authorized_public_key: &str) -> io::Result<ContainerHost> {
        Self::start_inner(name, authorized_public_key, false)
    }

    /// Like [`ContainerHost::start`], and the host's `docker` CLI drives this machine's
    /// Docker Engine (the CLI and the engine's socket are bind-mounted in): containers it
    /// starts run beside it on the machine's engine. Those that join its network
    /// namespace (`--network container:<id>`, see [`ContainerHost::id`]) are reached at
    /// the host's address, and are removed with the host.
    pub fn start_with_docker(name: &str, authorized_public_key: &str) -> io::Result<ContainerHost> {
        Self::start_inner(name, authorized_public_key, true)
    }

    fn start_inner(
        name: &str,
        authorized_public_key: &str,
        shared_engine: bool,
    ) -> io::Result<ContainerHost> {
        let key = authorized_public_key.trim();
        if key.is_empty() || key.contains('\n') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "authorized_public_key must be one authorized_keys line",
            ));
        }
        cleanup_stale_containers()?;
        ensure_image()?;
        let pid = std::process::id();
        let unique = format!("gantry-th-{name}-{pid}-{}", next_serial());
        let docker = docker();
        let engine_args = if shared_engine {
            shared_engine::mount_args()?
        } else {
            Vec::new()
        };
        let label = format!("{OWNER_LABEL}={pid}");
        let mut args: Vec<&str> = vec!["run"];
        args.extend(engine_args.iter().map(String::as_str));
        args.extend([
            "-d",
            "--name",
            &unique,
            "--hostname",
            name,
            "--label",
            &label,
            // systemd needs to mount its cgroups and tmpfs; SYS_ADMIN is enough here,
            // --privileged is refused by this engine's runtime.
            "--cap-add",
            "SYS_ADMIN",
            "--tmpfs",
            "/run",
            "--tmpfs",
            "/run/lock",
            "-v",
            "/sys/fs/cgroup:/sys/fs/cgroup:rw",
            IMAGE,
            "/lib/systemd/systemd",
        ]);
        let id = cmd::run(&docker, &args, None)?.trim().to_owned();
        let mut host = ContainerHost {
            id,
            name: name.to_owned(),
            addr: IpAddr::from([0, 0, 0, 0]),
            host_public_key: String::new(),
            shared_engine,
        };
        let ip = cmd::run(
            &docker,
            &[
                "inspect",
                "--format",
                "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                &host.id,
            ],
            None,
        )?;
        host.addr = ip.trim().parse().map_err(|e| {
            io::Error::other(format!("container {unique} has no address ({ip:?}): {e}"))
        })?;
        let setup = format!(
            "set -e\n\
             rm -f /etc/ssh/ssh_host_*\n\
             ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key\n\
             printf 'HostKey /etc/ssh/ssh_host_ed25519_key\\nPasswordAuthentication no\\nPermitRootLogin prohibit-password\\n' > /etc/ssh/sshd_config.d/gantry-test.conf\n\
             install -d -m 700 /root/.ssh\n\
             printf '%s\\n' '{key}' > /root/.ssh/authorized_keys\n\
             chmod 600 /root/.ssh/authorized_keys\n"
        );
        host.exec_ok(&setup)?;
        if shared_engine {
            host.exec_ok(shared_engine::SETUP)?;
        }
        host.wait_for_sshd()?;
        host.host_public_key = host
            .exec_ok("cat /etc/ssh/ssh_host_ed25519_key.pub")?
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        Ok(host)
    }

    /// Waits for systemd to start sshd (it may not be up yet, or may still run with the
    /// image's old keys), restarts it with this host's keys and waits for port 22.
    fn wait_for_sshd(&self) -> io::Result<()> {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        loop {
            let out = self.exec("systemctl is-active ssh")?;
            if String::from_utf8_lossy(&out.stdout).trim() == "active" {
                break;
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{}: sshd not active after {BOOT_TIMEOUT:?}", self.name),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.exec_ok("systemctl restart ssh")?;
        let addr = SocketAddr::new(self.addr, 22);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err() {
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{}: port 22 not open after {BOOT_TIMEOUT:?}", self.name),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// The host's name as given to [`ContainerHost::start`] (also its hostname).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The container's address on Docker's bridge.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The docker container id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// sshd's ed25519 host key, `ssh-ed25519 AAAA…`.
    pub fn host_public_key(&self) -> &str {
        &self.host_public_key
    }

    /// A `known_hosts` line for this host's address.
    pub fn known_hosts_line(&self) -> String {
        format!("{} {}", self.addr, self.host_public_key)
    }

    /// Runs `script` with bash as root inside the host (not over SSH), returning its output
    /// whatever the exit status.
    pub fn exec(&self, script: &str) -> io::Result<Output> {
        Command::new(docker())
            .args(["exec", "-i", &self.id, "bash", "-c", script])
            .stdin(Stdio::null())
            .output()
    }

    /// Like [`ContainerHost::exec`], but a non-zero exit is an error carrying stderr; returns
    /// stdout.
    pub fn exec_ok(&self, script: &str) -> io::Result<String> {
        let out = self.exec(script)?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "{}: `{script}` failed ({}): {}",
                self.name,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Copies a file of this machine into the host at `dest` (a full path).
    pub fn copy_in(&self, src: &Path, dest: &str) -> io::Result<()> {
        cmd::run(
            &docker(),
            &["cp", &src.to_string_lossy(), &format!("{}:{dest}", self.id)],
            None,
        )
        .map(drop)
    }

    /// Freezes every process of the host (`docker pause`): connections to it stall as to a
    /// machine that hung, none is refused.
    pub fn pause(&self) -> io::Result<()> {
        cmd::run(&docker(), &["pause", &self.id], None).map(drop)
    }

    /// Undoes [`ContainerHost::pause`].
    pub fn unpause(&self) -> io::Result<()> {
        cmd::run(&docker(), &["unpause", &self.id], None).map(drop)
    }

    /// Kills the host as a power cut would (`docker kill`); it stays stopped.
    pub fn kill(&self) -> io::Result<()> {
        cmd::run(&docker(), &["kill", &self.id], None).map(drop)
    }
}

impl Drop for ContainerHost {
    fn drop(&mut self) {
        if self.shared_engine {
            let _ = shared_engine::remove_dependents(&docker(), &self.id);
        }
        let _ = Command::new(docker())
            .args(["rm", "-f", &self.id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn next_serial() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

/// Removes container hosts whose starting process is gone (killed before its drops ran).
/// Returns how many were removed. [`ContainerHost::start`] calls this.
pub fn cleanup_stale_containers() -> io::Result<usize> {
    let listing = cmd::run(
        &docker(),
        &[
            "ps",
            "-a",
            "--no-trunc",
            "--filter",
            &format!("label={OWNER_LABEL}"),
            "--format",
            &format!("{{{{.ID}}}} {{{{.Label \"{OWNER_LABEL}\"}}}}"),
        ],
        None,
    )?;
    let mut removed = 0;
    for line in listing.lines() {
        let mut parts = line.split_whitespace();
        let (Some(id), Some(pid)) = (parts.next(), parts.next()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            shared_engine::remove_dependents(&docker(), id)?;
            cmd::run(&docker(), &["rm", "-f", id], None)?;
            removed += 1;
        }
    }
    Ok(removed)
}
