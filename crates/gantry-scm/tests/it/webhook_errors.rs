//! Refused deliveries: each error names the header or JSON field at fault and carries the
//! HTTP status the server answers with.

use crate::hooks::{SECRET, fixture, github_headers, headers};
use gantry_core::Secret;
use gantry_scm::{Forge, MAX_BODY_BYTES, WebhookError, parse, verify};
use http::HeaderValue;
use sha2::{Digest, Sha256};

#[test]
fn missing_event_header_is_a_400_naming_it() {
    let body = fixture("github/push.json");
    let err = parse(Forge::GitHub, &headers(&[]), &body).unwrap_err();
    assert_eq!(
        err,
        WebhookError::MissingHeader {
            header: "X-GitHub-Event"
        }
    );
    assert_eq!(err.http_status(), 400);
    assert_eq!(err.to_string(), "missing header X-GitHub-Event");
    let err = parse(Forge::GitLab, &headers(&[]), &body).unwrap_err();
    assert_eq!(
        err,
        WebhookError::MissingHeader {
            header: "X-Gitlab-Event"
        }
    );
}

#[test]
fn delivery_id_falls_back_to_a_hash_of_the_body() {
    let body = fixture("gitea/push.json");
    let event = parse(Forge::Gitea, &headers(&[("X-Gitea-Event", "push")]), &body).unwrap();
    assert_eq!(
        event.delivery_id,
        format!("sha256:{}", hex::encode(Sha256::digest(&body)))
    );
    let again = parse(Forge::Gitea, &headers(&[("X-Gitea-Event", "push")]), &body).unwrap();
    assert_eq!(event.delivery_id, again.delivery_id);
}

#[test]
fn signature_header_forms() {
    let body = fixture("github/push.json");
    let secret = Secret::new(SECRET);
    let sig = crate::hooks::hmac_hex(SECRET, &body);
    assert_eq!(
        verify(Forge::GitHub, &headers(&[]), &body, &secret).unwrap_err(),
        WebhookError::MissingSignature {
            header: "X-Hub-Signature-256"
        }
    );
    let no_prefix = headers(&[("X-Hub-Signature-256", &sig)]);
    let err = verify(Forge::GitHub, &no_prefix, &body, &secret).unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed signature header X-Hub-Signature-256: expected `sha256=<hex>`"
    );
    assert_eq!(err.http_status(), 401);
    let bad_hex = headers(&[("X-Hub-Signature-256", &format!("sha256={}", "g".repeat(64)))]);
    assert_eq!(
        verify(Forge::GitHub, &bad_hex, &body, &secret)
            .unwrap_err()
            .to_string(),
        "malformed signature header X-Hub-Signature-256: not hexadecimal"
    );
    // Uppercase hex is still the same signature.
    let upper = headers(&[(
        "X-Hub-Signature-256",
        &format!("sha256={}", sig.to_uppercase()),
    )]);
    verify(Forge::GitHub, &upper, &body, &secret).unwrap();
    // The old SHA-1 header alone is not enough.
    let sha1_only = headers(&[(
        "X-Hub-Signature",
        "sha1=0000000000000000000000000000000000000000",
    )]);
    assert!(matches!(
        verify(Forge::GitHub, &sha1_only, &body, &secret).unwrap_err(),
        WebhookError::MissingSignature { .. }
    ));
    let mut opaque = headers(&[]);
    opaque.insert(
        "x-hub-signature-256",
        HeaderValue::from_bytes(b"sha256=\xff\xfe").unwrap(),
    );
    assert!(matches!(
        verify(Forge::GitHub, &opaque, &body, &secret).unwrap_err(),
        WebhookError::MalformedSignature { .. }
    ));
}

#[test]
fn an_empty_secret_never_verifies() {
    let body = b"{}";
    let forged = headers(&[(
        "X-Hub-Signature-256",
        &format!("sha256={}", crate::hooks::hmac_hex("", body)),
    )]);
    let err = verify(Forge::GitHub, &forged, body, &Secret::new("")).unwrap_err();
    assert_eq!(err, WebhookError::NoSecret);
    assert_eq!(err.http_status(), 500);
    let gitlab = headers(&[("X-Gitlab-Token", "")]);
    assert_eq!(
        verify(Forge::GitLab, &gitlab, body, &Secret::new("")).unwrap_err(),
        WebhookError::NoSecret
    );
}

#[test]
fn oversize_bodies_are_refused_before_any_work() {
    let body = vec![b' '; MAX_BODY_BYTES + 1];
    let headers = github_headers("push", &body);
    let err = parse(Forge::GitHub, &headers, &body).unwrap_err();
    assert_eq!(
        err,
        WebhookError::BodyTooLarge {
            size: MAX_BODY_BYTES + 1,
            limit: MAX_BODY_BYTES
        }
    );
    assert_eq!(err.http_status(), 413);
    assert_eq!(
        verify(Forge::GitHub, &headers, &body, &Secret::new(SECRET))
            .unwrap_err()
            .http_status(),
        413
    );
}

#[test]
fn malformed_json_names_the_path() {
    let text = String::from_utf8(fixture("github/pull_request.json")).unwrap();
    let body = text.replacen(
        "\"number\": 42,\n    \"state\"",
        "\"number\": \"forty-two\",\n    \"state\"",
        1,
    );
    assert_ne!(body, text);
    let err = parse(
        Forge::GitHub,
        &github_headers("pull_request", body.as_bytes()),
        body.as_bytes(),
    )
    .unwrap_err();
    let WebhookError::InvalidJson { path, message } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(path, "pull_request.number");
    assert!(
        message.contains("invalid type: string \"forty-two\""),
        "{message}"
    );
    assert_eq!(err.http_status(), 400);

    let err = parse(
        Forge::GitHub,
        &github_headers("push", b"{\"ref\": "),
        b"{\"ref\": ",
    )
    .unwrap_err();
    assert!(matches!(err, WebhookError::InvalidJson { .. }), "{err:?}");
    let err = parse(Forge::GitHub, &github_headers("push", b"[1,2]"), b"[1,2]").unwrap_err();
    assert!(matches!(err, WebhookError::InvalidJson { .. }), "{err:?}");
    let gitlab = br#"{"ref":"refs/heads/main","commits":[{"added":"src/a.rs"}]}"#;
    let err = parse(
        Forge::GitLab,
        &crate::hooks::gitlab_headers("Push Hook"),
        gitlab,
    )
    .unwrap_err();
    let WebhookError::InvalidJson { path, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(path, "commits[0].added");
}

#[test]
fn missing_and_invalid_fields_are_named() {
    let push = |body: &str| {
        parse(
            Forge::GitHub,
            &github_headers("push", body.as_bytes()),
            body.as_bytes(),
        )
        .unwrap_err()
    };
    let sha = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";
    assert_eq!(push("{}"), WebhookError::MissingField { field: "ref" });
    assert_eq!(
        push(r#"{"ref":"refs/heads/main"}"#),
        WebhookError::MissingField { field: "after" }
    );
    assert_eq!(
        push(r#"{"ref":"refs/heads/main","after":"--upload-pack=touch /tmp/x"}"#).to_string(),
        "invalid field `after` in the body: expected a 40 or 64 digit hexadecimal commit id"
    );
    assert_eq!(
        push(&format!(r#"{{"ref":"refs/heads/a..b","after":"{sha}"}}"#)).to_string(),
        "invalid field `ref` in the body: not a valid git ref name"
    );
    assert_eq!(
        push(&format!(r#"{{"ref":"refs/heads/main","after":"{sha}"}}"#)),
        WebhookError::MissingField {
            field: "repository"
        }
    );
    assert_eq!(
        push(&format!(
            r#"{{"ref":"refs/heads/main","after":"{sha}","repository":{{"full_name":null}}}}"#
        )),
        WebhookError::MissingField {
            field: "repository.full_name"
        }
    );
    let pr = |body: &str| {
        parse(
            Forge::GitHub,
            &github_headers("pull_request", body.as_bytes()),
            body.as_bytes(),
        )
        .unwrap_err()
    };
    let repo = r#""repository":{"full_name":"acme/web"}"#;
    assert_eq!(
        pr(&format!("{{{repo}}}")),
        WebhookError::MissingField {
            field: "pull_request"
        }
    );
    assert_eq!(
        pr(&format!(
            r#"{{"action":"opened",{repo},"pull_request":{{"head":{{}},"base":{{}}}}}}"#
        )),
        WebhookError::MissingField {
            field: "pull_request.number"
        }
    );
    assert_eq!(
        pr(&format!(
            r#"{{"action":"opened","number":1,{repo},"pull_request":{{"head":{{"ref":"x"}},"base":{{"ref":"main"}}}}}}"#
        )),
        WebhookError::MissingField {
            field: "pull_request.head.sha"
        }
    );
    let mr = br#"{"project":{"path_with_namespace":"g/p"},"object_attributes":{"iid":3,"source_branch":"x","target_branch":"main"}}"#;
    assert_eq!(
        parse(
            Forge::GitLab,
            &crate::hooks::gitlab_headers("Merge Request Hook"),
            mr
        )
        .unwrap_err(),
        WebhookError::MissingField {
            field: "object_attributes.last_commit.id"
        }
    );
}

#[test]
fn oversize_delivery_ids_are_refused() {
    let body = fixture("github/ping.json");
    let long = "x".repeat(201);
    let h = headers(&[("X-GitHub-Event", "ping"), ("X-GitHub-Delivery", &long)]);
    let err = parse(Forge::GitHub, &h, &body).unwrap_err();
    assert!(
        matches!(
            err,
            WebhookError::MalformedHeader {
                header: "X-GitHub-Delivery",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn deeply_nested_bodies_are_errors_not_crashes() {
    let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let err = parse(
        Forge::GitHub,
        &github_headers("push", body.as_bytes()),
        body.as_bytes(),
    )
    .unwrap_err();
    assert!(matches!(err, WebhookError::InvalidJson { .. }), "{err:?}");
    // Inside a field Gantry does not read, serde_json skips the nesting without recursing;
    // the delivery is still refused, for what it lacks.
    let nested = format!(
        r#"{{"ref":"refs/heads/main","x":{}1{}}}"#,
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let err = parse(
        Forge::GitHub,
        &github_headers("push", nested.as_bytes()),
        nested.as_bytes(),
    )
    .unwrap_err();
    assert_eq!(err, WebhookError::MissingField { field: "after" });
}
