//! `gantry infra plan|apply`: loads the workspace's inventory and resource files, then
//! plans (or applies) on the selected hosts through `gantry-infra`. Exit codes: plan 0
//! no changes, 2 changes, 1 errors; apply 0 applied (or nothing to do), 1 errors.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use gantry_infra::{Mode, Options, RunReport, SavedPlan};

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
    /// Save the plan (per host, what to change and fingerprints of the checked state)
    /// for `apply --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Apply without asking.
    #[arg(long)]
    pub yes: bool,
    /// Apply this saved plan (`plan --out`), on a host only if its state still matches
    /// what the plan was computed against.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Change nothing: show what the apply would do, as `gantry infra plan` (exit 0 no
    /// changes, 2 changes, 1 errors). Every resource type supports it.
    #[arg(long, conflicts_with_all = ["yes", "plan"])]
    pub check: bool,
}

pub fn main(args: InfraArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        InfraCommand::Plan(a) => Ok(run(&a.common, Mode::Plan, true, a.out.as_deref(), None)),
        InfraCommand::Apply(a) if a.check => Ok(run(&a.common, Mode::Plan, true, None, None)),
        InfraCommand::Apply(a) => Ok(run(&a.common, Mode::Apply, a.yes, None, a.plan.as_deref())),
    }
}

fn run(
    args: &CommonArgs,
    mode: Mode,
    yes: bool,
    out: Option<&Path>,
    saved: Option<&Path>,
) -> ExitCode {
    let saved = match saved.map(|p| (p, std::fs::read_to_string(p))) {
        None => None,
        Some((_, Ok(text))) => match SavedPlan::parse(&text) {
            Ok(plan) => Some(plan),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        },
        Some((path, Err(e))) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return ExitCode::from(1);
        }
    };
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
        // A saved plan is applied to its hosts, and to no other.
        Ok(hosts) if saved.is_some() => {
            let saved = saved.as_ref().map_or(&[][..], |s| &s.hosts[..]);
            let missing: Vec<&str> = saved
                .iter()
                .filter(|s| !hosts.iter().any(|h| h.name == s.host))
                .map(|s| s.host.as_str())
                .collect();
            if !missing.is_empty() {
                eprintln!(
                    "error: the saved plan has hosts no play targets now: {}; plan again",
                    missing.join(", ")
                );
                return ExitCode::from(1);
            }
            hosts
                .into_iter()
                .filter(|h| saved.iter().any(|s| s.host == h.name))
                .collect()
        }
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
    // Values for `secrets.NAME` in templates; masked in everything printed.
    let secrets = match inventory.resolve_secrets(
        &loaded.workspace.file,
        |name| std::env::var(name).ok(),
        |path| std::fs::read_to_string(path),
    ) {
        Ok(secrets) => secrets,
        Err(diags) => {
            eprint!("{}", loaded.render(&diags, false));
            return ExitCode::from(1);
        }
    };
    let options = Options {
        parallelism: args.parallel.max(1),
        secrets,
        saved,
        ..Options::default()
    };
    let plan = run_with_progress(
        Mode::Plan,
        inventory,
        &declarations,
        &hosts,
        &loaded.dir,
        &options,
        args,
    );
    if mode == Mode::Plan {
        if let Some(out) = out {
            let saved = SavedPlan::from_report(&plan.hosts)
                .and_then(|p| serde_json::to_string_pretty(&p).map_err(|e| e.to_string()))
                .and_then(|json| {
                    std::fs::write(out, json + "\n")
                        .map_err(|e| format!("cannot write {}: {e}", out.display()))
                });
            if let Err(e) = saved {
                print(&plan, args);
                eprintln!("error: plan not saved: {e}");
                return ExitCode::from(1);
            }
            eprintln!(
                "plan saved to {}: apply it with `gantry infra apply --plan {}`",
                out.display(),
                out.display()
            );
        }
        return print(&plan, args);
    }
    // With a saved plan, a host that no longer matches shows as failed here, and the
    // apply refuses it again (checking afresh) while the matching hosts go on.
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
    let applied = run_with_progress(
        Mode::Apply,
        inventory,
        &declarations,
        &hosts,
        &loaded.dir,
        &options,
        args,
    );
    print(&applied, args)
}

/// Runs with the live per-host display on standard error (see `ui::infra_progress`).
fn run_with_progress(
    mode: Mode,
    inventory: &gantry_workspace::Inventory,
    declarations: &gantry_infra::Declarations,
    hosts: &[gantry_workspace::Host],
    dir: &Path,
    options: &Options,
    args: &CommonArgs,
) -> RunReport {
    let Some((progress, finish)) = crate::ui::infra_progress::for_run(mode, hosts.len(), args.json)
    else {
        return gantry_infra::run(mode, inventory, declarations, hosts, dir, options);
    };
    let options = Options {
        progress: Some(progress),
        ..options.clone()
    };
    let report = gantry_infra::run(mode, inventory, declarations, hosts, dir, &options);
    drop(finish);
    report
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
