//! Constant-time checks of HMAC signatures and shared tokens.

use super::WebhookError;
use gantry_core::Secret;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Checks a hex HMAC-SHA256 of `body` under `secret`. `hmac`'s `verify_slice` compares
/// in constant time.
pub(super) fn verify_hmac_hex(
    header: &'static str,
    hex_sig: &str,
    body: &[u8],
    secret: &Secret,
) -> Result<(), WebhookError> {
    let hex_sig = hex_sig.trim();
    if hex_sig.len() != 64 {
        return Err(WebhookError::MalformedSignature {
            header,
            reason: format!(
                "expected 64 hexadecimal digits, found {} characters",
                hex_sig.len()
            ),
        });
    }
    let expected = hex::decode(hex_sig).map_err(|_| WebhookError::MalformedSignature {
        header,
        reason: "not hexadecimal".to_string(),
    })?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .map_err(|_| WebhookError::NoSecret)?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| WebhookError::SignatureMismatch { header })
}

/// Compares a presented token with the secret in constant time. Both are hashed first so
/// neither the comparison's duration nor an early length check reveals the secret's
/// length.
pub(super) fn verify_token(
    header: &'static str,
    presented: &str,
    secret: &Secret,
) -> Result<(), WebhookError> {
    let presented = Sha256::digest(presented.as_bytes());
    let expected = Sha256::digest(secret.expose().as_bytes());
    if bool::from(presented.as_slice().ct_eq(expected.as_slice())) {
        Ok(())
    } else {
        Err(WebhookError::SignatureMismatch { header })
    }
}
