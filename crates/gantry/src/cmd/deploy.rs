//! `gantry deploy` and `gantry rollback`: a service's release rolled out to an
//! environment's hosts (or rolled back) from this machine, without a server, through
//! `gantry-deploy`. Exit codes: 0 succeeded, 1 failed or rolled back (and bad input:
//! unknown service or environment, missing artifact, the deploy lock not obtained).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use gantry_deploy::{DeployError, DeploymentReport, Options};

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
    run(&args.common, |resolved, options, progress| {
        gantry_deploy::deploy(
            resolved,
            &args.version,
            artifact.as_deref(),
            options,
            progress,
        )
    })
}

pub fn rollback(args: RollbackArgs) -> anyhow::Result<ExitCode> {
    run(&args.common, |resolved, options, progress| {
        gantry_deploy::rollback(resolved, args.to.as_deref(), options, progress)
    })
}

fn run(
    args: &CommonArgs,
    work: impl FnOnce(
        &gantry_deploy::Resolved<'_>,
        &Options,
        gantry_deploy::Progress<'_>,
    ) -> Result<DeploymentReport, DeployError>,
) -> anyhow::Result<ExitCode> {
    let loaded = match gantry_workspace::load(&args.workspace) {
        Ok(loaded) => loaded,
        Err(gantry_workspace::LoadError::Invalid(invalid)) => {
            eprint!("{}", invalid.render(false));
            return Ok(ExitCode::from(1));
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    if !loaded.diagnostics.is_empty() {
        eprint!("{}", loaded.render(&loaded.diagnostics, false));
    }
    let file = display_file(&loaded.path);
    let resolved = match gantry_deploy::resolve(
        &loaded.workspace,
        &loaded.dir,
        &args.service,
        &args.environment,
    ) {
        Ok(r) => r,
        Err(e) => {
            // The workspace's own name for its file is `gantry.yml`; show where it is.
            let text = e.to_string().replacen(&loaded.workspace.file, &file, 1);
            eprintln!("error: {text}");
            return Ok(ExitCode::from(1));
        }
    };
    let options = Options {
        base_dir: args.base_dir.clone(),
        lock_timeout: args.lock_timeout,
        ..Options::default()
    };
    let progress = |line: &str| eprintln!("{line}");
    match work(&resolved, &options, &progress) {
        Ok(report) => {
            if args.json {
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
