//! Runs a Gantry plan: the DAG scheduler, the executors (host, sandbox, docker), log
//! streams with masking, artifacts and caches. Knows nothing about HTTP or SQL.
#![forbid(unsafe_code)]

pub mod executor;
pub mod log;
