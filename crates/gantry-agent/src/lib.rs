//! `gantry agent`: a machine that leases jobs from a Gantry server, runs them with the
//! same engine and executors as `gantry run`, and streams logs, results, artifacts and
//! caches back. `protocol` is the wire format both sides share; docs/agents.md is its guide.

pub mod agent;
pub mod archive;
pub mod caches;
pub mod client;
pub mod logship;
pub mod protocol;
pub mod runner;
pub mod sources;

pub use agent::{AgentConfig, AgentError, run};
