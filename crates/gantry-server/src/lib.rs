//! `gantry serve`: triggers (webhooks, polling, cron, manual), the dispatcher that runs
//! queued jobs through the engine, live logs, the HTTP API and the web UI.
//!
//! Entry point: [`serve::start`]. Modules: `state` (what every part shares), `dispatch`
//! (run queue → engine), `triggers` (what starts runs), `http` (API, webhooks, SSE, UI),
//! `workspace` (loading `gantry.yml` into projects), `status` (commit statuses), `live`
//! (change notices for SSE streams and the dispatcher), `metrics` (Prometheus metrics),
//! `infra` (scheduled drift checks, plans and approved applies of the infra declarations).
#![forbid(unsafe_code)]

pub mod agents;
pub mod deploy;
pub mod dispatch;
pub mod http;
pub mod infra;
pub mod live;
pub mod metrics;
pub mod projects;
pub mod serve;
pub mod state;
pub mod status;
pub mod triggers;
pub mod workspace;

pub use serve::{Bootstrap, ServeError, ServeOptions, Started, start};
