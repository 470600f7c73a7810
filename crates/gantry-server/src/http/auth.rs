//! Who is calling: an API token (`Authorization: Bearer …`) or a browser session cookie.
//! Roles: viewer < developer < admin. Browser forms also carry the session's CSRF token,
//! checked in constant time.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use gantry_store::Role;
use std::sync::Arc;
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::state::ServerState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "gantry_session";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    /// The session's CSRF token (browser sessions only).
    pub csrf: Option<gantry_core::Secret>,
}

fn rank(role: Role) -> u8 {
    match role {
        Role::Agent => 0,
        Role::Viewer => 1,
        Role::Developer => 2,
        Role::Admin => 3,
    }
}

impl Caller {
    /// Refuses callers below `role` (agents may only use the agent endpoints).
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if rank(self.role) >= rank(role) {
            Ok(())
        } else if self.role == Role::Agent {
            // "needs the viewer role" would read as if agents were below viewers.
            Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                "agent tokens only work on the agent endpoints (/api/v1/agent/...); use a viewer token or higher",
            ))
        } else {
            Err(ApiError::forbidden(role.as_str()))
        }
    }

    /// Checks a form's CSRF token against the session's.
    pub fn check_csrf(&self, given: &str) -> Result<(), ApiError> {
        let ok = self
            .csrf
            .as_ref()
            .is_some_and(|t| bool::from(t.expose().as_bytes().ct_eq(given.as_bytes())));
        if ok {
            Ok(())
        } else {
            Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "csrf",
                "the form is stale or did not come from this site; reload the page and try again",
            ))
        }
    }
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Authenticates the request; `None` when it carries no valid credentials.
pub async fn authenticate(state: &ServerState, parts: &Parts) -> Result<Option<Caller>, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(ApiError::unauthorized)?;
        return Ok(state.store.verify_token(token).await?.map(|t| Caller {
            name: format!("token:{}", t.name),
            role: t.role,
            csrf: None,
        }));
    }
    if let Some(value) = cookie(parts, SESSION_COOKIE) {
        return Ok(state.store.get_session(value).await?.map(|s| Caller {
            name: s.user.username.clone(),
            role: s.user.role,
            csrf: Some(s.csrf_token),
        }));
    }
    Ok(None)
}

impl FromRequestParts<Arc<ServerState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ServerState>,
    ) -> Result<Self, Self::Rejection> {
        authenticate(state, parts)
            .await?
            .ok_or_else(ApiError::unauthorized)
    }
}
