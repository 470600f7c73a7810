//! Ids and the closed sets of states the store records (run and job status, step results,
//! triggers, roles), each with the lowercase name stored in the database and shown in the
//! API.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::StoreError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A run's database id (unique across projects; the per-pipeline number is `Run::number`).
    RunId
);
id_type!(
    /// A job's database id.
    JobId
);
id_type!(
    /// An event's id: increases with every appended event, in commit order.
    EventId
);
id_type!(
    /// An API token's id.
    TokenId
);
id_type!(
    /// A user's id.
    UserId
);
id_type!(
    /// A saved infra plan's id.
    InfraPlanId
);
id_type!(
    /// An infra apply request's id.
    InfraApplyId
);
id_type!(
    /// A deployment's id (deploys and rollbacks the server ran).
    DeploymentId
);

/// An enum stored as its lowercase name.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name stored in the database and shown in the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = StoreError;

            fn from_str(s: &str) -> Result<Self, StoreError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(StoreError::Invalid(format!(
                        concat!("unknown ", stringify!($name), " '{}' (expected one of: {})"),
                        other,
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }
    };
}

named_enum!(
    /// Where a run is in its life.
    RunStatus {
        Queued = "queued",
        Running = "running",
        Success = "success",
        Failure = "failure",
        Cancelled = "cancelled",
    }
);

impl RunStatus {
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            RunStatus::Success | RunStatus::Failure | RunStatus::Cancelled
        )
    }
}

named_enum!(
    /// Where a job is in its life. `waiting` jobs wait for the jobs they need; `queued` jobs
    /// can be claimed; the last four are final.
    JobStatus {
        Waiting = "waiting",
        Queued = "queued",
        Running = "running",
        Success = "success",
        Failure = "failure",
        Cancelled = "cancelled",
        Skipped = "skipped",
    }
);

impl JobStatus {
    pub fn is_finished(self) -> bool {
        !matches!(
            self,
            JobStatus::Waiting | JobStatus::Queued | JobStatus::Running
        )
    }
}

named_enum!(
    /// How a job ended, as reported to `finish_job` (the engine's `JobResult`).
    JobConclusion {
        Success = "success",
        Failure = "failure",
        Cancelled = "cancelled",
        /// Not run: its `if` was false, or a job it needs did not succeed.
        Skipped = "skipped",
    }
);

impl From<JobConclusion> for JobStatus {
    fn from(c: JobConclusion) -> Self {
        match c {
            JobConclusion::Success => JobStatus::Success,
            JobConclusion::Failure => JobStatus::Failure,
            JobConclusion::Cancelled => JobStatus::Cancelled,
            JobConclusion::Skipped => JobStatus::Skipped,
        }
    }
}

named_enum!(
    /// How a step ended (the engine's `StepResult`).
    StepStatus {
        Success = "success",
        Failure = "failure",
        Cancelled = "cancelled",
        Skipped = "skipped",
    }
);

named_enum!(
    /// What started a run.
    Trigger {
        Push = "push",
        Tag = "tag",
        PullRequest = "pull_request",
        Schedule = "schedule",
        Manual = "manual",
        Api = "api",
    }
);

named_enum!(
    /// What an API token or a user may do. The store only records it; the server decides
    /// what each role allows.
    Role {
        /// Read everything.
        Viewer = "viewer",
        /// Also trigger, cancel and rerun runs.
        Developer = "developer",
        /// Also manage users, tokens and settings.
        Admin = "admin",
        /// A `gantry agent`: leases and reports jobs.
        Agent = "agent",
    }
);

named_enum!(
    /// What the latest check of a host found.
    HostState {
        /// The plan found nothing to change.
        InSync = "in_sync",
        /// The plan found changes nobody applied.
        Drifted = "drifted",
        /// The host could not be reached.
        Unreachable = "unreachable",
        /// The check ran but failed (a resource could not be planned, a script error).
        Error = "error",
    }
);

named_enum!(
    /// Where an infra apply request is in its life.
    ApplyState {
        /// Requested; waits for someone other than the requester to approve it.
        AwaitingApproval = "awaiting_approval",
        /// Approved; the apply is running.
        Applying = "applying",
        /// Every host applied the saved plan.
        Applied = "applied",
        /// A host refused the saved plan (it changed since) or failed to apply.
        Failed = "failed",
    }
);

named_enum!(
    /// Where a deployment the server runs is.
    DeployState {
        /// Waiting for the approvals its protected environment needs.
        WaitingApproval = "waiting_approval",
        /// Taking the lock, installing, switching, health-gating.
        Running = "running",
        /// Every host runs the version, healthy.
        Succeeded = "succeeded",
        /// Nothing switched, or putting the hosts back failed too.
        Failed = "failed",
        /// A health gate or the canary's analysis failed; every switched host is back.
        RolledBack = "rolled_back",
        /// Cancelled while waiting for approvals or the lock: no host changed.
        Cancelled = "cancelled",
    }
);

impl DeployState {
    /// Succeeded, failed or rolled back: the deployment will not change again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeployState::Succeeded
                | DeployState::Failed
                | DeployState::RolledBack
                | DeployState::Cancelled
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in RunStatus::ALL {
            assert_eq!(s.as_str().parse::<RunStatus>().ok(), Some(*s));
        }
        for s in JobStatus::ALL {
            assert_eq!(s.as_str().parse::<JobStatus>().ok(), Some(*s));
        }
        for t in Trigger::ALL {
            assert_eq!(t.as_str().parse::<Trigger>().ok(), Some(*t));
        }
        assert_eq!(
            serde_json::to_string(&Trigger::PullRequest).ok().as_deref(),
            Some("\"pull_request\"")
        );
    }

    #[test]
    fn unknown_name_is_an_error_listing_the_choices() {
        let err = "paused"
            .parse::<RunStatus>()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("unknown RunStatus 'paused'"), "{err}");
        assert!(err.contains("queued, running"), "{err}");
    }

    #[test]
    fn finished_states() {
        assert!(!JobStatus::Waiting.is_finished());
        assert!(!JobStatus::Running.is_finished());
        assert!(JobStatus::Skipped.is_finished());
        assert!(RunStatus::Cancelled.is_finished());
        assert!(!RunStatus::Queued.is_finished());
    }
}
