//! Shared helpers: a lab that fails the test with a clear reason when labs cannot work here,
//! and small socket utilities.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use gantry_testhost::Lab;

/// A new lab, or a panic naming what this machine lacks.
pub fn lab() -> Lab {
    if let Err(why) = gantry_testhost::available() {
        panic!("gantry-testhost cannot run here: {why}");
    }
    Lab::new().expect("creating a lab")
}

/// Accepts one connection within a few seconds, so a broken network fails the test instead
/// of hanging it.
pub fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    listener.set_nonblocking(true).unwrap();
    for _ in 0..500 {
        match listener.accept() {
            Ok((stream, peer)) => {
                stream.set_nonblocking(false).unwrap();
                return (stream, peer);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept failed: {e}"),
        }
    }
    panic!("no connection arrived within 5 s");
}

/// Reads exactly `len` bytes within `timeout`.
pub fn read_exactly(stream: &mut TcpStream, len: usize, timeout: Duration) -> Vec<u8> {
    stream.set_read_timeout(Some(timeout)).unwrap();
    let mut buf = vec![0; len];
    stream.read_exact(&mut buf).unwrap();
    buf
}

/// Whether a namespace name is registered (`ip netns list` reads the same directory).
pub fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

/// Whether the root namespace has a network interface of that name.
pub fn root_link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// Whether a process is gone (or a zombie: killed, waiting to be reaped by its parent).
pub fn process_dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Whether `condition` becomes true within two seconds.
pub fn eventually(condition: impl Fn() -> bool) -> bool {
    for _ in 0..200 {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    condition()
}
