//! Infra in the server: each host's latest check (a state transition appends an event,
//! a repeated state appends nothing), saved plans, and apply requests that move
//! awaiting_approval → applying (approved by someone other than the requester) →
//! applied | failed, each step with its event in the same transaction.

use serde_json::{Value, json};

use crate::db::{Db, Result, Row, Sql, Tx};
use crate::error::StoreError;
use crate::model::{
    FinishedApply, HostCheck, InfraApply, InfraPlan, NewEvent, NewHostCheck, NewInfraPlan, kinds,
};
use crate::types::{ApplyState, HostState, InfraApplyId, InfraPlanId};

const CHECK_COLS: &str = "host, checked_at, state, changes, report";
const PLAN_COLS: &str = "id, created_at, created_by, hosts_pattern, hosts, changes, saved, report";
const APPLY_COLS: &str =
    "id, plan_id, state, requested_by, requested_at, approved_by, approved_at, finished_at, report";

fn check_from(r: &Row) -> Result<HostCheck> {
    Ok(HostCheck {
        host: r.text("host")?,
        checked_at: r.timestamp("checked_at")?,
        state: r.parse("state")?,
        changes: r.unsigned("changes")?,
        report: r.json_text("report")?,
    })
}

fn plan_from(r: &Row) -> Result<InfraPlan> {
    Ok(InfraPlan {
        id: InfraPlanId(r.i64("id")?),
        created_at: r.timestamp("created_at")?,
        created_by: r.text("created_by")?,
        hosts_pattern: r.opt_text("hosts_pattern")?,
        hosts: r.json_text("hosts")?,
        changes: r.unsigned("changes")?,
        saved: r.json_text("saved")?,
        report: r.json_text("report")?,
    })
}

fn apply_from(r: &Row) -> Result<InfraApply> {
    Ok(InfraApply {
        id: InfraApplyId(r.i64("id")?),
        plan_id: InfraPlanId(r.i64("plan_id")?),
        state: r.parse("state")?,
        requested_by: r.text("requested_by")?,
        requested_at: r.timestamp("requested_at")?,
        approved_by: r.opt_text("approved_by")?,
        approved_at: r.opt_timestamp("approved_at")?,
        finished_at: r.opt_timestamp("finished_at")?,
        report: r.opt_json_text("report")?,
    })
}

/// Records a host's check; returns the state of its previous check.
pub(crate) async fn record_host_check(
    tx: &mut Tx,
    check: &NewHostCheck,
) -> Result<Option<HostState>> {
    let now = tx.now();
    let previous: Option<HostState> = tx
        .fetch_optional(
            Sql::new("SELECT state FROM infra_host_checks WHERE host = $1").bind(&check.host),
        )
        .await?
        .map(|r| r.parse("state"))
        .transpose()?;
    let changes = i64::try_from(check.changes).unwrap_or(i64::MAX);
    tx.execute(
        Sql::new(
            "INSERT INTO infra_host_checks (host, checked_at, state, changes, report) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (host) DO UPDATE SET \
             checked_at = excluded.checked_at, state = excluded.state, \
             changes = excluded.changes, report = excluded.report",
        )
        .bind(&check.host)
        .bind(now)
        .bind(check.state.as_str())
        .bind(changes)
        .bind(check.report.to_string()),
    )
    .await?;
    let from = previous.map_or("unknown", HostState::as_str);
    match (previous, check.state) {
        (Some(p), s) if p == s => {}
        // The first check finding the host as declared is not news.
        (None, HostState::InSync) => {}
        (_, HostState::Drifted) => tx.event(NewEvent::new(kinds::INFRA_DRIFT_DETECTED).data(
            json!({ "host": check.host, "from": from, "changes": check.changes, "changed": check.changed }),
        )),
        (_, to) => tx.event(NewEvent::new(kinds::INFRA_HOST_STATE_CHANGED).data(
            json!({ "host": check.host, "from": from, "to": to.as_str(), "changes": check.changes }),
        )),
    }
    Ok(previous)
}

/// Every host's latest check, by host name.
pub(crate) async fn host_checks(db: &Db) -> Result<Vec<HostCheck>> {
    let mut checks = db
        .fetch_all(Sql::assembled(format!(
            "SELECT {CHECK_COLS} FROM infra_host_checks"
        )))
        .await?
        .iter()
        .map(check_from)
        .collect::<Result<Vec<_>>>()?;
    checks.sort_by(|a, b| a.host.cmp(&b.host));
    Ok(checks)
}

pub(crate) async fn host_check(db: &Db, host: &str) -> Result<Option<HostCheck>> {
    db.fetch_optional(
        Sql::assembled(format!(
            "SELECT {CHECK_COLS} FROM infra_host_checks WHERE host = $1"
        ))
        .bind(host),
    )
    .await?
    .as_ref()
    .map(check_from)
    .transpose()
}

pub(crate) async fn create_plan(tx: &mut Tx, plan: &NewInfraPlan) -> Result<InfraPlan> {
    let row = tx
        .fetch_one(
            Sql::assembled(format!(
                "INSERT INTO infra_plans (created_at, created_by, hosts_pattern, hosts, changes, saved, report) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {PLAN_COLS}"
            ))
            .bind(tx.now())
            .bind(&plan.created_by)
            .bind(plan.hosts_pattern.clone())
            .bind(json!(plan.hosts).to_string())
            .bind(i64::try_from(plan.changes).unwrap_or(i64::MAX))
            .bind(plan.saved.to_string())
            .bind(plan.report.to_string()),
        )
        .await?;
    let created = plan_from(&row)?;
    tx.event(
        NewEvent::new(kinds::INFRA_PLANNED)
            .actor(Some(plan.created_by.clone()))
            .data(json!({
                "plan_id": created.id,
                "hosts": created.hosts,
                "hosts_pattern": created.hosts_pattern,
                "changes": created.changes,
            })),
    );
    Ok(created)
}

pub(crate) async fn get_plan(db: &Db, id: InfraPlanId) -> Result<Option<InfraPlan>> {
    db.fetch_optional(
        Sql::assembled(format!("SELECT {PLAN_COLS} FROM infra_plans WHERE id = $1")).bind(id.0),
    )
    .await?
    .as_ref()
    .map(plan_from)
    .transpose()
}

async fn apply_in(tx: &mut Tx, id: InfraApplyId) -> Result<InfraApply> {
    let row = tx
        .fetch_optional(
            Sql::assembled(format!(
                "SELECT {APPLY_COLS} FROM infra_applies WHERE id = $1"
            ))
            .bind(id.0),
        )
        .await?
        .ok_or_else(|| StoreError::not_found("infra apply", id))?;
    apply_from(&row)
}

/// Per host, the resource ids a saved plan would change.
fn to_change(saved: &Value) -> Value {
    let hosts = saved["hosts"].as_array().cloned().unwrap_or_default();
    Value::Object(
        hosts
            .iter()
            .filter_map(|h| Some((h["host"].as_str()?.to_string(), h["to_change"].clone())))
            .collect(),
    )
}

pub(crate) async fn request_apply(
    tx: &mut Tx,
    plan_id: InfraPlanId,
    requested_by: &str,
) -> Result<InfraApply> {
    let plan = tx
        .fetch_optional(
            Sql::assembled(format!("SELECT {PLAN_COLS} FROM infra_plans WHERE id = $1"))
                .bind(plan_id.0),
        )
        .await?
        .ok_or_else(|| StoreError::not_found("infra plan", plan_id))?;
    let plan = plan_from(&plan)?;
    if plan.changes == 0 {
        return Err(StoreError::Conflict(format!(
            "infra plan {plan_id} changes nothing: there is nothing to apply"
        )));
    }
    let row = tx
        .fetch_one(
            Sql::assembled(format!(
                "INSERT INTO infra_applies (plan_id, state, requested_by, requested_at) \
                 VALUES ($1, $2, $3, $4) RETURNING {APPLY_COLS}"
            ))
            .bind(plan_id.0)
            .bind(ApplyState::AwaitingApproval.as_str())
            .bind(requested_by)
            .bind(tx.now()),
        )
        .await?;
    let apply = apply_from(&row)?;
    tx.event(
        NewEvent::new(kinds::INFRA_APPLY_REQUESTED)
            .actor(Some(requested_by))
            .data(json!({
                "apply_id": apply.id,
                "plan_id": plan_id,
                "requested_by": requested_by,
                "hosts": plan.hosts,
                "to_change": to_change(&plan.saved),
            })),
    );
    Ok(apply)
}

/// awaiting_approval → applying, by someone other than the requester.
pub(crate) async fn approve_apply(
    tx: &mut Tx,
    id: InfraApplyId,
    approved_by: &str,
) -> Result<InfraApply> {
    let now = tx.now();
    let updated = tx
        .fetch_optional(
            Sql::assembled(format!(
                "UPDATE infra_applies SET state = $2, approved_by = $3, approved_at = $4 \
                 WHERE id = $1 AND state = $5 AND requested_by <> $3 RETURNING {APPLY_COLS}"
            ))
            .bind(id.0)
            .bind(ApplyState::Applying.as_str())
            .bind(approved_by)
            .bind(now)
            .bind(ApplyState::AwaitingApproval.as_str()),
        )
        .await?;
    let Some(row) = updated else {
        let current = apply_in(tx, id).await?;
        return Err(if current.state != ApplyState::AwaitingApproval {
            StoreError::Conflict(format!(
                "infra apply {id} is {}, not awaiting approval",
                current.state
            ))
        } else {
            StoreError::Conflict(format!(
                "infra apply {id} was requested by {approved_by}: someone else must approve it"
            ))
        });
    };
    let apply = apply_from(&row)?;
    tx.event(
        NewEvent::new(kinds::INFRA_APPLY_APPROVED)
            .actor(Some(approved_by))
            .data(json!({
                "apply_id": apply.id,
                "plan_id": apply.plan_id,
                "requested_by": apply.requested_by,
                "approved_by": approved_by,
            })),
    );
    Ok(apply)
}

/// applying → applied | failed.
pub(crate) async fn finish_apply(
    tx: &mut Tx,
    id: InfraApplyId,
    finished: &FinishedApply,
) -> Result<InfraApply> {
    if !matches!(finished.state, ApplyState::Applied | ApplyState::Failed) {
        return Err(StoreError::Invalid(format!(
            "an apply finishes as applied or failed, not {}",
            finished.state
        )));
    }
    let updated = tx
        .fetch_optional(
            Sql::assembled(format!(
                "UPDATE infra_applies SET state = $2, finished_at = $3, report = $4 \
                 WHERE id = $1 AND state = $5 RETURNING {APPLY_COLS}"
            ))
            .bind(id.0)
            .bind(finished.state.as_str())
            .bind(tx.now())
            .bind(finished.report.to_string())
            .bind(ApplyState::Applying.as_str()),
        )
        .await?;
    let Some(row) = updated else {
        let current = apply_in(tx, id).await?;
        return Err(StoreError::Conflict(format!(
            "infra apply {id} is {}, not applying",
            current.state
        )));
    };
    let apply = apply_from(&row)?;
    tx.event(
        NewEvent::new(kinds::INFRA_APPLIED)
            .actor(apply.approved_by.clone())
            .data(json!({
                "apply_id": apply.id,
                "plan_id": apply.plan_id,
                "state": apply.state.as_str(),
                "requested_by": apply.requested_by,
                "approved_by": apply.approved_by,
                "hosts": finished.hosts,
                "summary": finished.summary,
            })),
    );
    Ok(apply)
}

/// Applies left applying by a server that stopped: failed, with a reason in the report.
pub(crate) async fn fail_interrupted(tx: &mut Tx) -> Result<Vec<InfraApplyId>> {
    let rows = tx
        .fetch_all(
            Sql::new("SELECT id FROM infra_applies WHERE state = $1")
                .bind(ApplyState::Applying.as_str()),
        )
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let id = InfraApplyId(r.i64("id")?);
        let why = "the server stopped while the apply ran; check the hosts and plan again";
        finish_apply(
            tx,
            id,
            &FinishedApply {
                state: ApplyState::Failed,
                report: json!({ "error": why }),
                hosts: json!([]),
                summary: json!({ "error": why }),
            },
        )
        .await?;
        out.push(id);
    }
    Ok(out)
}

pub(crate) async fn get_apply(db: &Db, id: InfraApplyId) -> Result<Option<InfraApply>> {
    db.fetch_optional(
        Sql::assembled(format!(
            "SELECT {APPLY_COLS} FROM infra_applies WHERE id = $1"
        ))
        .bind(id.0),
    )
    .await?
    .as_ref()
    .map(apply_from)
    .transpose()
}

/// Apply requests newest first, optionally in one state.
pub(crate) async fn list_applies(
    db: &Db,
    state: Option<ApplyState>,
    limit: u32,
) -> Result<Vec<InfraApply>> {
    let limit = i64::from(limit.clamp(1, 500));
    let sql = match state {
        Some(s) => Sql::assembled(format!(
            "SELECT {APPLY_COLS} FROM infra_applies WHERE state = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(s.as_str())
        .bind(limit),
        None => Sql::assembled(format!(
            "SELECT {APPLY_COLS} FROM infra_applies ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit),
    };
    db.fetch_all(sql).await?.iter().map(apply_from).collect()
}
