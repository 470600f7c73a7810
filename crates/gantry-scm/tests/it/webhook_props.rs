//! Property tests: `verify` and `parse` return (never panic) on arbitrary bytes and
//! headers, on mutated and truncated real payloads, and accept only correct signatures.

use crate::hooks::{fixture, hmac_hex};
use gantry_core::Secret;
use gantry_scm::{Forge, parse, verify};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

const HEADER_NAMES: &[&str] = &[
    "X-GitHub-Event",
    "X-GitHub-Delivery",
    "X-Hub-Signature-256",
    "X-Gitea-Event",
    "X-Gitea-Delivery",
    "X-Gitea-Signature",
    "X-Forgejo-Event",
    "X-Forgejo-Signature",
    "X-Gitlab-Event",
    "X-Gitlab-Event-UUID",
    "X-Gitlab-Token",
];

const EVENTS: &[&str] = &[
    "push",
    "pull_request",
    "pull_request_sync",
    "ping",
    "Push Hook",
    "Tag Push Hook",
    "Merge Request Hook",
    "star",
];

const FIXTURES: &[&str] = &[
    "github/push.json",
    "github/push_tag.json",
    "github/pull_request.json",
    "github/ping.json",
    "gitea/push.json",
    "gitea/pull_request.json",
    "gitlab/push.json",
    "gitlab/tag_push.json",
    "gitlab/merge_request.json",
];

fn forge() -> impl Strategy<Value = Forge> {
    prop::sample::select(Forge::ALL.to_vec())
}

/// Known header names with arbitrary values (or a plausible event name), plus arbitrary
/// names.
fn header_map() -> impl Strategy<Value = HeaderMap> {
    let value = prop_oneof![
        prop::sample::select(EVENTS.to_vec()).prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..80),
        "sha256=[0-9a-f]{0,70}".prop_map(String::into_bytes),
    ];
    let name = prop_oneof![
        prop::sample::select(HEADER_NAMES.to_vec()).prop_map(String::from),
        "[a-zA-Z-]{1,20}"
    ];
    prop::collection::vec((name, value), 0..8).prop_map(|pairs| {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(&value),
            ) {
                map.insert(n, v);
            }
        }
        map
    })
}

/// A real payload with a byte range replaced by arbitrary bytes, or cut short.
fn mutated_fixture() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(FIXTURES.to_vec()),
        any::<prop::sample::Index>(),
        0usize..40,
        prop::collection::vec(any::<u8>(), 0..40),
        any::<bool>(),
    )
        .prop_map(|(path, at, len, bytes, truncate)| {
            let mut body = fixture(path);
            let start = at.index(body.len().max(1)).min(body.len());
            if truncate {
                body.truncate(start);
            } else {
                let end = (start + len).min(body.len());
                body.splice(start..end, bytes);
            }
            body
        })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        mutated_fixture(),
        "\\{(\"[a-z_]{1,12}\":(null|true|1|\"x\"|\\[\\]|\\{\\}),?){0,6}\\}"
            .prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_and_verify_never_panic(forge in forge(), headers in header_map(), body in body(), secret in ".{0,20}") {
        let _ = parse(forge, &headers, &body);
        let _ = verify(forge, &headers, &body, &Secret::new(secret));
    }

    #[test]
    fn parse_never_panics_on_real_headers_with_mutated_bodies(
        forge in forge(),
        event in prop::sample::select(EVENTS.to_vec()),
        body in mutated_fixture(),
    ) {
        let mut headers = HeaderMap::new();
        for name in ["X-GitHub-Event", "X-Gitea-Event", "X-Gitlab-Event"] {
            headers.insert(name, HeaderValue::from_static(event));
        }
        if let Ok(event) = parse(forge, &headers, &body) {
            // Whatever parsed must convert without panicking either.
            let _ = event.trigger_event();
            let _ = event.repository();
        }
    }

    #[test]
    fn only_the_right_signature_verifies(body in prop::collection::vec(any::<u8>(), 0..256), secret in "[ -~]{1,30}", other in "[ -~]{1,30}") {
        let sig = hmac_hex(&secret, &body);
        let mut headers = HeaderMap::new();
        headers.insert("x-hub-signature-256", HeaderValue::from_str(&format!("sha256={sig}")).unwrap());
        headers.insert("x-gitea-signature", HeaderValue::from_str(&sig).unwrap());
        prop_assert!(verify(Forge::GitHub, &headers, &body, &Secret::new(secret.clone())).is_ok());
        prop_assert!(verify(Forge::Gitea, &headers, &body, &Secret::new(secret.clone())).is_ok());
        if other != secret {
            prop_assert!(verify(Forge::GitHub, &headers, &body, &Secret::new(other.clone())).is_err());
            prop_assert!(verify(Forge::Gitea, &headers, &body, &Secret::new(other)).is_err());
        }
    }
}
