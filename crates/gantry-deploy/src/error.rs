//! Why a deployment could not start. Problems once hosts are being changed are not
//! errors: they end up in the `DeploymentReport` with outcome failed or rolled back.

use crate::lock::LockError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeployError {
    #[error("{file}: no service '{name}' in `services:`{}", known_list(known))]
    UnknownService {
        file: String,
        name: String,
        known: Vec<String>,
    },
    #[error(
        "{file}: no environment '{name}' in `environments:`{}",
        known_list(known)
    )]
    UnknownEnvironment {
        file: String,
        name: String,
        known: Vec<String>,
    },
    #[error("{0}")]
    Version(String),
    #[error("{0}")]
    Artifact(String),
    #[error("{0}")]
    Setup(String),
    /// The environment's protection refused or timed out (branch, window, approvals).
    #[error("{0}")]
    Protected(String),
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Cancelled before any host changed (while waiting for approvals or the lock).
    #[error("{0}")]
    Cancelled(String),
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (it declares none)".to_string()
    } else {
        format!(" (declared: {})", known.join(", "))
    }
}
