//! Browser sessions: a random cookie value stored as its SHA-256 digest, with an expiry
//! and a CSRF token for forms.

use serde_json::json;

use gantry_core::Secret;

use super::crypto::{constant_time_eq, random_hex, sha256_hex};
use super::users::{USER_COLS, user_from};
use crate::db::{Db, Result, Sql, Tx};
use crate::error::StoreError;
use crate::model::{CreatedSession, NewEvent, Session, kinds};
use crate::time::{from_ms, now_ms};
use crate::types::UserId;

pub(crate) async fn create_session(
    tx: &mut Tx,
    user: UserId,
    ttl_ms: i64,
    token: &Secret,
    csrf: &Secret,
) -> Result<CreatedSession> {
    let row = tx
        .fetch_optional(
            Sql::assembled(format!("SELECT {USER_COLS} FROM users WHERE id = $1")).bind(user.0),
        )
        .await?
        .ok_or_else(|| StoreError::not_found("user", user))?;
    let user = user_from(&row)?;
    let now = tx.now();
    let expires = now.saturating_add(ttl_ms);
    tx.execute(
        Sql::new("INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(sha256_hex(token.expose()))
            .bind(user.id.0)
            .bind(csrf.expose())
            .bind(now)
            .bind(expires),
    )
    .await?;
    tx.event(
        NewEvent::new(kinds::SESSION_CREATED)
            .actor(Some(user.username.clone()))
            .data(json!({ "user_id": user.id, "username": user.username })),
    );
    Ok(CreatedSession {
        session: Session {
            user,
            csrf_token: csrf.clone(),
            created_at: from_ms(now)?,
            expires_at: from_ms(expires)?,
        },
        token: token.clone(),
    })
}

/// New random values for a session cookie and its CSRF token.
pub(crate) fn new_session_secrets() -> Result<(Secret, Secret)> {
    Ok((Secret::new(random_hex()?), Secret::new(random_hex()?)))
}

/// The live session whose cookie value is `token`.
pub(crate) async fn get_session(db: &Db, token: &str) -> Result<Option<Session>> {
    let digest = sha256_hex(token);
    let cols = USER_COLS
        .split(", ")
        .map(|c| format!("u.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let Some(row) = db
        .fetch_optional(
            Sql::assembled(format!(
                "SELECT {cols}, s.id_hash, s.csrf_token, s.created_at AS session_created_at, s.expires_at \
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1"
            ))
            .bind(digest.as_str()),
        )
        .await?
    else {
        return Ok(None);
    };
    if !constant_time_eq(&row.text("id_hash")?, &digest) {
        return Ok(None);
    }
    let expires_at = row.i64("expires_at")?;
    if expires_at <= now_ms() {
        return Ok(None);
    }
    Ok(Some(Session {
        user: user_from(&row)?,
        csrf_token: Secret::new(row.text("csrf_token")?),
        created_at: row.timestamp("session_created_at")?,
        expires_at: from_ms(expires_at)?,
    }))
}

/// Ends a session (logout); false when there was none.
pub(crate) async fn delete_session(tx: &mut Tx, token: &str) -> Result<bool> {
    let digest = sha256_hex(token);
    let Some(row) = tx
        .fetch_optional(
            Sql::new(
                "SELECT s.user_id, u.username FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
            )
            .bind(digest.as_str()),
        )
        .await?
    else {
        return Ok(false);
    };
    tx.execute(Sql::new("DELETE FROM sessions WHERE id_hash = $1").bind(digest))
        .await?;
    let username = row.text("username")?;
    tx.event(
        NewEvent::new(kinds::SESSION_DELETED)
            .actor(Some(username.clone()))
            .data(json!({ "user_id": row.i64("user_id")?, "username": username })),
    );
    Ok(true)
}

/// Removes sessions that expired before `now` (housekeeping: expiry already made them
/// invalid, so this records no event).
pub(crate) async fn delete_expired_sessions(tx: &mut Tx, now: i64) -> Result<u64> {
    tx.execute(Sql::new("DELETE FROM sessions WHERE expires_at <= $1").bind(now))
        .await
}
