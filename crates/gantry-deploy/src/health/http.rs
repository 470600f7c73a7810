//! The `http` check: a GET from the deployer to `http://<host address>:<port><path>`,
//! healthy when the status code is the expected one. A plain HTTP/1.1 client on a
//! blocking socket is enough for a status line and keeps a runtime out of the deployer.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::tcp::connect;

/// Most of the response read: the status line is all the check needs.
const MAX_HEAD: usize = 8 * 1024;

pub fn probe(
    address: &str,
    port: u16,
    path: &str,
    expect: u16,
    timeout: Duration,
) -> Result<(), String> {
    let url = format!("http://{address}:{port}{path}");
    let status = get_status(address, port, path, timeout).map_err(|e| format!("GET {url}: {e}"))?;
    if status == expect {
        Ok(())
    } else {
        Err(format!("GET {url}: status {status}, expected {expect}"))
    }
}

fn get_status(address: &str, port: u16, path: &str, timeout: Duration) -> Result<u16, String> {
    let deadline = Instant::now() + timeout;
    let mut stream = connect(address, port, timeout).map_err(|e| e.to_string())?;
    let left = |now: Instant| {
        deadline
            .saturating_duration_since(now)
            .max(Duration::from_millis(1))
    };
    stream
        .set_write_timeout(Some(left(Instant::now())))
        .map_err(|e| e.to_string())?;
    let host = if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: gantry-deploy\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if Instant::now() >= deadline {
            return Err(format!("no answer within {timeout:?}"));
        }
        stream
            .set_read_timeout(Some(left(Instant::now())))
            .map_err(|e| e.to_string())?;
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        head.extend_from_slice(&buf[..n]);
        if n == 0 || head.contains(&b'\n') || head.len() > MAX_HEAD {
            break;
        }
    }
    parse_status(&head).ok_or_else(|| "not an HTTP response".to_string())
}

/// The code of an `HTTP/1.x NNN …` status line.
fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn reads_the_status_line() {
        assert_eq!(parse_status(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(parse_status(b"HTTP/1.0 500\r\n"), Some(500));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(b""), None);
    }

    #[test]
    fn probes_a_server_and_compares_the_status() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            for code in [200, 503] {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf);
                let _ = write!(s, "HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n");
            }
        });
        let t = Duration::from_secs(2);
        assert!(probe("127.0.0.1", port, "/healthz", 200, t).is_ok());
        let err = probe("127.0.0.1", port, "/healthz", 200, t).unwrap_err();
        assert!(err.contains("status 503, expected 200"), "{err}");
        server.join().unwrap();
        let err = probe("127.0.0.1", port, "/", 200, t).unwrap_err();
        assert!(err.contains("GET http://127.0.0.1"), "{err}");
    }
}
