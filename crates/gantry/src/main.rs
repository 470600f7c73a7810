//! The `gantry` command line: parses arguments and hands each subcommand to its module
//! under `cmd/`. Exit codes: 0 success, 1 the run or validation failed, 2 bad usage or
//! input, 130 cancelled.

mod client;
mod cmd;
mod deploy_checks;
mod git_facts;
mod pipeline_deployer;
mod pipelines;
mod secrets_file;
mod ui;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "gantry",
    version,
    about = "Gantry: CI/CD, deploys, infrastructure and on-call in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a pipeline locally in this git checkout.
    Run(cmd::run::RunArgs),
    /// Check pipeline files and print every problem found.
    Validate(cmd::validate::ValidateArgs),
    /// Run the Gantry server: triggers, the run queue, the API and the web UI.
    Serve(cmd::serve::ServeArgs),
    /// Run jobs for a Gantry server on this machine.
    Agent(cmd::agent::AgentArgs),
    /// List a server's runs, or show one with `gantry runs show RUN`.
    Runs(cmd::runs::RunsArgs),
    /// Print (or with --follow, stream) the logs of a run on a server.
    Logs(cmd::logs::LogsArgs),
    /// Start a manual run of a pipeline on a server.
    Trigger(cmd::trigger::TriggerArgs),
    /// Cancel a run on a server.
    Cancel(cmd::cancel::CancelArgs),
    /// Run a finished run again on a server (all jobs, or only the failed ones).
    Rerun(cmd::cancel::RerunArgs),
    /// Plan or apply the hosts' configuration declared in the workspace (infra/*.yml).
    Infra(cmd::infra::InfraArgs),
    /// Deploy a version of a service to an environment's hosts (rolling, blue-green or
    /// canary, health-gated, rolled back automatically on failure).
    Deploy(cmd::deploy::DeployArgs),
    /// Roll a service back to its previous (or a given) release on an environment.
    Rollback(cmd::deploy::RollbackArgs),
    /// Deploy to one environment exactly the release another one runs.
    Promote(cmd::deploy::PromoteArgs),
    /// Approve a release for a protected environment (one with `approvals:`).
    Approve(cmd::deploy::ApproveArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cmd::run::main(args),
        Command::Validate(args) => cmd::validate::main(args),
        Command::Serve(args) => cmd::serve::main(args),
        Command::Agent(args) => cmd::agent::main(args),
        Command::Runs(args) => cmd::runs::main(args),
        Command::Logs(args) => cmd::logs::main(args),
        Command::Trigger(args) => cmd::trigger::main(args),
        Command::Cancel(args) => cmd::cancel::cancel(args),
        Command::Rerun(args) => cmd::cancel::rerun(args),
        Command::Infra(args) => cmd::infra::main(args),
        Command::Deploy(args) => cmd::deploy::deploy(args),
        Command::Rollback(args) => cmd::deploy::rollback(args),
        Command::Promote(args) => cmd::deploy::promote(args),
        Command::Approve(args) => cmd::deploy::approve(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
