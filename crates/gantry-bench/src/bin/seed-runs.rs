//! Fills a Gantry store with finished runs for the API benchmark: each run is a cheap
//! one-job plan, enqueued, claimed and finished through the `Store` trait exactly as the
//! server's dispatcher would, by several workers at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use gantry_store::{GitFacts, JobConclusion, JobOutcome, NewRun, Store, Trigger};
use sha2::{Digest, Sha256};

const PIPELINE: &str =
    "name: ci\non: push\njobs:\n  build:\n    steps:\n      - run: cargo build\n";

#[derive(Debug, Parser)]
#[command(about = "Seed a Gantry store with finished runs")]
struct Args {
    /// The store: a SQLite path (`DATA/gantry.db`) or a postgres:// URL.
    #[arg(long)]
    database: String,
    /// How many runs to add.
    #[arg(long, default_value_t = 100_000)]
    runs: u64,
    /// Spread over this many projects, named `bench-1` … `bench-N`.
    #[arg(long, default_value_t = 4)]
    projects: u64,
    /// Concurrent workers.
    #[arg(long, default_value_t = 8)]
    workers: u64,
    /// Runs a worker enqueues before claiming and finishing them.
    #[arg(long, default_value_t = 50)]
    batch: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let compiled = gantry_pipeline::compile("ci.yml", PIPELINE);
    let Some(plan) = compiled.plan else {
        bail!(
            "the seed pipeline does not compile: {:?}",
            compiled.diagnostics
        );
    };
    let store: Arc<dyn Store> = Arc::from(
        gantry_store::open(&args.database)
            .await
            .with_context(|| format!("opening {}", args.database))?,
    );
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..args.workers {
        let (store, next, plan) = (store.clone(), next.clone(), plan.clone());
        let (total, projects, batch) = (args.runs, args.projects.max(1), args.batch.max(1));
        workers.push(tokio::spawn(async move {
            let owner = format!("seed-runs-{w}");
            loop {
                let first = next.fetch_add(batch, Ordering::Relaxed);
                if first >= total {
                    break;
                }
                let last = (first + batch).min(total);
                for i in first..last {
                    let sha = hex::encode(Sha256::digest(i.to_le_bytes()))[..40].to_string();
                    store
                        .enqueue_run(NewRun {
                            project: format!("bench-{}", i % projects + 1),
                            pipeline: "ci".into(),
                            trigger: Trigger::Push,
                            git: GitFacts {
                                sha,
                                branch: Some("main".into()),
                                tag: None,
                                message: format!("Commit {i}"),
                                author: "Bench Seeder".into(),
                            },
                            inputs: Default::default(),
                            plan: plan.clone(),
                            concurrency: None,
                            actor: Some("seed-runs".into()),
                        })
                        .await?;
                }
                finish_claimed(&*store, &owner, (last - first) as usize).await?;
                if w == 0 {
                    let done = last;
                    let secs = started.elapsed().as_secs_f64();
                    eprint!(
                        "\r{done}/{total} runs, {:.0} runs/s   ",
                        done as f64 / secs.max(0.001)
                    );
                }
            }
            // Whatever another worker's claim left behind.
            while finish_claimed(&*store, &owner, 500).await? > 0 {}
            anyhow::Ok(())
        }));
    }
    for w in workers {
        w.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!();
    println!(
        "seeded {} runs over {} projects in {secs:.1} s ({:.0} runs/s) on {}",
        args.runs,
        args.projects,
        args.runs as f64 / secs,
        store.backend()
    );
    store.close().await;
    Ok(())
}

/// Claims up to `limit` queued jobs and records each as succeeded; returns how many.
async fn finish_claimed(store: &dyn Store, owner: &str, limit: usize) -> anyhow::Result<usize> {
    let claimed = store
        .claim_jobs(owner, limit, Duration::from_secs(3600))
        .await?;
    for job in &claimed {
        store
            .finish_job(
                job.job_id,
                job.fencing_token,
                JobOutcome::new(JobConclusion::Success),
            )
            .await?;
    }
    Ok(claimed.len())
}
