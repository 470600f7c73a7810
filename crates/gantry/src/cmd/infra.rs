//! `gantry infra plan|apply`: loads the workspace's inventory and resource files, then
//! plans (or applies) on the selected hosts through `gantry-infra`. Exit codes: plan 0
//! no changes, 2 changes, 1 errors; apply 0 applied (or nothing to do), 1 errors.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use gantry_infra::{Mode, Options, RunReport};

#[derive(Args, Debug)]
pub struct InfraArgs {
    #[command(subcommand)]
    pub command: InfraCommand,
}

#[derive(Subcommand, Debug)]
pub enum InfraCommand {
    /// Show what would change on each host (exit 0 no changes, 2 changes, 1 errors).
    Plan(PlanArgs),
    /// Change the hosts to match the declarations (asks first unless --yes).
    Apply(ApplyArgs),
}

#[derive(Args, Debug)]
pub struct CommonArgs {
    /// The workspace directory (holding gantry.yml).
    #[arg(long, default_value = ".")]
    pub workspace: PathBuf,
    /// Only hosts whose name or group matches one of these globs (comma-separated).
    #[arg(long)]
    pub hosts: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Hosts worked on at once.
    #[arg(long, default_value_t = 32)]
    pub parallel: usize,
    /// List unchanged resources too.
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Apply without asking.
    #[arg(long)]
    pub yes: bool,
}

pub fn main(args: InfraArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        InfraCommand::Plan(a) => Ok(run(&a.common, Mode::Plan, true)),
        InfraCommand::Apply(a) => Ok(run(&a.common, Mode::Apply, a.yes)),
    }
}

fn run(args: &CommonArgs, mode: Mode, yes: bool) -> ExitCode {
    let loaded = match gantry_workspace::load(&args.workspace) {
        Ok(loaded) => loaded,
        Err(gantry_workspace::LoadError::Invalid(invalid)) => {
            eprint!("{}", invalid.render(false));
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let warnings = &loaded.diagnostics;
    if !warnings.is_empty() {
        eprint!("{}", loaded.render(warnings, false));
    }
    let inventory = &loaded.workspace.inventory;
    let declarations = match gantry_infra::load(&loaded.dir, inventory) {
        Ok(d) => d,
        Err(invalid) => {
            eprint!("{}", invalid.render(false));
            return ExitCode::from(1);
        }
    };
    let hosts = match gantry_infra::select_hosts(inventory, &declarations, &args.hosts) {
        Ok(hosts) => hosts,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if hosts.is_empty() {
        eprintln!("no host matches: nothing to do");
        return ExitCode::SUCCESS;
    }
    let options = Options {
        parallelism: args.parallel.max(1),
        ..Options::default()
    };
    let plan = gantry_infra::run(
        Mode::Plan,
        inventory,
        &declarations,
        &hosts,
        &loaded.dir,
        &options,
    );
    if mode == Mode::Plan {
        return print(&plan, args);
    }
    if plan.summary.changed == 0 {
        return print(&plan, args);
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            print(&plan, args);
            eprintln!("error: refusing to apply without --yes: standard input is not a terminal");
            return ExitCode::from(1);
        }
        print(&plan, args);
        eprint!("Apply these changes? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing applied");
            return ExitCode::from(1);
        }
    }
    // Hosts that already failed the plan are tried again: the apply plans afresh.
    let applied = gantry_infra::run(
        Mode::Apply,
        inventory,
        &declarations,
        &hosts,
        &loaded.dir,
        &options,
    );
    print(&applied, args)
}

fn print(report: &RunReport, args: &CommonArgs) -> ExitCode {
    if args.json {
        match serde_json::to_string_pretty(report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        print!("{}", gantry_infra::render(report, args.verbose));
    }
    ExitCode::from(report.exit_code())
}
