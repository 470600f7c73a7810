//! Running one planned job: its work directory with the artifacts of the jobs it needs
//! and its cache restored, its steps in order (conditions, env, retries, timeouts,
//! `continue_on_error`, outputs), a deploy job's deploy (deploy.rs), then its outputs,
//! artifacts and cache saved. Whole-job retries start again from a fresh work directory.

use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use gantry_expr::{Scope, Status};
use gantry_pipeline::{PlannedJob, PlannedStep};

use crate::event::RunEvent;
use crate::executor::{JobSession, JobSpec, ServiceRun, StepCommand};
use crate::log::LogSink;
use crate::outputs::parse_outputs;
use crate::report::{JobReport, JobResult, StepReport, StepResult};
use crate::run::{RunControl, RunShared};
use crate::workdir::JobDirs;
use crate::{context, shell};

/// What the scheduler knows when it starts a job.
pub(crate) struct JobStart {
    pub index: usize,
    /// The `needs` context: `{ job_id: { result, outputs } }`.
    pub needs: Map<String, Value>,
    /// Cancels this job (the run's tokens in `gantry run`; the job's own in the server).
    pub control: RunControl,
    /// Where this job's log lines go instead of the run's stream (the server gives each
    /// job its own channel, which closes when the job's last line is sent).
    pub log_tx: Option<tokio::sync::mpsc::Sender<crate::log::LogLine>>,
    /// Added to attempt numbers in work directory names. A server that re-runs a job
    /// after a crash passes how many attempts came before, so the new attempt never
    /// shares a directory with processes the crashed one may have left behind.
    pub attempts_before: u32,
}

fn elapsed_ms(start: Instant) -> u64 {
    start.elapsed().as_millis() as u64
}

/// Renders a template; the error names what was being rendered.
pub(crate) fn render(what: &str, src: &str, scope: &Scope) -> Result<String, String> {
    let t = gantry_expr::parse_template(src).map_err(|e| format!("{what}: {}", e.message))?;
    t.render(scope).map_err(|e| format!("{what}: {}", e.0))
}

/// Evaluates an `if:`. Without a status function the condition also requires that
/// nothing failed and nothing was cancelled (the implicit `success() && …`).
pub(crate) fn condition_holds(src: Option<&str>, scope: &Scope) -> Result<bool, String> {
    let ok = !scope.status.failed && !scope.status.cancelled;
    let Some(src) = src else { return Ok(ok) };
    let expr = gantry_expr::parse_condition(src).map_err(|e| format!("if: {}", e.message))?;
    let value = expr.eval(scope).map_err(|e| format!("if: {}", e.0))?;
    let holds = gantry_expr::truthy(&value);
    Ok(if expr.uses_status_function() {
        holds
    } else {
        ok && holds
    })
}

fn render_env(
    layers: &[&IndexMap<String, String>],
    scope: &mut Scope,
    mut env: IndexMap<String, String>,
) -> Result<IndexMap<String, String>, String> {
    for layer in layers {
        for (k, v) in layer.iter() {
            scope
                .contexts
                .insert("env".into(), context::env_value(&env));
            let value = render(&format!("env {k}"), v, scope)?;
            env.insert(k.clone(), value);
        }
    }
    scope
        .contexts
        .insert("env".into(), context::env_value(&env));
    Ok(env)
}

pub(crate) async fn run_job(shared: Arc<RunShared>, start: JobStart) -> JobReport {
    let job = &shared.plan.jobs[start.index];
    let started = Instant::now();
    let mut report = JobReport {
        key: job.key.clone(),
        id: job.job_id.clone(),
        name: job.name.clone(),
        matrix: job.matrix.clone(),
        result: JobResult::Failure,
        executor: job.executor.as_str(),
        attempts: 0,
        duration_ms: 0,
        outputs: IndexMap::new(),
        reason: None,
        steps: Vec::new(),
        artifacts: Vec::new(),
        cache_hit: None,
    };
    let log = LogSink::new(
        job.key.clone(),
        shared.masker.clone(),
        start
            .log_tx
            .clone()
            .unwrap_or_else(|| shared.log_tx.clone()),
    );
    for attempt in 1..=job.retry + 1 {
        report.attempts = attempt;
        let _ = shared
            .events
            .send(RunEvent::JobStarted {
                key: job.key.clone(),
                name: job.name.clone(),
                attempt,
            })
            .await;
        let outcome = run_attempt(&shared, job, &start, attempt, &log).await;
        report.result = outcome.result;
        report.reason = outcome.reason;
        report.steps = outcome.steps;
        report.outputs = outcome.outputs;
        report.artifacts = outcome.artifacts;
        report.cache_hit = outcome.cache_hit;
        if report.result != JobResult::Failure
            || start.control.cancel.is_cancelled()
            || attempt > job.retry
        {
            break;
        }
        log.system(&format!(
            "job failed; retrying (attempt {} of {})",
            attempt + 1,
            job.retry + 1
        ))
        .await;
    }
    report.duration_ms = elapsed_ms(started);
    report
}

struct AttemptOutcome {
    result: JobResult,
    reason: Option<String>,
    steps: Vec<StepReport>,
    outputs: IndexMap<String, String>,
    artifacts: Vec<String>,
    cache_hit: Option<String>,
}

impl AttemptOutcome {
    fn failed(reason: String) -> Self {
        AttemptOutcome {
            result: JobResult::Failure,
            reason: Some(reason),
            steps: Vec::new(),
            outputs: IndexMap::new(),
            artifacts: Vec::new(),
            cache_hit: None,
        }
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("internal error: {e}"))
}

async fn run_attempt(
    shared: &Arc<RunShared>,
    job: &PlannedJob,
    start: &JobStart,
    attempt: u32,
    log: &LogSink,
) -> AttemptOutcome {
    // A deploy job on a runner that cannot deploy fails before any work is done.
    if job.deploy.is_some()
        && let Err(why) = shared.executors.deployer()
    {
        log.system(&why).await;
        return AttemptOutcome::failed(why);
    }
    // The job's scope: run contexts plus matrix and needs.
    let mut contexts = shared.contexts.base.clone();
    contexts.insert(
        "matrix".into(),
        Value::Object(job.matrix.clone().into_iter().collect()),
    );
    contexts.insert("needs".into(), Value::Object(start.needs.clone()));
    let mut scope = Scope {
        contexts,
        status: Status::default(),
        hash_files: None,
    };
    let env = match render_env(&[&shared.plan.env, &job.env], &mut scope, IndexMap::new()) {
        Ok(env) => env,
        Err(e) => {
            log.system(&e).await;
            return AttemptOutcome::failed(e);
        }
    };

    let dirs = {
        let run_dirs = shared.dirs.clone();
        let key = job.key.clone();
        let dir_attempt = start.attempts_before + attempt;
        match blocking(move || run_dirs.job(&key, dir_attempt))
            .await
            .and_then(|r| r.map_err(|e| e.to_string()))
        {
            Ok(d) => d,
            Err(e) => {
                log.system(&e).await;
                return AttemptOutcome::failed(e);
            }
        }
    };
    let outcome = run_in_dirs(shared, job, &dirs, &env, &mut scope, &start.control, log).await;
    if !shared.options.keep_workdirs {
        // Removal is off the critical path: the job is done, its dependents need not
        // wait for its files to be deleted (run_plan waits for these at the end).
        let run_dirs = shared.dirs.clone();
        let d = dirs.clone();
        shared
            .cleanups
            .lock()
            .await
            .spawn_blocking(move || run_dirs.remove_job(&d));
    }
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn run_in_dirs(
    shared: &Arc<RunShared>,
    job: &PlannedJob,
    dirs: &JobDirs,
    env: &IndexMap<String, String>,
    scope: &mut Scope<'_>,
    control: &RunControl,
    log: &LogSink,
) -> AttemptOutcome {
    // Artifacts of every job this one needs.
    for &need in &job.needs_index {
        let key = shared.plan.jobs[need].key.clone();
        let store = shared.artifacts.clone();
        let ws = dirs.workspace.clone();
        match blocking(move || store.restore(&key, &ws)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => {
                log.system(&format!(
                    "restored {n} artifact file(s) from '{}'",
                    shared.plan.jobs[need].key
                ))
                .await
            }
            Ok(Err(e)) => {
                let msg = format!(
                    "restoring artifacts of '{}': {e}",
                    shared.plan.jobs[need].key
                );
                log.system(&msg).await;
                return AttemptOutcome::failed(msg);
            }
            Err(e) => return AttemptOutcome::failed(e),
        }
    }

    // Caches: keys may use hash_files over this work directory.
    let ws_for_hash = dirs.workspace.clone();
    let hash = move |patterns: &[String]| crate::hash_files::hash_files(&ws_for_hash, patterns);
    let mut cache_plan = Vec::new();
    let mut cache_hit = None;
    {
        let hash_scope = Scope {
            contexts: scope.contexts.clone(),
            status: scope.status,
            hash_files: Some(&hash),
        };
        for spec in &job.cache {
            let key = match render("cache key", &spec.key, &hash_scope) {
                Ok(k) => k,
                Err(e) => {
                    log.system(&e).await;
                    return AttemptOutcome::failed(e);
                }
            };
            let mut restore_keys = Vec::new();
            for r in &spec.restore_keys {
                match render("cache restore key", r, &hash_scope) {
                    Ok(k) => restore_keys.push(k),
                    Err(e) => {
                        log.system(&e).await;
                        return AttemptOutcome::failed(e);
                    }
                }
            }
            let store = shared.cache.clone();
            let ws = dirs.workspace.clone();
            let (k2, rk) = (key.clone(), restore_keys.clone());
            let hit = blocking(move || store.restore(&k2, &rk, &ws)).await;
            let exact = match hit {
                Ok(Ok(Some(found))) => {
                    log.system(&format!("cache restored from key '{found}'"))
                        .await;
                    let exact = found == key;
                    cache_hit.get_or_insert(found);
                    exact
                }
                Ok(Ok(None)) => {
                    log.system(&format!("cache miss for key '{key}'")).await;
                    false
                }
                Ok(Err(e)) => {
                    log.system(&format!("cache restore failed, continuing without it: {e}"))
                        .await;
                    false
                }
                Err(e) => return AttemptOutcome::failed(e),
            };
            let mut paths = Vec::new();
            for p in &spec.paths {
                match render("cache path", p, &hash_scope) {
                    Ok(p) => paths.push(p),
                    Err(e) => {
                        log.system(&e).await;
                        return AttemptOutcome::failed(e);
                    }
                }
            }
            cache_plan.push((key, paths, exact));
        }
    }

    // The executor's environment.
    let image = match job
        .image
        .as_deref()
        .map(|i| render("image", i, scope))
        .transpose()
    {
        Ok(i) => i,
        Err(e) => return AttemptOutcome::failed(e),
    };
    let mut services = Vec::new();
    for (name, svc) in &job.services {
        let image = match render(&format!("services.{name}.image"), &svc.image, scope) {
            Ok(i) => i,
            Err(e) => return AttemptOutcome::failed(e),
        };
        let mut env_pairs = Vec::new();
        for (k, v) in &svc.env {
            match render(&format!("services.{name}.env.{k}"), v, scope) {
                Ok(v) => env_pairs.push((k.clone(), v)),
                Err(e) => return AttemptOutcome::failed(e),
            }
        }
        services.push(ServiceRun {
            name: name.clone(),
            image,
            env: env_pairs,
            command: svc.command.clone(),
        });
    }
    let spec = JobSpec {
        run_id: shared.options.run_id.clone(),
        job_key: job.key.clone(),
        workspace: dirs.workspace.clone(),
        state_dir: dirs.state.clone(),
        image,
        services,
        network: job.network,
    };
    let executor = match shared.executors.get(job.executor).await {
        Ok(e) => e,
        Err(e) => {
            let msg = e.to_string();
            log.system(&msg).await;
            return AttemptOutcome::failed(msg);
        }
    };
    let session = match executor.prepare(&spec, log).await {
        Ok(s) => s,
        Err(e) => {
            let msg = e.to_string();
            log.system(&msg).await;
            return AttemptOutcome::failed(msg);
        }
    };

    let steps_outcome = run_steps(
        shared,
        job,
        dirs,
        env,
        scope,
        session.as_ref(),
        control,
        log,
    )
    .await;
    if let Err(e) = session.cleanup().await {
        log.system(&format!(
            "cleaning up the {} environment failed: {e}",
            job.executor.as_str()
        ))
        .await;
    }
    let StepsOutcome {
        steps,
        mut result,
        mut reason,
    } = steps_outcome;
    // A deploy job's deploy comes after its steps (if any) succeeded, in the same work
    // directory, so the artifacts restored (or made) there are what it ships.
    if let Some(spec) = &job.deploy
        && result == JobResult::Success
    {
        (result, reason) =
            crate::deploy::run(shared, job, spec, &dirs.workspace, scope, control, log).await;
    }

    // Job outputs are templates over the steps context.
    let mut outputs = IndexMap::new();
    for (name, template) in &job.outputs {
        match render(&format!("outputs.{name}"), template, scope) {
            Ok(v) => {
                outputs.insert(name.clone(), shared.masker.mask(&v));
            }
            Err(e) => {
                log.system(&e).await;
                if result == JobResult::Success {
                    result = JobResult::Failure;
                    reason = Some(e);
                }
            }
        }
    }

    // Artifacts are saved whatever the result (a failed job's reports are the most
    // useful ones); caches only after success, so a broken build never seeds them.
    let mut artifacts = Vec::new();
    if !job.artifacts.is_empty() {
        let mut patterns = Vec::new();
        for p in &job.artifacts {
            match render("artifacts", p, scope) {
                Ok(p) => patterns.push(p),
                Err(e) => log.system(&format!("warning: {e}")).await,
            }
        }
        let store = shared.artifacts.clone();
        let (key, ws) = (job.key.clone(), dirs.workspace.clone());
        if let Ok(saved) = blocking(move || store.save(&key, &ws, &patterns)).await {
            for p in &saved.problems {
                log.system(&format!("warning: {p}")).await;
            }
            if !saved.files.is_empty() {
                log.system(&format!("saved {} artifact file(s)", saved.files.len()))
                    .await;
            }
            artifacts = saved.files;
        }
    }
    if result == JobResult::Success {
        for (key, paths, exact) in cache_plan {
            if exact {
                continue;
            }
            let store = shared.cache.clone();
            let ws = dirs.workspace.clone();
            let k2 = key.clone();
            match blocking(move || store.save(&k2, &paths, &ws)).await {
                Ok(Ok(true)) => log.system(&format!("cache saved under key '{key}'")).await,
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    log.system(&format!("warning: saving cache '{key}' failed: {e}"))
                        .await
                }
                Err(e) => log.system(&format!("warning: {e}")).await,
            }
        }
    }
    AttemptOutcome {
        result,
        reason,
        steps,
        outputs,
        artifacts,
        cache_hit,
    }
}

struct StepsOutcome {
    steps: Vec<StepReport>,
    result: JobResult,
    reason: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn run_steps(
    shared: &Arc<RunShared>,
    job: &PlannedJob,
    dirs: &JobDirs,
    env: &IndexMap<String, String>,
    scope: &mut Scope<'_>,
    session: &dyn JobSession,
    control: &RunControl,
    log: &LogSink,
) -> StepsOutcome {
    // The job's own token: cancelled by the run (Ctrl-C) or by the job's timeout.
    let job_cancel = control.cancel.child_token();
    let timed_out = Arc::new(AtomicBool::new(false));
    let timer = job.timeout.map(|t| {
        let (token, flag) = (job_cancel.clone(), timed_out.clone());
        tokio::spawn(async move {
            tokio::time::sleep(t).await;
            flag.store(true, Ordering::SeqCst);
            token.cancel();
        })
    });
    let mut steps_ctx = Map::new();
    let mut reports = Vec::new();
    let mut failed = false;
    let mut failure_reason = None;
    let mut cancelled_seen = false;
    for step in &job.steps {
        let cancelled = job_cancel.is_cancelled();
        scope.status = Status { failed, cancelled };
        scope
            .contexts
            .insert("steps".into(), Value::Object(steps_ctx.clone()));
        scope.contexts.insert(
            "job".into(),
            serde_json::json!({ "status": if cancelled { "cancelled" } else if failed { "failure" } else { "success" } }),
        );
        let run_it = match condition_holds(step.condition.as_deref(), scope) {
            Ok(b) => b,
            Err(e) => {
                log.for_step(step.index).system(&e).await;
                failed = true;
                failure_reason.get_or_insert(format!("step '{}': {e}", step.name));
                reports.push(step_report(
                    step,
                    StepResult::Failure,
                    StepResult::Failure,
                    None,
                    0,
                    0,
                ));
                continue;
            }
        };
        if !run_it {
            reports.push(step_report(
                step,
                StepResult::Skipped,
                StepResult::Skipped,
                None,
                0,
                0,
            ));
            record_step(
                &mut steps_ctx,
                step,
                StepResult::Skipped,
                StepResult::Skipped,
                &IndexMap::new(),
            );
            continue;
        }
        // A step that runs after cancellation (`if: always()` or `cancelled()`) gets
        // its own token, cancelled only by a second interrupt.
        let token = if cancelled {
            control.force.child_token()
        } else {
            job_cancel.clone()
        };
        let (report, outputs) =
            run_step(shared, job, dirs, env, scope, session, log, step, &token).await;
        if report.outcome == StepResult::Cancelled {
            cancelled_seen = true;
        }
        if report.result == StepResult::Failure {
            failed = true;
            failure_reason.get_or_insert_with(|| match (report.timed_out, report.exit_code) {
                (true, _) => format!("step '{}' timed out", step.name),
                (false, Some(code)) => format!("step '{}' failed with exit code {code}", step.name),
                (false, None) => format!("step '{}' failed", step.name),
            });
        }
        record_step(
            &mut steps_ctx,
            step,
            report.outcome,
            report.result,
            &outputs,
        );
        reports.push(report);
    }
    if let Some(t) = timer {
        t.abort();
    }
    scope
        .contexts
        .insert("steps".into(), Value::Object(steps_ctx));
    let (result, reason) = if timed_out.load(Ordering::SeqCst) {
        let t = job.timeout.unwrap_or_default();
        (
            JobResult::Failure,
            Some(format!("job timed out after {}", fmt_duration(t))),
        )
    } else if control.cancel.is_cancelled() || cancelled_seen {
        (JobResult::Cancelled, Some("run cancelled".to_string()))
    } else if failed {
        (JobResult::Failure, failure_reason)
    } else {
        (JobResult::Success, None)
    };
    StepsOutcome {
        steps: reports,
        result,
        reason,
    }
}

fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, 0) => format!("{}ms", d.as_millis()),
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

fn record_step(
    ctx: &mut Map<String, Value>,
    step: &PlannedStep,
    outcome: StepResult,
    result: StepResult,
    outputs: &IndexMap<String, String>,
) {
    if let Some(id) = &step.id {
        ctx.insert(
            id.clone(),
            serde_json::json!({ "outputs": outputs, "outcome": outcome.as_str(), "result": result.as_str() }),
        );
    }
}

fn step_report(
    step: &PlannedStep,
    result: StepResult,
    outcome: StepResult,
    exit_code: Option<i32>,
    attempts: u32,
    duration_ms: u64,
) -> StepReport {
    StepReport {
        index: step.index,
        id: step.id.clone(),
        name: step.name.clone(),
        result,
        outcome,
        exit_code,
        timed_out: false,
        attempts,
        duration_ms,
        outputs: IndexMap::new(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_step(
    shared: &Arc<RunShared>,
    job: &PlannedJob,
    dirs: &JobDirs,
    job_env: &IndexMap<String, String>,
    scope: &mut Scope<'_>,
    session: &dyn JobSession,
    log: &LogSink,
    step: &PlannedStep,
    token: &CancellationToken,
) -> (StepReport, IndexMap<String, String>) {
    let started = Instant::now();
    let slog = log.for_step(step.index);
    let _ = shared
        .events
        .send(RunEvent::StepStarted {
            job: job.key.clone(),
            index: step.index,
            name: step.name.clone(),
        })
        .await;
    let finish = |report: StepReport| {
        let events = shared.events.clone();
        let key = job.key.clone();
        async move {
            let _ = events
                .send(RunEvent::StepFinished {
                    job: key,
                    index: report.index,
                    result: report.result,
                    duration_ms: report.duration_ms,
                })
                .await;
            report
        }
    };
    let prepared = prepare_step(job, dirs, job_env, scope, session, step);
    let (cmd, output_host) = match prepared {
        Ok(p) => p,
        Err(e) => {
            slog.system(&e).await;
            let r = step_report(
                step,
                StepResult::Failure,
                StepResult::Failure,
                None,
                0,
                elapsed_ms(started),
            );
            return (finish(r).await, IndexMap::new());
        }
    };
    let mut attempts = 0;
    let mut exit = Default::default();
    for attempt in 1..=step.retry + 1 {
        attempts = attempt;
        if let Err(e) = std::fs::write(&output_host, b"") {
            slog.system(&format!("cannot create the output file: {e}"))
                .await;
            break;
        }
        exit = match session.exec(&cmd, &slog, token).await {
            Ok(x) => x,
            Err(e) => {
                slog.system(&e.to_string()).await;
                crate::executor::StepExit {
                    code: None,
                    timed_out: false,
                    cancelled: false,
                }
            }
        };
        if exit.success() || exit.cancelled || attempt > step.retry {
            break;
        }
        slog.system(&format!(
            "step failed; retrying (attempt {} of {})",
            attempt + 1,
            step.retry + 1
        ))
        .await;
    }
    let text = std::fs::read_to_string(&output_host).unwrap_or_default();
    let (outputs, problems) = parse_outputs(&text);
    for p in problems {
        slog.system(&format!("warning: $GANTRY_OUTPUT {p}")).await;
    }
    let outcome = if exit.cancelled && !exit.timed_out {
        StepResult::Cancelled
    } else if exit.success() {
        StepResult::Success
    } else {
        StepResult::Failure
    };
    let result = if outcome == StepResult::Failure && step.continue_on_error {
        StepResult::Success
    } else {
        outcome
    };
    if exit.timed_out {
        let t = step.timeout.unwrap_or_default();
        slog.system(&format!("step timed out after {}", fmt_duration(t)))
            .await;
    }
    let mut report = step_report(
        step,
        result,
        outcome,
        exit.code,
        attempts,
        elapsed_ms(started),
    );
    report.timed_out = exit.timed_out;
    report.outputs = outputs
        .iter()
        .map(|(k, v)| (k.clone(), shared.masker.mask(v)))
        .collect();
    (finish(report).await, outputs)
}

/// Renders the step's env and script, writes the script file, and builds the command.
fn prepare_step(
    job: &PlannedJob,
    dirs: &JobDirs,
    job_env: &IndexMap<String, String>,
    scope: &mut Scope,
    session: &dyn JobSession,
    step: &PlannedStep,
) -> Result<(StepCommand, std::path::PathBuf), String> {
    let env = render_env(&[&step.env], scope, job_env.clone())?;
    let script = render("run", &step.run, scope)?;
    let ext = shell::script_extension(step.shell.as_deref());
    let script_name = format!("step-{}.{ext}", step.index);
    let output_name = format!("output-{}", step.index);
    std::fs::write(dirs.state.join(&script_name), script)
        .map_err(|e| format!("writing the step script: {e}"))?;
    let guest = session.paths();
    let guest_script = guest.state_dir.join(&script_name);
    let guest_output = guest.state_dir.join(&output_name);
    let cwd = match step.working_directory.as_deref() {
        Some(wd) => {
            let wd = render("working_directory", wd, scope)?;
            crate::fsutil::contained(&dirs.workspace, &wd).ok_or_else(|| {
                format!(
                    "working_directory '{wd}' must be a relative path inside the work directory"
                )
            })?;
            guest.workspace.join(wd)
        }
        None => guest.workspace.clone(),
    };
    let mut vars: Vec<(String, String)> = env.into_iter().collect();
    let git = scope.contexts.get("git");
    let git_field = |f: &str| {
        git.and_then(|g| g.get(f))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let run = scope.contexts.get("run");
    let run_field = |f: &str| {
        run.and_then(|r| r.get(f))
            .map(gantry_expr::to_display_string)
            .unwrap_or_default()
    };
    vars.extend([
        ("CI".to_string(), "true".to_string()),
        ("GANTRY".into(), "true".into()),
        ("GANTRY_RUN_ID".into(), run_field("id")),
        ("GANTRY_RUN_NUMBER".into(), run_field("number")),
        ("GANTRY_JOB".into(), job.key.clone()),
        ("GANTRY_JOB_ID".into(), job.job_id.clone()),
        ("GANTRY_STEP".into(), step.index.to_string()),
        (
            "GANTRY_WORKSPACE".into(),
            guest.workspace.to_string_lossy().into_owned(),
        ),
        (
            "GANTRY_OUTPUT".into(),
            guest_output.to_string_lossy().into_owned(),
        ),
        ("GANTRY_SHA".into(), git_field("sha")),
        ("GANTRY_BRANCH".into(), git_field("branch")),
        ("GANTRY_TAG".into(), git_field("tag")),
        ("GANTRY_EVENT".into(), git_field("event")),
    ]);
    let cmd = StepCommand {
        argv: shell::argv(
            step.shell.as_deref(),
            &guest_script.to_string_lossy(),
            job.executor,
        ),
        env: vars,
        cwd,
        timeout: step.timeout,
    };
    Ok((cmd, dirs.state.join(output_name)))
}
