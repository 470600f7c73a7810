//! Random tokens, their SHA-256 digests, constant-time comparison, and argon2id password
//! hashing (on a blocking thread: it is deliberately slow).
//!
//! Why SHA-256 for tokens but argon2id for passwords: a token is 32 random bytes, so a fast
//! hash is enough to make a stolen database useless and lets `verify_token` look the token
//! up by digest; a password is guessable, so it needs a slow, memory-hard hash.

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use gantry_core::Secret;

use crate::error::StoreError;

/// API tokens look like `gty_` + 64 hex digits, so secret scanners and people can tell
/// them apart from other strings.
pub(crate) const TOKEN_PREFIX: &str = "gty_";

/// How much of a token is kept in clear to tell tokens apart (`gty_1a2b3c4d`).
const SHOWN_CHARS: usize = TOKEN_PREFIX.len() + 8;

/// 32 random bytes from the operating system, hex-encoded.
pub(crate) fn random_hex() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Crypto(format!("no randomness from the OS: {e}")))?;
    Ok(hex::encode(bytes))
}

pub(crate) fn new_api_token() -> Result<Secret, StoreError> {
    Ok(Secret::new(format!("{TOKEN_PREFIX}{}", random_hex()?)))
}

/// The part of a token that may be shown.
pub(crate) fn shown_prefix(token: &str) -> String {
    token.chars().take(SHOWN_CHARS).collect()
}

pub(crate) fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Equal in time independent of where the inputs differ.
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// An argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) with a random salt.
pub(crate) async fn hash_password(password: &Secret) -> Result<String, StoreError> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.expose().as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Crypto(e.to_string()))
    })
    .await
    .map_err(|e| StoreError::Crypto(format!("hashing task failed: {e}")))?
}

/// Whether `password` matches `phc`. With `phc` None (no such user) it still spends the
/// time of one verification, so response times do not reveal which usernames exist.
pub(crate) async fn verify_password(
    password: &Secret,
    phc: Option<String>,
) -> Result<bool, StoreError> {
    let password = password.clone();
    let dummy = dummy_hash().await?;
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match &phc {
            Some(h) => (h.as_str(), true),
            None => (dummy.as_str(), false),
        };
        let ok = Argon2::default()
            .verify_password(password.expose().as_bytes(), hash)
            .is_ok();
        ok && real
    })
    .await
    .map_err(|e| StoreError::Crypto(format!("verification task failed: {e}")))
}

async fn dummy_hash() -> Result<String, StoreError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h.clone());
    }
    let h = hash_password(&Secret::new("gantry-dummy-password")).await?;
    Ok(DUMMY.get_or_init(|| h).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashable() {
        let a = new_api_token()
            .map(|s| s.expose().to_string())
            .unwrap_or_default();
        let b = new_api_token()
            .map(|s| s.expose().to_string())
            .unwrap_or_default();
        assert!(a.starts_with("gty_") && a.len() == 4 + 64, "{a}");
        assert_ne!(a, b);
        assert_eq!(shown_prefix(&a).len(), 12);
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
