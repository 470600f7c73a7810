//! Named network namespaces: listing, emptying and deleting them, and running a closure on a
//! thread that has joined one.

use std::fs::{self, File};
use std::io;
use std::path::PathBuf;

use nix::errno::Errno;
use nix::sched::{CloneFlags, setns};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::cmd;

/// Where `ip netns add` bind-mounts named namespaces.
const NETNS_DIR: &str = "/run/netns";

pub(crate) fn path(netns: &str) -> PathBuf {
    PathBuf::from(NETNS_DIR).join(netns)
}

pub(crate) fn exists(netns: &str) -> bool {
    path(netns).exists()
}

/// Names of all named namespaces.
pub(crate) fn list() -> io::Result<Vec<String>> {
    match fs::read_dir(NETNS_DIR) {
        Ok(entries) => Ok(entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Names of the root namespace's network interfaces (this process lives there).
pub(crate) fn root_links() -> io::Result<Vec<String>> {
    Ok(fs::read_dir("/sys/class/net")?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect())
}

pub(crate) fn add(netns: &str) -> io::Result<()> {
    cmd::ip(&["netns", "add", netns]).map(drop)
}

/// SIGKILLs every process inside `netns`. A process that stays in a namespace keeps the
/// namespace (and whatever it listens on) alive after its name is deleted, so this runs
/// before every delete. A few rounds catch children forked while the first round ran.
pub(crate) fn kill_all(netns: &str) -> io::Result<()> {
    for _ in 0..5 {
        let pids = cmd::ip(&["netns", "pids", netns])?;
        let pids: Vec<i32> = pids.lines().filter_map(|l| l.trim().parse().ok()).collect();
        if pids.is_empty() {
            return Ok(());
        }
        for pid in pids {
            match kill(Pid::from_raw(pid), Signal::SIGKILL) {
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(e) => return Err(io::Error::from(e)),
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok(())
}

/// Kills what runs inside `netns` and deletes it; a namespace that is already gone is fine.
pub(crate) fn destroy(netns: &str) -> io::Result<()> {
    if !exists(netns) {
        return Ok(());
    }
    kill_all(netns)?;
    cmd::ip(&["netns", "delete", netns]).map(drop)
}

/// Runs `f` on a fresh thread that has joined `netns`: sockets it creates belong to the
/// namespace and stay there after the thread ends.
pub(crate) fn run_in<T, F>(netns: &str, f: F) -> io::Result<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    let ns = File::open(path(netns))?;
    // setns changes only the calling thread, so a scoped thread keeps the caller's own
    // thread (often a tokio worker) in the root namespace.
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            setns(&ns, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
            Ok(f())
        });
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
