//! Authentication data: API tokens, users with argon2id passwords, browser sessions.

pub(crate) mod crypto;
pub(crate) mod sessions;
pub(crate) mod tokens;
pub(crate) mod users;
