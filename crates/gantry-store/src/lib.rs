//! Gantry's persistence: runs, jobs and steps, the run queue (claims with leases and
//! fencing tokens, routed by `runs_on` labels), agents, webhook deliveries, API tokens,
//! users and sessions, infra host checks, saved plans and apply requests, deployments, and the
//! append-only event log — behind the `Store` trait, on
//! SQLite (a file, the default) or PostgreSQL (for scale-out).
//!
//! Only this crate knows SQL. Callers get plain structs and `StoreError`, never a driver
//! type, and do not know which backend they talk to:
//!
//! ```no_run
//! # async fn demo() -> Result<(), gantry_store::StoreError> {
//! let store = gantry_store::open("/var/lib/gantry/gantry.db").await?;
//! let depth = store.queue_depth().await?;
//! # let _ = depth; Ok(()) }
//! ```
//!
//! Architecture invariant: every state change made through the store appends its events
//! in the same transaction (see `model::kinds`); views read the event log.
#![forbid(unsafe_code)]

mod agents;
mod auth;
mod db;
mod deployments;
mod error;
mod infra;
mod log;
pub mod logs;
mod model;
mod queue;
mod reads;
mod sql_store;
mod store;
mod time;
mod types;
mod url;

pub use error::StoreError;
pub use model::*;
pub use store::Store;
pub use types::{
    ApplyState, DeployState, DeploymentId, EventId, HostState, InfraApplyId, InfraPlanId,
    JobConclusion, JobId, JobStatus, Role, RunId, RunStatus, StepStatus, TokenId, Trigger, UserId,
};

/// Opens (creating and migrating as needed) the database named by `url_or_path`:
/// `postgres://user:password@host:5432/db` (or `postgresql://`) for PostgreSQL;
/// `sqlite:///abs/path.db`, `sqlite:rel/path.db`, a plain path, or `sqlite::memory:` for
/// SQLite.
pub async fn open(url_or_path: &str) -> Result<Box<dyn Store>, StoreError> {
    let db = match url::parse(url_or_path)? {
        url::Target::Sqlite(target) => db::Db::open_sqlite(target).await?,
        url::Target::Postgres(url) => db::Db::open_postgres(&url).await?,
    };
    Ok(Box::new(sql_store::SqlStore::new(db)))
}
