//! Cron schedules from the pipelines' `on.schedule`, in their time zones. The last fire
//! time of each schedule is saved in the data directory: after downtime, a schedule that
//! should have fired runs once (one catch-up run at most, however long the downtime),
//! and a schedule seen for the first time waits for its next fire time.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gantry_store::Trigger;
use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use super::enqueue::{TriggerRequest, start_runs};
use crate::state::ServerState;

/// How often each project's pipelines are re-read for schedules (each read lists the
/// remote and may fetch: not something to do every minute for every project). A reload
/// of the workspace re-reads at once.
const REFRESH: Duration = Duration::from_secs(300);

/// One schedule of one pipeline.
#[derive(Debug, Clone)]
struct Entry {
    project: String,
    pipeline: String,
    schedule: gantry_pipeline::ScheduleTrigger,
}

impl Entry {
    fn key(&self) -> String {
        format!(
            "{}/{}/{}@{}",
            self.project, self.pipeline, self.schedule.cron, self.schedule.timezone
        )
    }
}

fn state_path(state: &ServerState) -> PathBuf {
    state.data_dir.join("cron.json")
}

async fn load(path: &PathBuf) -> HashMap<String, Timestamp> {
    match tokio::fs::read(path).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => HashMap::new(),
    }
}

async fn save(path: &PathBuf, fired: &HashMap<String, Timestamp>) {
    let Ok(json) = serde_json::to_vec_pretty(fired) else {
        return;
    };
    let tmp = path.with_extension("tmp");
    if tokio::fs::write(&tmp, json).await.is_ok() {
        let _ = tokio::fs::rename(&tmp, path).await;
    }
}

async fn collect(state: &ServerState) -> Vec<Entry> {
    let mut entries = Vec::new();
    for project in state.projects().projects.values() {
        let sha = match state.resolve_branch(project, &project.branch).await {
            Ok(git) => git.sha,
            Err(e) => {
                tracing::debug!(project = %project.name, "schedules not read: {e}");
                continue;
            }
        };
        let Ok(files) = state.pipelines_at(project, Some(&sha)).await else {
            continue;
        };
        for file in files {
            let Some(plan) = file.plan else { continue };
            for schedule in &plan.on.schedule {
                entries.push(Entry {
                    project: project.name.clone(),
                    pipeline: plan.name.clone(),
                    schedule: schedule.clone(),
                });
            }
        }
    }
    entries
}

/// The schedules that are due at `now` given when each last fired; updates `fired`.
/// Pure, for tests: a missed fire time (downtime) fires once, not once per miss.
fn due(entries: &[Entry], fired: &mut HashMap<String, Timestamp>, now: Timestamp) -> Vec<Entry> {
    let mut out = Vec::new();
    for e in entries {
        let key = e.key();
        let Some(last) = fired.get(&key).copied() else {
            // First sight: start counting from now.
            fired.insert(key, now);
            continue;
        };
        if e.schedule.next_after(last).is_some_and(|next| next <= now) {
            fired.insert(key, now);
            out.push(e.clone());
        }
    }
    out
}

pub async fn run(state: Arc<ServerState>, shutdown: CancellationToken) {
    let path = state_path(&state);
    let mut fired = load(&path).await;
    let mut entries = Vec::new();
    let mut refreshed: Option<Instant> = None;
    let mut seen_projects = state.projects();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let projects = state.projects();
        let reloaded = !Arc::ptr_eq(&projects, &seen_projects);
        seen_projects = projects;
        if reloaded || refreshed.is_none_or(|t| t.elapsed() >= REFRESH) {
            entries = collect(&state).await;
            refreshed = Some(Instant::now());
        }
        let before = fired.clone();
        let now = Timestamp::now();
        for e in due(&entries, &mut fired, now) {
            let Some(project) = state.project(&e.project) else {
                continue;
            };
            let git = match state.resolve_branch(&project, &project.branch).await {
                Ok(g) => g,
                Err(err) => {
                    tracing::warn!(project = %e.project, "scheduled run not started: {err}");
                    continue;
                }
            };
            let req = TriggerRequest {
                project: e.project.clone(),
                trigger: Trigger::Schedule,
                event: None,
                pipeline: Some(e.pipeline.clone()),
                git,
                inputs: Default::default(),
                actor: Some(format!("schedule {}", e.schedule.cron)),
            };
            if let Err(err) = start_runs(&state, req).await {
                tracing::warn!(project = %e.project, pipeline = %e.pipeline, "scheduled run not started: {err}");
            }
        }
        if fired != before {
            save(&path, &fired).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(cron: &str) -> Entry {
        Entry {
            project: "web".into(),
            pipeline: "nightly".into(),
            schedule: gantry_pipeline::ScheduleTrigger {
                cron: cron.into(),
                timezone: "UTC".into(),
            },
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn first_sight_waits_then_fires_once() {
        let entries = [entry("0 * * * *")];
        let mut fired = HashMap::new();
        assert!(due(&entries, &mut fired, at("2026-01-01T10:30:00Z")).is_empty());
        assert!(due(&entries, &mut fired, at("2026-01-01T10:59:59Z")).is_empty());
        assert_eq!(
            due(&entries, &mut fired, at("2026-01-01T11:00:00Z")).len(),
            1
        );
        assert!(due(&entries, &mut fired, at("2026-01-01T11:00:01Z")).is_empty());
    }

    #[test]
    fn downtime_gives_one_catch_up_run() {
        let entries = [entry("0 * * * *")];
        let mut fired = HashMap::from([(entries[0].key(), at("2026-01-01T10:00:00Z"))]);
        // Down for five hours: five fire times missed, one run.
        assert_eq!(
            due(&entries, &mut fired, at("2026-01-01T15:30:00Z")).len(),
            1
        );
        assert!(due(&entries, &mut fired, at("2026-01-01T15:30:01Z")).is_empty());
        assert_eq!(
            due(&entries, &mut fired, at("2026-01-01T16:00:00Z")).len(),
            1
        );
    }
}
