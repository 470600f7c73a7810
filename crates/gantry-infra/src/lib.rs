//! Infrastructure as code: resource declarations (`infra/*.yml`) applied to the hosts
//! of the workspace's inventory, planned as a diff of declared and actual state and
//! applied over SSH (or locally), every host at once.
//!
//! Layers: `parse` (pure: a resource file into `declaration` types, every problem with
//! file:line:col), `load` (the IO before hosts: globs, files, `source:` contents),
//! `resource/` (one file per type: its check, comparison and apply as shell),
//! `script` (the one-round-trip scripts) and `report` (their output, parsed purely),
//! `transport/` (local and ssh), `run` (plan/apply per host, in parallel; templates
//! rendered there, after the check brought the facts), `context` (what templates see,
//! and secrets masked out of reports), `saved` (saved plans and their fingerprints),
//! `progress` (live per-host phases for a caller's display) and `render` (the human report).
#![forbid(unsafe_code)]

mod context;
pub mod declaration;
mod load;
pub mod parse;
mod progress;
mod render;
pub mod report;
pub mod resource;
mod run;
mod saved;
mod script;
pub mod shell;
pub mod transport;

pub use context::template_context;
pub use load::{Declarations, Invalid, MAX_SOURCE_BYTES, find_files, load};
pub use progress::{HostOutcome, Phase, Progress, ProgressEvent};
pub use render::{render, summary_line};
pub use run::{
    HandlerReport, HandlerStatus, HostReport, HostStatus, Mode, Options, ResourceReport,
    ResourceStatus, RunReport, Summary, host_work, run, select_hosts,
};
pub use saved::{SavedHost, SavedPlan, SavedResource};
