//! `gantry trigger PROJECT PIPELINE`: starts a manual run on the server (with a branch
//! and inputs), prints where to watch it, and with `--follow` streams its logs.

use std::process::ExitCode;

use clap::Args;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::client::{Client, ServerArgs, segment};
use crate::cmd::logs;

#[derive(Args, Debug)]
pub struct TriggerArgs {
    /// The project, as named in the server's gantry.yml.
    #[arg(value_name = "PROJECT")]
    pub project: String,
    /// The pipeline's name (or its file's path in the repository).
    #[arg(value_name = "PIPELINE")]
    pub pipeline: String,
    /// The branch to run (default: the project's branch).
    #[arg(long, value_name = "B")]
    pub branch: Option<String>,
    /// A manual input, `name=value`. Repeatable.
    #[arg(long = "input", value_name = "K=V")]
    pub inputs: Vec<String>,
    /// Stream the run's logs until it finishes; exit 0 if it succeeded, 1 otherwise.
    #[arg(short, long, conflicts_with = "json")]
    pub follow: bool,
    /// Print the API's JSON answer.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// One run the trigger started.
#[derive(Debug, Deserialize)]
struct Started {
    pipeline: String,
    run_id: i64,
    number: i64,
    #[serde(default)]
    held: bool,
}

fn parse_inputs(given: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut inputs = Map::new();
    for kv in given {
        let Some((k, v)) = kv.split_once('=') else {
            anyhow::bail!("--input '{kv}': expected name=value");
        };
        inputs.insert(k.trim().to_string(), Value::String(v.to_string()));
    }
    Ok(inputs)
}

pub fn main(args: TriggerArgs) -> anyhow::Result<ExitCode> {
    let inputs = parse_inputs(&args.inputs)?;
    let client = Client::new(&args.server)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let body = json!({ "branch": args.branch, "inputs": inputs });
        let path = format!(
            "/projects/{}/pipelines/{}/trigger",
            segment(&args.project),
            segment(&args.pipeline)
        );
        let answer: Value = client.post(&path, &body).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&answer)?);
            return Ok(ExitCode::SUCCESS);
        }
        let started: Vec<Started> = serde_json::from_value(answer["runs"].clone())?;
        for s in &started {
            println!(
                "started {} / {} #{} (run {}){}",
                args.project,
                s.pipeline,
                s.number,
                s.run_id,
                if s.held {
                    ", held behind an older run of its concurrency group"
                } else {
                    ""
                }
            );
            println!("  {}", client.run_url(s.run_id));
        }
        if !args.follow {
            return Ok(ExitCode::SUCCESS);
        }
        // One pipeline normally starts one run; should it start several, follow each in
        // turn and fail if any failed.
        let mut code = ExitCode::SUCCESS;
        for s in &started {
            if logs::follow(&client, s.run_id, &[], false).await? != ExitCode::SUCCESS {
                code = ExitCode::from(1);
            }
        }
        Ok(code)
    });
    logs::quiet_on_closed_pipe(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_split_at_the_first_equals_sign() {
        let i = parse_inputs(&["who=a=b".into(), "empty=".into()]).unwrap();
        assert_eq!(i["who"], "a=b");
        assert_eq!(i["empty"], "");
        assert!(parse_inputs(&["nope".into()]).is_err());
    }
}
