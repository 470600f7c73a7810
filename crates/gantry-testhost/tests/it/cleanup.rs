//! Dropping hosts and labs removes everything they made, and labs of a test process killed
//! with -9 are removed by the next `Lab::new` — but never those of a live process.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use crate::support::{eventually, lab, netns_exists, process_dead, root_link_exists};

/// Set in the environment of the helper process that plays the killed test.
const HELPER_ENV: &str = "GANTRY_TESTHOST_STALE_HELPER";

#[test]
fn dropping_a_host_kills_its_processes_and_removes_it() {
    let lab = lab();
    let lab_netns = lab.netns().to_owned();
    let host = lab.host("doomed").unwrap();
    let host_netns = host.netns().to_owned();
    let mut sleeper = host.command("sleep").arg("600").spawn().unwrap();
    assert!(netns_exists(&host_netns));

    drop(host);
    assert!(!netns_exists(&host_netns), "host namespace removed");
    let status = sleeper.wait().unwrap();
    assert!(!status.success(), "the process inside was killed: {status}");
    let ports = Command::new("ip")
        .args(["-n", &lab_netns, "-o", "link", "show", "master", "br0"])
        .output()
        .unwrap();
    let ports = String::from_utf8(ports.stdout).unwrap();
    assert!(
        !ports.contains("p0"),
        "the host's bridge port is gone: {ports}"
    );

    // Dropping the lab removes its namespace and its uplink in the root namespace.
    drop(lab);
    assert!(!netns_exists(&lab_netns), "lab namespace removed");
    assert!(!root_link_exists(&lab_netns), "uplink removed");
}

#[test]
fn the_network_lives_until_the_last_host_is_dropped() {
    let lab = lab();
    let lab_netns = lab.netns().to_owned();
    let gateway = lab.gateway();
    let host = lab.host("survivor").unwrap();
    drop(lab);
    let output = host
        .command("bash")
        .arg("-c")
        .arg(format!("exec 3<>/dev/tcp/{gateway}/1 || true; echo done"))
        .output()
        .unwrap();
    // Port 1 is closed: "refused" proves the gateway still answers.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refused"), "{stderr}");
    drop(host);
    assert!(!netns_exists(&lab_netns));
    assert!(!root_link_exists(&lab_netns));
}

#[test]
fn labs_of_killed_processes_are_cleaned_up_but_live_ones_are_not() {
    let exe = std::env::current_exe().unwrap();
    let mut helper = Command::new(exe)
        .args([
            "cleanup::stale_helper",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(HELPER_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let report = BufReader::new(helper.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .find_map(|line| line.strip_prefix("HELPER ").map(str::to_owned))
        .expect("the helper reports its lab");
    let fields: Vec<&str> = report.split_whitespace().collect();
    let [lab_netns, host_netns, gateway, sleeper] = fields[..] else {
        panic!("unexpected helper report {report:?}")
    };
    let gateway: Ipv4Addr = gateway.parse().unwrap();
    let sleeper: u32 = sleeper.parse().unwrap();

    // While the helper lives, its lab is not stale, and a new lab here avoids its subnet.
    let mine = lab();
    gantry_testhost::cleanup_stale().unwrap();
    assert_ne!(mine.gateway(), gateway);
    assert!(netns_exists(lab_netns) && netns_exists(host_netns));
    assert!(!process_dead(sleeper));

    helper.kill().unwrap(); // SIGKILL: no Drop runs
    helper.wait().unwrap();

    gantry_testhost::cleanup_stale().unwrap();
    // Another test's `Lab::new` may be the one cleaning up, so allow it a moment.
    assert!(
        eventually(|| !netns_exists(lab_netns)),
        "stale lab namespace removed"
    );
    assert!(
        eventually(|| !netns_exists(host_netns)),
        "stale host namespace removed"
    );
    assert!(
        eventually(|| !root_link_exists(lab_netns)),
        "stale uplink removed"
    );
    assert!(
        eventually(|| process_dead(sleeper)),
        "the process left in the stale host was killed"
    );
    assert!(
        netns_exists(mine.netns()),
        "this process's own lab is untouched"
    );
}

/// Plays a test process that gets killed: makes a lab with a host running a process,
/// reports their names and waits to be killed. Only does anything when started by the test
/// above.
#[test]
#[ignore = "helper process for labs_of_killed_processes_are_cleaned_up_but_live_ones_are_not"]
fn stale_helper() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let lab = lab();
    let host = lab.host("orphan").unwrap();
    let mut sleeper = host.command("sleep").arg("600").spawn().unwrap();
    println!(
        "HELPER {} {} {} {}",
        lab.netns(),
        host.netns(),
        lab.gateway(),
        sleeper.id()
    );
    // Blocks until the test kills this process.
    sleeper.wait().unwrap();
}
