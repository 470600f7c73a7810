//! The `gantry` command line: parses arguments and hands each subcommand to its module
//! under `cmd/`. Exit codes: 0 success, 1 the run or validation failed, 2 bad usage or
//! input, 130 cancelled.

mod cmd;
mod git_facts;
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cmd::run::main(args),
        Command::Validate(args) => cmd::validate::main(args),
        Command::Serve(args) => cmd::serve::main(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
