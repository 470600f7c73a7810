//! Hosts reach the gateway and each other, commands run inside a host with their arguments,
//! environment and working directory intact, and a lab leaves the root namespace's firewall
//! and sysctls alone (this machine runs Docker, whose FORWARD policy is DROP).

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::support::{accept, lab, read_exactly};

#[test]
fn hosts_reach_the_gateway_and_each_other() {
    let lab = lab();
    let a = lab.host("a").unwrap();
    let b = lab.host("b").unwrap();
    assert_ne!(a.addr(), b.addr());

    let server = TcpListener::bind((lab.gateway(), 0)).unwrap();
    let gateway = server.local_addr().unwrap();
    for host in [&a, &b] {
        let mut client = host
            .in_netns(|| TcpStream::connect(gateway))
            .unwrap()
            .unwrap();
        let (mut conn, peer) = accept(&server);
        assert_eq!(
            peer.ip(),
            host.addr(),
            "the gateway sees the host's own address"
        );
        client.write_all(host.name().as_bytes()).unwrap();
        let got = read_exactly(&mut conn, host.name().len(), Duration::from_secs(5));
        assert_eq!(got, host.name().as_bytes());
    }

    // Host to host is bridged traffic: it would die in Docker's FORWARD chain if the bridge
    // lived in the root namespace.
    let on_b = b
        .in_netns(|| TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)))
        .unwrap()
        .unwrap();
    let port = on_b.local_addr().unwrap().port();
    let mut client = a
        .in_netns(|| TcpStream::connect_timeout(&(b.addr(), port).into(), Duration::from_secs(5)))
        .unwrap()
        .unwrap();
    let (mut conn, peer) = accept(&on_b);
    assert_eq!(peer.ip(), a.addr());
    client.write_all(b"a to b").unwrap();
    assert_eq!(
        read_exactly(&mut conn, 6, Duration::from_secs(5)),
        b"a to b"
    );
}

#[test]
fn commands_run_inside_the_host_with_args_env_and_cwd() {
    let lab = lab();
    let host = lab.host("cmd").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = host
        .command("sh")
        .arg("-c")
        .arg(r#"echo "$GREETING|$1|$(pwd)"; hostname -I"#)
        .arg("sh")
        .arg("--looks-like-an-ip-option")
        .env("GREETING", "hello there")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut lines = stdout.lines();
    let canonical = dir.path().canonicalize().unwrap();
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "hello there|--looks-like-an-ip-option|{}",
            canonical.display()
        )
    );
    // The namespace has exactly the host's address (loopback is not listed by -I).
    assert_eq!(lines.next().unwrap().trim(), host.addr().to_string());
}

#[tokio::test]
async fn tokio_commands_reach_the_gateway_and_keep_their_pid() {
    let lab = lab();
    let host = lab.host("tokio").unwrap();
    let server = tokio::net::TcpListener::bind((lab.gateway(), 0))
        .await
        .unwrap();
    let port = server.local_addr().unwrap().port();

    // bash's /dev/tcp makes a client out of nothing but the shell.
    let mut child = host
        .tokio_command("bash")
        .arg("-c")
        .arg(r#"echo "$$ hello from $NAME" > "/dev/tcp/$GATEWAY/$PORT""#)
        .env("NAME", host.name())
        .env("GATEWAY", lab.gateway().to_string())
        .env("PORT", port.to_string())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let (mut conn, peer) = tokio::time::timeout(Duration::from_secs(5), server.accept())
        .await
        .expect("the host connected within 5 s")
        .unwrap();
    assert_eq!(peer.ip(), host.addr());
    let mut text = String::new();
    conn.read_to_string(&mut text).await.unwrap();
    // `ip netns exec` execs the program in place, so the child handle is the program itself
    // and kill_on_drop / signals reach it.
    assert_eq!(text.trim(), format!("{pid} hello from tokio"));
    assert!(child.wait().await.unwrap().success());
}

#[test]
fn labs_leave_the_root_firewall_and_sysctls_alone() {
    let before = root_network_settings();
    {
        let lab = lab();
        let a = lab.host("a").unwrap();
        let _b = lab.host("b").unwrap();
        a.cut().unwrap();
        assert_eq!(root_network_settings(), before, "while a lab is up");
        a.restore().unwrap();
    }
    assert_eq!(root_network_settings(), before, "after the lab is dropped");
}

/// The root namespace's nftables rules (without counters) and the forwarding sysctls.
fn root_network_settings() -> String {
    let rules = Command::new("nft")
        .args(["-s", "list", "ruleset"])
        .output()
        .unwrap();
    assert!(rules.status.success(), "{rules:?}");
    let mut settings = String::from_utf8(rules.stdout).unwrap();
    for sysctl in [
        "/proc/sys/net/ipv4/ip_forward",
        "/proc/sys/net/bridge/bridge-nf-call-iptables",
    ] {
        let value = std::fs::read_to_string(sysctl).unwrap_or_else(|_| "absent".into());
        settings.push_str(&format!("{sysctl} = {value}"));
    }
    settings
}
