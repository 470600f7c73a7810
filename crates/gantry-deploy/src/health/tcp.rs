//! The `tcp` check: a connection from the deployer to the host's port.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

pub fn probe(address: &str, port: u16, timeout: Duration) -> Result<(), String> {
    connect(address, port, timeout)
        .map(drop)
        .map_err(|e| format!("tcp {address}:{port}: {e}"))
}

/// A connection to the first address `address` resolves to.
pub fn connect(address: &str, port: u16, timeout: Duration) -> std::io::Result<TcpStream> {
    let addr = (address, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("the address resolves to nothing"))?;
    TcpStream::connect_timeout(&addr, timeout)
}
