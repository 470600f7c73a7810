//! Polling: each project with a `poll` interval has its remote listed with `git
//! ls-remote`; new and moved branches and tags start runs as pushes would. The last
//! snapshot is saved in the data directory, so pushes made while the server was down
//! are seen after a restart (and nothing is started twice).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gantry_scm::{Poller, RefTarget, RemoteRef};
use gantry_store::{GitFacts, Trigger};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::enqueue::{TriggerRequest, describe_commit, start_runs};
use crate::state::ServerState;

fn snapshot_path(state: &ServerState, project: &str) -> PathBuf {
    state.data_dir.join("poll").join(format!("{project}.json"))
}

async fn load_snapshot(path: &PathBuf) -> Option<Vec<RemoteRef>> {
    let text = tokio::fs::read(path).await.ok()?;
    serde_json::from_slice(&text).ok()
}

async fn save_snapshot(path: &PathBuf, refs: &[RemoteRef]) {
    if let Some(dir) = path.parent() {
        let _ = tokio::fs::create_dir_all(dir).await;
    }
    let Ok(json) = serde_json::to_vec(refs) else {
        return;
    };
    // Write then rename: a crash mid-write leaves the old snapshot, not a torn one.
    let tmp = path.with_extension("tmp");
    if tokio::fs::write(&tmp, json).await.is_ok() {
        let _ = tokio::fs::rename(&tmp, path).await;
    }
}

/// Polls one project once: starts runs for what changed since the last poll.
pub async fn poll_project(
    state: &ServerState,
    poller: &mut Poller,
    project: &str,
) -> Result<usize, String> {
    let pushes = poller.poll(&state.git).await.map_err(|e| e.to_string())?;
    let mut started = 0;
    for push in pushes {
        let Some(event) = push.trigger_event() else {
            continue;
        };
        let (trigger, branch, tag) = match &push.target {
            RefTarget::Branch(b) => (Trigger::Push, Some(b.clone()), None),
            RefTarget::Tag(t) => (Trigger::Tag, None, Some(t.clone())),
            RefTarget::Other(_) => continue,
        };
        let mut git = GitFacts {
            sha: push.after.clone(),
            branch,
            tag,
            message: String::new(),
            author: String::new(),
        };
        if let Some(p) = state.project(project)
            && p.local_dir.is_none()
        {
            let mirror = state
                .data_dir
                .join("mirrors")
                .join(format!("{project}.git"));
            let _ = state.git.update_mirror(&mirror, &p.git_url).await;
        }
        describe_commit(state, project, &mut git).await;
        match start_runs(
            state,
            TriggerRequest {
                project: project.to_string(),
                trigger,
                event: Some(event),
                pipeline: None,
                git,
                inputs: Default::default(),
                actor: Some("poll".into()),
            },
        )
        .await
        {
            Ok(runs) => started += runs.len(),
            Err(e) => tracing::warn!(project, "starting runs for {} failed: {e}", push.git_ref),
        }
    }
    if let Some(refs) = poller.snapshot() {
        save_snapshot(&snapshot_path(state, project), refs).await;
    }
    Ok(started)
}

struct Polled {
    url: String,
    poller: Arc<Mutex<Poller>>,
    next: Instant,
}

/// Polls every project whose interval is due, until `shutdown`.
pub async fn run(state: Arc<ServerState>, shutdown: CancellationToken) {
    let mut polled: HashMap<String, Polled> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let projects = state.projects();
        polled.retain(|name, p| {
            projects
                .projects
                .get(name)
                .is_some_and(|proj| proj.poll.is_some() && proj.git_url == p.url)
        });
        for project in projects.projects.values() {
            let Some(interval) = project.poll else {
                continue;
            };
            if !polled.contains_key(&project.name) {
                let mirror = state
                    .data_dir
                    .join("mirrors")
                    .join(format!("{}.git", project.name));
                let mut poller = Poller::new(project.git_url.clone()).with_cache_dir(mirror);
                if let Some(refs) = load_snapshot(&snapshot_path(&state, &project.name)).await {
                    poller = poller.with_snapshot(refs);
                }
                polled.insert(
                    project.name.clone(),
                    Polled {
                        url: project.git_url.clone(),
                        poller: Arc::new(Mutex::new(poller)),
                        next: Instant::now(),
                    },
                );
            }
            let Some(p) = polled.get_mut(&project.name) else {
                continue;
            };
            if p.next > Instant::now() {
                continue;
            }
            p.next = Instant::now() + interval;
            // A poll still running (slow remote) is not started twice.
            let Ok(mut poller) = p.poller.clone().try_lock_owned() else {
                continue;
            };
            let (s, name) = (state.clone(), project.name.clone());
            tokio::spawn(async move {
                if let Err(e) = poll_project(&s, &mut poller, &name).await {
                    tracing::warn!(project = %name, "polling failed: {e}");
                }
            });
        }
    }
}
