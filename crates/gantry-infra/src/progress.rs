//! Live progress of a run, per host, for whoever shows it (the CLI's progress bar, the
//! server's event stream): a callback told when a host starts, moves to a phase and ends.

use std::fmt;
use std::sync::Arc;

use crate::run::{HostReport, HostStatus, ResourceStatus};

/// Where a host is in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Connecting, gathering facts and checking every resource (one round trip).
    Checking,
    /// Running the apply script with this many resources to converge.
    Applying { resources: usize },
    /// Running this many notified handlers.
    Handlers { handlers: usize },
}

/// One step of one host's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressEvent {
    Phase {
        host: String,
        phase: Phase,
    },
    /// The host is done; its report is final.
    Done {
        host: String,
        outcome: HostOutcome,
    },
}

/// A host's result in a few numbers, for a progress line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOutcome {
    pub status: HostStatus,
    /// Resources that would change (plan) or were applied (apply).
    pub changed: usize,
    pub failed: usize,
    pub unchanged: usize,
    /// Why the host failed or was unreachable, secrets masked.
    pub error: Option<String>,
}

impl HostOutcome {
    pub(crate) fn of(report: &HostReport) -> HostOutcome {
        let count = |pred: fn(&ResourceStatus) -> bool| {
            report.resources.iter().filter(|r| pred(&r.status)).count()
        };
        HostOutcome {
            status: report.status,
            changed: count(|s| matches!(s, ResourceStatus::Change | ResourceStatus::Applied)),
            failed: count(|s| matches!(s, ResourceStatus::Failed | ResourceStatus::NotApplied)),
            unchanged: count(|s| matches!(s, ResourceStatus::Unchanged)),
            error: report.error.clone(),
        }
    }
}

/// The callback, shared by every host's worker thread.
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(ProgressEvent) + Send + Sync>);

impl Progress {
    pub fn new(f: impl Fn(ProgressEvent) + Send + Sync + 'static) -> Progress {
        Progress(Arc::new(f))
    }

    pub(crate) fn phase(&self, host: &str, phase: Phase) {
        (self.0)(ProgressEvent::Phase {
            host: host.to_owned(),
            phase,
        });
    }

    pub(crate) fn done(&self, report: &HostReport) {
        (self.0)(ProgressEvent::Done {
            host: report.host.clone(),
            outcome: HostOutcome::of(report),
        });
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress(..)")
    }
}
