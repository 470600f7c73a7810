//! The DAG scheduler: starts every job whose needs are finished, up to the run's
//! parallelism, decides skips (`if:` false, a needed job did not succeed) without
//! taking a slot, and collects the reports in plan order.

use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;

use gantry_pipeline::Plan;

use crate::event::RunEvent;
use crate::gate::{Gate, NeedResult, gate};
use crate::job::{JobStart, run_job};
use crate::report::{JobReport, JobResult, RunReport, RunStatus};
use crate::run::{RunControl, RunError, RunShared};

/// Which plan jobs a run covers (by index): all, or the named job ids plus everything
/// they need. An unknown id is an error listing the known ones.
pub fn select(plan: &Plan, only: &[String]) -> Result<Vec<bool>, RunError> {
    if only.is_empty() {
        return Ok(vec![true; plan.jobs.len()]);
    }
    let mut selected = vec![false; plan.jobs.len()];
    let mut stack = Vec::new();
    for id in only {
        let cells: Vec<usize> = (0..plan.jobs.len())
            .filter(|&i| plan.jobs[i].job_id == *id)
            .collect();
        if cells.is_empty() {
            let mut known: Vec<&str> = plan.jobs.iter().map(|j| j.job_id.as_str()).collect();
            known.dedup();
            return Err(RunError::UnknownJob {
                unknown: format!("'{id}'"),
                known: known.join(", "),
            });
        }
        stack.extend(cells);
    }
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut selected[i], true) {
            stack.extend(plan.jobs[i].needs_index.iter().copied());
        }
    }
    Ok(selected)
}

fn skipped(shared: &RunShared, i: usize, result: JobResult, reason: String) -> JobReport {
    let job = &shared.plan.jobs[i];
    JobReport {
        key: job.key.clone(),
        id: job.job_id.clone(),
        name: job.name.clone(),
        matrix: job.matrix.clone(),
        result,
        executor: job.executor.as_str(),
        attempts: 0,
        duration_ms: 0,
        outputs: IndexMap::new(),
        reason: Some(reason),
        steps: Vec::new(),
        artifacts: Vec::new(),
        cache_hit: None,
    }
}

enum Decision {
    Run(Map<String, Value>),
    Done(Box<JobReport>),
}

fn decide(
    shared: &RunShared,
    i: usize,
    reports: &[Option<JobReport>],
    failed_above: &[bool],
) -> Decision {
    let plan = &shared.plan;
    if shared.cancel.is_cancelled() {
        return Decision::Done(Box::new(skipped(
            shared,
            i,
            JobResult::Cancelled,
            "run cancelled before the job started".into(),
        )));
    }
    let finished = |n: usize| {
        reports.get(n).and_then(Option::as_ref).map(|r| NeedResult {
            result: r.result,
            outputs: &r.outputs,
        })
    };
    match gate(plan, &shared.contexts.base, i, &finished, failed_above[i]) {
        Gate::Run { needs } => Decision::Run(needs),
        Gate::Settle { result, reason } => {
            Decision::Done(Box::new(skipped(shared, i, result, reason)))
        }
    }
}

pub(crate) async fn schedule(shared: Arc<RunShared>, selected: Vec<bool>) -> RunReport {
    let started = Instant::now();
    let plan = shared.plan.clone();
    let n = plan.jobs.len();
    let parallelism = shared.options.parallelism.max(1);
    let mut reports: Vec<Option<JobReport>> = vec![None; n];
    let mut failed_above = vec![false; n];
    let mut begun: HashSet<usize> = HashSet::new();
    let mut running: JoinSet<JobReport> = JoinSet::new();
    let mut task_index: HashMap<tokio::task::Id, usize> = HashMap::new();
    loop {
        // Start or settle every job whose needs are finished, in plan order.
        let mut progressed = true;
        while progressed {
            progressed = false;
            for i in 0..n {
                if !selected[i] || begun.contains(&i) {
                    continue;
                }
                if !plan.jobs[i]
                    .needs_index
                    .iter()
                    .all(|&d| reports[d].is_some())
                {
                    continue;
                }
                failed_above[i] = plan.jobs[i].needs_index.iter().any(|&d| {
                    failed_above[d]
                        || reports[d]
                            .as_ref()
                            .is_some_and(|r| r.result == JobResult::Failure)
                });
                match decide(&shared, i, &reports, &failed_above) {
                    Decision::Done(report) => {
                        begun.insert(i);
                        let _ = shared
                            .events
                            .send(RunEvent::JobFinished {
                                key: report.key.clone(),
                                result: report.result,
                                duration_ms: 0,
                            })
                            .await;
                        reports[i] = Some(*report);
                        progressed = true;
                    }
                    Decision::Run(needs) if running.len() < parallelism => {
                        begun.insert(i);
                        let s = shared.clone();
                        let handle = running.spawn(async move {
                            let control = RunControl {
                                cancel: s.cancel.clone(),
                                force: s.force.clone(),
                            };
                            run_job(
                                s,
                                JobStart {
                                    index: i,
                                    needs,
                                    control,
                                    log_tx: None,
                                    attempts_before: 0,
                                },
                            )
                            .await
                        });
                        task_index.insert(handle.id(), i);
                    }
                    Decision::Run(_) => {}
                }
            }
        }
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        let (i, report) = match joined {
            Ok((id, report)) => (task_index.remove(&id), report),
            // A job task that panicked still gets a report, so the jobs that need it
            // are settled instead of silently left out.
            Err(e) => {
                let i = task_index.remove(&e.id());
                let Some(i) = i else { continue };
                (
                    Some(i),
                    skipped(
                        &shared,
                        i,
                        JobResult::Failure,
                        format!("internal error: {e}"),
                    ),
                )
            }
        };
        let Some(i) = i else { continue };
        let _ = shared
            .events
            .send(RunEvent::JobFinished {
                key: report.key.clone(),
                result: report.result,
                duration_ms: report.duration_ms,
            })
            .await;
        reports[i] = Some(report);
    }
    let jobs: Vec<JobReport> = reports.into_iter().flatten().collect();
    let status = if shared.cancel.is_cancelled() {
        RunStatus::Cancelled
    } else if jobs.iter().any(|r| {
        // A job with `continue_on_error` may fail without failing the run.
        r.result == JobResult::Failure
            && !plan
                .jobs
                .iter()
                .any(|j| j.key == r.key && j.continue_on_error)
    }) {
        RunStatus::Failure
    } else {
        RunStatus::Success
    };
    RunReport {
        pipeline: plan.name.clone(),
        run_id: shared.options.run_id.clone(),
        status,
        duration_ms: started.elapsed().as_millis() as u64,
        jobs,
    }
}
