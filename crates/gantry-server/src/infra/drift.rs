//! Scheduled drift detection: each group with `drift: { every: D }` has its hosts
//! planned every D (plan only, nothing applied); each host's result is stored as its
//! latest check, and only a change of state becomes an event. The workspace is read
//! afresh at every check, so edits to gantry.yml and the declarations apply at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use gantry_infra::Mode;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{InfraError, with_workspace};
use crate::state::ServerState;

/// How long the loop sleeps when no group has a schedule (or the workspace is broken):
/// a reload may add one.
const IDLE: Duration = Duration::from_secs(30);

/// Runs until `shutdown`.
pub async fn run(state: Arc<ServerState>, shutdown: CancellationToken) {
    let mut next: HashMap<String, Instant> = HashMap::new();
    loop {
        // A check in flight when shutdown comes is dropped (its blocking plan finishes
        // on its own thread; plans change nothing).
        let checked = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = check_due(&state, &mut next) => r,
        };
        let wake = match checked {
            Ok(wake) => wake,
            Err(e) => {
                tracing::warn!("drift check skipped: {e}");
                Instant::now() + IDLE
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}

/// Plans the hosts of every group whose check is due; returns when the next one is.
async fn check_due(
    state: &ServerState,
    next: &mut HashMap<String, Instant>,
) -> Result<Instant, InfraError> {
    let guard = state.infra.lock.lock().await;
    let now = Instant::now();
    let due_at = next.clone();
    let (report, schedules) = with_workspace(state.workspace_dir.clone(), move |ws| {
        let schedules: Vec<(String, Duration)> = ws
            .inventory()
            .groups
            .values()
            .filter_map(|g| g.drift.map(|d| (g.name.clone(), d.every)))
            .collect();
        let due: Vec<String> = schedules
            .iter()
            .filter(|(g, _)| due_at.get(g).is_none_or(|t| *t <= now))
            .map(|(g, _)| g.clone())
            .collect();
        if due.is_empty() {
            return Ok((None, schedules));
        }
        // Group names have no glob characters, so each pattern matches its group only.
        let patterns: Vec<String> = due.clone();
        let hosts: Vec<_> = ws
            .select(&patterns)?
            .into_iter()
            .filter(|h| h.groups.iter().any(|g| due.contains(g)))
            .collect();
        let report = (!hosts.is_empty()).then(|| ws.run(Mode::Plan, &hosts, None));
        Ok((report, schedules))
    })
    .await?;
    if let Some(report) = &report {
        super::record_checks(state, report).await;
        tracing::debug!(hosts = report.hosts.len(), "drift check done");
    }
    drop(guard);
    next.retain(|g, _| schedules.iter().any(|(s, _)| s == g));
    for (group, every) in &schedules {
        let at = next.entry(group.clone()).or_insert(now);
        if *at <= now {
            *at = now + *every;
        }
    }
    Ok(next
        .values()
        .min()
        .copied()
        .unwrap_or(Instant::now() + IDLE))
}
