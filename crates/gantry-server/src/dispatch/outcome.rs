//! Translating the engine's job report into what the store records.

use gantry_engine::{JobReport, JobResult, StepResult};
use gantry_store::{JobConclusion, JobOutcome, StepRecord, StepStatus};

pub fn conclusion(result: JobResult) -> JobConclusion {
    match result {
        JobResult::Success => JobConclusion::Success,
        JobResult::Failure => JobConclusion::Failure,
        JobResult::Cancelled => JobConclusion::Cancelled,
        JobResult::Skipped => JobConclusion::Skipped,
    }
}

fn step_status(result: StepResult) -> StepStatus {
    match result {
        StepResult::Success => StepStatus::Success,
        StepResult::Failure => StepStatus::Failure,
        StepResult::Cancelled => StepStatus::Cancelled,
        StepResult::Skipped => StepStatus::Skipped,
    }
}

pub fn job_outcome(report: &JobReport) -> JobOutcome {
    JobOutcome {
        result: conclusion(report.result),
        reason: report.reason.clone(),
        outputs: report.outputs.clone(),
        steps: report
            .steps
            .iter()
            .map(|s| StepRecord {
                index: s.index,
                name: s.name.clone(),
                result: step_status(s.result),
                outcome: step_status(s.outcome),
                exit_code: s.exit_code,
                duration_ms: s.duration_ms,
            })
            .collect(),
    }
}

/// A settled (not run) job's outcome.
pub fn settled(result: JobResult, reason: String) -> JobOutcome {
    let mut outcome = JobOutcome::new(conclusion(result));
    outcome.reason = Some(reason);
    outcome
}
