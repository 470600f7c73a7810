//! `TestHost`: one machine of a lab — a network namespace with its own address — that tests
//! start processes on, partition from the network and heal.

use std::ffi::OsStr;
use std::io;
use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::lab::LabShared;
use crate::{cmd, names, netns, partition, subnet};

/// A host of a [`Lab`](crate::Lab). Dropping it kills every process still running inside it
/// and removes its namespace and link.
#[derive(Debug)]
pub struct TestHost {
    lab: Arc<LabShared>,
    name: String,
    netns: String,
    /// The host's port on the lab bridge (inside the lab namespace), where cuts apply.
    port: String,
    addr: Ipv4Addr,
    // A mutex rather than an atomic: it also keeps two `cut`/`restore` calls from
    // interleaving their nft updates.
    cut: Mutex<bool>,
}

impl TestHost {
    pub(crate) fn create(
        lab: Arc<LabShared>,
        name: &str,
        index: u32,
        addr: Ipv4Addr,
    ) -> io::Result<TestHost> {
        let netns = names::host_netns(lab.slot, name);
        if netns::exists(&netns) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("this lab already has a host named {name:?}"),
            ));
        }
        netns::add(&netns)?;
        // From here on, dropping `host` undoes whatever part of the setup was done.
        let host = TestHost {
            port: format!("p{index}"),
            name: name.to_owned(),
            netns,
            addr,
            cut: Mutex::new(false),
            lab,
        };
        host.plumb()?;
        Ok(host)
    }

    /// Connects the namespace to the lab bridge with a veth pair and configures it.
    fn plumb(&self) -> io::Result<()> {
        let lab = &self.lab.netns;
        cmd::ip(&[
            "-n",
            lab,
            "link",
            "add",
            &self.port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &self.netns,
        ])?;
        cmd::ip_batch(
            lab,
            &[
                format!("link set {} master br0", self.port),
                format!("link set {} up", self.port),
            ],
        )?;
        cmd::ip_batch(
            &self.netns,
            &[
                "link set lo up".into(),
                format!("addr add {}/{} dev eth0", self.addr, subnet::PREFIX_LEN),
                "link set eth0 up".into(),
                format!("route add default via {}", subnet::gateway(self.lab.slot)),
            ],
        )
    }

    /// The name given to [`Lab::host`](crate::Lab::host).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host's address on the lab network.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The network namespace's name, for `ip netns exec` and friends.
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// A command that runs `program` inside the host (`ip netns exec <netns> program`).
    /// Arguments, environment and working directory set on it reach `program` unchanged,
    /// and `ip` execs the program in place, so the child's pid is the program's pid.
    /// Only the network is separate: the file system, users and pids are shared.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(cmd::ip_path());
        command
            .arg("netns")
            .arg("exec")
            .arg(&self.netns)
            .arg(program);
        command
    }

    /// [`command`](Self::command) for tokio.
    pub fn tokio_command(&self, program: impl AsRef<OsStr>) -> tokio::process::Command {
        tokio::process::Command::from(self.command(program))
    }

    /// Runs `f` on a thread inside the host's namespace and returns its result. Sockets made
    /// there stay in the host's network, so a test can talk as the host without a helper
    /// process: `host.in_netns(|| TcpStream::connect(addr))??`. Blocks until `f` returns.
    /// For tokio, make a std socket here, set it non-blocking and convert it with
    /// `tokio::net::TcpStream::from_std`.
    pub fn in_netns<T, F>(&self, f: F) -> io::Result<T>
    where
        T: Send,
        F: FnOnce() -> T + Send,
    {
        netns::run_in(&self.netns, f)
    }

    /// Partitions the host from the lab: IP packets between it and everyone else (other
    /// hosts, the gateway) are silently dropped in both directions. Established TCP
    /// connections stall without a reset and new ones time out; ARP still passes, so the
    /// kernel never reports "no route to host" instead. Idempotent. Spawns `nft`, so it
    /// blocks for a few milliseconds.
    pub fn cut(&self) -> io::Result<()> {
        let mut cut = self.lock_cut();
        if !*cut {
            partition::cut(&self.lab.netns, &self.port)?;
            *cut = true;
        }
        Ok(())
    }

    /// Heals a [`cut`](Self::cut): stalled connections resume at their next TCP
    /// retransmission (which backs off, so after a long cut that can take seconds).
    pub fn restore(&self) -> io::Result<()> {
        let mut cut = self.lock_cut();
        if *cut {
            partition::restore(&self.lab.netns, &self.port)?;
            *cut = false;
        }
        Ok(())
    }

    /// Whether the host is currently cut off.
    pub fn is_cut(&self) -> bool {
        *self.lock_cut()
    }

    fn lock_cut(&self) -> MutexGuard<'_, bool> {
        // A panic while holding it cannot leave the flag half-written.
        self.cut.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remove(&self) -> io::Result<()> {
        netns::kill_all(&self.netns)?;
        if *self.lock_cut() {
            // Ports are never reused within a lab, but an element naming a gone port would
            // still be clutter when debugging.
            partition::restore(&self.lab.netns, &self.port)?;
        }
        let lab = &self.lab.netns;
        // Deleting the port synchronously also deletes its peer `eth0`; deleting only the
        // namespace would leave both to the kernel's asynchronous cleanup.
        if cmd::ip(&["-n", lab, "link", "show", &self.port]).is_ok() {
            cmd::ip(&["-n", lab, "link", "delete", &self.port])?;
        }
        netns::destroy(&self.netns)
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        if let Err(e) = self.remove() {
            eprintln!("gantry-testhost: removing host {} failed: {e}", self.netns);
        }
    }
}
