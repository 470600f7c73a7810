//! Webhook received → first step started: pushes a new commit to a bare repository, sends
//! GitHub's signed push delivery for it to `gantry serve`, and waits for the pipeline's
//! first step to append its start time (`date +%s%N`) to a file; one delivery at a time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use gantry_bench::{Summary, load_average, now_ns};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

#[derive(Debug, Parser)]
#[command(about = "Measure webhook → first step started on gantry serve")]
struct Args {
    /// The server's base URL (`http://127.0.0.1:8080`).
    #[arg(long)]
    server: String,
    /// The project the hook is for (`?project=`).
    #[arg(long)]
    project: String,
    /// The project's webhook secret.
    #[arg(long, env = "BENCH_WEBHOOK_SECRET")]
    secret: String,
    /// A clone of the project's repository; each delivery pushes one new commit from it
    /// to its `origin` branch `main`.
    #[arg(long)]
    work: PathBuf,
    /// The file the first step appends `date +%s%N` to.
    #[arg(long)]
    stamps: PathBuf,
    /// `repository.full_name` in the payload.
    #[arg(long, default_value = "bench/web")]
    repo_name: String,
    /// Deliveries to measure.
    #[arg(long, default_value_t = 50)]
    n: usize,
    /// Deliveries before the measured ones (not recorded).
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Pause after each step started, so runs do not overlap.
    #[arg(long, default_value_t = 300)]
    pause_ms: u64,
    /// Write the figures as JSON here too.
    #[arg(long)]
    json: Option<PathBuf>,
}

async fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = tokio::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .await
        .context("running git")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn stamp_lines(path: &Path) -> Vec<i128> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn push_payload(repo: &str, before: &str, after: &str, i: usize) -> serde_json::Value {
    let (owner, name) = repo.split_once('/').unwrap_or(("bench", repo));
    let commit = json!({
        "id": after, "tree_id": after, "distinct": true,
        "message": format!("Bench commit {i}"), "timestamp": "2026-01-01T00:00:00Z",
        "url": format!("https://github.com/{repo}/commit/{after}"),
        "author": { "name": "Bench", "email": "bench@example.com", "username": "bench" },
        "committer": { "name": "Bench", "email": "bench@example.com", "username": "bench" },
        "added": [], "removed": [], "modified": ["README"],
    });
    json!({
        "ref": "refs/heads/main", "before": before, "after": after,
        "repository": {
            "id": 1, "name": name, "full_name": repo, "private": true,
            "owner": { "name": owner, "login": owner, "id": 1 },
            "html_url": format!("https://github.com/{repo}"),
            "clone_url": format!("https://github.com/{repo}.git"),
            "ssh_url": format!("git@github.com:{repo}.git"),
            "default_branch": "main",
        },
        "pusher": { "name": "bench", "email": "bench@example.com" },
        "sender": { "login": "bench", "id": 1 },
        "created": false, "deleted": false, "forced": false, "base_ref": null,
        "compare": format!("https://github.com/{repo}/compare/{before}...{after}"),
        "commits": [commit.clone()],
        "head_commit": commit,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let url = format!(
        "{}/hooks/github?project={}",
        args.server.trim_end_matches('/'),
        args.project
    );
    let mut before = git(&args.work, &["rev-parse", "HEAD"]).await?;
    let mut started_ms = Vec::new();
    let mut answered_ms = Vec::new();
    let load_before = load_average();
    for i in 0..args.warmup + args.n {
        git(
            &args.work,
            &["commit", "-q", "--allow-empty", "-m", &format!("bench {i}")],
        )
        .await?;
        git(&args.work, &["push", "-q", "origin", "HEAD:main"]).await?;
        let after = git(&args.work, &["rev-parse", "HEAD"]).await?;
        let body = serde_json::to_vec(&push_payload(&args.repo_name, &before, &after, i))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(args.secret.as_bytes())?;
        mac.update(&body);
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        let seen = stamp_lines(&args.stamps).len();

        let sent = now_ns();
        let resp = client
            .post(&url)
            .header("Content-Type", "application/json")
            .header("X-GitHub-Event", "push")
            .header(
                "X-GitHub-Delivery",
                format!("bench-{}-{i}", std::process::id()),
            )
            .header("X-Hub-Signature-256", signature)
            .body(body)
            .send()
            .await?;
        let answered = now_ns();
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("delivery {i} answered {status}: {text}");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let stamp = loop {
            if let Some(s) = stamp_lines(&args.stamps).get(seen) {
                break *s;
            }
            if Instant::now() > deadline {
                bail!("delivery {i}: no step started within 30 s (answer: {text})");
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        };
        let ms = (stamp - sent) as f64 / 1e6;
        if i >= args.warmup {
            started_ms.push(ms);
            answered_ms.push((answered - sent) as f64 / 1e6);
        }
        before = after;
        tokio::time::sleep(Duration::from_millis(args.pause_ms)).await;
    }
    let load_after = load_average();
    let (Some(started), Some(answered)) = (Summary::of(&started_ms), Summary::of(&answered_ms))
    else {
        bail!("nothing measured (--n 0?)");
    };
    println!("webhook sent → first step started: {started}");
    println!("webhook sent → answered (runs queued): {answered}");
    println!("load average {load_before} before, {load_after} after");
    if let Some(path) = &args.json {
        let v = json!({
            "started": started.to_json(), "answered": answered.to_json(),
            "load_before": load_before, "load_after": load_after,
        });
        std::fs::write(path, serde_json::to_string_pretty(&v)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
