//! Users, browser sessions and API tokens. Password hashes and token hashes never leave
//! the store; token and session values leave it once, wrapped in `Secret`.

use jiff::Timestamp;
use serde::Serialize;

use gantry_core::Secret;

use crate::types::{Role, TokenId, UserId};

/// An API token to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub expires_at: Option<Timestamp>,
    pub created_by: Option<String>,
}

/// What the store knows about a token (never its value or hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: TokenId,
    pub name: String,
    /// The token's first characters (`gty_1a2b3c4d`), to tell tokens apart.
    pub prefix: String,
    pub role: Role,
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A new token: `token` is shown to the user once and is not stored.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub info: TokenInfo,
    pub token: Secret,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub password: Secret,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A browser session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    /// Echoed by forms; compared by the server on every unsafe request.
    pub csrf_token: Secret,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A new session: `token` is the cookie value, shown once and stored only as a hash.
#[derive(Debug, Clone)]
pub struct CreatedSession {
    pub session: Session,
    pub token: Secret,
}
