//! GitHub's webhook dialect: `X-GitHub-Event`, `X-GitHub-Delivery`, and
//! `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.

use super::event::{Payload, PullRequestAction};
use super::json::decode;
use super::{Dialect, WebhookError, github_like, headers, signature};
use gantry_core::Secret;
use http::HeaderMap;

pub(super) struct GitHub;

const SIGNATURE: &str = "X-Hub-Signature-256";

impl Dialect for GitHub {
    const EVENT_HEADERS: &'static [&'static str] = &["X-GitHub-Event"];
    const DELIVERY_HEADERS: &'static [&'static str] = &["X-GitHub-Delivery"];

    fn verify(headers: &HeaderMap, body: &[u8], secret: &Secret) -> Result<(), WebhookError> {
        let (_, value) = headers::signature(headers, &[SIGNATURE])?;
        let hex_sig = value.trim().strip_prefix("sha256=").ok_or_else(|| {
            WebhookError::MalformedSignature {
                header: SIGNATURE,
                reason: "expected `sha256=<hex>`".to_string(),
            }
        })?;
        signature::verify_hmac_hex(SIGNATURE, hex_sig, body, secret)
    }

    fn payload(kind: &str, body: &[u8]) -> Result<Payload, WebhookError> {
        Ok(match kind {
            "push" => Payload::Push(github_like::push(decode(body)?)?),
            "pull_request" => {
                Payload::PullRequest(github_like::pull_request(decode(body)?, action)?)
            }
            "ping" => Payload::Ping(github_like::ping(decode(body)?)),
            _ => Payload::Ignored,
        })
    }
}

fn action(name: &str, merged: bool) -> PullRequestAction {
    match name {
        "opened" => PullRequestAction::Opened,
        "reopened" => PullRequestAction::Reopened,
        "synchronize" => PullRequestAction::Synchronized,
        "edited" => PullRequestAction::Edited,
        "closed" if merged => PullRequestAction::Merged,
        "closed" => PullRequestAction::Closed,
        other => PullRequestAction::Other(other.to_string()),
    }
}
