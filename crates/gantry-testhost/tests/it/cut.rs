//! `cut`/`restore` behave like a network partition: across a cut, writes are not delivered,
//! nothing is reset or refused, new connections time out; after `restore` the stalled data
//! arrives on the same connection.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::support::{accept, lab, read_exactly};

/// How long each "nothing happens" observation waits. Short keeps the cut under TCP's
/// fourth retransmission (1.4 s after the write), so the healed data arrives quickly.
const QUIET: Duration = Duration::from_millis(300);

#[test]
fn a_cut_stalls_connections_silently_and_restore_resumes_them() {
    let lab = lab();
    let a = lab.host("a").unwrap();
    let b = lab.host("b").unwrap();
    let server = TcpListener::bind((lab.gateway(), 0)).unwrap();
    let gateway = server.local_addr().unwrap();
    let mut client = a.in_netns(|| TcpStream::connect(gateway)).unwrap().unwrap();
    let (mut conn, _) = accept(&server);
    client.write_all(b"before").unwrap();
    assert_eq!(
        read_exactly(&mut conn, 6, Duration::from_secs(5)),
        b"before"
    );
    let on_a = a
        .in_netns(|| TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)))
        .unwrap()
        .unwrap();
    let a_port = on_a.local_addr().unwrap().port();

    a.cut().unwrap();
    a.cut().unwrap(); // idempotent
    assert!(a.is_cut());
    assert!(!b.is_cut());

    // Host to gateway: the write is accepted locally but never delivered.
    client.write_all(b"during").unwrap();
    assert_stalled(&mut conn, "gateway reading what the cut host wrote");
    // Gateway to host: same the other way.
    conn.write_all(b"reply").unwrap();
    assert_stalled(&mut client, "cut host reading what the gateway wrote");

    // New connections time out (not refused, not "no route to host"), in both directions.
    let out = a
        .in_netns(|| TcpStream::connect_timeout(&gateway, QUIET))
        .unwrap();
    assert_timed_out(out, "cut host connecting to the gateway");
    let a_addr = SocketAddr::from((a.addr(), a_port));
    let inbound = b
        .in_netns(|| TcpStream::connect_timeout(&a_addr, QUIET))
        .unwrap();
    assert_timed_out(inbound, "another host connecting to the cut host");

    // The partition is per host: b still reaches the gateway.
    b.in_netns(|| TcpStream::connect_timeout(&gateway, Duration::from_secs(2)))
        .unwrap()
        .expect("an uncut host still reaches the gateway during another host's cut");

    // Neither end of the stalled connection has seen an error (a RST would set one).
    assert!(client.take_error().unwrap().is_none());
    assert!(conn.take_error().unwrap().is_none());

    let restored_at = Instant::now();
    a.restore().unwrap();
    a.restore().unwrap(); // idempotent
    assert!(!a.is_cut());
    // Same connections, data written during the cut, delivered at the next retransmission.
    assert_eq!(
        read_exactly(&mut conn, 6, Duration::from_secs(10)),
        b"during"
    );
    assert_eq!(
        read_exactly(&mut client, 5, Duration::from_secs(10)),
        b"reply"
    );
    eprintln!(
        "stalled data arrived {:?} after restore",
        restored_at.elapsed()
    );

    // And new connections work again.
    a.in_netns(|| TcpStream::connect_timeout(&gateway, Duration::from_secs(2)))
        .unwrap()
        .expect("the healed host connects to the gateway");
}

/// A long cut, to show why ARP passes through cuts: when it is dropped too, the neighbour
/// entry fails a few seconds in and new connections fail with "no route to host" instead of
/// timing out. Run with `cargo test -p gantry-testhost -- --ignored long_cut`.
#[test]
#[ignore = "takes about 40 s"]
fn long_cut_new_connections_still_time_out() {
    let lab = lab();
    let a = lab.host("a").unwrap();
    let server = TcpListener::bind((lab.gateway(), 0)).unwrap();
    let gateway = server.local_addr().unwrap();
    a.cut().unwrap();
    // Keep trying for longer than the neighbour entry's reachable time plus its probes.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let attempt = a
            .in_netns(|| TcpStream::connect_timeout(&gateway, Duration::from_secs(3)))
            .unwrap();
        assert_timed_out(attempt, "connecting during a long cut");
    }
    a.restore().unwrap();
}

fn assert_stalled(stream: &mut TcpStream, what: &str) {
    let deadline = Instant::now() + QUIET;
    let mut buf = [0; 16];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match stream.read(&mut buf) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            // A timed read fails with EINTR on any signal, even with SA_RESTART (tokio's
            // SIGCHLD handler in this process fires when other tests' children exit).
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Ok(0) => panic!("{what}: the connection was closed during the cut"),
            Ok(n) => panic!("{what}: {n} bytes got through the cut"),
            Err(e) => panic!("{what}: error during the cut (expected a silent stall): {e}"),
        }
    }
}

fn assert_timed_out(result: std::io::Result<TcpStream>, what: &str) {
    match result {
        Err(e) if e.kind() == ErrorKind::TimedOut => {}
        Err(e) => panic!("{what}: expected a timeout, got {e} ({:?})", e.kind()),
        Ok(_) => panic!("{what}: connected through the cut"),
    }
}
