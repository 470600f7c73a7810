//! The agent endpoints under `/api/v1/agent` (docs/agents.md): register, poll (lease
//! renewal, long-polled job assignment, cancellations), log chunks, source,
//! artifacts and caches, finish. Only agent tokens get in, and an agent only ever touches jobs it
//! owns with their current fencing token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gantry_agent::client::AGENT_HEADER;
use gantry_agent::protocol::{
    self, CacheQuery, Conclusion, Finish, LogAck, LogChunk, Poll, PollReply, Register, Registered,
    codes,
};
use gantry_store::{
    AgentRegistration, Job, JobConclusion, JobId, JobOutcome, JobStatus, Role, Route, RunId,
    StepRecord, StepStatus, StoreError, TokenId, agent_owner,
};
use serde::Deserialize;
use serde_json::json;

use super::api::query::{JsonBody, Path, Query};
use super::error::{ApiError, ApiResult};
use crate::agents::Known;
use crate::agents::assign::assign;
use crate::agents::files::{needs_tar, run_artifacts, store_artifacts};
use crate::agents::logs::ChunkError;
use crate::dispatch::job::finish;
use crate::live::Change;
use crate::state::ServerState;

/// Largest log chunk body (agents send at most 1 MiB of text per chunk).
const MAX_CHUNK_BODY: usize = 8 * 1024 * 1024;
/// Largest artifact upload.
const MAX_ARTIFACTS_BODY: usize = 256 * 1024 * 1024;
/// Largest cache entry upload (streamed to disk, never held in memory).
const MAX_CACHE_BODY: usize = 10 * 1024 * 1024 * 1024;
/// Longest cache key.
const MAX_CACHE_KEY: usize = 512;

pub fn routes() -> Router<Arc<ServerState>> {
    Router::new()
        .route("/agent/register", post(register))
        .route("/agent/poll", post(poll))
        .route(
            "/agent/jobs/{id}/logs",
            post(logs).layer(DefaultBodyLimit::max(MAX_CHUNK_BODY)),
        )
        .route("/agent/jobs/{id}/source", get(source))
        .route("/agent/jobs/{id}/needs-artifacts", get(needs_artifacts))
        .route(
            "/agent/jobs/{id}/artifacts",
            axum::routing::put(upload_artifacts).layer(DefaultBodyLimit::max(MAX_ARTIFACTS_BODY)),
        )
        .route("/agent/jobs/{id}/cache/restore", post(cache_restore))
        .route(
            "/agent/jobs/{id}/cache",
            axum::routing::put(cache_upload).layer(DefaultBodyLimit::max(MAX_CACHE_BODY)),
        )
        .route("/agent/jobs/{id}/finish", post(finish_job))
}

/// An authenticated agent: an agent token and the agent name it claims.
#[derive(Debug, Clone)]
pub struct AgentCaller {
    pub name: String,
    pub token_id: TokenId,
}

/// Agent names: what `runs_on` labels allow, plus upper case (host names).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Labels follow the pipeline language's `runs_on` rule.
fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 64
        && label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.:".contains(c))
}

impl FromRequestParts<Arc<ServerState>> for AgentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ServerState>,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(ApiError::unauthorized)?;
        let info = state
            .store
            .verify_token(token)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        if info.role != Role::Agent {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the agent endpoints take an agent token (POST /api/v1/tokens with role agent)",
            ));
        }
        let name = parts
            .headers
            .get(AGENT_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !valid_name(name) {
            return Err(ApiError::bad_request(format!(
                "header {AGENT_HEADER}: an agent name of 1 to 64 letters, digits, '-', '_' or '.' is required"
            )));
        }
        Ok(AgentCaller {
            name: name.to_string(),
            token_id: info.id,
        })
    }
}

fn unknown_agent(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        codes::UNKNOWN_AGENT,
        format!("no agent named {name} is registered; register first"),
    )
}

/// The registered agent behind a caller (cached after the first look-up).
async fn known(state: &ServerState, agent: &AgentCaller) -> ApiResult<Known> {
    let cached = state
        .agents
        .known
        .lock()
        .ok()
        .and_then(|k| k.get(&agent.name).cloned());
    let known = match cached {
        Some(k) => k,
        None => {
            let a = state
                .store
                .get_agent(&agent.name)
                .await?
                .ok_or_else(|| unknown_agent(&agent.name))?;
            let k = Known {
                labels: a.labels,
                token_id: a.token_id,
                seen_written: None,
            };
            if let Ok(mut m) = state.agents.known.lock() {
                m.insert(agent.name.clone(), k.clone());
            }
            k
        }
    };
    if known.token_id != agent.token_id {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("agent {} is registered with another token", agent.name),
        ));
    }
    Ok(known)
}

async fn register(
    State(state): State<Arc<ServerState>>,
    agent: AgentCaller,
    JsonBody(body): JsonBody<Register>,
) -> ApiResult<Json<Registered>> {
    if body.protocol != protocol::PROTOCOL {
        return Err(ApiError::bad_request(format!(
            "this server speaks agent protocol {}, the agent speaks {}: run gantry agent {} (the server's version)",
            protocol::PROTOCOL,
            body.protocol,
            env!("CARGO_PKG_VERSION")
        )));
    }
    if body.name != agent.name {
        return Err(ApiError::bad_request(format!(
            "name: {:?} differs from the {AGENT_HEADER} header {:?}",
            body.name, agent.name
        )));
    }
    if let Some(bad) = body.labels.iter().find(|l| !valid_label(l)) {
        return Err(ApiError::bad_request(format!(
            "labels: {bad:?} is not a valid label (up to 64 lowercase letters, digits, '-', '_', '.' or ':')"
        )));
    }
    if let Some(bad) = body.labels.iter().find(|l| l.starts_with("gantry:")) {
        return Err(ApiError::bad_request(format!(
            "labels: {bad:?} is reserved (labels starting with 'gantry:' route jobs to the server itself)"
        )));
    }
    if !(1..=1024).contains(&body.capacity) {
        return Err(ApiError::bad_request("capacity: must be 1 to 1024"));
    }
    let mut labels = body.labels.clone();
    labels.sort();
    labels.dedup();
    let owner = agent_owner(&agent.name);
    let registered = state
        .store
        .register_agent(AgentRegistration {
            name: agent.name.clone(),
            version: body.version.chars().take(64).collect(),
            labels: labels.clone(),
            executors: body
                .executors
                .iter()
                .map(|e| e.chars().take(32).collect())
                .collect(),
            capacity: body.capacity,
            token_id: agent.token_id,
        })
        .await?;
    // A registering agent process holds no jobs: any still running under its name
    // belonged to a previous process that died, so they move on now rather than when
    // their leases end.
    let recovery = state.store.recover_after_restart(&owner).await?;
    if !recovery.requeued.is_empty() || !recovery.failed.is_empty() {
        tracing::warn!(agent = %agent.name, requeued = recovery.requeued.len(), failed = recovery.failed.len(), "the agent restarted; its jobs moved on");
        state.hub.publish(Change::Enqueued);
    }
    for (run, status) in recovery.settled_runs {
        state.run_finished(run, status).await;
    }
    if let Ok(mut m) = state.agents.known.lock() {
        m.insert(
            agent.name.clone(),
            Known {
                labels,
                token_id: registered.token_id,
                seen_written: Some(Instant::now()),
            },
        );
    }
    tracing::info!(agent = %agent.name, version = %body.version, capacity = body.capacity, "agent registered");
    let settings = state.agents.settings();
    Ok(Json(Registered {
        name: agent.name,
        lease_ms: u64::try_from(settings.lease.as_millis()).unwrap_or(u64::MAX),
        poll_wait_ms: u64::try_from(settings.poll_wait().as_millis()).unwrap_or(u64::MAX),
    }))
}

/// Writes `last_seen_at` at most once a second per agent.
async fn seen(state: &ServerState, name: &str, draining: bool) {
    let due = state.agents.known.lock().ok().is_some_and(|mut m| {
        m.get_mut(name).is_some_and(|k| {
            let due = k
                .seen_written
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
            if due {
                k.seen_written = Some(Instant::now());
            }
            due
        })
    });
    if due && let Err(e) = state.store.agent_seen(name, draining).await {
        tracing::warn!(agent = %name, "recording that the agent was seen failed: {e}");
    }
}

async fn poll(
    State(state): State<Arc<ServerState>>,
    agent: AgentCaller,
    JsonBody(body): JsonBody<Poll>,
) -> ApiResult<Json<PollReply>> {
    let known = known(&state, &agent).await?;
    let settings = state.agents.settings();
    // Subscribed before the first claim, so a job queued in between is not missed.
    let mut changes = state.hub.subscribe();
    let mut reply = PollReply::default();
    for held in &body.held {
        match state
            .store
            .extend_lease(JobId(held.job_id), held.fencing_token, settings.lease)
            .await
        {
            Ok(status) if status.cancel_requested => reply.cancel.push(held.job_id),
            Ok(_) => {}
            Err(StoreError::StaleFencingToken { .. } | StoreError::NotFound { .. }) => {
                reply.lost.push(held.job_id)
            }
            Err(e) => tracing::warn!(job = held.job_id, "renewing an agent's lease failed: {e}"),
        }
    }
    seen(&state, &agent.name, body.draining).await;
    let wait = Duration::from_millis(body.wait_ms).min(settings.poll_wait());
    let deadline = tokio::time::Instant::now() + wait;
    let route = Route {
        labels: known.labels.clone(),
        unlabeled: settings.agents_run_unlabeled(),
    };
    let owner = agent_owner(&agent.name);
    let free = if body.draining { 0 } else { body.free };
    // Runs of the held jobs, looked up when a cancellation arrives.
    let mut held_runs: Option<Vec<(i64, RunId)>> = None;
    let mut claim = true;
    let mut backstop = tokio::time::interval(Duration::from_secs(1));
    backstop.tick().await;
    loop {
        if claim && free > 0 {
            claim = false;
            let claimed = state
                .store
                .claim_jobs_routed(&owner, &route, free as usize, settings.lease)
                .await?;
            for c in claimed {
                state.hub.publish(Change::Run(c.run_id));
                if let Some(a) = assign(&state, &c).await {
                    reply.jobs.push(a);
                }
            }
        }
        if !reply.jobs.is_empty() || !reply.cancel.is_empty() || !reply.lost.is_empty() {
            return Ok(Json(reply));
        }
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return Ok(Json(reply)),
            // PostgreSQL's claim skips rows another transaction holds: ask again.
            _ = backstop.tick() => claim = true,
            change = changes.recv() => match change {
                Ok(Change::Enqueued) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => claim = true,
                Ok(Change::Cancel(run)) if !body.held.is_empty() => {
                    if held_runs.is_none() {
                        let mut runs = Vec::new();
                        for held in &body.held {
                            if let Ok(Some(job)) = state.store.get_job(JobId(held.job_id)).await {
                                runs.push((held.job_id, job.run_id));
                            }
                        }
                        held_runs = Some(runs);
                    }
                    for (job, r) in held_runs.iter().flatten() {
                        if *r == run {
                            reply.cancel.push(*job);
                        }
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(Json(reply)),
            },
        }
    }
}

fn stale(job: i64) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        codes::STALE,
        format!("job {job} is no longer this agent's (its fencing token is not current)"),
    )
}

/// The job, when `agent` owns it with `fencing_token` and it is running.
async fn owned_job(
    state: &ServerState,
    agent: &AgentCaller,
    id: i64,
    fencing_token: i64,
) -> ApiResult<Job> {
    known(state, agent).await?;
    let job = state
        .store
        .get_job(JobId(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no job {id}")))?;
    if job.owner.as_deref() != Some(agent_owner(&agent.name).as_str())
        || job.fencing_token != fencing_token
        || job.status != JobStatus::Running
    {
        return Err(stale(id));
    }
    Ok(job)
}

async fn logs(
    State(state): State<Arc<ServerState>>,
    agent: AgentCaller,
    Path(id): Path<i64>,
    JsonBody(chunk): JsonBody<LogChunk>,
) -> ApiResult<Json<LogAck>> {
    let job = owned_job(&state, &agent, id, chunk.fencing_token).await?;
    match state
        .agents
        .logs
        .append(
            &state.logs,
            job.run_id,
            job.id,
            chunk.fencing_token,
            chunk.from,
            &chunk.lines,
        )
        .await
    {
        Ok((acked, offset)) => {
            if !chunk.lines.is_empty() {
                state.hub.publish(Change::Log {
                    job: job.id,
                    offset,
                });
            }
            Ok(Json(LogAck { acked }))
        }
        Err(ChunkError::Stale) => Err(stale(id)),
        Err(ChunkError::Io(e)) => Err(ApiError::internal("writing the job's log", e)),
    }
}

#[derive(Debug, Deserialize)]
struct Fenced {
    fencing_token: i64,
}

async fn source(
    State(state): State<Arc<ServerState>>,
    agent: AgentCaller,
    Path(id): Path<i64>,
    Query(q): Query<Fenced>,
) -> ApiResult<Response> {
    let job = owned_job(&state, &agent, id, q.fencing_token).await?;
    let run = job_run(&state, &job).await?;
    let path = state
        .agents
        .files
        .source_tar(&state, &run)
        .await
        .map_err(|e| ApiError::internal("preparing the run's source", e))?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| ApiError::internal("opening the run's source", e))?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], body).into_response())
}

async fn needs_artifacts(
    State(state): State<Arc<ServerState>>,
    agent: AgentCaller,
    Path(id): Path<i64>,
    Query(q): Query<Fenced>,
) -> ApiResult<Response> {
    let job = owned_job(&state, &agent, id, q.fencing_token).await?;
    let plan = state
        .store
        .get_plan(job.run_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no plan for run {}", job.run_id)))?;
    let keys: Vec<String> = job
        .needs
        .iter()
        .filter_map(|i| plan.jobs.get(*i).map(|j| j.key.clone()))
        .collect();
    let dir = run_artifacts(&state, job.run_id);
    let tar = tokio::task::spawn_blocking(move || needs_tar(&dir, &keys))
        .await
        .map_err(|e| ApiError::internal("packing artifacts", e))?
        .map_err(|e| ApiError::internal("packing artifacts", e))?;
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], tar).into_response())
}

async fn upload_artifacts(
    State(state): State<Arc<ServerState>>,
    agent: AgentCaller,
    Path(id): Path<i64>,
    Query(q): Query<Fenced>,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let job = owned_job(&state, &agent, id, q.fencing_token).await?;
    let dir = run_artifacts(&state, job.run_id);
    let key = job.key.clone();
    tokio::task::spawn_blocking(move || store_artifacts(&dir, &key, &body))
        .await
        .map_err(|e| ApiError::internal("storing artifacts", e))?
        .map_err(|e| {
            ApiError::bad_request(format!("the artifacts archive is not a valid tar: {e}"))
        })?;
    Ok(Json(json!({})))
}

fn check_cache_key(field: &str, key: &str) -> ApiResult<()> {
    if key.is_empty() || key.len() > MAX_CACHE_KEY || key.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "'{field}' must be 1 to {MAX_CACHE_KEY} bytes without control characters"
        )));
    }
    Ok(())
}

/// The run `job` belongs to.
async fn job_run(state: &ServerState, job: &Job) -> ApiResult<gantry_store::Run> {
    state
        .store
        .get_run(job.run_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no run {}", job.run_id)))
}

/// The project of the run `job` belongs to.
async fn job_project(state: &ServerState, job: &Job) -> ApiResult<String> {
    Ok(job_run(state, job).await?.project)
}

async fn cache_restore(
    State(state): State<Arc<ServerState>>,
    agent: AgentCaller,
    Path(id): Path<i64>,
    JsonBody(q): JsonBody<CacheQuery>,
) -> ApiResult<Response> {
    check_cache_key("key", &q.key)?;
    for k in &q.restore_keys {
        check_cache_key("restore_keys", k)?;
    }
    let job = owned_job(&state, &agent, id, q.fencing_token).await?;
    let project = job_project(&state, &job).await?;
    let data_dir = state.data_dir.clone();
    let found = tokio::task::spawn_blocking(move || {
        crate::agents::caches::pack_entry(&data_dir, &project, &q.key, &q.restore_keys).and_then(
            |found| {
                found
                    .map(|(key, tmp)| {
                        // Unlinked now; the open handle keeps the data while it streams.
                        let file = tmp.reopen()?;
                        Ok((key, file))
                    })
                    .transpose()
            },
        )
    })
    .await
    .map_err(|e| ApiError::internal("packing the cache", e))?
    .map_err(|e| ApiError::internal("packing the cache", e))?;
    let Some((key, file)) = found else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    // Keys may hold any text; the header carries it percent-encoded.
    let encoded =
        percent_encoding::utf8_percent_encode(&key, percent_encoding::NON_ALPHANUMERIC).to_string();
    let key_header = header::HeaderValue::from_str(&encoded)
        .map_err(|e| ApiError::internal("naming the cache key", e))?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(
        tokio::fs::File::from_std(file),
    ));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/x-tar"),
            ),
            (
                header::HeaderName::from_static(protocol::paths::CACHE_KEY_HEADER),
                key_header,
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct CacheUpload {
    fencing_token: i64,
    key: String,
}

async fn cache_upload(
    State(state): State<Arc<ServerState>>,
    agent: AgentCaller,
    Path(id): Path<i64>,
    Query(q): Query<CacheUpload>,
    body: Body,
) -> ApiResult<Json<serde_json::Value>> {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    check_cache_key("key", &q.key)?;
    let job = owned_job(&state, &agent, id, q.fencing_token).await?;
    let project = job_project(&state, &job).await?;
    let dir = state.data_dir.join("caches");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ApiError::internal("storing the cache", e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".upload-")
        .tempfile_in(&dir)
        .map_err(|e| ApiError::internal("storing the cache", e))?;
    let mut file = tokio::fs::File::from_std(
        tmp.reopen()
            .map_err(|e| ApiError::internal("storing the cache", e))?,
    );
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("reading the cache upload failed: {e}")))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::internal("storing the cache", e))?;
    }
    file.flush()
        .await
        .map_err(|e| ApiError::internal("storing the cache", e))?;
    drop(file);
    let data_dir = state.data_dir.clone();
    let key = q.key.clone();
    let added = tokio::task::spawn_blocking(move || {
        crate::agents::caches::install_entry(&data_dir, &project, &key, tmp.path())
    })
    .await
    .map_err(|e| ApiError::internal("storing the cache", e))?
    .map_err(|e| ApiError::bad_request(format!("the cache archive is not a valid tar: {e}")))?;
    Ok(Json(json!({ "key": q.key, "added": added })))
}

fn conclusion(c: Conclusion) -> JobConclusion {
    match c {
        Conclusion::Success => JobConclusion::Success,
        Conclusion::Failure => JobConclusion::Failure,
        Conclusion::Cancelled => JobConclusion::Cancelled,
        Conclusion::Skipped => JobConclusion::Skipped,
    }
}

fn step_status(c: Conclusion) -> StepStatus {
    match c {
        Conclusion::Success => StepStatus::Success,
        Conclusion::Failure => StepStatus::Failure,
        Conclusion::Cancelled => StepStatus::Cancelled,
        Conclusion::Skipped => StepStatus::Skipped,
    }
}

fn to_store(o: protocol::Outcome) -> JobOutcome {
    JobOutcome {
        result: conclusion(o.result),
        reason: o.reason,
        outputs: o.outputs,
        steps: o
            .steps
            .into_iter()
            .map(|s| StepRecord {
                index: s.index,
                name: s.name,
                result: step_status(s.result),
                outcome: step_status(s.outcome),
                exit_code: s.exit_code,
                duration_ms: s.duration_ms,
            })
            .collect(),
    }
}

async fn finish_job(
    State(state): State<Arc<ServerState>>,
    agent: AgentCaller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<Finish>,
) -> ApiResult<Json<serde_json::Value>> {
    let job = match owned_job(&state, &agent, id, body.fencing_token).await {
        Ok(job) => job,
        Err(e) => {
            // A finish retried after its answer was lost: already done, say so again.
            if let Ok(Some(job)) = state.store.get_job(JobId(id)).await
                && job.fencing_token == body.fencing_token
                && job.owner.as_deref() == Some(agent_owner(&agent.name).as_str())
                && job.status.is_finished()
            {
                return Ok(Json(json!({})));
            }
            return Err(e);
        }
    };
    let have = state
        .agents
        .logs
        .lines(&state.logs, job.run_id, job.id, body.fencing_token)
        .await
        .map_err(|e| match e {
            ChunkError::Stale => stale(id),
            ChunkError::Io(e) => ApiError::internal("reading the job's log", e),
        })?;
    if have < body.log_lines {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            codes::LOG_INCOMPLETE,
            format!(
                "the log has {have} of {} lines; send the rest first",
                body.log_lines
            ),
        ));
    }
    state.agents.logs.close(job.id).await;
    match finish(
        &state,
        job.id,
        job.run_id,
        body.fencing_token,
        to_store(body.outcome),
    )
    .await
    {
        Ok(()) => Ok(Json(json!({}))),
        Err(StoreError::StaleFencingToken { .. }) => Err(stale(id)),
        Err(e) => Err(e.into()),
    }
}
