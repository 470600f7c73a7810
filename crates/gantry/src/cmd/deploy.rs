//! `gantry deploy`, `gantry rollback`, `gantry promote` and `gantry approve`: a
//! service's release rolled out to an environment's hosts (rolled back, or taken from
//! another environment) from this machine, without a server, through `gantry-deploy`;
//! and the approval a protected environment waits for. Exit codes: 0 succeeded, 1 failed or rolled back (and bad input:
//! unknown service or environment, missing artifact, the deploy lock not obtained).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use gantry_core::Secret;
use gantry_deploy::{DeployError, DeploymentReport, Options};
use indexmap::IndexMap;

#[derive(Args, Debug)]
pub struct CommonArgs {
    /// The service to deploy (a key of `services:` in gantry.yml).
    pub service: String,
    /// The environment to deploy to (a key of `environments:`).
    #[arg(long = "env", value_name = "ENV")]
    pub environment: String,
    /// The workspace directory (holding gantry.yml).
    #[arg(long, default_value = ".")]
    pub workspace: PathBuf,
    /// Print the deployment record as JSON.
    #[arg(long)]
    pub json: bool,
    /// How long to wait for another deploy's lock on the environment (e.g. 30s, 10m).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = duration)]
    pub lock_timeout: Duration,
    /// Where services live on the hosts.
    #[arg(long, value_name = "DIR", default_value = gantry_deploy::DEFAULT_BASE_DIR)]
    pub base_dir: String,
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The version to deploy: names the release directory on every host.
    #[arg(long)]
    pub version: String,
    /// The file or directory to ship (default: the service's `artifact.path`).
    #[arg(long, value_name = "PATH")]
    pub artifact: Option<PathBuf>,
    #[command(flatten)]
    pub protection: ProtectionArgs,
}

/// How a deploy meets its environment's protection.
#[derive(Args, Debug)]
pub struct ProtectionArgs {
    /// The branch the release was built from (checked against the environment's
    /// `branches`).
    #[arg(long)]
    pub branch: Option<String>,
    /// Deploy even outside the environment's deploy windows (said in the record).
    #[arg(long)]
    pub outside_window: bool,
    /// How long to wait for the approvals the environment needs (e.g. 30m).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = duration)]
    pub approval_timeout: Duration,
}

#[derive(Args, Debug)]
pub struct PromoteArgs {
    /// The service to promote.
    pub service: String,
    /// The environment whose running release is promoted.
    #[arg(long, value_name = "ENV")]
    pub from: String,
    /// The environment it is deployed to.
    #[arg(long, value_name = "ENV")]
    pub to: String,
    /// The workspace directory (holding gantry.yml).
    #[arg(long, default_value = ".")]
    pub workspace: PathBuf,
    /// Print the deployment record as JSON.
    #[arg(long)]
    pub json: bool,
    /// How long to wait for another deploy's lock on the environment (e.g. 30s, 10m).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = duration)]
    pub lock_timeout: Duration,
    /// Where services live on the hosts.
    #[arg(long, value_name = "DIR", default_value = gantry_deploy::DEFAULT_BASE_DIR)]
    pub base_dir: String,
    #[command(flatten)]
    pub protection: ProtectionArgs,
}

#[derive(Args, Debug)]
pub struct ApproveArgs {
    /// The service whose release is approved.
    pub service: String,
    /// The protected environment.
    #[arg(long = "env", value_name = "ENV")]
    pub environment: String,
    /// The version approved (exactly this one).
    #[arg(long)]
    pub version: String,
    /// The workspace directory (holding gantry.yml).
    #[arg(long, default_value = ".")]
    pub workspace: PathBuf,
    /// Where services live on the hosts.
    #[arg(long, value_name = "DIR", default_value = gantry_deploy::DEFAULT_BASE_DIR)]
    pub base_dir: String,
}

#[derive(Args, Debug)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The release to go back to (default: each host's previous release).
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
}

fn duration(s: &str) -> Result<Duration, String> {
    gantry_core::parse_duration(s).map_err(|e| e.reason)
}

pub fn deploy(args: DeployArgs) -> anyhow::Result<ExitCode> {
    let artifact = args.artifact.clone();
    let Some(loaded) = load(&args.common.workspace) else {
        return Ok(ExitCode::from(1));
    };
    let Some(resolved) = resolve(&loaded, &args.common.service, &args.common.environment) else {
        return Ok(ExitCode::from(1));
    };
    let Some(secrets) = secrets(&loaded, &resolved) else {
        return Ok(ExitCode::from(1));
    };
    let options = Options {
        secrets,
        ..with_protection(common_options(&args.common), &args.protection)
    };
    let progress = |line: &str| eprintln!("{line}");
    let result = gantry_deploy::deploy(
        &resolved,
        &args.version,
        artifact.as_deref(),
        &options,
        &progress,
    );
    report(result, args.common.json)
}

pub fn rollback(args: RollbackArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) = load(&args.common.workspace) else {
        return Ok(ExitCode::from(1));
    };
    let Some(resolved) = resolve(&loaded, &args.common.service, &args.common.environment) else {
        return Ok(ExitCode::from(1));
    };
    let Some(secrets) = secrets(&loaded, &resolved) else {
        return Ok(ExitCode::from(1));
    };
    let options = Options {
        secrets,
        ..common_options(&args.common)
    };
    let progress = |line: &str| eprintln!("{line}");
    let result = gantry_deploy::rollback(&resolved, args.to.as_deref(), &options, &progress);
    report(result, args.common.json)
}

/// Deploys to `--to` the release `--from` runs, fetched from its first host.
pub fn promote(args: PromoteArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) = load(&args.workspace) else {
        return Ok(ExitCode::from(1));
    };
    let (Some(from), Some(to)) = (
        resolve(&loaded, &args.service, &args.from),
        resolve(&loaded, &args.service, &args.to),
    ) else {
        return Ok(ExitCode::from(1));
    };
    let Some(secrets) = secrets(&loaded, &to) else {
        return Ok(ExitCode::from(1));
    };
    let options = Options {
        base_dir: args.base_dir.clone(),
        lock_timeout: args.lock_timeout,
        trigger: format!("promote from {}", args.from),
        secrets,
        ..Options::default()
    };
    let options = with_protection(options, &args.protection);
    let progress = |line: &str| eprintln!("{line}");
    let fetched = match gantry_deploy::fetch_current(&from, &options, &progress) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let result = gantry_deploy::deploy(
        &to,
        &fetched.version,
        Some(fetched.dir.path()),
        &options,
        &progress,
    );
    report(result, args.json)
}

/// Records the caller's approval of a release for a protected environment.
pub fn approve(args: ApproveArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) = load(&args.workspace) else {
        return Ok(ExitCode::from(1));
    };
    let Some(resolved) = resolve(&loaded, &args.service, &args.environment) else {
        return Ok(ExitCode::from(1));
    };
    if let Err(e) = gantry_deploy::check_version(&args.version) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(1));
    }
    let options = Options {
        base_dir: args.base_dir.clone(),
        ..Options::default()
    };
    match gantry_deploy::approve(&resolved, &args.version, &options) {
        Ok(list) => {
            let needed = resolved.environment.approvals;
            eprintln!(
                "approved {} {} for {} as {}; approvals now: {} (the environment needs {needed} besides the deployer's own)",
                args.service,
                args.version,
                args.environment,
                options.identity,
                list.iter()
                    .map(|a| a.by.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn common_options(args: &CommonArgs) -> Options {
    Options {
        base_dir: args.base_dir.clone(),
        lock_timeout: args.lock_timeout,
        ..Options::default()
    }
}

fn with_protection(options: Options, p: &ProtectionArgs) -> Options {
    Options {
        branch: p.branch.clone(),
        outside_window: p.outside_window,
        approval_timeout: p.approval_timeout,
        ..options
    }
}

/// The workspace, or `None` after its errors were printed.
fn load(dir: &Path) -> Option<gantry_workspace::Loaded> {
    match load_workspace(dir) {
        Ok((loaded, warnings)) => {
            eprint!("{warnings}");
            Some(loaded)
        }
        Err(errors) => {
            eprint!("{errors}");
            None
        }
    }
}

/// The workspace file in `dir` with its warnings rendered (empty when there are none),
/// or every error rendered, ending in a newline. Shared by these commands and the
/// deploy jobs of `gantry run` (pipeline_deployer.rs), so both read it alike.
pub(crate) fn load_workspace(dir: &Path) -> Result<(gantry_workspace::Loaded, String), String> {
    let loaded = match gantry_workspace::load(dir) {
        Ok(loaded) => loaded,
        Err(gantry_workspace::LoadError::Invalid(invalid)) => return Err(invalid.render(false)),
        Err(e) => return Err(format!("error: {e}\n")),
    };
    let warnings = if loaded.diagnostics.is_empty() {
        String::new()
    } else {
        loaded.render(&loaded.diagnostics, false)
    };
    Ok((loaded, warnings))
}

/// The secrets the service's env reads, or `None` after the errors were printed.
fn secrets(
    loaded: &gantry_workspace::Loaded,
    resolved: &gantry_deploy::Resolved<'_>,
) -> Option<IndexMap<String, Secret>> {
    match resolve_secrets(loaded, resolved) {
        Ok(secrets) => Some(secrets),
        Err(errors) => {
            eprint!("{errors}");
            None
        }
    }
}

/// The workspace's `secrets:` that the service's env values read, resolved from this
/// machine's environment and files (relative to the workspace) before any host is
/// contacted; else every problem rendered with file:line:col, naming the secret and
/// the variable or file, never a value. Shared with the deploy jobs of `gantry run`.
pub(crate) fn resolve_secrets(
    loaded: &gantry_workspace::Loaded,
    resolved: &gantry_deploy::Resolved<'_>,
) -> Result<IndexMap<String, Secret>, String> {
    loaded
        .workspace
        .inventory
        .resolve_named_secrets(
            &loaded.workspace.file,
            &resolved.secrets_used(),
            |name| std::env::var(name).ok(),
            |path| std::fs::read_to_string(path),
        )
        .map_err(|diags| loaded.render(&diags, false))
}

fn resolve<'a>(
    loaded: &'a gantry_workspace::Loaded,
    service: &str,
    environment: &str,
) -> Option<gantry_deploy::Resolved<'a>> {
    match resolve_in(loaded, service, environment) {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

/// `service` and `environment` of the workspace; the error names the workspace file
/// where the user can find it.
pub(crate) fn resolve_in<'a>(
    loaded: &'a gantry_workspace::Loaded,
    service: &str,
    environment: &str,
) -> Result<gantry_deploy::Resolved<'a>, String> {
    gantry_deploy::resolve(&loaded.workspace, &loaded.dir, service, environment).map_err(|e| {
        // The workspace's own name for its file is `gantry.yml`; show where it is.
        let file = display_file(&loaded.path);
        e.to_string().replacen(&loaded.workspace.file, &file, 1)
    })
}

fn report(result: Result<DeploymentReport, DeployError>, json: bool) -> anyhow::Result<ExitCode> {
    match result {
        Ok(report) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", gantry_deploy::render(&report));
            }
            Ok(ExitCode::from(report.exit_code()))
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn display_file(path: &Path) -> String {
    path.display().to_string()
}
