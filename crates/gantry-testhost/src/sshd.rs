//! An OpenSSH server on a test host, for suites that drive machines over SSH. Each server
//! gets its own temp dir with config, host key, authorized key, pid file and log, because
//! hosts share the file system and only the network is per host.

use std::fs::{self, File};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::TestHost;
use crate::cmd;

/// Debian's path; sshd must be started by absolute path because it re-executes itself.
const SSHD: &str = "/usr/sbin/sshd";

/// sshd refuses to start without its privilege separation directory, which a systemd unit
/// would normally create.
const PRIVSEP_DIR: &str = "/run/sshd";

/// How long sshd may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// `Ok(())` when [`TestHost::start_sshd`] can work here: `/usr/sbin/sshd` (Debian package
/// openssh-server) and `ssh-keygen` (openssh-client) are installed.
pub fn sshd_available() -> Result<(), String> {
    if !Path::new(SSHD).is_file() {
        return Err(format!(
            "{SSHD} is missing; install the openssh-server package"
        ));
    }
    if cmd::find_tool("ssh-keygen").is_none() {
        return Err("ssh-keygen is missing; install the openssh-client package".into());
    }
    Ok(())
}

/// A running sshd on a test host: root may log in with the authorized key only. Dropping it
/// stops the server; sessions still open end when their host is dropped.
#[derive(Debug)]
pub struct Sshd {
    child: Child,
    addr: SocketAddr,
    host_public_key: String,
    dir: TempDir,
}

impl TestHost {
    /// Starts `sshd` on this host's address, port 22, with a fresh ed25519 host key, that
    /// lets root log in with `authorized_public_key` (one `authorized_keys` line, such as the
    /// contents of an `id_ed25519.pub`) and nothing else: no passwords, no other users.
    /// Blocks until the server accepts connections.
    pub fn start_sshd(&self, authorized_public_key: &str) -> io::Result<Sshd> {
        sshd_available().map_err(|why| io::Error::new(io::ErrorKind::NotFound, why))?;
        let key = authorized_public_key.trim();
        if key.is_empty() || key.contains('\n') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the authorized public key must be a single authorized_keys line",
            ));
        }
        ensure_privsep_dir()?;
        let dir = tempfile::Builder::new().prefix("gantry-sshd-").tempdir()?;
        let host_key = dir.path().join("host_key");
        let keygen = cmd::find_tool("ssh-keygen").unwrap_or_else(|| PathBuf::from("ssh-keygen"));
        let comment = format!("gantry-testhost-{}", self.name());
        cmd::run(
            &keygen,
            &[
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                &comment,
                "-f",
                &host_key.to_string_lossy(),
            ],
            None,
        )?;
        let host_public_key = fs::read_to_string(dir.path().join("host_key.pub"))?
            .trim()
            .to_owned();
        let authorized_keys = dir.path().join("authorized_keys");
        fs::write(&authorized_keys, format!("{key}\n"))?;
        fs::set_permissions(&authorized_keys, fs::Permissions::from_mode(0o600))?;
        let config = dir.path().join("sshd_config");
        fs::write(&config, config_text(self, dir.path()))?;
        let log = File::create(dir.path().join("sshd.log"))?;

        let child = self
            .command(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        let mut sshd = Sshd {
            child,
            addr: SocketAddr::from((self.addr(), 22)),
            host_public_key,
            dir,
        };
        sshd.wait_until_listening(self)?;
        Ok(sshd)
    }
}

impl Sshd {
    /// Where the server listens: the host's address, port 22.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's host key in `authorized_keys` form (`ssh-ed25519 AAAA… comment`).
    pub fn host_public_key(&self) -> &str {
        &self.host_public_key
    }

    /// A `known_hosts` line for the server, so clients can keep strict host key checking.
    pub fn known_hosts_line(&self) -> String {
        format!("{} {}", self.addr.ip(), self.host_public_key)
    }

    /// What sshd logged so far (it logs to a file in its temp dir), for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Polls from inside the host, so a host that is already cut still starts its server.
    fn wait_until_listening(&mut self, host: &TestHost) -> io::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = self.addr;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "sshd on {} exited at startup ({status}): {}",
                    host.name(),
                    self.log().trim()
                )));
            }
            let probe =
                host.in_netns(|| TcpStream::connect_timeout(&addr, Duration::from_millis(200)))?;
            if probe.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "sshd on {} did not listen on {addr}: {}",
                        host.name(),
                        self.log()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // Already exited is fine; the temp dir goes with `self.dir`.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ensure_privsep_dir() -> io::Result<()> {
    fs::create_dir_all(PRIVSEP_DIR)?;
    fs::set_permissions(PRIVSEP_DIR, fs::Permissions::from_mode(0o755))
}

/// The server's config. StrictModes is off because the files live under /tmp, which is
/// world-writable and would fail sshd's ownership walk up from the authorized_keys file;
/// AllowUsers keeps the shared authorized_keys file from admitting other accounts.
fn config_text(host: &TestHost, dir: &Path) -> String {
    let dir = dir.display();
    format!(
        "# gantry-testhost sshd for host {name}
ListenAddress {addr}:22
AddressFamily inet
HostKey {dir}/host_key
PidFile {dir}/sshd.pid
AuthorizedKeysFile {dir}/authorized_keys
AllowUsers root
PermitRootLogin prohibit-password
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
UseDNS no
# Tests open many connections at once; the default 10:30:100 drops some at random.
MaxStartups 100
MaxSessions 100
Subsystem sftp internal-sftp
",
        name = host.name(),
        addr = host.addr(),
    )
}
