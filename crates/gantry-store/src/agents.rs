//! Agents: registering (a name stays bound to the token that first registered it),
//! heartbeats, and the reads that list agents with how many jobs each is running.

use serde_json::json;

use crate::db::{Db, Result, Row, Sql, Tx};
use crate::error::StoreError;
use crate::model::{Agent, AgentRegistration, NewEvent, agent_owner, kinds};
use crate::types::TokenId;

// `running` counts the jobs held as `agent_owner(name)` ('agent:' || name).
const AGENT_SELECT: &str = "SELECT a.name, a.version, a.labels, a.executors, a.capacity, a.token_id, \
     a.registered_at, a.last_seen_at, a.draining, \
     (SELECT COUNT(*) FROM jobs j WHERE j.status = 'running' AND j.owner = 'agent:' || a.name) AS running \
     FROM agents a";

fn agent_from(r: &Row) -> Result<Agent> {
    Ok(Agent {
        name: r.text("name")?,
        version: r.text("version")?,
        labels: r.json_text("labels")?,
        executors: r.json_text("executors")?,
        capacity: r.unsigned("capacity")?,
        token_id: TokenId(r.i64("token_id")?),
        registered_at: r.timestamp("registered_at")?,
        last_seen_at: r.timestamp("last_seen_at")?,
        draining: r.bool("draining")?,
        running: r.unsigned("running")?,
    })
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "agent name '{name}' must be 1-128 characters of letters, digits, '.', '_' or '-'"
        )))
    }
}

/// Sorted and deduplicated `values`, each checked against `allowed` (the alphabet
/// pipelines use for `runs_on` labels, so an agent's label can always be asked for).
fn word_list(what: &str, values: &[String], allowed: &str) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        let ok = !v.is_empty()
            && v.len() <= 64
            && v.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || allowed.contains(c));
        if !ok {
            return Err(StoreError::Invalid(format!(
                "{what} '{v}' must be 1-64 lowercase letters, digits or any of '{allowed}'"
            )));
        }
        out.push(v.clone());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The registration checked, with its lists in their stored form.
pub(crate) fn check_registration(reg: &AgentRegistration) -> Result<AgentRegistration> {
    check_name(&reg.name)?;
    // The version is only shown, so any short text will do.
    if reg.version.len() > 100 {
        return Err(StoreError::Invalid(format!(
            "agent '{}': version must be at most 100 characters",
            reg.name
        )));
    }
    if reg.capacity == 0 {
        return Err(StoreError::Invalid(format!(
            "agent '{}': capacity must be at least 1",
            reg.name
        )));
    }
    Ok(AgentRegistration {
        labels: word_list("agent label", &reg.labels, "-_.:")?,
        executors: word_list("executor", &reg.executors, "-_")?,
        ..reg.clone()
    })
}

/// Inserts or updates the agent. Another token may take a registered name over only when
/// the token holding it is revoked or expired: otherwise a second machine configured with
/// the same name (or a stolen token of a different agent) would silently share it.
/// `reg` has passed `check_registration`.
pub(crate) async fn register_agent(tx: &mut Tx, reg: &AgentRegistration) -> Result<Agent> {
    let now = tx.now();
    let token = tx
        .fetch_optional(
            Sql::new("SELECT revoked_at, expires_at FROM api_tokens WHERE id = $1")
                .bind(reg.token_id.0),
        )
        .await?
        .ok_or_else(|| StoreError::not_found("token", reg.token_id))?;
    if token.opt_i64("revoked_at")?.is_some()
        || token.opt_i64("expires_at")?.is_some_and(|e| e <= now)
    {
        return Err(StoreError::Invalid(format!(
            "agent '{}' cannot register with token {}: it is revoked or expired",
            reg.name, reg.token_id
        )));
    }
    let labels = json!(reg.labels).to_string();
    let executors = json!(reg.executors).to_string();
    let capacity = i64::from(reg.capacity);
    let inserted = tx
        .execute(
            Sql::new(
                "INSERT INTO agents (name, version, labels, executors, capacity, token_id, registered_at, \
                 last_seen_at, draining) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, FALSE) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(&reg.name)
            .bind(&reg.version)
            .bind(labels.as_str())
            .bind(executors.as_str())
            .bind(capacity)
            .bind(reg.token_id.0)
            .bind(now),
        )
        .await?;
    if inserted == 0 {
        // One statement decides and updates, so a concurrent registration or revocation
        // cannot slip between the token check and the write.
        let updated = tx
            .execute(
                Sql::new(
                    "UPDATE agents SET version = $2, labels = $3, executors = $4, capacity = $5, token_id = $6, \
                     last_seen_at = $7, draining = FALSE \
                     WHERE name = $1 AND (token_id = $6 OR token_id IN (SELECT id FROM api_tokens \
                     WHERE revoked_at IS NOT NULL OR expires_at <= $7))",
                )
                .bind(&reg.name)
                .bind(&reg.version)
                .bind(labels.as_str())
                .bind(executors.as_str())
                .bind(capacity)
                .bind(reg.token_id.0)
                .bind(now),
            )
            .await?;
        if updated == 0 {
            return Err(StoreError::Conflict(format!(
                "agent '{}' is registered with another token; revoke that token to let this one take the name over",
                reg.name
            )));
        }
    }
    tx.event(
        NewEvent::new(kinds::AGENT_REGISTERED)
            .actor(Some(agent_owner(&reg.name)))
            .data(json!({
                "name": reg.name,
                "version": reg.version,
                "labels": reg.labels,
                "executors": reg.executors,
                "capacity": reg.capacity,
                "token_id": reg.token_id,
            })),
    );
    let row = tx
        .fetch_one(Sql::assembled(format!("{AGENT_SELECT} WHERE a.name = $1")).bind(&reg.name))
        .await?;
    agent_from(&row)
}

/// A heartbeat: no event, it comes every few seconds.
pub(crate) async fn agent_seen(tx: &mut Tx, name: &str, draining: bool) -> Result<()> {
    let n = tx
        .execute(
            Sql::new("UPDATE agents SET last_seen_at = $2, draining = $3 WHERE name = $1")
                .bind(name)
                .bind(tx.now())
                .bind(draining),
        )
        .await?;
    if n == 0 {
        return Err(StoreError::not_found("agent", name));
    }
    Ok(())
}

/// Every agent by name (sorted here: the backends' text orders differ).
pub(crate) async fn list_agents(db: &Db) -> Result<Vec<Agent>> {
    let mut agents = db
        .fetch_all(Sql::new(AGENT_SELECT))
        .await?
        .iter()
        .map(agent_from)
        .collect::<Result<Vec<_>>>()?;
    agents.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(agents)
}

pub(crate) async fn get_agent(db: &Db, name: &str) -> Result<Option<Agent>> {
    db.fetch_optional(Sql::assembled(format!("{AGENT_SELECT} WHERE a.name = $1")).bind(name))
        .await?
        .as_ref()
        .map(agent_from)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(name: &str, labels: &[&str]) -> AgentRegistration {
        AgentRegistration {
            name: name.into(),
            version: "0.1.0".into(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            executors: vec!["host".into(), "docker".into(), "host".into()],
            capacity: 2,
            token_id: TokenId(1),
        }
    }

    #[test]
    fn registrations_are_checked_and_canonical() {
        let checked = check_registration(&reg("build-1.example", &["linux", "gpu", "linux"]));
        let checked = checked.map(|c| (c.labels, c.executors)).ok();
        assert_eq!(
            checked,
            Some((
                vec!["gpu".to_string(), "linux".to_string()],
                vec!["docker".to_string(), "host".to_string()]
            ))
        );
        assert!(check_registration(&reg("", &[])).is_err());
        assert!(check_registration(&reg("two words", &[])).is_err());
        assert!(check_registration(&reg("a", &["Linux"])).is_err());
        assert!(check_registration(&reg("a", &["a,b"])).is_err());
        let mut zero = reg("a", &[]);
        zero.capacity = 0;
        assert!(check_registration(&zero).is_err());
    }
}
