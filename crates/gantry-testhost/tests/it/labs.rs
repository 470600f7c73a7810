//! Labs made at the same time, in threads of one process, get separate subnets and names,
//! and host names are checked.

use std::collections::HashSet;
use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use crate::support::{accept, lab};

#[test]
fn labs_made_in_parallel_do_not_collide() {
    let labs: Vec<_> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..6).map(|_| scope.spawn(lab)).collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let gateways: HashSet<_> = labs.iter().map(|l| l.gateway()).collect();
    let subnets: HashSet<_> = labs.iter().map(|l| l.subnet()).collect();
    let namespaces: HashSet<_> = labs.iter().map(|l| l.netns().to_owned()).collect();
    assert_eq!(gateways.len(), labs.len());
    assert_eq!(subnets.len(), labs.len());
    assert_eq!(namespaces.len(), labs.len());

    // The same host name in two labs is fine, and each reaches its own lab's gateway.
    for lab in &labs[..2] {
        let host = lab.host("same-name").unwrap();
        let (network, len) = lab.subnet();
        assert_eq!(len, 24);
        assert_eq!(host.addr().octets()[..3], network.octets()[..3]);
        let server = TcpListener::bind((lab.gateway(), 0)).unwrap();
        let addr = server.local_addr().unwrap();
        host.in_netns(|| TcpStream::connect_timeout(&addr, Duration::from_secs(5)))
            .unwrap()
            .unwrap();
        let (_, peer) = accept(&server);
        assert_eq!(peer.ip(), host.addr());
    }
}

#[test]
fn host_names_must_be_usable_and_unique() {
    let lab = lab();
    let _first = lab.host("db").unwrap();
    let again = lab.host("db").unwrap_err();
    assert_eq!(again.kind(), ErrorKind::AlreadyExists, "{again}");
    let bad = lab.host("no spaces").unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidInput, "{bad}");
    // A failed attempt leaves the lab usable.
    let second = lab.host("db2").unwrap();
    assert_eq!(second.name(), "db2");
    assert!(second.netns().ends_with("-db2"));
}
