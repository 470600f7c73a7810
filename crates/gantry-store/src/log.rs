//! Writes to the event log that are not a side effect of another change: events from the
//! rest of Gantry, and forge webhook deliveries (deduplicated by delivery id).

use serde_json::json;

use crate::db::{Result, Sql, Tx};
use crate::error::StoreError;
use crate::model::{NewDelivery, NewEvent, kinds};

pub(crate) fn check_event(event: &NewEvent) -> Result<()> {
    let kind = &event.kind;
    let ok = !kind.is_empty()
        && kind.len() <= 100
        && kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !ok {
        return Err(StoreError::Invalid(format!(
            "event kind '{kind}' must be 1-100 characters of lowercase letters, digits, '.', '_' or '-' (like 'deploy.finished')"
        )));
    }
    Ok(())
}

/// Records a delivery and appends `trigger.webhook`; false (and nothing appended) when the
/// forge already delivered it — forges retry, and a retry must not start a second run.
pub(crate) async fn record_delivery(tx: &mut Tx, d: &NewDelivery) -> Result<bool> {
    if d.forge.trim().is_empty() || d.delivery_id.trim().is_empty() {
        return Err(StoreError::Invalid(
            "a webhook delivery needs a forge and a delivery id".into(),
        ));
    }
    let inserted = tx
        .execute(
            Sql::new(
                "INSERT INTO webhook_deliveries (forge, delivery_id, received_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (forge, delivery_id) DO NOTHING",
            )
            .bind(&d.forge)
            .bind(&d.delivery_id)
            .bind(tx.now()),
        )
        .await?;
    if inserted == 0 {
        return Ok(false);
    }
    let mut event = NewEvent::new(kinds::TRIGGER_WEBHOOK).data(json!({
        "forge": d.forge,
        "delivery_id": d.delivery_id,
        "event": d.event,
    }));
    event.project = d.project.clone();
    tx.event(event);
    Ok(true)
}

/// Forgets deliveries received before `before` (forges stop retrying after hours; the
/// table would otherwise grow with every webhook). The `trigger.webhook` events stay.
pub(crate) async fn prune_deliveries(tx: &mut Tx, before: i64) -> Result<u64> {
    tx.execute(Sql::new("DELETE FROM webhook_deliveries WHERE received_at < $1").bind(before))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds() {
        assert!(check_event(&NewEvent::new("deploy.finished")).is_ok());
        assert!(check_event(&NewEvent::new("")).is_err());
        assert!(check_event(&NewEvent::new("Deploy Finished")).is_err());
    }
}
