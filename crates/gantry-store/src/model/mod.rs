//! The plain data the store takes and returns: no database types, serializable for the
//! API. Secrets (token values, session ids, passwords) are `gantry_core::Secret`, whose
//! `Debug` shows `***`.

mod agent;
mod auth;
mod deployment;
mod event;
mod infra;
mod job;
mod run;

pub use agent::{Agent, AgentRegistration, QueueView, Route, SERVER_LABEL, agent_owner};
pub use auth::{CreatedSession, CreatedToken, NewToken, NewUser, Session, TokenInfo, User};
pub use deployment::{
    ChangelogEntry, Deployment, DeploymentFilter, DeploymentLine, FinishedDeployment, NewDeployment,
};
pub use event::{Event, EventFilter, NewDelivery, NewEvent, kinds};
pub use infra::{FinishedApply, HostCheck, InfraApply, InfraPlan, NewHostCheck, NewInfraPlan};
pub use job::{ClaimedJob, FinishedJob, Job, JobOutcome, LeaseStatus, Recovery, Step, StepRecord};
pub use run::{
    CancelledRun, ConcurrencyGroup, Enqueued, GitFacts, NewRun, Run, RunFilter, RunningJob,
};
