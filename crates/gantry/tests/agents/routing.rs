//! Three agents on three test hosts run a 30-job pipeline: every job runs on an agent
//! whose labels it asked for (proved by the host address it prints), artifacts travel
//! from one agent to another through the server, and every log is complete.

use std::time::Duration;

use crate::harness::{Agent, Server, lab};

/// 10 jobs per label (a, b, and any), plus a producer/consumer pair across agents.
fn pipeline() -> String {
    let mut p = String::from("name: fan\non: { manual: {} }\njobs:\n");
    p.push_str(
        "  produce:\n    runs_on: [alpha]\n    artifacts: [out/]\n    cache: { key: deps-1, paths: [deps] }\n    steps:\n      - run: mkdir -p deps && echo cached-on-$(hostname -I | tr -d ' ') > deps/lib\n      - run: mkdir -p out && echo made-on-$(hostname -I | tr -d ' ') > out/made.txt\n      - run: test ! -e .git/objects/info/alternates && echo commit-$(git log -1 --format=%H) && echo dirty-$(git status --porcelain --untracked-files=no | wc -l)\n",
    );
    p.push_str(
        "  consume:\n    runs_on: [beta]\n    needs: [produce]\n    cache: { key: deps-2, restore_keys: [deps-], paths: [deps] }\n    outputs: { where: \"${{ steps.read.outputs.where }}\" }\n    steps:\n      - id: read\n        run: cat deps/lib && cat out/made.txt && echo \"where=$(cat out/made.txt)\" >> \"$GANTRY_OUTPUT\"\n",
    );
    for i in 0..28 {
        let labels = match i % 3 {
            0 => "    runs_on: [alpha]\n",
            1 => "    runs_on: [beta, linux]\n",
            _ => "",
        };
        p.push_str(&format!(
            "  j{i}:\n{labels}    steps:\n      - run: for n in 1 2 3 4 5; do echo j{i}-line-$n on $(hostname -I | tr -d ' '); done; cat input.txt\n"
        ));
    }
    p
}

#[test]
fn three_agents_run_a_30_job_pipeline_with_label_routing() {
    let lab = lab();
    let hosts: Vec<_> = ["h-alpha", "h-beta", "h-gamma"]
        .iter()
        .map(|n| lab.host(n).unwrap())
        .collect();
    let server = Server::start(&lab, &[("fan.yml", &pipeline())], "10s");
    let _agents = [
        Agent::start(&hosts[0], &server, "alpha-1", "alpha,linux", 3),
        Agent::start(&hosts[1], &server, "beta-1", "beta,linux", 3),
        Agent::start(&hosts[2], &server, "gamma-1", "gamma,linux", 3),
    ];
    let run = server.trigger("fan");
    let detail = server.wait_run(run, Duration::from_secs(120));
    assert_eq!(detail["run"]["status"], "success", "{detail}");
    let jobs = detail["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 30);
    // The source's `.git` stands on its own on the agent (no link to the server's
    // mirror): `git log` and `git status` work there.
    let sha = detail["run"]["git"]["sha"].as_str().unwrap();
    let produce = jobs.iter().find(|j| j["key"] == "produce").unwrap();
    let log = server.raw_log(produce["id"].as_i64().unwrap());
    assert!(log.contains(&format!("commit-{sha}")), "{log}");
    assert!(log.contains("dirty-0"), "{log}");
    let addr = |i: usize| hosts[i].addr().to_string();
    let mut by_agent = std::collections::BTreeMap::<String, usize>::new();
    for job in jobs {
        let key = job["key"].as_str().unwrap();
        let owner = job["owner"].as_str().unwrap_or_default().to_string();
        *by_agent.entry(owner.clone()).or_default() += 1;
        let log = server.raw_log(job["id"].as_i64().unwrap());
        let expect_host = match owner.as_str() {
            "agent:alpha-1" => addr(0),
            "agent:beta-1" => addr(1),
            "agent:gamma-1" => addr(2),
            other => panic!("job {key} ran on {other:?}, not an agent"),
        };
        if let Some(i) = key.strip_prefix('j') {
            let i: usize = i.parse().unwrap();
            match i % 3 {
                0 => assert_eq!(owner, "agent:alpha-1", "{key}"),
                1 => assert_eq!(owner, "agent:beta-1", "{key}"),
                _ => {}
            }
            for n in 1..=5 {
                let line = format!("j{i}-line-{n} on {expect_host}");
                assert_eq!(
                    log.matches(&line).count(),
                    1,
                    "{key}: {line:?} once in\n{log}"
                );
            }
            assert!(
                log.contains("from the repository"),
                "{key}: the source arrived\n{log}"
            );
        }
    }
    // Jobs without runs_on went to agents too (unlabeled_jobs: agents), and no job ran
    // on the server's own pool.
    assert!(!by_agent.contains_key("server"), "{by_agent:?}");
    let produce = Server::job(&detail, "produce");
    let consume = Server::job(&detail, "consume");
    assert_eq!(produce["owner"], "agent:alpha-1");
    assert_eq!(consume["owner"], "agent:beta-1");
    // The artifact made on alpha's host was read on beta's.
    assert_eq!(
        consume["outputs"]["where"],
        format!("made-on-{}", addr(0)),
        "{consume}"
    );
    // The cache saved on alpha's host was restored on beta's, through the server.
    let log = server.raw_log(consume["id"].as_i64().unwrap());
    assert!(log.contains("cache restored from key 'deps-1'"), "{log}");
    assert!(log.contains(&format!("cached-on-{}", addr(0))), "{log}");
    // The artifact is downloadable from the server like any other.
    let listed = server.api("GET", &format!("/api/v1/runs/{run}/artifacts"), None);
    assert!(listed.to_string().contains("made.txt"), "{listed}");
}
