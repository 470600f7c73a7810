//! Gitea's and Forgejo's webhook dialect: `X-Gitea-Event`/`X-Forgejo-Event`, their
//! `…-Delivery` ids, and `X-Gitea-Signature`/`X-Forgejo-Signature` (hex HMAC-SHA256 of
//! the body). Payloads follow GitHub's shape with Gitea's own action names.

use super::event::{Payload, PullRequestAction};
use super::json::decode;
use super::{Dialect, WebhookError, github_like, headers, signature};
use gantry_core::Secret;
use http::HeaderMap;

pub(super) struct Gitea;

/// Forgejo sends both its own and Gitea's header names; older Gitea also `X-Gogs-*`.
const SIGNATURES: &[&str] = &["X-Gitea-Signature", "X-Forgejo-Signature"];

impl Dialect for Gitea {
    const EVENT_HEADERS: &'static [&'static str] =
        &["X-Forgejo-Event", "X-Gitea-Event", "X-Gogs-Event"];
    const DELIVERY_HEADERS: &'static [&'static str] =
        &["X-Forgejo-Delivery", "X-Gitea-Delivery", "X-Gogs-Delivery"];

    fn verify(headers: &HeaderMap, body: &[u8], secret: &Secret) -> Result<(), WebhookError> {
        let (header, value) = headers::signature(headers, SIGNATURES)?;
        signature::verify_hmac_hex(header, value, body, secret)
    }

    fn payload(kind: &str, body: &[u8]) -> Result<Payload, WebhookError> {
        Ok(match kind {
            "push" => Payload::Push(github_like::push(decode(body)?)?),
            // `pull_request_sync` is the specific type Gitea also reports for new commits.
            "pull_request" | "pull_request_sync" => {
                Payload::PullRequest(github_like::pull_request(decode(body)?, action)?)
            }
            _ => Payload::Ignored,
        })
    }
}

fn action(name: &str, merged: bool) -> PullRequestAction {
    match name {
        "opened" => PullRequestAction::Opened,
        "reopened" => PullRequestAction::Reopened,
        "synchronized" => PullRequestAction::Synchronized,
        "edited" => PullRequestAction::Edited,
        "closed" if merged => PullRequestAction::Merged,
        "closed" => PullRequestAction::Closed,
        other => PullRequestAction::Other(other.to_string()),
    }
}
