//! Forge webhooks: `verify` checks a delivery's signature or token, `parse` turns its
//! headers and body into a normalized `WebhookEvent`. Pure functions over bytes; the
//! server owns the HTTP side and maps `WebhookError::http_status` to its response.

mod error;
mod event;
mod gitea;
mod github;
mod github_like;
mod gitlab;
mod headers;
mod json;
mod signature;

pub use error::WebhookError;
pub use event::{
    Commit, Payload, Person, PingEvent, PullRequestAction, PullRequestEvent, PushEvent, Repository,
    WebhookEvent,
};

use crate::forge::Forge;
use gantry_core::Secret;
use http::HeaderMap;
use sha2::{Digest, Sha256};

/// The largest body `verify` and `parse` accept. GitHub caps its deliveries at 25 MB but
/// real push payloads are far smaller; a bigger body is refused rather than buffered.
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

/// Longest delivery id kept from a header; ids are stored for dedupe.
const MAX_DELIVERY_ID: usize = 200;

/// One forge's webhook dialect: its headers, how it authenticates a delivery and the
/// shape of its payloads. One implementation per file (`github.rs`, `gitea.rs`,
/// `gitlab.rs`).
trait Dialect {
    /// Headers naming the event kind, the first present one wins.
    const EVENT_HEADERS: &'static [&'static str];
    /// Headers carrying a unique delivery id, the first present one wins.
    const DELIVERY_HEADERS: &'static [&'static str];

    fn verify(headers: &HeaderMap, body: &[u8], secret: &Secret) -> Result<(), WebhookError>;

    /// The payload of an event of `kind`; `Payload::Ignored` for kinds Gantry does not use.
    fn payload(kind: &str, body: &[u8]) -> Result<Payload, WebhookError>;
}

/// Checks that a delivery really comes from the forge: GitHub's `X-Hub-Signature-256`,
/// Gitea/Forgejo's `X-Gitea-Signature`/`X-Forgejo-Signature` (HMAC-SHA256 of the raw
/// body) or GitLab's `X-Gitlab-Token` (the secret itself). Comparisons are constant-time.
pub fn verify(
    forge: Forge,
    headers: &HeaderMap,
    body: &[u8],
    secret: &Secret,
) -> Result<(), WebhookError> {
    check_size(body)?;
    if secret.expose().is_empty() {
        return Err(WebhookError::NoSecret);
    }
    match forge {
        Forge::GitHub => github::GitHub::verify(headers, body, secret),
        Forge::Gitea => gitea::Gitea::verify(headers, body, secret),
        Forge::GitLab => gitlab::GitLab::verify(headers, body, secret),
    }
}

/// Parses a delivery. Call `verify` first: `parse` trusts nothing but authenticates
/// nothing either.
pub fn parse(forge: Forge, headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    match forge {
        Forge::GitHub => parse_with::<github::GitHub>(forge, headers, body),
        Forge::Gitea => parse_with::<gitea::Gitea>(forge, headers, body),
        Forge::GitLab => parse_with::<gitlab::GitLab>(forge, headers, body),
    }
}

fn parse_with<D: Dialect>(
    forge: Forge,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<WebhookEvent, WebhookError> {
    check_size(body)?;
    let (_, kind) =
        headers::first(headers, D::EVENT_HEADERS)?.ok_or(WebhookError::MissingHeader {
            header: D::EVENT_HEADERS.first().copied().unwrap_or("event"),
        })?;
    let kind = kind.trim().to_string();
    let delivery_id = match headers::first(headers, D::DELIVERY_HEADERS)? {
        Some((name, id)) => {
            let id = id.trim();
            if id.is_empty() || id.len() > MAX_DELIVERY_ID {
                return Err(WebhookError::MalformedHeader {
                    header: name,
                    reason: format!("expected 1 to {MAX_DELIVERY_ID} characters"),
                });
            }
            id.to_string()
        }
        // Without an id, identical bodies are the same delivery: a redelivery repeats
        // the body byte for byte.
        None => format!("sha256:{}", hex::encode(Sha256::digest(body))),
    };
    let payload = D::payload(&kind, body)?;
    Ok(WebhookEvent {
        forge,
        delivery_id,
        kind,
        payload,
    })
}

fn check_size(body: &[u8]) -> Result<(), WebhookError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(WebhookError::BodyTooLarge {
            size: body.len(),
            limit: MAX_BODY_BYTES,
        });
    }
    Ok(())
}
