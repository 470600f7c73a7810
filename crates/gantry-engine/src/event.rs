//! Progress events a run emits while it goes, for live displays (terminal, server UI).

use crate::log::LogLine;
use crate::report::{JobResult, StepResult};

#[derive(Debug, Clone)]
pub enum RunEvent {
    JobStarted {
        key: String,
        name: String,
        attempt: u32,
    },
    StepStarted {
        job: String,
        index: usize,
        name: String,
    },
    StepFinished {
        job: String,
        index: usize,
        result: StepResult,
        duration_ms: u64,
    },
    JobFinished {
        key: String,
        result: JobResult,
        duration_ms: u64,
    },
    Log(LogLine),
}
