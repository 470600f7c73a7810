//! Test hosts for Gantry's integration tests: several "machines", each with its own IP
//! address, on this one Linux machine, which a test can start processes on, cut off from the
//! network and reconnect. Dev-only; needs root (see [`available`]).
//!
//! # Model
//!
//! A [`Lab`] is a private /24 network (`10.213.<slot>.0/24`, a free slot per lab, so labs
//! in one test binary and in parallel test processes never collide). The test process
//! reaches it at [`Lab::gateway`] (`.1`): a server the test starts on that address, or on
//! 0.0.0.0, is reachable from every host. A [`TestHost`] is a network namespace on the lab's
//! bridge with its own address (`.2`, `.3`, …); hosts reach the gateway and each other.
//! Only the network is per host: hosts share the file system, users and pid space with the
//! test, so binaries and temp dirs can be used directly.
//!
//! [`TestHost::command`] / [`TestHost::tokio_command`] run a program inside a host;
//! [`TestHost::in_netns`] runs a closure there (sockets it opens belong to the host);
//! [`TestHost::cut`] / [`TestHost::restore`] partition the host and heal it: packets are
//! silently dropped, so connections stall and time out rather than being reset or refused.
//! [`TestHost::start_sshd`] runs an OpenSSH server on a host.
//!
//! Where a test needs a whole machine (systemd, apt, a file system of its own), a
//! [`ContainerHost`] is a Debian container with systemd as PID 1 and sshd, on Docker's bridge;
//! [`ContainerHost::start_with_docker`] gives it this machine's docker CLI and engine.
//!
//! Dropping a host kills whatever still runs inside it and removes it; the network goes when
//! the lab and all its hosts are dropped. Leftovers of test processes killed before their
//! drops ran are removed by the next [`Lab::new`] (see [`cleanup_stale`]).
//!
//! # Example
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::net::{TcpListener, TcpStream};
//!
//! # fn main() -> std::io::Result<()> {
//! if let Err(why) = gantry_testhost::available() {
//!     panic!("test hosts are unavailable: {why}"); // fail, don't skip
//! }
//! let lab = gantry_testhost::Lab::new()?;
//! let server = TcpListener::bind((lab.gateway(), 0))?; // the test's server, root namespace
//! let port = server.local_addr()?.port();
//!
//! let node = lab.host("node1")?;
//! // A process on the host, e.g. the gantry binary pointed at the server:
//! let status = node
//!     .command("sh")
//!     .arg("-c")
//!     .arg("ip -4 -o addr show dev eth0")
//!     .status()?;
//! assert!(status.success());
//!
//! // Or a socket opened as the host:
//! let mut client = node.in_netns(|| TcpStream::connect((lab.gateway(), port)))??;
//! let (mut accepted, peer) = server.accept()?;
//! assert_eq!(peer.ip(), node.addr());
//!
//! node.cut()?; // from now on nothing gets through, and nothing is reset
//! client.write_all(b"stalled")?;
//! node.restore()?; // the write arrives at TCP's next retransmission
//! let mut buf = [0; 7];
//! accepted.read_exact(&mut buf)?;
//! # Ok(())
//! # }
//! ```
//!
//! # What it changes on the machine
//!
//! Per lab: a namespace `gantry-lab<slot>` holding the bridge and an nftables bridge filter
//! for cuts, a veth `gantry-lab<slot>` in the root namespace with the gateway address, a
//! namespace `gantry-lab<slot>-<host>` per host, and a lock file
//! `/run/gantry-testhost/lab<slot>.lock`. No sysctl, iptables or root-namespace nftables
//! rule is touched: the bridge lives in the lab's namespace precisely so that Docker's
//! FORWARD policy (applied to bridged frames when `br_netfilter` is loaded) never sees
//! host-to-host traffic.
#![forbid(unsafe_code)]

mod available;
mod cmd;
mod container;
mod host;
mod lab;
mod names;
mod netns;
mod partition;
mod shared_engine;
mod slot;
mod sshd;
mod stale;
mod subnet;

pub use available::available;
pub use container::{
    ContainerHost, IMAGE, cleanup_stale_containers, containers_available, ensure_image,
};
pub use host::TestHost;
pub use lab::Lab;
pub use sshd::{Sshd, sshd_available};
pub use stale::cleanup_stale;

#[cfg(test)]
mod tests {
    /// Tests share labs and hosts across threads and tokio tasks.
    #[test]
    fn handles_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<crate::Lab>();
        check::<crate::TestHost>();
        check::<crate::Sshd>();
        check::<crate::ContainerHost>();
    }
}
