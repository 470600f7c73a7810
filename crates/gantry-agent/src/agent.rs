//! The agent's main loop: register, keep a poll outstanding at all times (a claiming
//! poll while slots are free, a heartbeat poll while full or draining — never cancelled
//! mid-flight, so a job the server handed out is never dropped on the floor), start a
//! runner per assignment, and pass cancellations and lost jobs on to runners. Draining
//! (SIGTERM) stops claiming and returns once running jobs have reported.
//!
//! Leases are also watched from this side: when no poll has been answered for a whole
//! lease (counted from when that poll was sent, which is no later than the server's
//! renewal), the server may already have given the jobs to another agent, so they are
//! stopped here without waiting to hear it — a job has at most one live owner even while
//! the network is cut.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gantry_core::Secret;
use gantry_engine::{Executors, RunControl};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::client::{Client, ClientError};
use crate::logship::Backoff;
use crate::protocol::{Held, PROTOCOL, Poll, PollReply, Register, Registered, codes};
use crate::runner::{self, RunnerContext};

/// How `gantry agent` was configured.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub server: String,
    pub token: Secret,
    pub name: String,
    pub labels: Vec<String>,
    pub capacity: u32,
    pub data_dir: PathBuf,
    pub executors: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("the server refused this agent: {0}")]
    Refused(String),
    #[error("{0}")]
    Setup(String),
}

struct Running {
    fencing_token: i64,
    control: RunControl,
    lost: CancellationToken,
}

/// Runs the agent until `drain` fires and its running jobs have reported.
pub async fn run(config: AgentConfig, drain: CancellationToken) -> Result<(), AgentError> {
    let client = Client::new(&config.server, config.token.clone(), &config.name)
        .map_err(|e| AgentError::Setup(e.to_string()))?;
    let jobs_dir = config.data_dir.join("jobs");
    // Leftovers of a previous agent process on this data dir: their jobs were lost.
    let _ = std::fs::remove_dir_all(&jobs_dir);
    std::fs::create_dir_all(&jobs_dir)
        .map_err(|e| AgentError::Setup(format!("{}: {e}", jobs_dir.display())))?;
    let cx = RunnerContext {
        client: client.clone(),
        // Deploys need the workspace's hosts and keys, which live with the server: a
        // deploy job that reaches an agent (through `runs_on` or `unlabeled_jobs: any`)
        // fails saying where it can run instead.
        executors: Arc::new(Executors::new().refusing_deploys(
            "agents do not deploy; a deploy job without `runs_on` runs on the server's own pool (routed there whatever `server.unlabeled_jobs` says), or use `gantry run`",
        )),
        jobs_dir,
        caches_dir: config.data_dir.join("cache"),
        sources: Default::default(),
    };
    let registration = Register {
        name: config.name.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        protocol: PROTOCOL,
        labels: config.labels.clone(),
        executors: config.executors.clone(),
        capacity: config.capacity,
    };
    let Some(mut registered) = register(&client, &registration, &drain).await? else {
        return Ok(());
    };
    tracing::info!(
        name = %registered.name,
        server = %config.server,
        capacity = config.capacity,
        "registered; waiting for jobs"
    );

    let mut running: HashMap<i64, Running> = HashMap::new();
    let mut runners: JoinSet<i64> = JoinSet::new();
    let mut polls: JoinSet<(bool, Instant, Result<PollReply, ClientError>)> = JoinSet::new();
    // The send time of the latest answered poll: every lease held was renewed after it.
    let mut renewed = Instant::now();
    let (mut claiming, mut beating) = (false, false);
    let mut draining = false;
    loop {
        let free = if draining {
            0
        } else {
            config
                .capacity
                .saturating_sub(u32::try_from(running.len()).unwrap_or(u32::MAX))
        };
        let held: Vec<Held> = running
            .iter()
            .map(|(id, r)| Held {
                job_id: *id,
                fencing_token: r.fencing_token,
            })
            .collect();
        if free > 0 && !claiming {
            claiming = true;
            polls.spawn(poll(
                client.clone(),
                free,
                draining,
                held.clone(),
                registered.poll_wait_ms,
            ));
        } else if !claiming && !beating {
            beating = true;
            polls.spawn(poll(
                client.clone(),
                0,
                draining,
                held,
                registered.poll_wait_ms,
            ));
        }
        if draining && running.is_empty() && !claiming {
            break;
        }
        tokio::select! {
            Some(done) = polls.join_next() => {
                let Ok((was_claiming, sent, reply)) = done else { continue };
                if was_claiming { claiming = false } else { beating = false }
                match reply {
                    Ok(reply) => {
                        renewed = renewed.max(sent);
                        for id in reply.cancel {
                            if let Some(r) = running.get(&id) {
                                tracing::info!(job = id, "cancelled by the server");
                                r.control.cancel.cancel();
                            }
                        }
                        for id in reply.lost {
                            if let Some(r) = running.get(&id) {
                                tracing::warn!(job = id, "lease lost; stopping the job");
                                r.lost.cancel();
                                r.control.cancel.cancel();
                            }
                        }
                        for a in reply.jobs {
                            tracing::info!(job = a.job_id, key = %a.key, run = a.run_id, attempt = a.attempt, "starting");
                            let control = RunControl::default();
                            let lost = CancellationToken::new();
                            running.insert(a.job_id, Running {
                                fencing_token: a.fencing_token,
                                control: control.clone(),
                                lost: lost.clone(),
                            });
                            let id = a.job_id;
                            let cx = cx.clone();
                            runners.spawn(async move {
                                runner::run(cx, a, control, lost).await;
                                id
                            });
                        }
                    }
                    Err(ClientError::Status { code, .. }) if code == codes::UNKNOWN_AGENT => {
                        tracing::warn!("the server does not know this agent; registering again");
                        match register(&client, &registration, &drain).await? {
                            Some(r) => registered = r,
                            None => draining = true,
                        }
                    }
                    Err(ClientError::Status { status: 401 | 403, message, .. }) => {
                        // The token was revoked: running jobs cannot report anyway.
                        for r in running.values() {
                            r.lost.cancel();
                            r.control.cancel.cancel();
                        }
                        while runners.join_next().await.is_some() {}
                        return Err(AgentError::Refused(message));
                    }
                    // Transient errors were already waited out inside `poll`.
                    Err(e) => tracing::warn!("polling the server failed: {e}"),
                }
            }
            Some(done) = runners.join_next() => {
                if let Ok(id) = done {
                    running.remove(&id);
                }
            }
            _ = tokio::time::sleep_until(renewed + Duration::from_millis(registered.lease_ms)),
                if running.values().any(|r| !r.lost.is_cancelled()) => {
                for (id, r) in running.iter().filter(|(_, r)| !r.lost.is_cancelled()) {
                    tracing::warn!(
                        job = id,
                        "lease lost: no answer from the server for a whole lease ({} ms); stopping the job",
                        registered.lease_ms
                    );
                    r.lost.cancel();
                    r.control.cancel.cancel();
                }
            }
            _ = drain.cancelled(), if !draining => {
                tracing::info!(running = running.len(), "draining: no new jobs; waiting for running ones");
                draining = true;
            }
        }
    }
    // Outstanding heartbeat polls are harmless to drop: they carry no new jobs.
    polls.abort_all();
    tracing::info!("drained; exiting");
    Ok(())
}

/// One poll; a transient failure is waited out here (so the loop does not spin).
async fn poll(
    client: Client,
    free: u32,
    draining: bool,
    held: Vec<Held>,
    wait_ms: u64,
) -> (bool, Instant, Result<PollReply, ClientError>) {
    let sent = Instant::now();
    let body = Poll {
        free,
        draining,
        held,
        wait_ms,
    };
    let result = client.poll(&body).await;
    if let Err(e) = &result
        && e.is_transient()
    {
        tracing::debug!("poll failed: {e}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    (free > 0, sent, result)
}

/// Registers, retrying while the server cannot be reached; `None` when told to drain
/// before it worked.
async fn register(
    client: &Client,
    registration: &Register,
    drain: &CancellationToken,
) -> Result<Option<Registered>, AgentError> {
    let mut backoff = Backoff::default();
    loop {
        match client.register(registration).await {
            Ok(r) => return Ok(Some(r)),
            Err(e) if e.is_transient() => {
                tracing::warn!("registering with {} failed, retrying: {e}", "the server");
                tokio::select! {
                    _ = backoff.wait() => {}
                    _ = drain.cancelled() => return Ok(None),
                }
            }
            Err(e) => return Err(AgentError::Refused(e.to_string())),
        }
    }
}
