//! Users for browser login: argon2id password hashes that never leave this module.

use serde_json::json;

use gantry_core::Secret;

use super::crypto;
use crate::db::{Db, Result, Row, Sql, Tx};
use crate::error::StoreError;
use crate::model::{NewEvent, User, kinds};
use crate::types::{Role, UserId};

pub(crate) const USER_COLS: &str = "id, username, role, created_at, updated_at";

pub(crate) fn user_from(r: &Row) -> Result<User> {
    Ok(User {
        id: UserId(r.i64("id")?),
        username: r.text("username")?,
        role: r.parse("role")?,
        created_at: r.timestamp("created_at")?,
        updated_at: r.timestamp("updated_at")?,
    })
}

pub(crate) fn check_username(username: &str) -> Result<()> {
    let ok = !username.is_empty()
        && username.len() <= 64
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "username '{username}' must be 1-64 characters of letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

pub(crate) fn check_password(password: &Secret) -> Result<()> {
    if password.expose().chars().count() < 8 {
        return Err(StoreError::Invalid(
            "password must be at least 8 characters long".into(),
        ));
    }
    Ok(())
}

pub(crate) async fn create_user(
    tx: &mut Tx,
    username: &str,
    role: Role,
    password_hash: &str,
    actor: Option<&str>,
) -> Result<User> {
    let now = tx.now();
    let exists = tx
        .fetch_optional(Sql::new("SELECT id FROM users WHERE username = $1").bind(username))
        .await?;
    if exists.is_some() {
        return Err(StoreError::Conflict(format!(
            "user '{username}' already exists"
        )));
    }
    let row = tx
        .fetch_one(
            Sql::assembled(format!(
                "INSERT INTO users (username, password_hash, role, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) RETURNING {USER_COLS}"
            ))
            .bind(username)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(now),
        )
        .await?;
    let user = user_from(&row)?;
    tx.event(
        NewEvent::new(kinds::USER_CREATED)
            .actor(actor)
            .data(json!({ "user_id": user.id, "username": user.username, "role": role.as_str() })),
    );
    Ok(user)
}

/// The user when `password` is theirs; None for a wrong password or an unknown user
/// (both take the same time).
pub(crate) async fn verify_password(
    db: &Db,
    username: &str,
    password: &Secret,
) -> Result<Option<User>> {
    let row = db
        .fetch_optional(
            Sql::assembled(format!(
                "SELECT {USER_COLS}, password_hash FROM users WHERE username = $1"
            ))
            .bind(username),
        )
        .await?;
    let phc = row.as_ref().map(|r| r.text("password_hash")).transpose()?;
    if !crypto::verify_password(password, phc).await? {
        return Ok(None);
    }
    row.as_ref().map(user_from).transpose()
}

/// Replaces a user's password and ends their sessions (a changed password should log
/// out whoever knew the old one).
pub(crate) async fn set_password(
    tx: &mut Tx,
    username: &str,
    password_hash: &str,
    actor: Option<&str>,
) -> Result<()> {
    let row = tx
        .fetch_optional(
            Sql::new("UPDATE users SET password_hash = $2, updated_at = $3 WHERE username = $1 RETURNING id")
                .bind(username)
                .bind(password_hash)
                .bind(tx.now()),
        )
        .await?
        .ok_or_else(|| StoreError::not_found("user", username))?;
    let id = row.i64("id")?;
    tx.execute(Sql::new("DELETE FROM sessions WHERE user_id = $1").bind(id))
        .await?;
    tx.event(
        NewEvent::new(kinds::USER_PASSWORD_CHANGED)
            .actor(actor)
            .data(json!({ "user_id": id, "username": username })),
    );
    Ok(())
}

pub(crate) async fn list_users(db: &Db) -> Result<Vec<User>> {
    db.fetch_all(Sql::assembled(format!(
        "SELECT {USER_COLS} FROM users ORDER BY username"
    )))
    .await?
    .iter()
    .map(user_from)
    .collect()
}

/// Deletes a user and their sessions; false when there was no such user.
pub(crate) async fn delete_user(tx: &mut Tx, username: &str, actor: Option<&str>) -> Result<bool> {
    let Some(row) = tx
        .fetch_optional(
            Sql::new("DELETE FROM users WHERE username = $1 RETURNING id").bind(username),
        )
        .await?
    else {
        return Ok(false);
    };
    tx.event(
        NewEvent::new(kinds::USER_DELETED)
            .actor(actor)
            .data(json!({ "user_id": row.i64("id")?, "username": username })),
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_passwords() {
        assert!(check_username("ada.lovelace@example").is_ok());
        assert!(check_username("").is_err());
        assert!(check_username("a b").is_err());
        assert!(check_username(&"x".repeat(65)).is_err());
        assert!(check_password(&Secret::new("short")).is_err());
        assert!(check_password(&Secret::new("long enough")).is_ok());
    }
}
