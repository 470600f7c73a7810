//! Runs a Gantry plan: the DAG scheduler, the executors (host, sandbox, docker), log
//! streams with masking, artifacts and caches. Knows nothing about HTTP or SQL.
//!
//! Entry point: [`run_plan`] with a [`Plan`](gantry_pipeline::Plan), [`RunOptions`], the
//! [`Executors`] to use, a channel of [`RunEvent`]s for live display, and a
//! [`RunControl`] to cancel; it returns a [`RunReport`]. A server that keeps the DAG in
//! its own store runs jobs one by one through a [`RunSession`], deciding each with
//! [`gate::gate`]. Deploy jobs go to the [`Deployer`] the runner was given
//! ([`Executors::with_deployer`]); the engine itself knows nothing of hosts.
#![forbid(unsafe_code)]

pub mod artifacts;
pub mod cache;
pub mod context;
pub mod deploy;
pub mod event;
pub mod executor;
pub mod executors;
pub mod fsutil;
pub mod gate;
pub mod hash_files;
mod job;
pub mod log;
pub mod outputs;
pub mod report;
mod run;
mod scheduler;
mod session;
pub mod shell;
pub mod workdir;

pub use context::GitFacts;
pub use deploy::{DeployOutcome, DeployRequest, DeployResult, Deployer};
pub use event::RunEvent;
pub use executors::Executors;
pub use report::{JobReport, JobResult, RunReport, RunStatus, StepReport, StepResult};
pub use run::{RunControl, RunError, RunOptions, run_plan};
pub use scheduler::select;
pub use session::RunSession;
