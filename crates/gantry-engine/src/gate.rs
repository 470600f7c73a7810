//! The gate in front of a job whose needs have all finished: run it (with its `needs`
//! context), or settle it without running — skipped when a needed job did not succeed
//! or its `if:` is false, failed when its `if:` cannot be evaluated. Shared by the
//! local scheduler and the server's dispatcher, so both skip exactly the same jobs.

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use gantry_expr::{Scope, Status};
use gantry_pipeline::Plan;

use crate::job::condition_holds;
use crate::report::JobResult;

/// How a needed job (one matrix cell) ended.
#[derive(Debug, Clone, Copy)]
pub struct NeedResult<'a> {
    pub result: JobResult,
    pub outputs: &'a IndexMap<String, String>,
}

/// What to do with a job whose needs are finished.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// Run it; `needs` is its `needs` context (`{ job_id: { result, outputs } }`).
    Run { needs: Map<String, Value> },
    /// Do not run it; record this result and reason.
    Settle { result: JobResult, reason: String },
}

/// The result of several matrix cells of one needed job seen as one.
pub fn aggregate(results: &[JobResult]) -> JobResult {
    if results.contains(&JobResult::Failure) {
        JobResult::Failure
    } else if results.contains(&JobResult::Cancelled) {
        JobResult::Cancelled
    } else if !results.is_empty() && results.iter().all(|r| *r == JobResult::Skipped) {
        JobResult::Skipped
    } else {
        JobResult::Success
    }
}

/// Whether any job `index` needs, directly or through others, failed (what `failure()`
/// sees in a job's `if:`).
pub fn failed_above(
    plan: &Plan,
    index: usize,
    result: &dyn Fn(usize) -> Option<JobResult>,
) -> bool {
    let mut seen = vec![false; plan.jobs.len()];
    let mut stack: Vec<usize> = plan
        .jobs
        .get(index)
        .map_or_else(Vec::new, |j| j.needs_index.clone());
    while let Some(i) = stack.pop() {
        if i >= seen.len() || std::mem::replace(&mut seen[i], true) {
            continue;
        }
        if result(i) == Some(JobResult::Failure) {
            return true;
        }
        stack.extend(plan.jobs[i].needs_index.iter().copied());
    }
    false
}

/// Decides job `index` of `plan`. `base` holds the run's contexts (git, inputs, secrets,
/// run); `finished` gives each needed job's result by plan index; `failed_above` is
/// [`failed_above`] (passed in so a scheduler that already tracks it need not walk the
/// graph again).
pub fn gate<'a>(
    plan: &'a Plan,
    base: &Map<String, Value>,
    index: usize,
    finished: &dyn Fn(usize) -> Option<NeedResult<'a>>,
    failed_above: bool,
) -> Gate {
    let Some(job) = plan.jobs.get(index) else {
        return Gate::Settle {
            result: JobResult::Failure,
            reason: format!("internal error: the plan has no job {index}"),
        };
    };
    let mut needs = Map::new();
    let mut not_ok = None;
    for id in &job.needs {
        let cells: Vec<NeedResult<'a>> = job
            .needs_index
            .iter()
            .filter(|&&n| plan.jobs.get(n).is_some_and(|j| j.job_id == *id))
            .filter_map(|&n| finished(n))
            .collect();
        let result = aggregate(&cells.iter().map(|r| r.result).collect::<Vec<_>>());
        let mut outputs = Map::new();
        for c in &cells {
            for (k, v) in c.outputs {
                outputs.insert(k.clone(), Value::String(v.clone()));
            }
        }
        if result != JobResult::Success && not_ok.is_none() {
            not_ok = Some(format!("needed job '{id}' ended with {}", result.as_str()));
        }
        needs.insert(
            id.clone(),
            json!({ "result": result.as_str(), "outputs": outputs }),
        );
    }
    let mut contexts = base.clone();
    contexts.insert(
        "matrix".into(),
        Value::Object(job.matrix.clone().into_iter().collect()),
    );
    contexts.insert("needs".into(), Value::Object(needs.clone()));
    let scope = Scope {
        contexts,
        status: Status {
            failed: failed_above,
            cancelled: false,
        },
        hash_files: None,
    };
    // A job whose `if:` names a status function (`always()`, `failure()`) decides for
    // itself whether failed needs stop it.
    let explicit = job
        .condition
        .as_deref()
        .and_then(|c| gantry_expr::parse_condition(c).ok())
        .is_some_and(|e| e.uses_status_function());
    if !explicit && let Some(reason) = not_ok {
        return Gate::Settle {
            result: JobResult::Skipped,
            reason,
        };
    }
    match condition_holds(job.condition.as_deref(), &scope) {
        Ok(true) => Gate::Run { needs },
        Ok(false) => Gate::Settle {
            result: JobResult::Skipped,
            reason: "its `if` condition was false".into(),
        },
        Err(e) => Gate::Settle {
            result: JobResult::Failure,
            reason: e,
        },
    }
}
