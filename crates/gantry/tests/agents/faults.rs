//! Faults: an agent killed mid-job (the job moves to another agent once the lease
//! ends), network cuts shorter than the lease (the job completes, no line twice) and
//! longer (re-queued, the cut agent's late reports refused), a server restart while
//! agents run jobs.

use std::time::{Duration, Instant};

use crate::harness::{Agent, Server, lab};

/// One job printing a numbered line every 100 ms for `secs` seconds.
fn slow(name: &str, secs: u32, retry: u32) -> String {
    let n = secs * 10;
    format!(
        "name: {name}\non: {{ manual: {{}} }}\njobs:\n  work:\n    runs_on: [pool]\n    retry: {retry}\n    steps:\n      - run: for i in $(seq 1 {n}); do echo tick-$i; sleep 0.1; done\n"
    )
}

fn ticks(log: &str, n: u32) {
    for i in 1..=n {
        let line = format!("tick-{i}\n");
        let count = log
            .lines()
            .filter(|l| *l == &line[..line.len() - 1])
            .count();
        assert_eq!(count, 1, "tick-{i} must appear exactly once:\n{log}");
    }
}

fn wait_for_line(server: &Server, job: i64, text: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !server.raw_log(job).contains(text) {
        assert!(Instant::now() < deadline, "{text:?} never reached the log");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_killed_agents_job_is_retried_on_another_agent_after_the_lease() {
    let lab = lab();
    let (h1, h2) = (lab.host("k1").unwrap(), lab.host("k2").unwrap());
    let server = Server::start(&lab, &[("slow.yml", &slow("slow", 3, 1))], "4s");
    let mut first = Agent::start(&h1, &server, "first", "pool", 1);
    let run = server.trigger("slow");
    let job = server.wait_job(run, "work", Duration::from_secs(20), |j| {
        j["status"] == "running"
    });
    assert_eq!(job["owner"], "agent:first");
    let id = job["id"].as_i64().unwrap();
    wait_for_line(&server, id, "tick-3", Duration::from_secs(10));
    first.child.kill().unwrap();
    let killed_at = Instant::now();
    let _second = Agent::start(&h2, &server, "second", "pool", 1);
    let job = server.wait_job(run, "work", Duration::from_secs(20), |j| {
        j["owner"] == "agent:second"
    });
    assert_eq!(job["attempt"], 2, "{job}");
    assert!(
        killed_at.elapsed() >= Duration::from_secs(2),
        "moved only after the lease ran out"
    );
    let detail = server.wait_run(run, Duration::from_secs(30));
    assert_eq!(detail["run"]["status"], "success", "{detail}");
    let log = server.raw_log(id);
    let (before, after) = log
        .split_once("attempt 2")
        .unwrap_or_else(|| panic!("the retry is marked in the log:\n{log}"));
    assert!(
        before.contains("tick-3"),
        "lines written before the kill are kept"
    );
    ticks(after, 30);
}

#[test]
fn a_cut_shorter_than_the_lease_loses_and_duplicates_nothing() {
    let lab = lab();
    let host = lab.host("c1").unwrap();
    let server = Server::start(&lab, &[("slow.yml", &slow("slow", 6, 0))], "12s");
    let agent = Agent::start(&host, &server, "cut", "pool", 1);
    let run = server.trigger("slow");
    let job = server.wait_job(run, "work", Duration::from_secs(20), |j| {
        j["status"] == "running"
    });
    let id = job["id"].as_i64().unwrap();
    wait_for_line(&server, id, "tick-10", Duration::from_secs(10));
    host.cut().unwrap();
    std::thread::sleep(Duration::from_secs(4));
    host.restore().unwrap();
    let detail = server.wait_run(run, Duration::from_secs(40));
    assert_eq!(
        detail["run"]["status"],
        "success",
        "{detail}\n{}",
        agent.text()
    );
    let job = Server::job(&detail, "work");
    assert_eq!(job["attempt"], 1, "the job was never taken away: {job}");
    ticks(&server.raw_log(id), 60);
}

#[test]
fn a_cut_longer_than_the_lease_requeues_and_late_reports_are_refused() {
    let lab = lab();
    let (h1, h2) = (lab.host("l1").unwrap(), lab.host("l2").unwrap());
    let server = Server::start(&lab, &[("slow.yml", &slow("slow", 4, 1))], "3s");
    let cut_agent = Agent::start(&h1, &server, "isolated", "pool", 1);
    let run = server.trigger("slow");
    let job = server.wait_job(run, "work", Duration::from_secs(20), |j| {
        j["status"] == "running"
    });
    assert_eq!(job["owner"], "agent:isolated");
    let id = job["id"].as_i64().unwrap();
    wait_for_line(&server, id, "tick-5", Duration::from_secs(10));
    h1.cut().unwrap();
    let _other = Agent::start(&h2, &server, "other", "pool", 1);
    let job = server.wait_job(run, "work", Duration::from_secs(20), |j| {
        j["owner"] == "agent:other"
    });
    assert_eq!(job["attempt"], 2);
    // Heal while the new attempt runs: the isolated agent's reports carry the old
    // fencing token and are refused; it stops its copy.
    h1.restore().unwrap();
    let detail = server.wait_run(run, Duration::from_secs(40));
    assert_eq!(detail["run"]["status"], "success", "{detail}");
    let log = server.raw_log(id);
    let (_, after) = log.split_once("attempt 2").unwrap();
    ticks(after, 40);
    // Cut off, the agent counted the lease itself and stopped its copy (it cannot have
    // heard of the new owner: no poll of it was answered during the cut).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cut_agent
        .text()
        .contains("lease lost: no answer from the server for a whole lease")
    {
        assert!(
            Instant::now() < deadline,
            "the isolated agent stops the job it lost:\n{}",
            cut_agent.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn agents_keep_running_through_a_server_restart() {
    let lab = lab();
    let host = lab.host("r1").unwrap();
    let mut server = Server::start(&lab, &[("slow.yml", &slow("slow", 5, 0))], "15s");
    let agent = Agent::start(&host, &server, "steady", "pool", 1);
    let run = server.trigger("slow");
    let job = server.wait_job(run, "work", Duration::from_secs(20), |j| {
        j["status"] == "running"
    });
    let id = job["id"].as_i64().unwrap();
    wait_for_line(&server, id, "tick-5", Duration::from_secs(10));
    server.restart();
    let detail = server.wait_run(run, Duration::from_secs(40));
    assert_eq!(
        detail["run"]["status"],
        "success",
        "{detail}\n{}",
        agent.text()
    );
    assert_eq!(Server::job(&detail, "work")["attempt"], 1);
    ticks(&server.raw_log(id), 50);
}
