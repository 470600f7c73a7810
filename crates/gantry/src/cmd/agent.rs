//! `gantry agent`: runs jobs for a Gantry server on this machine until SIGTERM or
//! Ctrl-C, which drain it (no new jobs; running ones finish and report).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use gantry_core::Secret;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug)]
pub struct AgentArgs {
    /// The server's base URL, e.g. http://ci.example.com:8080
    #[arg(long, env = "GANTRY_URL")]
    pub server: String,
    /// An agent token (created by an admin: POST /api/v1/agents/tokens).
    #[arg(long, env = "GANTRY_AGENT_TOKEN", hide_env_values = true)]
    pub token: String,
    /// This agent's name (unique per server); the host name by default.
    #[arg(long, env = "GANTRY_AGENT_NAME")]
    pub name: Option<String>,
    /// Labels jobs select agents by (`runs_on`), comma-separated.
    #[arg(long, value_delimiter = ',', env = "GANTRY_AGENT_LABELS")]
    pub labels: Vec<String>,
    /// Jobs run at once.
    #[arg(long, default_value_t = 1, env = "GANTRY_AGENT_CAPACITY")]
    pub capacity: u32,
    /// Where jobs' work directories live (emptied at start).
    #[arg(long, default_value = ".gantry-agent", env = "GANTRY_AGENT_DATA")]
    pub data: PathBuf,
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "agent".to_string())
}

/// Executors this machine can offer (what `gantry run` would find).
fn executors() -> Vec<String> {
    let mut out = vec!["host".to_string()];
    let on_path = |program: &str| {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
    };
    if on_path("bwrap") {
        out.push("sandbox".into());
    }
    if std::path::Path::new("/var/run/docker.sock").exists() {
        out.push("docker".into());
    }
    out
}

pub fn main(args: AgentArgs) -> anyhow::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GANTRY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs on stderr (journald keeps both; stdout stays free for future output).
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    // Two workers are plenty: jobs are child processes; the agent only moves bytes.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(agent(args))
}

async fn agent(args: AgentArgs) -> anyhow::Result<ExitCode> {
    if args.capacity == 0 {
        anyhow::bail!("--capacity: must be at least 1");
    }
    let config = gantry_agent::AgentConfig {
        server: args.server.clone(),
        token: Secret::new(args.token),
        name: args.name.unwrap_or_else(host_name),
        labels: args
            .labels
            .iter()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        capacity: args.capacity,
        data_dir: args.data,
        executors: executors(),
    };
    let drain = CancellationToken::new();
    let mut term = signal(SignalKind::terminate())?;
    let trigger = drain.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        trigger.cancel();
    });
    match gantry_agent::run(config, drain).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
