//! Decoding webhook bodies with the JSON path of any error, and checking the fields a
//! run needs.

use super::WebhookError;
use crate::refs::{is_object_id, is_valid_ref_name};
use serde::de::DeserializeOwned;

/// Deserializes `body`, reporting where it went wrong (`pull_request.head.sha`). serde_json
/// limits nesting depth, so a deeply nested hostile body is an error, not a stack overflow.
pub(super) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, WebhookError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value =
        serde_path_to_error::deserialize(&mut de).map_err(|e| WebhookError::InvalidJson {
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })?;
    de.end().map_err(|e| WebhookError::InvalidJson {
        path: ".".to_string(),
        message: e.to_string(),
    })?;
    Ok(value)
}

/// A required, non-empty string field.
pub(super) fn required(field: &'static str, value: Option<String>) -> Result<String, WebhookError> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(WebhookError::MissingField { field }),
    }
}

/// A required full object id (40 or 64 hex digits).
pub(super) fn object_id(
    field: &'static str,
    value: Option<String>,
) -> Result<String, WebhookError> {
    let v = required(field, value)?;
    if is_object_id(&v) {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(WebhookError::InvalidField {
            field,
            reason: "expected a 40 or 64 digit hexadecimal commit id".to_string(),
        })
    }
}

/// A required branch, tag or full ref name.
pub(super) fn ref_name(field: &'static str, value: Option<String>) -> Result<String, WebhookError> {
    let v = required(field, value)?;
    if is_valid_ref_name(&v) {
        Ok(v)
    } else {
        Err(WebhookError::InvalidField {
            field,
            reason: "not a valid git ref name".to_string(),
        })
    }
}
