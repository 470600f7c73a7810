//! Fixture loading and request headers for the webhook tests, with signatures computed
//! the way each forge computes them.

use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::Sha256;

pub const SECRET: &str = "It's a Secret to Everybody";

pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

/// Hex HMAC-SHA256 of `body` under `secret`.
pub fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

pub fn github_headers(event: &str, body: &[u8]) -> HeaderMap {
    headers(&[
        ("X-GitHub-Event", event),
        ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ("X-GitHub-Hook-ID", "479201823"),
        ("User-Agent", "GitHub-Hookshot/044aadd"),
        ("Content-Type", "application/json"),
        (
            "X-Hub-Signature-256",
            &format!("sha256={}", hmac_hex(SECRET, body)),
        ),
    ])
}

pub fn gitea_headers(event: &str, body: &[u8]) -> HeaderMap {
    let sig = hmac_hex(SECRET, body);
    headers(&[
        ("X-Gitea-Event", event),
        ("X-Gitea-Event-Type", event),
        ("X-Gitea-Delivery", "f6266f16-1bf3-46a5-9ea4-602e06ead473"),
        ("X-Gitea-Signature", &sig),
        ("X-Gogs-Event", event),
        ("X-Gogs-Signature", &sig),
        ("Content-Type", "application/json"),
    ])
}

pub fn gitlab_headers(event: &str) -> HeaderMap {
    headers(&[
        ("X-Gitlab-Event", event),
        (
            "X-Gitlab-Event-UUID",
            "13792a34-cac6-4fda-95a8-c58e00a3954e",
        ),
        (
            "X-Gitlab-Webhook-UUID",
            "02affd2d-2cba-4033-917d-ec22d5dc4b38",
        ),
        ("X-Gitlab-Instance", "https://gitlab.example.com"),
        ("X-Gitlab-Token", SECRET),
        ("Content-Type", "application/json"),
    ])
}
