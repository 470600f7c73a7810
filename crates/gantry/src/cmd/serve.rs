//! `gantry serve`: starts the server on a workspace and runs until Ctrl-C or SIGTERM
//! (then stops accepting, lets requests finish, cancels running jobs, records them and
//! exits 0); SIGHUP reloads `gantry.yml` (keeping the current one if the new one has
//! errors). Logs go to stderr, as text or JSON lines (`--log-format`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The workspace directory holding gantry.yml.
    #[arg(long, default_value = ".", env = "GANTRY_WORKSPACE")]
    pub workspace: PathBuf,
    /// Where the database (SQLite), logs, artifacts and checkouts live.
    #[arg(long, default_value = ".gantry-data", env = "GANTRY_DATA")]
    pub data: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "GANTRY_LISTEN")]
    pub listen: SocketAddr,
    /// PostgreSQL instead of SQLite: postgres://user:password@host/db
    #[arg(long, env = "GANTRY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Log lines on stderr: `text` for people, `json` (one object a line) for log
    /// collectors.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "GANTRY_LOG_FORMAT")]
    pub log_format: LogFormat,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

pub fn main(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GANTRY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => logs.with_target(false).init(),
        LogFormat::Json => logs.json().with_current_span(false).init(),
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let shutdown = CancellationToken::new();
    let opts = gantry_server::ServeOptions {
        workspace_dir: args.workspace.clone(),
        data_dir: args.data.clone(),
        listen: args.listen,
        database_url: args.database_url.clone(),
    };
    let started = match gantry_server::start(opts, shutdown.clone()).await {
        Ok(s) => s,
        Err(gantry_server::ServeError::Workspace(diagnostics)) => {
            eprintln!("{diagnostics}");
            eprintln!("error: the workspace has errors; the server did not start");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    if !started.warnings.trim().is_empty() {
        match args.log_format {
            LogFormat::Text => eprintln!("{}", started.warnings),
            // Keep every stderr line a JSON object for the log collector.
            LogFormat::Json => {
                tracing::warn!(warnings = %started.warnings.trim(), "the workspace has warnings")
            }
        }
    }
    if let Some(b) = &started.bootstrap {
        // Printed once, on the first start: neither value is stored in clear anywhere.
        println!("First start: created an admin API token and the user 'admin'.");
        println!("  GANTRY_TOKEN={}", b.token.expose());
        println!("  admin password: {}", b.password.expose());
        println!("Keep them now: they are not shown again.");
    }
    println!(
        "gantry serve: http://{} (data in {})",
        started.addr,
        args.data.display()
    );
    let state = started.state.clone();
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = hup.recv() => match gantry_server::workspace::reload(&state).await {
                Ok(_) => tracing::info!("reloaded the workspace"),
                Err(diagnostics) => {
                    eprintln!("{diagnostics}");
                    tracing::error!("the new workspace has errors; keeping the current one");
                }
            },
        }
    }
    tracing::info!("shutting down: cancelling running jobs");
    shutdown.cancel();
    started.wait().await;
    Ok(ExitCode::SUCCESS)
}
