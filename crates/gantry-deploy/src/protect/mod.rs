//! An environment's protection, checked before a deploy changes anything: the build's
//! branch among the allowed `branches`, the time inside one of the `windows` (unless
//! overridden, and said so), and `approvals` from people other than the deployer
//! (`approval.rs`, waited for). Rollbacks are not held by any of these: they are how an
//! incident ends.

pub mod approval;
mod branch;
mod window;

pub use approval::{Approval, approvals, approve, approve_release};
pub use branch::check_branch;
pub use window::check_window;

/// Who deploys or approves: `$GANTRY_USER`, else `$USER@<hostname>`, cut to letters,
/// digits, `.`, `_`, `-` and `@`.
pub fn identity() -> String {
    let raw = std::env::var("GANTRY_USER").ok().unwrap_or_else(|| {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        let machine = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        format!("{user}@{machine}")
    });
    safe_identity(&raw)
}

/// Keeps what may name a file on a host and appear in a message.
pub fn safe_identity(raw: &str) -> String {
    let s: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        .take(96)
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("u{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_safe_file_names() {
        assert_eq!(safe_identity("alice@laptop"), "alice@laptop");
        assert_eq!(safe_identity("../../etc/x y"), "u....etcxy");
        assert_eq!(safe_identity(""), "u");
    }
}
