//! `gantry run`: compiles a pipeline, plans it against this checkout's git facts, runs
//! its DAG locally with the engine (deploy jobs through gantry-deploy, see
//! pipeline_deployer.rs), streams the logs, prints a summary (or `--json`), and cancels
//! cleanly on Ctrl-C.

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use gantry_core::SourceFile;
use gantry_engine::{Executors, RunControl, RunOptions, RunStatus, run_plan};
use gantry_pipeline::TriggerEvent;
use indexmap::IndexMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::mpsc;

use crate::pipeline_deployer::PipelineDeployer;
use crate::ui::live::Live;
use crate::ui::style::Style;
use crate::{git_facts, pipelines, secrets_file};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Event {
    Push,
    Tag,
    PullRequest,
    Manual,
}

impl Event {
    fn as_str(self) -> &'static str {
        match self {
            Event::Push => "push",
            Event::Tag => "tag",
            Event::PullRequest => "pull_request",
            Event::Manual => "manual",
        }
    }
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Pipeline file or name (default: the only file in .gantry/pipelines/).
    pub pipeline: Option<String>,
    /// Run only this job (and the jobs it needs). Repeatable.
    #[arg(long = "job", value_name = "ID")]
    pub jobs: Vec<String>,
    /// Jobs running at once (default: the number of CPUs).
    #[arg(short = 'j', long = "parallel", value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: Option<u16>,
    /// The event to run for.
    #[arg(long, value_enum, default_value = "push")]
    pub event: Event,
    /// Pretend the checkout is on this branch (for pull_request: the target branch).
    #[arg(long, value_name = "B")]
    pub branch: Option<String>,
    /// A manual input, `name=value`. Repeatable.
    #[arg(long = "input", value_name = "K=V")]
    pub inputs: Vec<String>,
    /// Secrets in dotenv form (`NAME=value`); `GANTRY_SECRET_<NAME>` variables count too.
    #[arg(long, value_name = "F")]
    pub secret_file: Option<PathBuf>,
    /// Print one JSON document describing the run on stdout (logs go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Where runs, artifacts and caches are kept (default: $GANTRY_DATA or ~/.local/share/gantry).
    #[arg(long, value_name = "DIR", env = "GANTRY_DATA")]
    pub data: Option<PathBuf>,
    /// Keep each job's work directory after the run (for debugging).
    #[arg(long)]
    pub keep_workdirs: bool,
    /// The workspace directory (holding gantry.yml) whose services and environments
    /// `deploy:` jobs deploy to; read only when a deploy job runs.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub workspace: PathBuf,
}

fn data_dir(arg: Option<PathBuf>) -> PathBuf {
    arg.or_else(|| std::env::var_os("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("gantry")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/gantry")))
        .unwrap_or_else(|| PathBuf::from(".gantry-data"))
}

/// A run number that grows by one per local run on this data directory.
fn next_run_number(data: &std::path::Path) -> u64 {
    let file = data.join("run-number");
    let n = std::fs::read_to_string(&file)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0)
        + 1;
    let _ = std::fs::create_dir_all(data);
    let _ = std::fs::write(&file, n.to_string());
    n
}

/// Keeps the newest `keep` run directories (their artifacts), removing older ones.
fn prune_runs(data: &std::path::Path, keep: usize) {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(data.join("runs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    runs.sort();
    let excess = runs.len().saturating_sub(keep);
    for old in runs.into_iter().take(excess) {
        let _ = std::fs::remove_dir_all(old);
    }
}

pub fn main(args: RunArgs) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let root = pipelines::checkout_root(&cwd);
    let path = pipelines::resolve(&root, args.pipeline.as_deref())?;
    let name = pipelines::display_name(&root, &path);
    let text = pipelines::read(&path)?;
    let compiled = gantry_pipeline::compile(&name, &text);
    let err_style = Style::stderr();
    let source = SourceFile::new(name.clone(), text);
    for d in &compiled.diagnostics {
        eprint!("{}", d.render(Some(&source), err_style.enabled()));
    }
    let Some(plan) = compiled.plan else {
        let n = compiled.diagnostics.iter().filter(|d| d.is_error()).count();
        eprintln!("{name}: {n} error(s); nothing was run");
        return Ok(ExitCode::from(2));
    };

    let git = git_facts::read(&root, args.event.as_str(), args.branch.as_deref());
    if args.event == Event::Tag && git.tag.is_none() {
        bail!("--event tag: HEAD has no tag (create one with `git tag v1.0.0`)");
    }
    let trigger = match args.event {
        Event::Push => TriggerEvent::Push {
            branch: git.branch.clone(),
            tag: None,
            changed_files: git_facts::changed_files(&root),
        },
        Event::Tag => TriggerEvent::Push {
            branch: None,
            tag: git.tag.clone(),
            changed_files: None,
        },
        Event::PullRequest => TriggerEvent::PullRequest {
            base_branch: git.branch.clone().unwrap_or_else(|| "main".into()),
            changed_files: git_facts::changed_files(&root),
        },
        Event::Manual => TriggerEvent::Manual,
    };
    let on_note = (!plan.on.matches(&trigger)).then(|| {
        format!(
            "note: the pipeline's `on:` would not start it for this {} event{}; running it anyway because you asked",
            args.event.as_str(),
            git.branch.as_deref().map(|b| format!(" on branch '{b}'")).unwrap_or_default()
        )
    });

    let mut given = IndexMap::new();
    for kv in &args.inputs {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--input '{kv}': expected name=value");
        };
        given.insert(k.trim().to_string(), v.to_string());
    }
    let inputs = match gantry_pipeline::resolve_inputs(&plan.on, &given) {
        Ok(i) => i,
        Err(problems) => {
            for p in problems {
                eprintln!("{}: {p}", err_style.red("error"));
            }
            return Ok(ExitCode::from(2));
        }
    };

    let mut secrets = secrets_file::from_env();
    if let Some(file) = &args.secret_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the secret file {}", file.display()))?;
        secrets.extend(secrets_file::parse(&file.display().to_string(), &text)?);
    }

    let data = data_dir(args.data.clone());
    std::fs::create_dir_all(&data)
        .with_context(|| format!("cannot create the data directory {}", data.display()))?;
    let run_number = next_run_number(&data);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let run_id = format!("{:013}-{run_number}", now.as_millis());
    let parallelism = args
        .parallel
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let options = RunOptions {
        run_id,
        run_number,
        source_dir: root.clone(),
        data_dir: data.clone(),
        parallelism,
        git,
        inputs,
        secrets,
        only: args.jobs.clone(),
        keep_workdirs: args.keep_workdirs,
        cache: None,
        source_commit: None,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let plan = Arc::new(plan);
    let selected = match gantry_engine::select(&plan, &args.jobs) {
        Ok(s) => s.iter().filter(|&&b| b).count(),
        Err(e) => {
            eprintln!("{}: {e}", err_style.red("error"));
            return Ok(ExitCode::from(2));
        }
    };
    let json = args.json;
    // Deploy jobs run on this machine, through gantry-deploy, as `gantry deploy` would.
    let workspace = std::path::absolute(&args.workspace).unwrap_or_else(|_| args.workspace.clone());
    let executors = Executors::new().with_deployer(Arc::new(PipelineDeployer { workspace }));
    let report = runtime.block_on(async move {
        let mut live = Live::new(&plan, selected, json);
        if let Some(note) = &on_note {
            live.note(note);
        }
        let control = RunControl::default();
        let signals = spawn_signal_handler(control.clone());
        let (tx, mut rx) = mpsc::channel(4096);
        let run = tokio::spawn(run_plan(
            plan.clone(),
            options,
            Arc::new(executors),
            tx,
            control.clone(),
        ));
        while let Some(event) = rx.recv().await {
            live.handle(event);
        }
        live.finish();
        signals.abort();
        run.await
            .map_err(|e| anyhow::anyhow!("internal error: {e}"))?
            .map_err(anyhow::Error::from)
    })?;
    prune_runs(&data, 20);

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", crate::ui::summary::render(&report, Style::stdout()));
    }
    Ok(match report.status {
        RunStatus::Success => ExitCode::SUCCESS,
        RunStatus::Failure => ExitCode::from(1),
        RunStatus::Cancelled => ExitCode::from(130),
    })
}

/// Waits for Ctrl-C or SIGTERM.
async fn interrupted(term: &mut Option<tokio::signal::unix::Signal>) {
    match term {
        Some(t) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = t.recv() => {}
            }
        }
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// First Ctrl-C (or SIGTERM) cancels the run; a second one also kills cleanup steps.
fn spawn_signal_handler(control: RunControl) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        interrupted(&mut term).await;
        eprintln!(
            "\ncancelling: stopping running steps and cleaning up (interrupt again to force)…"
        );
        control.cancel.cancel();
        interrupted(&mut term).await;
        eprintln!("forcing: killing cleanup steps too");
        control.force.cancel();
    })
}
