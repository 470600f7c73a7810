//! `gantry cancel RUN` and `gantry rerun RUN [--failed]`: stop a run on the server, or
//! start a new run of a finished one (all jobs, or the failed ones and what needs them).

use std::process::ExitCode;

use clap::Args;
use serde::Deserialize;
use serde_json::json;

use crate::client::{Client, ServerArgs};
use crate::cmd::logs;

#[derive(Args, Debug)]
pub struct CancelArgs {
    /// The run's id (the first column of `gantry runs`).
    #[arg(value_name = "RUN")]
    pub run: i64,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Args, Debug)]
pub struct RerunArgs {
    /// The finished run to run again.
    #[arg(value_name = "RUN")]
    pub run: i64,
    /// Rerun only the jobs that failed (and the jobs that need them).
    #[arg(long)]
    pub failed: bool,
    /// Stream the new run's logs until it finishes; exit 0 if it succeeded, 1 otherwise.
    #[arg(short, long)]
    pub follow: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Deserialize)]
struct Cancelled {
    run_id: i64,
    status: String,
    #[serde(default)]
    cancelled_jobs: Vec<i64>,
    #[serde(default)]
    running_jobs: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Rerun {
    run_id: i64,
    number: i64,
    #[serde(default)]
    held: bool,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

pub fn cancel(args: CancelArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.server)?;
    runtime()?.block_on(async {
        let c: Cancelled = client
            .post(&format!("/runs/{}/cancel", args.run), &json!({}))
            .await?;
        match c.status.as_str() {
            "cancelled" => println!("cancelled run {}", c.run_id),
            "running" => println!(
                "cancelling run {}: stopping {} running job(s); {} waiting job(s) cancelled",
                c.run_id,
                c.running_jobs.len(),
                c.cancelled_jobs.len()
            ),
            done => println!(
                "run {} had already finished ({done}); nothing to cancel",
                c.run_id
            ),
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn rerun(args: RerunArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.server)?;
    let result = runtime()?.block_on(async {
        let r: Rerun = client
            .post(
                &format!("/runs/{}/rerun", args.run),
                &json!({ "failed_only": args.failed }),
            )
            .await?;
        println!(
            "started run {} (#{}), a rerun of run {}{}",
            r.run_id,
            r.number,
            args.run,
            if r.held {
                ", held behind an older run of its concurrency group"
            } else {
                ""
            }
        );
        println!("  {}", client.run_url(r.run_id));
        if args.follow {
            logs::follow(&client, r.run_id, &[], false).await
        } else {
            Ok(ExitCode::SUCCESS)
        }
    });
    logs::quiet_on_closed_pipe(result)
}
