//! Deployments (`gantry deploy`, `gantry rollback`): a service's release rolled out to
//! an environment's hosts over gantry-infra's transports, health-gated, rolled back
//! automatically on failure, one deploy at a time per environment.
//!
//! Layers, one job per file: `request` (service and environment resolved from the
//! workspace), `artifact` (the file or directory packed for the hosts), `layout` (paths
//! on a host), `unit` (the systemd unit rendered from `run.systemd`), `env_file` (the
//! release's environment, secrets included, in a file only root reads), `docker/` (the
//! unit running `run.docker`'s container, its image loaded, tagged and pruned), `script` (the shell
//! run on hosts, one round trip per step), `target` (hosts with their transports),
//! `health/` (the gate: http, tcp, command), `batch` (batches of hosts), `blue_green/`
//! (the blue-green strategy: slots, the nginx site, its scripts), `canary/` (weighted
//! steps, the analysis of nginx's log and Prometheus), `prune` (which
//! releases go), `protect/` (branches, deploy windows, approvals), `lock/` (the environment's deploy lock with a lease; `host_file` on the
//! first host), `rollout` (a deploy), `rollback` (a rollback by hand), `promote` (the
//! release another environment runs, fetched for a deploy), `report` (the
//! deployment record, JSON and human), `mask` (secret values masked in all of it).
#![forbid(unsafe_code)]

mod artifact;
mod batch;
mod blue_green;
mod canary;
mod cancel;
mod docker;
mod env_file;
mod error;
mod health;
mod layout;
pub mod lock;
mod mask;
mod parallel;
mod promote;
pub mod protect;
mod prune;
mod report;
mod request;
mod rollback;
mod rollout;
mod script;
mod target;
mod unit;

pub use artifact::{Packed, pack, pack_image};
pub use batch::batches;
pub use canary::{StepReport, Traffic};
pub use cancel::Cancel;
pub use docker::{IMAGE_ARCHIVE, pinned_image};
pub use error::DeployError;
pub use health::HealthResult;
pub use layout::{DEFAULT_BASE_DIR, Layout, Slot, check_version};
pub use promote::{Fetched, fetch_current};
pub use protect::approve_release as approve;
pub use prune::{ReleaseEntry, releases_to_delete};
pub use report::{DeploymentReport, HostReport, Kind, Outcome, render};
pub use request::{Options, Resolved, resolve};
pub use rollback::rollback;
pub use rollout::{Progress, deploy};
pub use unit::{UnitContext, render_unit};
