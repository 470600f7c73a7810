//! Deployments in the server: started (with `deploy.started`), their progress lines (a
//! line about a host moves that host's phase and appends `deploy.host_progress`),
//! waiting_approval ↔ running, and finished with gantry-deploy's record
//! (`deploy.finished`), each step with its event in the same transaction.

use serde_json::{Value, json};

use crate::db::{Db, Result, Row, Sql, Tx};
use crate::error::StoreError;
use crate::model::{
    Deployment, DeploymentFilter, DeploymentLine, FinishedDeployment, NewDeployment, NewEvent,
    kinds,
};
use crate::types::{DeployState, DeploymentId, RunId};

const COLS: &str = "id, service, environment, version, kind, state, trigger, triggered_by, \
     project, run_id, commit_sha, previous_version, previous_commit, changelog, hosts, \
     created_at, finished_at, report";

/// Longest progress line kept (a runaway hook output must not fill the database).
const MAX_LINE: usize = 4000;

fn from_row(r: &Row) -> Result<Deployment> {
    Ok(Deployment {
        id: DeploymentId(r.i64("id")?),
        service: r.text("service")?,
        environment: r.text("environment")?,
        version: r.text("version")?,
        kind: r.text("kind")?,
        state: r.parse("state")?,
        trigger: r.text("trigger")?,
        triggered_by: r.text("triggered_by")?,
        project: r.opt_text("project")?,
        run_id: r.opt_i64("run_id")?.map(RunId),
        commit_sha: r.opt_text("commit_sha")?,
        previous_version: r.opt_text("previous_version")?,
        previous_commit: r.opt_text("previous_commit")?,
        changelog: r.json_text("changelog")?,
        hosts: r.json_text("hosts")?,
        created_at: r.timestamp("created_at")?,
        finished_at: r.opt_timestamp("finished_at")?,
        report: r.opt_json_text("report")?,
    })
}

async fn get_in(tx: &mut Tx, id: DeploymentId) -> Result<Deployment> {
    let row = tx
        .fetch_optional(
            Sql::assembled(format!("SELECT {COLS} FROM deployments WHERE id = $1")).bind(id.0),
        )
        .await?
        .ok_or_else(|| StoreError::not_found("deployment", id))?;
    from_row(&row)
}

pub(crate) async fn create(tx: &mut Tx, new: &NewDeployment) -> Result<Deployment> {
    if new.kind != "deploy" && new.kind != "rollback" {
        return Err(StoreError::Invalid(format!(
            "a deployment is a deploy or a rollback, not '{}'",
            new.kind
        )));
    }
    let now = tx.now();
    let hosts: serde_json::Map<String, Value> = new
        .hosts
        .iter()
        .map(|h| (h.clone(), json!({ "phase": "waiting", "at": now })))
        .collect();
    let row = tx
        .fetch_one(
            Sql::assembled(format!(
                "INSERT INTO deployments (service, environment, version, kind, state, trigger, \
                 triggered_by, project, run_id, commit_sha, previous_version, previous_commit, \
                 changelog, hosts, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                 RETURNING {COLS}"
            ))
            .bind(new.service.as_str())
            .bind(new.environment.as_str())
            .bind(new.version.as_str())
            .bind(new.kind.as_str())
            .bind(DeployState::Running.as_str())
            .bind(new.trigger.as_str())
            .bind(new.triggered_by.as_str())
            .bind(new.project.clone())
            .bind(new.run_id.map(|r| r.0))
            .bind(new.commit_sha.clone())
            .bind(new.previous_version.clone())
            .bind(new.previous_commit.clone())
            .bind(json!(new.changelog).to_string())
            .bind(Value::Object(hosts).to_string())
            .bind(now),
        )
        .await?;
    let d = from_row(&row)?;
    let event = NewEvent::new(kinds::DEPLOY_STARTED)
        .actor(Some(d.triggered_by.clone()))
        .data(json!({
            "deployment_id": d.id,
            "service": d.service,
            "environment": d.environment,
            "version": d.version,
            "kind": d.kind,
            "trigger": d.trigger,
            "triggered_by": d.triggered_by,
            "run_id": d.run_id,
            "commit": d.commit_sha,
            "previous_version": d.previous_version,
            "previous_commit": d.previous_commit,
            "changelog": d.changelog,
            "hosts": new.hosts,
        }));
    tx.event(about(event, &d));
    Ok(d)
}

/// An event tied to the deployment's project and run, so their views list it.
fn about(mut event: NewEvent, d: &Deployment) -> NewEvent {
    if let Some(p) = &d.project {
        event = event.project(p.clone());
    }
    if let Some(r) = d.run_id {
        event = event.run(r);
    }
    event
}

/// Appends a progress line; a line about a host moves that host's phase (and appends
/// `deploy.host_progress`). Returns the line's number.
pub(crate) async fn add_line(
    tx: &mut Tx,
    id: DeploymentId,
    host: Option<&str>,
    line: &str,
) -> Result<u64> {
    let d = get_in(tx, id).await?;
    if d.state.is_final() {
        return Err(StoreError::Conflict(format!(
            "deployment {id} is {}: it takes no more progress",
            d.state
        )));
    }
    let line = truncate(line);
    let now = tx.now();
    let seq = tx
        .fetch_one(
            Sql::new(
                "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM deployment_lines \
                 WHERE deployment_id = $1",
            )
            .bind(id.0),
        )
        .await?
        .i64("next")?;
    tx.execute(
        Sql::new(
            "INSERT INTO deployment_lines (deployment_id, seq, at, host, line) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.0)
        .bind(seq)
        .bind(now)
        .bind(host.map(str::to_string))
        .bind(line.as_str()),
    )
    .await?;
    if let Some(host) = host {
        let mut hosts = d.hosts.clone();
        if let Some(map) = hosts.as_object_mut() {
            map.insert(host.to_string(), json!({ "phase": line, "at": now }));
        }
        tx.execute(
            Sql::new("UPDATE deployments SET hosts = $2 WHERE id = $1")
                .bind(id.0)
                .bind(hosts.to_string()),
        )
        .await?;
        tx.event(
            NewEvent::new(kinds::DEPLOY_HOST_PROGRESS)
                .actor(Some(d.triggered_by.clone()))
                .data(json!({
                    "deployment_id": id,
                    "service": d.service,
                    "environment": d.environment,
                    "version": d.version,
                    "host": host,
                    "phase": line,
                })),
        );
    }
    Ok(u64::try_from(seq).unwrap_or(0))
}

fn truncate(line: &str) -> String {
    if line.len() <= MAX_LINE {
        return line.to_string();
    }
    let mut end = MAX_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

/// waiting_approval ↔ running (the progress line says why; no event of its own).
pub(crate) async fn set_waiting(tx: &mut Tx, id: DeploymentId, waiting: bool) -> Result<()> {
    let (to, from) = if waiting {
        (DeployState::WaitingApproval, DeployState::Running)
    } else {
        (DeployState::Running, DeployState::WaitingApproval)
    };
    tx.execute(
        Sql::new("UPDATE deployments SET state = $2 WHERE id = $1 AND state = $3")
            .bind(id.0)
            .bind(to.as_str())
            .bind(from.as_str()),
    )
    .await?;
    Ok(())
}

/// running | waiting_approval → succeeded | failed | rolled_back | cancelled.
pub(crate) async fn finish(
    tx: &mut Tx,
    id: DeploymentId,
    finished: &FinishedDeployment,
) -> Result<Deployment> {
    if !finished.state.is_final() {
        return Err(StoreError::Invalid(format!(
            "a deployment finishes as succeeded, failed, rolled_back or cancelled, not {}",
            finished.state
        )));
    }
    let d = get_in(tx, id).await?;
    if d.state.is_final() {
        return Err(StoreError::Conflict(format!(
            "deployment {id} is {} already",
            d.state
        )));
    }
    let now = tx.now();
    tx.execute(
        Sql::new("UPDATE deployments SET state = $2, finished_at = $3, report = $4 WHERE id = $1")
            .bind(id.0)
            .bind(finished.state.as_str())
            .bind(now)
            .bind(finished.report.to_string()),
    )
    .await?;
    let done = get_in(tx, id).await?;
    let hosts: Vec<Value> = finished.report["hosts"]
        .as_array()
        .map(|hs| {
            hs.iter()
                .map(|h| {
                    json!({
                        "host": h["host"],
                        "switched": h["switched"],
                        "rolled_back": h["rolled_back"],
                        "error": h["error"],
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let duration_ms = now.saturating_sub(crate::time::to_ms(d.created_at));
    let event = NewEvent::new(kinds::DEPLOY_FINISHED)
        .actor(Some(d.triggered_by.clone()))
        .data(json!({
            "deployment_id": id,
            "service": d.service,
            "environment": d.environment,
            "version": d.version,
            "kind": d.kind,
            "outcome": finished.state.as_str(),
            "error": finished.report.get("error"),
            "duration_ms": duration_ms,
            "triggered_by": d.triggered_by,
            "trigger": d.trigger,
            "commit": d.commit_sha,
            "previous_version": d.previous_version,
            "hosts": hosts,
        }));
    tx.event(about(event, &d));
    Ok(done)
}

/// Deployments left running by a server that stopped: failed, with a reason.
pub(crate) async fn fail_interrupted(tx: &mut Tx) -> Result<Vec<DeploymentId>> {
    let rows = tx
        .fetch_all(
            Sql::new("SELECT id FROM deployments WHERE state IN ($1, $2)")
                .bind(DeployState::Running.as_str())
                .bind(DeployState::WaitingApproval.as_str()),
        )
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let id = DeploymentId(r.i64("id")?);
        let why = "the server stopped while the deployment ran: check what the hosts run \
                   (the environment's lock frees itself after its lease)";
        finish(
            tx,
            id,
            &FinishedDeployment {
                state: DeployState::Failed,
                report: json!({ "error": why }),
            },
        )
        .await?;
        out.push(id);
    }
    Ok(out)
}

pub(crate) async fn get(db: &Db, id: DeploymentId) -> Result<Option<Deployment>> {
    db.fetch_optional(
        Sql::assembled(format!("SELECT {COLS} FROM deployments WHERE id = $1")).bind(id.0),
    )
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Newest first.
pub(crate) async fn list(db: &Db, filter: &DeploymentFilter) -> Result<Vec<Deployment>> {
    let limit = if filter.limit == 0 {
        50
    } else {
        filter.limit.clamp(1, 500)
    };
    let mut sql = format!("SELECT {COLS} FROM deployments WHERE 1 = 1");
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if filter.service.is_some() {
        sql.push_str(&format!(" AND service = {}", next()));
    }
    if filter.environment.is_some() {
        sql.push_str(&format!(" AND environment = {}", next()));
    }
    if filter.state.is_some() {
        sql.push_str(&format!(" AND state = {}", next()));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", next()));
    let mut q = Sql::assembled(sql);
    if let Some(s) = &filter.service {
        q = q.bind(s.as_str());
    }
    if let Some(e) = &filter.environment {
        q = q.bind(e.as_str());
    }
    if let Some(s) = filter.state {
        q = q.bind(s.as_str());
    }
    q = q.bind(i64::from(limit));
    db.fetch_all(q).await?.iter().map(from_row).collect()
}

/// Lines after `after` (0: from the first), in order, at most `limit`.
pub(crate) async fn lines(
    db: &Db,
    id: DeploymentId,
    after: u64,
    limit: u32,
) -> Result<Vec<DeploymentLine>> {
    let rows = db
        .fetch_all(
            Sql::new(
                "SELECT seq, at, host, line FROM deployment_lines \
                 WHERE deployment_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .bind(id.0)
            .bind(i64::try_from(after).unwrap_or(i64::MAX))
            .bind(i64::from(limit.clamp(1, 10_000))),
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(DeploymentLine {
                seq: r.unsigned("seq")?,
                at: r.timestamp("at")?,
                host: r.opt_text("host")?,
                line: r.text("line")?,
            })
        })
        .collect()
}
