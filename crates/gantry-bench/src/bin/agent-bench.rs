//! Drivers for the agent benchmarks (`bench/agents-*.sh`), talking to `gantry serve`'s
//! REST API with an admin token:
//!
//! - `pickup`: one run at a time, with one idle agent waiting (its long poll
//!   outstanding): triggers the pipeline, waits for its step's `date +%s%N` stamp and
//!   for the run to finish, then reads the job's `queued_at` and `started_at`. Reports
//!   the dispatch latency (`queued_at` → `started_at`, the claim) and job ready → the
//!   first step's process running (`queued_at` → the stamp).
//! - `queue`: triggers N runs of a pipeline (no agent connected, so they wait).
//! - `drain`: waits until every run of a project has finished, then reads every job's
//!   timestamps and reports jobs/s from a given start time (the agents' start) and from
//!   the first claim, plus per-job times.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use gantry_bench::{Summary, load_average, now_ns, parse_timestamp_ms};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(about = "Agent benchmarks: pickup latency, queueing runs, draining them")]
struct Args {
    /// The server's base URL (`http://127.0.0.1:8080`).
    #[arg(long, global = true, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An admin (or developer) API token.
    #[arg(long, global = true, env = "GANTRY_TOKEN", default_value = "")]
    token: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Job ready → agent claimed it, and → its first step running; one run at a time.
    Pickup {
        #[arg(long)]
        project: String,
        #[arg(long)]
        pipeline: String,
        /// The file the pipeline's first step appends `date +%s%N` to.
        #[arg(long)]
        stamps: PathBuf,
        /// Runs measured.
        #[arg(long, default_value_t = 200)]
        n: usize,
        /// Runs before the measured ones (not recorded).
        #[arg(long, default_value_t = 10)]
        warmup: usize,
        /// Pause after each run finished, so the agent's next claiming poll is waiting
        /// on the server when the next run is queued.
        #[arg(long, default_value_t = 100)]
        pause_ms: u64,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Triggers `runs` runs of a pipeline.
    Queue {
        #[arg(long)]
        project: String,
        #[arg(long)]
        pipeline: String,
        #[arg(long, default_value_t = 100)]
        runs: usize,
    },
    /// Waits until every run of `project` has finished and reports the throughput.
    Drain {
        #[arg(long)]
        project: String,
        /// How many runs to expect.
        #[arg(long)]
        runs: usize,
        /// The start of the measurement (`date +%s%N` just before the agents started).
        #[arg(long)]
        t0_ns: i128,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(server: &str, token: &str) -> anyhow::Result<Api> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).context("token")?,
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Api {
            http,
            base: format!("{}/api/v1", server.trim_end_matches('/')),
        })
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let resp = self.http.get(format!("{}{path}", self.base)).send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("GET {path}: {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// Triggers the pipeline; the new run's id.
    async fn trigger(&self, project: &str, pipeline: &str) -> anyhow::Result<i64> {
        let path = format!("/projects/{project}/pipelines/{pipeline}/trigger");
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&json!({}))
            .send()
            .await?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("POST {path}: {status}: {text}");
        }
        let v: Value = serde_json::from_str(&text)?;
        v["runs"][0]["run_id"]
            .as_i64()
            .with_context(|| format!("no run in the answer: {text}"))
    }

    async fn run(&self, id: i64) -> anyhow::Result<Value> {
        self.get(&format!("/runs/{id}")).await
    }
}

fn ms(v: &Value) -> Option<i64> {
    v.as_str().and_then(parse_timestamp_ms)
}

fn finished(status: &str) -> bool {
    matches!(status, "success" | "failure" | "cancelled")
}

fn stamp_lines(path: &Path) -> Vec<i128> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn write_json(path: Option<&Path>, v: &Value) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::write(path, serde_json::to_string_pretty(v)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn pickup(
    api: &Api,
    project: &str,
    pipeline: &str,
    stamps: &Path,
    n: usize,
    warmup: usize,
    pause_ms: u64,
    json_out: Option<&Path>,
) -> anyhow::Result<()> {
    let (mut dispatch, mut first_step, mut from_trigger) = (Vec::new(), Vec::new(), Vec::new());
    let load_before = load_average();
    for i in 0..warmup + n {
        let seen = stamp_lines(stamps).len();
        let sent = now_ns();
        let run_id = api.trigger(project, pipeline).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let stamp = loop {
            if let Some(s) = stamp_lines(stamps).get(seen) {
                break *s;
            }
            if Instant::now() > deadline {
                bail!("run {run_id}: no step started within 30 s");
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        };
        let detail = loop {
            let d = api.run(run_id).await?;
            if finished(d["run"]["status"].as_str().unwrap_or_default()) {
                break d;
            }
            if Instant::now() > deadline {
                bail!("run {run_id}: not finished within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let job = &detail["jobs"][0];
        if job["status"] != "success" {
            bail!("run {run_id}: the job ended {}: {job}", job["status"]);
        }
        let (Some(queued), Some(started)) = (ms(&job["queued_at"]), ms(&job["started_at"])) else {
            bail!("run {run_id}: the job has no queued_at/started_at: {job}");
        };
        if i >= warmup {
            dispatch.push((started - queued) as f64);
            first_step.push(stamp as f64 / 1e6 - queued as f64);
            from_trigger.push((stamp - sent) as f64 / 1e6);
        }
        tokio::time::sleep(Duration::from_millis(pause_ms)).await;
    }
    let load_after = load_average();
    let (Some(d), Some(f), Some(t)) = (
        Summary::of(&dispatch),
        Summary::of(&first_step),
        Summary::of(&from_trigger),
    ) else {
        bail!("nothing measured (--n 0?)");
    };
    println!("(a) dispatch, job queued_at → started_at (claimed), ms resolution: {d}");
    println!("(b) job queued_at → first step's `date +%s%N`: {f}");
    println!("    context: trigger request sent → first step's `date`: {t}");
    println!("load average {load_before} before, {load_after} after");
    write_json(
        json_out,
        &json!({
            "dispatch": d.to_json(), "first_step": f.to_json(), "from_trigger": t.to_json(),
            "load_before": load_before, "load_after": load_after,
        }),
    )
}

async fn queue(api: &Api, project: &str, pipeline: &str, runs: usize) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut ids = Vec::with_capacity(runs);
    for _ in 0..runs {
        ids.push(api.trigger(project, pipeline).await?);
    }
    let (first, last) = (ids.first().copied(), ids.last().copied());
    println!(
        "queued {runs} runs of {project}/{pipeline} (ids {} to {}) in {:.1} s",
        first.unwrap_or_default(),
        last.unwrap_or_default(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs of `project` in `status` (at most 200 looked at).
async fn count(api: &Api, project: &str, status: &str) -> anyhow::Result<usize> {
    let v = api
        .get(&format!(
            "/runs?project={project}&status={status}&limit=200"
        ))
        .await?;
    Ok(v["runs"].as_array().map_or(0, Vec::len))
}

async fn drain(
    api: &Api,
    project: &str,
    runs: usize,
    t0_ns: i128,
    timeout: u64,
    json_out: Option<&Path>,
) -> anyhow::Result<()> {
    let load_before = load_average();
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut report = Instant::now();
    loop {
        // Queued first: a run leaving `queued` in between is then seen as running.
        let waiting = count(api, project, "queued").await? + count(api, project, "running").await?;
        if waiting == 0 {
            break;
        }
        if Instant::now() > deadline {
            bail!("{waiting} runs still unfinished after {timeout} s");
        }
        if report.elapsed() >= Duration::from_secs(10) {
            eprintln!(
                "drain: {waiting} runs unfinished, load average {}",
                load_average()
            );
            report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let load_after = load_average();
    let list = api
        .get(&format!("/runs?project={project}&limit=200"))
        .await?;
    let listed = list["runs"].as_array().cloned().unwrap_or_default();
    if listed.len() != runs {
        bail!("expected {runs} runs of {project}, found {}", listed.len());
    }
    let t0_ms = (t0_ns / 1_000_000) as i64;
    let (mut first_claim, mut last_finish) = (i64::MAX, i64::MIN);
    let (mut jobs, mut failed) = (0usize, 0usize);
    let (mut held, mut steps) = (Vec::new(), Vec::new());
    let mut finishes = Vec::new();
    for r in &listed {
        let id = r["id"].as_i64().context("run id")?;
        let detail = api.run(id).await?;
        for job in detail["jobs"].as_array().into_iter().flatten() {
            jobs += 1;
            if job["status"] != "success" {
                failed += 1;
                continue;
            }
            let (Some(s), Some(f)) = (ms(&job["started_at"]), ms(&job["finished_at"])) else {
                bail!("job without started_at/finished_at: {job}");
            };
            first_claim = first_claim.min(s);
            last_finish = last_finish.max(f);
            finishes.push(f);
            held.push((f - s) as f64);
            for step in job["steps"].as_array().into_iter().flatten() {
                steps.push(step["duration_ms"].as_f64().unwrap_or_default());
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {jobs} jobs did not succeed");
    }
    let ok = jobs - failed;
    let wall = (last_finish - t0_ms) as f64 / 1000.0;
    let busy = (last_finish - first_claim) as f64 / 1000.0;
    // The middle 80 % of finishes: the rate once every agent is busy and before the tail.
    finishes.sort_unstable();
    let (lo, hi) = (finishes[ok / 10], finishes[ok * 9 / 10]);
    let steady = if hi > lo {
        (ok * 8 / 10) as f64 / ((hi - lo) as f64 / 1000.0)
    } else {
        f64::NAN
    };
    let held = Summary::of(&held).context("no jobs")?;
    let steps = Summary::of(&steps).context("no steps")?;
    println!(
        "{ok} jobs in {} runs: agents started → last job finished {wall:.2} s = {:.0} jobs/s",
        listed.len(),
        ok as f64 / wall
    );
    println!(
        "first claim → last job finished {busy:.2} s = {:.0} jobs/s; middle 80 % of finishes: {steady:.0} jobs/s",
        ok as f64 / busy
    );
    println!("per job, claimed → finished (started_at → finished_at): {held}");
    println!("per step, its duration_ms: {steps}");
    println!("load average {load_before} before, {load_after} after");
    write_json(
        json_out,
        &json!({
            "jobs": ok, "runs": listed.len(), "wall_s": wall, "jobs_per_s": ok as f64 / wall,
            "busy_s": busy, "jobs_per_s_busy": ok as f64 / busy, "jobs_per_s_middle": steady,
            "job_held": held.to_json(), "step": steps.to_json(),
            "load_before": load_before, "load_after": load_after,
        }),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let api = Api::new(&args.server, &args.token)?;
    match args.command {
        Command::Pickup {
            project,
            pipeline,
            stamps,
            n,
            warmup,
            pause_ms,
            json,
        } => {
            pickup(
                &api,
                &project,
                &pipeline,
                &stamps,
                n,
                warmup,
                pause_ms,
                json.as_deref(),
            )
            .await
        }
        Command::Queue {
            project,
            pipeline,
            runs,
        } => queue(&api, &project, &pipeline, runs).await,
        Command::Drain {
            project,
            runs,
            t0_ns,
            timeout,
            json,
        } => drain(&api, &project, runs, t0_ns, timeout, json.as_deref()).await,
    }
}
