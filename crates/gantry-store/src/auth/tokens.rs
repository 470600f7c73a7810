//! API tokens: created with a random value shown once, stored as its SHA-256 digest,
//! verified by digest (then compared again in constant time), revoked by id.

use serde_json::json;

use gantry_core::Secret;

use super::crypto::{TOKEN_PREFIX, constant_time_eq, sha256_hex, shown_prefix};
use crate::db::{Db, Result, Row, Sql, Tx};
use crate::error::StoreError;
use crate::model::{NewEvent, NewToken, TokenInfo, kinds};
use crate::time::{now_ms, to_ms};
use crate::types::TokenId;

const TOKEN_COLS: &str =
    "id, name, prefix, role, created_by, created_at, expires_at, last_used_at, revoked_at";

/// `last_used_at` is refreshed at most this often, so an API client does not turn every
/// request into a database write.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

fn token_from(r: &Row) -> Result<TokenInfo> {
    Ok(TokenInfo {
        id: TokenId(r.i64("id")?),
        name: r.text("name")?,
        prefix: r.text("prefix")?,
        role: r.parse("role")?,
        created_by: r.opt_text("created_by")?,
        created_at: r.timestamp("created_at")?,
        expires_at: r.opt_timestamp("expires_at")?,
        last_used_at: r.opt_timestamp("last_used_at")?,
        revoked_at: r.opt_timestamp("revoked_at")?,
    })
}

pub(crate) async fn create_token(tx: &mut Tx, new: &NewToken, token: &Secret) -> Result<TokenInfo> {
    if new.name.trim().is_empty() {
        return Err(StoreError::Invalid("token name must not be empty".into()));
    }
    let row = tx
        .fetch_one(
            Sql::assembled(format!(
                "INSERT INTO api_tokens (name, hash, prefix, role, created_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {TOKEN_COLS}"
            ))
            .bind(&new.name)
            .bind(sha256_hex(token.expose()))
            .bind(shown_prefix(token.expose()))
            .bind(new.role.as_str())
            .bind(new.created_by.clone())
            .bind(tx.now())
            .bind(new.expires_at.map(to_ms)),
        )
        .await?;
    let info = token_from(&row)?;
    tx.event(
        NewEvent::new(kinds::TOKEN_CREATED)
            .actor(new.created_by.clone())
            .data(json!({
                "token_id": info.id,
                "name": info.name,
                "prefix": info.prefix,
                "role": info.role.as_str(),
            })),
    );
    Ok(info)
}

/// The token's record if `token` is a valid, unrevoked, unexpired API token.
pub(crate) async fn verify_token(db: &Db, token: &str) -> Result<Option<TokenInfo>> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() != TOKEN_PREFIX.len() + 64 {
        return Ok(None);
    }
    let digest = sha256_hex(token);
    let Some(row) = db
        .fetch_optional(
            Sql::assembled(format!(
                "SELECT {TOKEN_COLS}, hash FROM api_tokens WHERE hash = $1"
            ))
            .bind(digest.as_str()),
        )
        .await?
    else {
        return Ok(None);
    };
    // The lookup already matched; comparing again in constant time keeps the decision
    // itself free of early exits.
    if !constant_time_eq(&row.text("hash")?, &digest) {
        return Ok(None);
    }
    let mut info = token_from(&row)?;
    let now = now_ms();
    if info.revoked_at.is_some() || info.expires_at.is_some_and(|e| to_ms(e) <= now) {
        return Ok(None);
    }
    if info
        .last_used_at
        .is_none_or(|t| now - to_ms(t) >= LAST_USED_GRANULARITY_MS)
    {
        db.execute(
            Sql::new("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(info.id.0)
                .bind(now),
        )
        .await?;
        info.last_used_at = Some(crate::time::from_ms(now)?);
    }
    Ok(Some(info))
}

pub(crate) async fn list_tokens(db: &Db) -> Result<Vec<TokenInfo>> {
    db.fetch_all(Sql::assembled(format!(
        "SELECT {TOKEN_COLS} FROM api_tokens ORDER BY id"
    )))
    .await?
    .iter()
    .map(token_from)
    .collect()
}

/// Revokes a token; false when it was already revoked. Unknown ids are `NotFound`.
pub(crate) async fn revoke_token(tx: &mut Tx, id: TokenId, actor: Option<&str>) -> Result<bool> {
    let row = tx
        .fetch_optional(
            Sql::new("SELECT name, revoked_at FROM api_tokens WHERE id = $1").bind(id.0),
        )
        .await?
        .ok_or_else(|| StoreError::not_found("token", id))?;
    if row.opt_i64("revoked_at")?.is_some() {
        return Ok(false);
    }
    tx.execute(
        Sql::new("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1")
            .bind(id.0)
            .bind(tx.now()),
    )
    .await?;
    tx.event(
        NewEvent::new(kinds::TOKEN_REVOKED)
            .actor(actor)
            .data(json!({ "token_id": id, "name": row.text("name")? })),
    );
    Ok(true)
}
