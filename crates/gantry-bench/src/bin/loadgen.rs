//! A bounded, constant-arrival-rate HTTP load generator (wrk2's model): request i is due
//! at start + i/rate whatever happened to earlier ones, and its latency is measured from
//! that due time, not from when it was actually sent, so a stalled server cannot hide
//! its stall by slowing the generator down (no coordinated omission).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use gantry_bench::{Summary, load_average};
use reqwest::header::{AUTHORIZATION, HeaderValue};

#[derive(Debug, Parser)]
#[command(about = "Constant-rate GET load against one URL")]
struct Args {
    /// The URL to request (GET).
    #[arg(long)]
    url: String,
    /// Sent as `Authorization: Bearer TOKEN`.
    #[arg(long, env = "GANTRY_TOKEN")]
    token: Option<String>,
    /// Requests per second.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// Seconds of load before the measured part (not recorded).
    #[arg(long, default_value_t = 3.0)]
    warmup: f64,
    /// A request slower than this counts as an error.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Write the summary as JSON here too.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

/// One request's fate: latency from its due time, or why it failed.
type Sample = Result<f64, String>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !(args.rate > 0.0 && args.duration > 0.0 && args.warmup >= 0.0) {
        bail!("--rate and --duration must be positive, --warmup not negative");
    }
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(t) = &args.token {
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {t}")).context("token")?,
        );
    }
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs_f64(args.timeout))
        .pool_max_idle_per_host(64)
        .build()?;
    // One request first, so a wrong URL or token fails fast with its answer.
    let first = client.get(&args.url).send().await?;
    if !first.status().is_success() {
        let status = first.status();
        bail!("{} answered {status}: {}", args.url, first.text().await?);
    }
    let body_len = first.bytes().await?.len();

    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let warm = (args.warmup * args.rate).round() as u64;
    let total = warm + (args.duration * args.rate).round() as u64;
    let start = Instant::now() + Duration::from_millis(50);
    let load_before = load_average();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let (client, url) = (client.clone(), args.url.clone());
        tasks.push(tokio::spawn(async move {
            let sample: Sample = async {
                let resp = client.get(&url).send().await.map_err(|e| e.to_string())?;
                let status = resp.status();
                resp.bytes().await.map_err(|e| e.to_string())?;
                if !status.is_success() {
                    return Err(format!("HTTP {status}"));
                }
                Ok(due.elapsed().as_secs_f64() * 1000.0)
            }
            .await;
            (i >= warm, sample)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    for t in tasks {
        let (measured, sample) = t.await?;
        match (measured, sample) {
            (true, Ok(ms)) => latencies.push(ms),
            (true, Err(e)) => errors.push(e),
            (false, _) => {}
        }
    }
    let elapsed = start.elapsed().as_secs_f64() - args.warmup;
    let load_after = load_average();
    let Some(summary) = Summary::of(&latencies) else {
        bail!("no successful request; errors: {errors:?}");
    };
    println!(
        "GET {} at {} req/s for {} s (+{} s warm-up), {} bytes per answer",
        args.url, args.rate, args.duration, args.warmup, body_len
    );
    println!("latency from due time: {summary}");
    println!(
        "errors: {}{}; achieved {:.1} req/s; load average {load_before} before, {load_after} after",
        errors.len(),
        errors
            .first()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default(),
        latencies.len() as f64 / elapsed.max(0.001),
    );
    if let Some(path) = &args.json {
        let mut v = summary.to_json();
        v["url"] = args.url.clone().into();
        v["rate"] = args.rate.into();
        v["errors"] = errors.len().into();
        v["load_before"] = load_before.into();
        v["load_after"] = load_after.into();
        std::fs::write(path, serde_json::to_string_pretty(&v)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
