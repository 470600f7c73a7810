//! Every pipeline in `examples/` runs through `gantry run --json`; the reports are checked.

use crate::support::{Project, job, results, stderr};

#[test]
fn rust_ci_formats_tests_builds_and_smoke_tests_with_cache_and_artifact() {
    let p = Project::example("rust-ci");
    let (code, report, out) = p.run_json(&[]);
    assert_eq!(code, 0, "{}", stderr(&out));
    assert_eq!(report["status"], "success");
    assert_eq!(
        results(&report),
        [
            ("fmt", "success"),
            ("test", "success"),
            ("build", "success"),
            ("smoke", "success")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let build = job(&report, "build");
    let version = build["outputs"]["version"]
        .as_str()
        .expect("version output");
    let (semver, sha) = version.split_once('+').expect("version+sha");
    assert_eq!(semver, "0.3.1");
    assert_eq!(sha.len(), 8);
    assert_eq!(
        build["artifacts"],
        serde_json::json!(["target/release/hello"])
    );
    assert!(stderr(&out).contains(&format!("testing version {version}")));
    // The first run missed the cache and saved it; a second run restores it.
    assert!(job(&report, "test").get("cache_hit").is_none());
    let (code, again, out) = p.run_json(&["--job", "test"]);
    assert_eq!(code, 0, "{}", stderr(&out));
    assert_eq!(
        results(&again).len(),
        2,
        "--job test runs test and what it needs"
    );
    let hit = job(&again, "test")["cache_hit"]
        .as_str()
        .expect("cache hit on the second run");
    assert!(hit.starts_with("cargo-test-"));
}

#[test]
fn fan_out_fan_in_passes_artifacts_through_the_dag() {
    let p = Project::example("fan-out");
    let (code, report, out) = p.run_json(&["-j", "4"]);
    assert_eq!(code, 0, "{}", stderr(&out));
    let r = results(&report);
    assert_eq!(r.len(), 10);
    assert!(r.iter().all(|(_, res)| res == "success"), "{r:?}");
    assert_eq!(r[0].0, "prepare");
    assert_eq!(r[9].0, "merge");
    for n in 1..=8 {
        let shard = job(&report, &format!("shard ({n})"));
        assert_eq!(shard["matrix"]["n"], n);
        assert_eq!(
            shard["artifacts"],
            serde_json::json!([format!("out/shard-{n}.txt")])
        );
    }
    // 1² + 2² + … + 8² computed from the eight shards' artifacts.
    assert_eq!(job(&report, "merge")["outputs"]["total"], "204");
}

#[test]
fn matrix_include_and_exclude_make_the_right_cells() {
    let p = Project::example("matrix");
    let (code, report, out) = p.run_json(&[]);
    assert_eq!(code, 0, "{}", stderr(&out));
    let mut cells: Vec<String> = report["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["outputs"]["cell"].as_str().unwrap().to_string())
        .collect();
    cells.sort();
    assert_eq!(
        cells,
        [
            "freebsd-stable",
            "linux-beta",
            "linux-nightly",
            "linux-stable",
            "macos-beta",
            "macos-stable"
        ]
    );
    let nightly = report["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["matrix"]["toolchain"] == "nightly")
        .unwrap();
    assert_eq!(nightly["matrix"]["experimental"], true);
    assert!(stderr(&out).contains("testing on linux with nightly (experimental=true)"));
}

#[test]
fn outputs_flow_from_steps_to_jobs_to_later_jobs() {
    let p = Project::example("outputs");
    let (code, report, out) = p.run_json(&[]);
    assert_eq!(code, 0, "{}", stderr(&out));
    let version = job(&report, "version");
    assert_eq!(version["outputs"]["version"], "1.4.2");
    assert_eq!(version["outputs"]["notes"], "first line\nsecond line");
    assert_eq!(version["steps"][0]["outputs"]["version"], "1.4.2");
    assert_eq!(
        job(&report, "package")["outputs"]["file"],
        "app-1.4.2.tar.gz"
    );
    assert_eq!(job(&report, "announce")["result"], "success");
    let err = stderr(&out);
    assert!(err.contains("releasing app-1.4.2.tar.gz"), "{err}");
    assert!(err.contains("second line"));
}

#[test]
fn failure_handling_with_continue_on_error_failure_and_always() {
    let p = Project::example("failure");
    let (code, report, out) = p.run_json(&[]);
    assert_eq!(code, 1, "a failed run exits 1: {}", stderr(&out));
    assert_eq!(report["status"], "failure");
    let lint = job(&report, "lint");
    assert_eq!(lint["result"], "success");
    assert_eq!(lint["steps"][0]["outcome"], "failure");
    assert_eq!(lint["steps"][0]["result"], "success");
    assert_eq!(lint["steps"][0]["exit_code"], 3);
    let test = job(&report, "test");
    assert_eq!(test["result"], "failure");
    let steps: Vec<(&str, Option<i64>)> = test["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["result"].as_str().unwrap(), s["exit_code"].as_i64()))
        .collect();
    assert_eq!(
        steps,
        [
            ("failure", Some(1)),
            ("skipped", None),
            ("success", Some(0))
        ]
    );
    assert!(stderr(&out).contains("collected after failure"));
    assert_eq!(job(&report, "deploy")["result"], "skipped");
    assert_eq!(job(&report, "notify")["result"], "success");
    assert!(stderr(&out).contains("test ended with failure; paging the author"));
}

#[test]
fn docker_job_reaches_its_sidecar_by_name() {
    let p = Project::example("docker-service");
    let (code, report, out) = p.run_json(&[]);
    assert_eq!(code, 0, "{}", stderr(&out));
    let j = job(&report, "integration");
    assert_eq!(j["executor"], "docker");
    assert_eq!(
        j["steps"][1]["outputs"]["response"],
        "hello from the sidecar"
    );
    assert_eq!(j["artifacts"], serde_json::json!(["from-container.txt"]));
}
