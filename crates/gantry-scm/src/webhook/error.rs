//! Why a webhook delivery was refused, with the header or field at fault.

/// A refused delivery. Messages name the header or JSON field; they never contain the
/// secret or the token a sender presented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook secret is empty; configure one for this project")]
    NoSecret,
    #[error("missing signature header {header}")]
    MissingSignature { header: &'static str },
    #[error("malformed signature header {header}: {reason}")]
    MalformedSignature {
        header: &'static str,
        reason: String,
    },
    #[error("signature in {header} does not match the body and the configured secret")]
    SignatureMismatch { header: &'static str },
    #[error("missing header {header}")]
    MissingHeader { header: &'static str },
    #[error("malformed header {header}: {reason}")]
    MalformedHeader {
        header: &'static str,
        reason: String,
    },
    #[error("body is {size} bytes, more than the limit of {limit}")]
    BodyTooLarge { size: usize, limit: usize },
    #[error("body is not the expected JSON at `{path}`: {message}")]
    InvalidJson { path: String, message: String },
    #[error("missing field `{field}` in the body")]
    MissingField { field: &'static str },
    #[error("invalid field `{field}` in the body: {reason}")]
    InvalidField { field: &'static str, reason: String },
}

impl WebhookError {
    /// The HTTP status the server should answer with: 401 when the delivery could not be
    /// authenticated, 413 for an oversize body, 500 when Gantry itself lacks a secret,
    /// 400 for a malformed delivery.
    pub fn http_status(&self) -> u16 {
        match self {
            WebhookError::MissingSignature { .. }
            | WebhookError::MalformedSignature { .. }
            | WebhookError::SignatureMismatch { .. } => 401,
            WebhookError::BodyTooLarge { .. } => 413,
            WebhookError::NoSecret => 500,
            _ => 400,
        }
    }
}
