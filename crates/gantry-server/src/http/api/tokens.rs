//! API tokens (admins only): created with a role and shown once, listed by prefix,
//! revoked.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use gantry_store::{NewToken, Role, TokenId};
use serde::Deserialize;
use serde_json::{Value, json};

use super::query::{Path, body};
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::state::ServerState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    pub role: Role,
    /// Lifetime in days; none means it does not expire. A JSON number, so `30.0` is
    /// accepted as 30 (JSON Schema counts it as an integer).
    #[serde(default)]
    pub expires_in_days: Option<f64>,
}

pub async fn list(State(state): State<Arc<ServerState>>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Role::Admin)?;
    Ok(Json(json!({ "tokens": state.store.list_tokens().await? })))
}

pub async fn create(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    payload: Result<Json<CreateToken>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Role::Admin)?;
    let b = body(payload)?;
    if b.name.trim().is_empty() || b.name.len() > 100 {
        return Err(ApiError::bad_request(
            "field 'name': expected 1 to 100 characters",
        ));
    }
    let days = match b.expires_in_days {
        None => None,
        Some(d) if d.fract() == 0.0 && (0.0..=36_500.0).contains(&d) => Some(d as i64),
        Some(_) => {
            return Err(ApiError::bad_request(
                "field 'expires_in_days': expected a whole number of days from 0 to 36500",
            ));
        }
    };
    let expires_at = match days {
        None => None,
        Some(days) => Some(
            jiff::Timestamp::now()
                .checked_add(jiff::SignedDuration::from_hours(days * 24))
                .map_err(|_| ApiError::bad_request("field 'expires_in_days': too large"))?,
        ),
    };
    let created = state
        .store
        .create_token(NewToken {
            name: b.name,
            role: b.role,
            expires_at,
            created_by: Some(caller.name.clone()),
        })
        .await?;
    // The only time the token's value is shown.
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": created.token.expose(), "info": created.info })),
    ))
}

pub async fn revoke(
    State(state): State<Arc<ServerState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    if state
        .store
        .revoke_token(TokenId(id), Some(&caller.name))
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no live token {id}")))
    }
}
