//! `gantry run` behaviour beyond the examples: secrets masking, Ctrl-C, timeouts,
//! retries, job selection, typed inputs, the sandbox, the human summary.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{Project, job, results, stderr};

const SECRET: &str = "hunter2-Sup3rS3cret-value";
const MULTILINE_SECRET_LINE: &str = "MIIEvgIBADANBgkqhkiG9w0BAQEFAASC";

#[test]
fn secrets_never_appear_in_output_or_report() {
    let p = Project::with_pipeline(
        r#"
jobs:
  leak:
    outputs:
      token: "${{ steps.s.outputs.token }}"
    steps:
      - id: s
        env:
          TOKEN: "${{ secrets.API_TOKEN }}"
          KEY: "${{ secrets.PRIVATE_KEY }}"
        run: |
          echo "plain: $TOKEN"
          echo "stderr: $TOKEN" >&2
          echo "base64: $(printf '%s' "$TOKEN" | base64 -w0)"
          echo "inside base64: $(printf 'user:%s' "$TOKEN" | base64 -w0)"
          echo "$KEY"
          echo "token=$TOKEN" >> "$GANTRY_OUTPUT"
          echo "inline: ${{ secrets.API_TOKEN }}"
"#,
    );
    let secrets = p.path().join("secrets.env");
    std::fs::write(
        &secrets,
        format!("API_TOKEN={SECRET}\nPRIVATE_KEY<<END\n-----BEGIN KEY-----\n{MULTILINE_SECRET_LINE}\n-----END KEY-----\nEND\n"),
    )
    .unwrap();
    let file = secrets.to_str().unwrap();
    let (code, report, out) = p.run_json(&["--secret-file", file]);
    assert_eq!(code, 0, "{}", stderr(&out));
    let human = p.run(&["run", "--secret-file", file]);
    assert!(human.status.success());
    let mut everything = String::new();
    for o in [&out, &human] {
        everything.push_str(&String::from_utf8_lossy(&o.stdout));
        everything.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    everything.push_str(&report.to_string());
    assert!(everything.contains("plain: ***"), "{everything}");
    assert!(everything.contains("base64: ***"));
    for needle in [SECRET, MULTILINE_SECRET_LINE] {
        assert!(!everything.contains(needle), "secret leaked:\n{everything}");
    }
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(SECRET);
    assert!(!everything.contains(&b64));
    assert_eq!(job(&report, "leak")["outputs"]["token"], "***");
}

#[test]
fn ctrl_c_kills_every_process_tree_runs_cleanup_and_says_cancelled() {
    let p = Project::with_pipeline(
        r#"
jobs:
  slow:
    steps:
      - name: Sleep
        run: |
          sleep 300 &
          echo $! >> "$GANTRY_WORKSPACE/../../pids"
          echo $$ >> "$GANTRY_WORKSPACE/../../pids"
          echo started
          sleep 300
      - name: Cleanup
        if: ${{ always() }}
        run: echo "cleanup ran"
  other:
    steps:
      - run: |
          sleep 200 &
          echo $! >> "$GANTRY_WORKSPACE/../../pids"
          echo started-other
          wait
"#,
    );
    let mut child = p
        .command(&["run", "--keep-workdirs"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = 0;
    let mut transcript = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        transcript.push_str(&line);
        transcript.push('\n');
        if line.ends_with("started") || line.ends_with("started-other") {
            seen += 1;
            if seen == 2 {
                break;
            }
        }
    }
    assert_eq!(seen, 2, "{transcript}");
    let pid = child.id().to_string();
    let started = Instant::now();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    for line in lines {
        transcript.push_str(&line.unwrap());
        transcript.push('\n');
    }
    let status = child.wait().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "cancel took {:?}",
        started.elapsed()
    );
    assert_eq!(status.code(), Some(130), "{transcript}");
    assert!(transcript.contains("cleanup ran"), "{transcript}");
    assert!(transcript.contains("Run cancelled"), "{transcript}");
    assert!(transcript.contains("cancelled"));
    // Every process the steps started is gone.
    let runs = p.data.path().join("runs");
    let run_dir = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let pids = std::fs::read_to_string(run_dir.join("pids")).unwrap();
    let pids: Vec<&str> = pids.lines().collect();
    assert!(pids.len() >= 3, "{pids:?}");
    std::thread::sleep(Duration::from_millis(200));
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z ")),
            "process {pid} survived the cancel"
        );
    }
}

#[test]
fn job_timeout_kills_the_step_and_fails_the_job() {
    let p = Project::with_pipeline(
        r#"
jobs:
  slow:
    timeout: 1s
    steps:
      - run: sleep 30
  after:
    needs: [slow]
    steps:
      - run: echo never
"#,
    );
    let started = Instant::now();
    let (code, report, _) = p.run_json(&[]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(code, 1);
    let slow = job(&report, "slow");
    assert_eq!(slow["result"], "failure");
    assert!(
        slow["reason"]
            .as_str()
            .unwrap()
            .contains("timed out after 1s"),
        "{slow}"
    );
    assert_eq!(job(&report, "after")["result"], "skipped");
}

#[test]
fn step_retry_and_step_timeout() {
    let p = Project::with_pipeline(
        r#"
jobs:
  flaky:
    steps:
      - name: Fails once
        retry: 2
        run: |
          n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count
          test $n -ge 2
      - name: Too slow
        timeout: 500ms
        continue_on_error: true
        run: sleep 20
"#,
    );
    let (code, report, out) = p.run_json(&[]);
    assert_eq!(code, 0, "{}", stderr(&out));
    let steps = &job(&report, "flaky")["steps"];
    assert_eq!(steps[0]["attempts"], 2);
    assert_eq!(steps[0]["result"], "success");
    assert_eq!(steps[1]["timed_out"], true);
    assert_eq!(steps[1]["outcome"], "failure");
    assert!(steps[1]["duration_ms"].as_u64().unwrap() < 8000);
}

#[test]
fn job_selection_runs_the_job_and_what_it_needs() {
    let p = Project::example("outputs");
    let (code, report, _) = p.run_json(&["--job", "package"]);
    assert_eq!(code, 0);
    let keys: Vec<String> = results(&report).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["version", "package"]);
    let out = p.run(&["run", "--job", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no job named 'nope'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn typed_manual_inputs_are_checked_and_passed() {
    let p = Project::with_pipeline(
        r#"
on:
  manual:
    inputs:
      target: { default: staging, options: [staging, production] }
      dry_run: { type: boolean, default: true }
jobs:
  show:
    outputs:
      line: "${{ steps.s.outputs.line }}"
    steps:
      - id: s
        run: echo "line=${{ inputs.target }}/${{ inputs.dry_run }}" >> "$GANTRY_OUTPUT"
"#,
    );
    let (code, report, _) = p.run_json(&[
        "--event",
        "manual",
        "--input",
        "target=production",
        "--input",
        "dry_run=false",
    ]);
    assert_eq!(code, 0);
    assert_eq!(job(&report, "show")["outputs"]["line"], "production/false");
    let (_, defaults, _) = p.run_json(&["--event", "manual"]);
    assert_eq!(job(&defaults, "show")["outputs"]["line"], "staging/true");
    let bad = p.run(&["run", "--event", "manual", "--input", "target=prod"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("target"), "{}", stderr(&bad));
}

#[test]
fn host_steps_get_a_clean_environment_and_gantry_variables() {
    let p = Project::with_pipeline(
        r#"
env: { PIPELINE_VAR: p }
jobs:
  env:
    env: { JOB_VAR: "${{ env.PIPELINE_VAR }}-j" }
    outputs:
      seen: "${{ steps.e.outputs.seen }}"
    steps:
      - id: e
        env: { STEP_VAR: s }
        run: |
          echo "seen=${LEAKY:-unset}|$PIPELINE_VAR|$JOB_VAR|$STEP_VAR|$CI|$GANTRY_JOB|$GANTRY_BRANCH" >> "$GANTRY_OUTPUT"
"#,
    );
    let out = p
        .command(&["run", "--json"])
        .env("LEAKY", "from-parent")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        job(&report, "env")["outputs"]["seen"],
        "unset|p|p-j|s|true|env|main"
    );
}

#[test]
fn sandboxed_job_cannot_write_outside_its_work_directory_or_reach_the_network() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let p = Project::with_pipeline(&format!(
        r#"
jobs:
  sandboxed:
    executor: sandbox
    outputs:
      verdict: "${{{{ steps.probe.outputs.verdict }}}}"
    steps:
      - id: probe
        run: |
          v=""
          touch inside.txt && v="$v inside-ok"
          touch /etc/gantry-escape 2>/dev/null && v="$v etc-WRITABLE" || v="$v etc-denied"
          touch "$HOME/gantry-escape" 2>/dev/null && v="$v home-WRITABLE" || v="$v home-denied"
          (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && v="$v net-OPEN" || v="$v net-denied"
          echo "verdict=$v" >> "$GANTRY_OUTPUT"
  networked:
    executor: sandbox
    network: true
    steps:
      - run: (exec 3<>/dev/tcp/127.0.0.1/{port})
"#
    ));
    let (code, report, out) = p.run_json(&[]);
    assert_eq!(code, 0, "{}", stderr(&out));
    assert_eq!(
        job(&report, "sandboxed")["outputs"]["verdict"],
        " inside-ok etc-denied home-denied net-denied"
    );
    assert_eq!(job(&report, "networked")["result"], "success");
    assert!(!std::path::Path::new("/etc/gantry-escape").exists());
    drop(listener);
}

#[test]
fn human_output_prefixes_lines_and_prints_a_summary_table() {
    let p = Project::example("failure");
    let out = p.run(&["run"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("lint") && l.contains("│ lint ok")),
        "{text}"
    );
    let table_start = text.find("JOB").expect("summary header");
    let table = &text[table_start..];
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("test") && l.contains("failure") && l.contains("exit code 1")),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("deploy") && l.contains("skipped")),
        "{table}"
    );
    assert!(table.contains("Run failed"));
}

#[test]
fn parallelism_limit_bounds_running_jobs() {
    let mut yaml = String::from("jobs:\n");
    for i in 0..6 {
        yaml.push_str(&format!(
            "  j{i}:\n    steps:\n      - run: |\n          echo \"+ $(date +%s%N)\" >> ../../timeline\n          sleep 0.4\n          echo \"- $(date +%s%N)\" >> ../../timeline\n"
        ));
    }
    let p = Project::with_pipeline(&yaml);
    let (code, _, out) = p.run_json(&["-j", "2"]);
    assert_eq!(code, 0, "{}", stderr(&out));
    let run_dir = std::fs::read_dir(p.data.path().join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let timeline = std::fs::read_to_string(run_dir.join("timeline")).unwrap();
    let mut events: Vec<(u128, i32)> = timeline
        .lines()
        .map(|l| {
            let (sign, ts) = l.split_once(' ').unwrap();
            (ts.parse().unwrap(), if sign == "+" { 1 } else { -1 })
        })
        .collect();
    events.sort_by_key(|(ts, delta)| (*ts, *delta));
    let (mut now, mut peak) = (0, 0);
    for (_, d) in events {
        now += d;
        peak = peak.max(now);
    }
    assert_eq!(
        peak, 2,
        "with -j 2 exactly two jobs overlap at most:\n{timeline}"
    );
}

/// The pipeline of the deploy tests: `build` copies the test service into `dist/` (with a
/// file `unhealthy` beside it when the `healthy` input is false) and names the version;
/// `deploy` ships `dist` (the service's `artifact: { job: build, path: dist }`).
fn deploy_pipeline() -> String {
    format!(
        r#"
on:
  manual:
    inputs:
      version: {{ required: true }}
      healthy: {{ type: boolean, default: true }}
jobs:
  build:
    outputs: {{ version: "${{{{ steps.v.outputs.version }}}}" }}
    artifacts: [dist]
    steps:
      - id: v
        run: |
          mkdir -p dist
          cp '{}' dist/app
          if [ "${{{{ inputs.healthy }}}}" != true ]; then touch dist/unhealthy; fi
          echo "version=${{{{ inputs.version }}}}" >> "$GANTRY_OUTPUT"
  deploy:
    needs: [build]
    deploy:
      service: web
      environment: staging
      version: "${{{{ needs.build.outputs.version }}}}"
"#,
        crate::support::testservice().display()
    )
}

/// `GET /` on the host's service: the version it answers.
fn served_version(host: &gantry_testhost::ContainerHost) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::new(host.addr(), 8080),
        Duration::from_secs(2),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.trim().to_string())
}

#[test]
fn a_deploy_job_deploys_the_build_and_a_bad_release_fails_it_rolled_back() {
    let hw = crate::deploy::HostWorkspace::start("pipe1");
    std::fs::write(
        hw.dir().join("gantry.yml"),
        format!(
            r#"{}environments:
  staging: {{ hosts: [pipe1], branches: [main] }}
services:
  web:
    artifact: {{ job: build, path: dist }}
    run: {{ systemd: {{ exec: "{{{{ release_dir }}}}/app --port {{{{ port }}}} --version {{{{ version }}}}" }} }}
    port: 8080
    health: {{ http: {{ path: /healthz }}, interval: 500ms, retries: 4 }}
"#,
            hw.inventory()
        ),
    )
    .unwrap();
    let p = Project::with_pipeline(&deploy_pipeline());
    let ws = hw.dir().to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["--event", "manual", "--workspace", ws];
        args.extend_from_slice(extra);
        p.run_json(&args)
    };

    // A good build: deployed, and the host serves it.
    let (code, report, out) = run(&["--input", "version=v1"]);
    let log = stderr(&out);
    assert_eq!(code, 0, "{report:#}\n{log}");
    assert_eq!(job(&report, "deploy")["result"], "success");
    assert_eq!(served_version(&hw.host).as_deref(), Some("v1"));
    // The deploy's progress and its record are in the job's log.
    for needle in [
        "deploying web v1 to staging",
        "shipping dist from the job's work directory",
        "installing web v1 on 1 host(s)",
        "deploy web v1 to staging (previous: none): succeeded",
    ] {
        assert!(
            log.lines()
                .any(|l| l.starts_with("deploy ") && l.contains(needle)),
            "no '{needle}' in the deploy job's log:\n{log}"
        );
    }

    // An unhealthy build: rolled back, the job and the run fail, v1 still serves.
    let (code, report, out) = run(&["--input", "version=v2", "--input", "healthy=false"]);
    assert_eq!(code, 1, "{report:#}\n{}", stderr(&out));
    let deploy = job(&report, "deploy");
    assert_eq!(deploy["result"], "failure");
    let reason = deploy["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("the deploy of web v2 to staging was rolled back:"),
        "{reason}"
    );
    assert_eq!(served_version(&hw.host).as_deref(), Some("v1"));
    assert_eq!(
        hw.host
            .exec_ok("readlink /opt/gantry/web/current")
            .unwrap()
            .trim(),
        "/opt/gantry/web/releases/v1"
    );

    // The environment's protection sees the run's branch: a build of another branch is
    // refused before any host is touched.
    let (code, report, _) = run(&["--input", "version=v3", "--branch", "wip"]);
    assert_eq!(code, 1);
    let reason = job(&report, "deploy")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.starts_with("could not deploy web v3 to staging:") && reason.contains("main"),
        "{reason}"
    );
    assert_eq!(served_version(&hw.host).as_deref(), Some("v1"));
}

#[test]
fn a_deploy_job_without_a_workspace_fails_saying_where_it_looked() {
    let p = Project::with_pipeline(
        r#"
jobs:
  ship:
    deploy: { service: web, environment: staging, version: v1 }
"#,
    );
    let (code, report, _) = p.run_json(&[]);
    assert_eq!(code, 1);
    let ship = job(&report, "ship");
    assert_eq!(ship["result"], "failure");
    let reason = ship["reason"].as_str().unwrap();
    assert!(
        reason.contains("cannot read the workspace in") && reason.contains("--workspace"),
        "{ship}"
    );
}
