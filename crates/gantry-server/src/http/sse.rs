//! Server-sent event streams: a run's live state (`job` events carrying the stored job,
//! with its steps once it finished, and `run` events carrying the run) and a job's log (`line` events, each with the offset to
//! resume from as its SSE id, then `end`), and a deployment's live view (`line` and
//! `deployment` events, then `end`). Each stream is a task that reads the current
//! state from the store or log files whenever the hub says something changed, so a
//! reconnecting browser (`Last-Event-ID`) or a lagging one never sees a wrong state.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use gantry_store::{JobId, Role, RunId};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::api::query::{Params, Path};
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use crate::live::Change;
use crate::state::ServerState;

type EventStream =
    Sse<axum::response::sse::KeepAliveStream<ReceiverStream<Result<Event, Infallible>>>>;

/// How long a stream waits for a change notice before looking anyway (a notice lost to
/// a lagging receiver must not stall the stream).
const RECHECK: Duration = Duration::from_secs(5);
/// Log bytes per read while catching up.
const PAGE: usize = 128 * 1024;

fn sse(rx: mpsc::Receiver<Result<Event, Infallible>>) -> EventStream {
    Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// Waits for a change notice that `wanted` accepts (or the recheck timeout).
async fn wait_for(changes: &mut broadcast::Receiver<Change>, wanted: impl Fn(&Change) -> bool) {
    let deadline = tokio::time::sleep(RECHECK);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return,
            c = changes.recv() => match c {
                Ok(c) if wanted(&c) => return,
                Ok(_) => {}
                Err(_) => return,
            },
        }
    }
}

pub async fn run_live(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<EventStream> {
    caller.require(Role::Viewer)?;
    let run_id = RunId(id);
    if state.store.get_run(run_id).await?.is_none() {
        return Err(ApiError::not_found(format!("no run {id}")));
    }
    let (tx, rx) = mpsc::channel(64);
    let mut changes = state.hub.subscribe();
    tokio::spawn(async move {
        let mut last_run = Value::Null;
        let mut last_jobs: std::collections::HashMap<JobId, Value> = Default::default();
        loop {
            let (Ok(Some(run)), Ok(jobs)) = (
                state.store.get_run(run_id).await,
                state.store.jobs_of_run(run_id).await,
            ) else {
                return;
            };
            for job in jobs {
                // A job event carries the job's recorded steps too, so the page can show
                // step results the moment the job finishes.
                let mut v = serde_json::to_value(&job).unwrap_or(Value::Null);
                if job.status.is_finished()
                    && let Ok(steps) = state.store.steps_of_job(job.id).await
                    && let Some(obj) = v.as_object_mut()
                {
                    obj.insert(
                        "steps".into(),
                        serde_json::to_value(steps).unwrap_or_default(),
                    );
                }
                if last_jobs.get(&job.id) != Some(&v) {
                    let event = Event::default().event("job").data(v.to_string());
                    if tx.send(Ok(event)).await.is_err() {
                        return;
                    }
                    last_jobs.insert(job.id, v);
                }
            }
            let finished = run.status.is_finished();
            let v = serde_json::to_value(&run).unwrap_or(Value::Null);
            if v != last_run {
                if tx
                    .send(Ok(Event::default().event("run").data(v.to_string())))
                    .await
                    .is_err()
                {
                    return;
                }
                last_run = v;
            }
            if finished {
                return;
            }
            wait_for(&mut changes, |c| *c == Change::Run(run_id)).await;
        }
    });
    Ok(sse(rx))
}

pub async fn job_log(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<EventStream> {
    caller.require(Role::Viewer)?;
    let job = super::api::jobs::load_job(&state, id).await?;
    // A reconnecting EventSource sends the last id it saw: resume from there.
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let from: u64 = match resume {
        Some(o) => o,
        None => Params::parse(q)
            .get("offset", "a byte offset")?
            .unwrap_or(0),
    };
    // Check the offset now so a bad one is a 400, not a silently empty stream.
    state
        .logs
        .read(job.run_id, job.id, from, 1)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidInput => ApiError::bad_request(format!("offset: {e}")),
            _ => ApiError::internal("reading the log", e),
        })?;
    let (tx, rx) = mpsc::channel(256);
    let mut changes = state.hub.subscribe();
    let (run_id, job_id) = (job.run_id, job.id);
    tokio::spawn(async move {
        let mut offset = from;
        loop {
            let page = match state.logs.read(run_id, job_id, offset, PAGE).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(job = %job_id, "log stream: {e}");
                    return;
                }
            };
            let n = page.records.len();
            for (i, record) in page.records.iter().enumerate() {
                let next = page
                    .records
                    .get(i + 1)
                    .map_or(page.next_offset, |r| r.offset);
                let data = serde_json::to_string(record).unwrap_or_default();
                let event = Event::default()
                    .event("line")
                    .id(next.to_string())
                    .data(data);
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
            }
            offset = page.next_offset;
            if n > 0 {
                continue;
            }
            let finished = matches!(
                state.store.get_job(job_id).await,
                Ok(Some(j)) if j.status.is_finished()
            );
            if page.complete && finished {
                let _ = tx.send(Ok(Event::default().event("end").data("{}"))).await;
                return;
            }
            wait_for(&mut changes, |c| {
                matches!(c, Change::Log { job, .. } if *job == job_id) || *c == Change::Run(run_id)
            })
            .await;
        }
    });
    Ok(sse(rx))
}

/// A deployment's live view: `line` events (each progress line once, its number as the
/// SSE id, so a reconnecting browser resumes after the last it saw), `deployment` events
/// carrying the record whenever it changed (state, host phases, the report at the end),
/// then `end`.
pub async fn deployment_live(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> ApiResult<EventStream> {
    caller.require(Role::Viewer)?;
    let d = super::api::deployments::find(&state, id).await?;
    let mut after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let (tx, rx) = mpsc::channel(256);
    let mut changes = state.hub.subscribe();
    let id = d.id;
    tokio::spawn(async move {
        let mut last = Value::Null;
        loop {
            // The record first: a line read after it is never older than the state shown.
            let Ok(Some(d)) = state.store.get_deployment(id).await else {
                return;
            };
            let Ok(lines) = state.store.deployment_lines(id, after, 1000).await else {
                return;
            };
            for line in &lines {
                let event = Event::default()
                    .event("line")
                    .id(line.seq.to_string())
                    .data(serde_json::to_string(line).unwrap_or_default());
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
                after = line.seq;
            }
            let v = serde_json::to_value(&d).unwrap_or(Value::Null);
            if v != last {
                let event = Event::default().event("deployment").data(v.to_string());
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
                last = v;
            }
            if d.state.is_final() && lines.is_empty() {
                let _ = tx.send(Ok(Event::default().event("end").data("{}"))).await;
                return;
            }
            if lines.len() < 1000 {
                wait_for(&mut changes, |c| *c == Change::Deployment(id)).await;
            }
        }
    });
    Ok(sse(rx))
}
