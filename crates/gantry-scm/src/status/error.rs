//! Why a commit status could not be set. Messages name the forge and the HTTP status,
//! never the token.

use crate::forge::Forge;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error("{forge} status reporter: invalid {field}: {reason}")]
    InvalidConfig {
        forge: Forge,
        field: &'static str,
        reason: String,
    },
    #[error("invalid commit status {field}: {reason}")]
    InvalidStatus { field: &'static str, reason: String },
    #[error("{forge} answered HTTP {status} to POST {path}: {message}")]
    Http {
        forge: Forge,
        status: u16,
        path: String,
        message: String,
    },
    #[error("could not reach {forge} for POST {path}: {message}")]
    Transport {
        forge: Forge,
        path: String,
        message: String,
    },
}

impl StatusError {
    /// Worth one more try: the forge failed (5xx) or could not be reached. A 4xx will
    /// fail the same way again.
    pub fn is_retryable(&self) -> bool {
        match self {
            StatusError::Http { status, .. } => *status >= 500,
            StatusError::Transport { .. } => true,
            StatusError::InvalidConfig { .. } | StatusError::InvalidStatus { .. } => false,
        }
    }

    /// The HTTP status the forge answered with, if it answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            StatusError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}
