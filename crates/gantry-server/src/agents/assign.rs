//! Turning a job claimed for an agent into an assignment: the same gate as the server's
//! own pool (needs' results, `if:`), so a job that is skipped or settled never leaves
//! the server; otherwise everything the agent needs to run it, and the line number its
//! log continues from.

use std::sync::Arc;

use gantry_agent::protocol::{Assignment, Git};
use gantry_engine::context::RunContexts;
use gantry_engine::gate::{Gate, NeedResult, failed_above, gate};
use gantry_engine::{GitFacts, JobResult};
use gantry_pipeline::{Plan, PlannedJob};
use gantry_store::{ClaimedJob, JobOutcome, Run};
use indexmap::IndexMap;

use crate::dispatch::job::{finish, job_result};
use crate::dispatch::outcome::settled;
use crate::state::ServerState;

pub fn git_facts(run: &Run) -> GitFacts {
    GitFacts {
        sha: run.git.sha.clone(),
        branch: run.git.branch.clone(),
        tag: run.git.tag.clone(),
        event: run.trigger.as_str().to_string(),
        message: run.git.message.clone(),
        author: run.git.author.clone(),
    }
}

async fn plan_of(state: &ServerState, run: &Run) -> Result<Arc<Plan>, String> {
    if let Some(plan) = state.agents.cached_plan(run.id) {
        return Ok(plan);
    }
    let plan = state
        .store
        .get_plan(run.id)
        .await
        .map_err(|e| format!("reading the run's plan: {e}"))?
        .ok_or_else(|| format!("run {} has no plan", run.id))?;
    let plan = Arc::new(plan);
    state.agents.cache_plan(run.id, plan.clone());
    Ok(plan)
}

/// The part of `plan` an agent needs to run its job `index` (`job`): the pipeline's
/// settings, the jobs it needs (their keys matter, for artifacts; their steps do not, so
/// they go), and the job last; with the job's position in it. Sending the whole plan
/// cost a 100-job pipeline 45 KB of JSON per assignment.
fn slice(plan: &Plan, index: usize, job: &PlannedJob) -> (Plan, usize) {
    let mut jobs: Vec<PlannedJob> = job
        .needs_index
        .iter()
        .filter_map(|n| plan.jobs.get(*n))
        .map(|need| PlannedJob {
            steps: Vec::new(),
            needs: Vec::new(),
            needs_index: Vec::new(),
            ..need.clone()
        })
        .collect();
    let mut me = job.clone();
    me.needs_index = (0..jobs.len()).collect();
    jobs.push(me);
    let at = jobs.len() - 1;
    debug_assert_eq!(plan.jobs.get(index).map(|j| &j.key), Some(&job.key));
    (
        Plan {
            name: plan.name.clone(),
            file: plan.file.clone(),
            on: plan.on.clone(),
            env: plan.env.clone(),
            concurrency: plan.concurrency.clone(),
            jobs,
        },
        at,
    )
}

/// The assignment for `claimed`, or `None` when the job was settled here instead.
pub async fn assign(state: &Arc<ServerState>, claimed: &ClaimedJob) -> Option<Assignment> {
    match decide(state, claimed).await {
        Ok(a) => Some(a),
        Err(outcome) => {
            let _ = finish(
                state,
                claimed.job_id,
                claimed.run_id,
                claimed.fencing_token,
                outcome,
            )
            .await;
            None
        }
    }
}

async fn decide(state: &Arc<ServerState>, claimed: &ClaimedJob) -> Result<Assignment, JobOutcome> {
    let run = match state.store.get_run(claimed.run_id).await {
        Ok(Some(run)) => run,
        Ok(None) => {
            return Err(settled(
                JobResult::Failure,
                "its run no longer exists".into(),
            ));
        }
        Err(e) => return Err(settled(JobResult::Failure, format!("reading its run: {e}"))),
    };
    if run.cancel_requested {
        return Err(settled(
            JobResult::Cancelled,
            "run cancelled before the job started".into(),
        ));
    }
    let plan = plan_of(state, &run)
        .await
        .map_err(|e| settled(JobResult::Failure, e))?;
    let Some(planned) = plan.jobs.get(claimed.index) else {
        return Err(settled(
            JobResult::Failure,
            format!("internal error: the plan has no job {}", claimed.index),
        ));
    };
    // Only a job with needs looks at other jobs (a run may have thousands).
    let jobs = if planned.needs_index.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .jobs_of_run(run.id)
            .await
            .map_err(|e| settled(JobResult::Failure, format!("reading its run's jobs: {e}")))?
    };
    let by_index: IndexMap<usize, (JobResult, &IndexMap<String, String>)> = jobs
        .iter()
        .filter_map(|j| job_result(j.status).map(|r| (j.index, (r, &j.outputs))))
        .collect();
    let finished = |n: usize| {
        by_index.get(&n).map(|(result, outputs)| NeedResult {
            result: *result,
            outputs,
        })
    };
    let git = git_facts(&run);
    let contexts = RunContexts::new(
        &git,
        &run.inputs,
        &IndexMap::new(),
        &run.id.to_string(),
        u64::try_from(run.number).unwrap_or(0),
    );
    let above = failed_above(&plan, claimed.index, &|n| by_index.get(&n).map(|(r, _)| *r));
    let needs = match gate(&plan, &contexts.base, claimed.index, &finished, above) {
        Gate::Run { needs } => needs,
        Gate::Settle { result, reason } => return Err(settled(result, reason)),
    };
    let first = (claimed.attempt > 1).then(|| {
        format!(
            "attempt {}: the previous one was lost when its runner stopped",
            claimed.attempt
        )
    });
    let (log_from, offset) = state
        .agents
        .logs
        .start(
            &state.logs,
            claimed.run_id,
            claimed.job_id,
            claimed.fencing_token,
            first,
        )
        .await
        .map_err(|e| settled(JobResult::Failure, format!("opening the job's log: {e}")))?;
    state.hub.publish(crate::live::Change::Log {
        job: claimed.job_id,
        offset,
    });
    let (plan, index) = slice(&plan, claimed.index, planned);
    Ok(Assignment {
        job_id: claimed.job_id.0,
        run_id: claimed.run_id.0,
        fencing_token: claimed.fencing_token,
        attempt: claimed.attempt,
        index,
        key: claimed.key.clone(),
        name: claimed.name.clone(),
        project: claimed.project.clone(),
        pipeline: claimed.pipeline.clone(),
        run_number: claimed.run_number,
        plan,
        git: Git {
            sha: git.sha,
            branch: git.branch,
            tag: git.tag,
            event: git.event,
            message: git.message,
            author: git.author,
        },
        inputs: run.inputs.clone(),
        needs,
        log_from,
        attempts_before: claimed
            .attempt
            .saturating_sub(1)
            .saturating_mul(planned.retry + 1),
    })
}
