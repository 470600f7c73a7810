//! Commit status reporters against a recording HTTP server on 127.0.0.1, which stands in
//! for GitHub, Gitea and GitLab because their hosted APIs cannot be reached from this
//! machine: the exact requests (method, path, headers, JSON body), the retry, and errors
//! that never contain the token.

use crate::status_server::{Answer, TestForge, answer};
use gantry_core::Secret;
use gantry_scm::{
    CommitStatus, Forge, GitHubReporter, GitLabReporter, GiteaReporter, ReporterConfig,
    StatusError, StatusReporter, StatusState, reporter,
};
use serde_json::json;
use std::time::Duration;

const TOKEN: &str = "ghp_TestToken0123456789abcdef";
const SHA: &str = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";

fn config(base_url: String) -> ReporterConfig {
    let mut config = ReporterConfig::new(base_url, Secret::new(TOKEN));
    config.retry_delay = Duration::from_millis(20);
    config.timeout = Duration::from_secs(5);
    config
}

fn status(repo: &str, state: StatusState) -> CommitStatus {
    CommitStatus {
        repo: repo.to_string(),
        sha: SHA.to_string(),
        state,
        context: "gantry/ci".to_string(),
        description: "3 jobs passed in 1m 12s".to_string(),
        target_url: Some("https://gantry.example.com/runs/41".to_string()),
    }
}

fn assert_no_token(err: &StatusError) {
    let text = format!("{err} {err:?}");
    assert!(!text.contains(TOKEN), "token leaked: {text}");
}

#[tokio::test]
async fn github_request_is_exact() {
    let forge = TestForge::start(vec![]).await;
    // A GitHub Enterprise Server base URL: the API lives under /api/v3.
    let reporter = GitHubReporter::new(&config(forge.url("/api/v3/"))).unwrap();
    reporter
        .report(&status("acme/web", StatusState::Running))
        .await
        .unwrap();
    let requests = forge.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, format!("/api/v3/repos/acme/web/statuses/{SHA}"));
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
    assert_eq!(r.header("x-github-api-version"), Some("2022-11-28"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("user-agent").unwrap().starts_with("gantry/"));
    assert_eq!(
        r.body,
        json!({
            "state": "pending",
            "target_url": "https://gantry.example.com/runs/41",
            "description": "3 jobs passed in 1m 12s",
            "context": "gantry/ci",
        })
    );
}

#[tokio::test]
async fn github_states() {
    let forge = TestForge::start(vec![]).await;
    let reporter = reporter(Forge::GitHub, &config(forge.url(""))).unwrap();
    assert_eq!(reporter.forge(), Forge::GitHub);
    for state in [
        StatusState::Pending,
        StatusState::Success,
        StatusState::Failure,
        StatusState::Error,
        StatusState::Cancelled,
    ] {
        reporter.report(&status("acme/web", state)).await.unwrap();
    }
    let states: Vec<String> = forge
        .requests()
        .iter()
        .map(|r| r.body["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states, ["pending", "success", "failure", "error", "error"]);
}

#[tokio::test]
async fn gitea_request_is_exact() {
    let forge = TestForge::start(vec![]).await;
    let reporter = GiteaReporter::new(&config(forge.url(""))).unwrap();
    reporter
        .report(&status("ops/infra", StatusState::Failure))
        .await
        .unwrap();
    let mut without_url = status("ops/infra", StatusState::Success);
    without_url.target_url = None;
    reporter.report(&without_url).await.unwrap();
    let requests = forge.requests();
    assert_eq!(requests.len(), 2);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, format!("/api/v1/repos/ops/infra/statuses/{SHA}"));
    assert_eq!(
        r.header("authorization"),
        Some(format!("token {TOKEN}").as_str())
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.body,
        json!({
            "state": "failure",
            "target_url": "https://gantry.example.com/runs/41",
            "description": "3 jobs passed in 1m 12s",
            "context": "gantry/ci",
        })
    );
    assert_eq!(
        requests[1].body,
        json!({"state": "success", "description": "3 jobs passed in 1m 12s", "context": "gantry/ci"})
    );
}

#[tokio::test]
async fn gitlab_request_is_exact() {
    let forge = TestForge::start(vec![]).await;
    let reporter = GitLabReporter::new(&config(forge.url("/"))).unwrap();
    reporter
        .report(&status("platform/backend/diaspora", StatusState::Running))
        .await
        .unwrap();
    reporter
        .report(&status("platform/backend/diaspora", StatusState::Cancelled))
        .await
        .unwrap();
    reporter
        .report(&status("platform/backend/diaspora", StatusState::Error))
        .await
        .unwrap();
    let requests = forge.requests();
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.path,
        format!("/api/v4/projects/platform%2Fbackend%2Fdiaspora/statuses/{SHA}")
    );
    assert_eq!(r.header("private-token"), Some(TOKEN));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        r.body,
        json!({
            "state": "running",
            "name": "gantry/ci",
            "target_url": "https://gantry.example.com/runs/41",
            "description": "3 jobs passed in 1m 12s",
        })
    );
    assert_eq!(requests[1].body["state"], "canceled");
    assert_eq!(requests[2].body["state"], "failed");
}

#[tokio::test]
async fn unauthorized_is_an_error_without_the_token_and_not_retried() {
    let forge = TestForge::start(vec![answer(
        401,
        r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}"#,
    )])
    .await;
    let reporter = GitHubReporter::new(&config(forge.url(""))).unwrap();
    let err = reporter
        .report(&status("acme/web", StatusState::Success))
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(401));
    assert_eq!(
        err.to_string(),
        format!("GitHub answered HTTP 401 to POST /repos/acme/web/statuses/{SHA}: Bad credentials")
    );
    assert_no_token(&err);
    assert_eq!(forge.requests().len(), 1);
}

#[tokio::test]
async fn a_token_echoed_by_the_forge_is_masked() {
    let forge = TestForge::start(vec![answer(
        422,
        &format!(r#"{{"message":"token {TOKEN} may not create statuses"}}"#),
    )])
    .await;
    let reporter = GiteaReporter::new(&config(forge.url(""))).unwrap();
    let err = reporter
        .report(&status("ops/infra", StatusState::Success))
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(422));
    assert!(
        err.to_string()
            .ends_with("token *** may not create statuses"),
        "{err}"
    );
    assert_no_token(&err);
}

#[tokio::test]
async fn a_server_error_is_retried_once_and_succeeds() {
    let forge = TestForge::start(vec![
        answer(500, r#"{"message":"Internal Server Error"}"#),
        answer(201, r#"{"id":7}"#),
    ])
    .await;
    let reporter = GitLabReporter::new(&config(forge.url(""))).unwrap();
    reporter
        .report(&status("g/p", StatusState::Success))
        .await
        .unwrap();
    let requests = forge.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
}

#[tokio::test]
async fn two_server_errors_give_up_after_one_retry() {
    let forge = TestForge::start(vec![
        answer(500, ""),
        answer(502, "<html>Bad Gateway</html>"),
        answer(201, "{}"),
    ])
    .await;
    let reporter = GitHubReporter::new(&config(forge.url(""))).unwrap();
    let err = reporter
        .report(&status("acme/web", StatusState::Success))
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(502));
    assert!(
        err.to_string().contains("<html>Bad Gateway</html>"),
        "{err}"
    );
    assert_eq!(forge.requests().len(), 2);
}

#[tokio::test]
async fn a_slow_forge_times_out_and_is_retried() {
    let slow = Answer {
        delay: Duration::from_secs(3),
        ..answer(201, "{}")
    };
    let forge = TestForge::start(vec![slow, answer(201, "{}")]).await;
    let mut cfg = config(forge.url(""));
    cfg.timeout = Duration::from_millis(500);
    let reporter = GitHubReporter::new(&cfg).unwrap();
    reporter
        .report(&status("acme/web", StatusState::Success))
        .await
        .unwrap();
    assert_eq!(forge.requests().len(), 2);
}

#[tokio::test]
async fn an_unreachable_forge_names_the_forge_not_the_token() {
    // A port that was free a moment ago: nothing listens there, the connection is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let reporter = GiteaReporter::new(&config(format!("http://127.0.0.1:{port}"))).unwrap();
    let err = reporter
        .report(&status("ops/infra", StatusState::Pending))
        .await
        .unwrap_err();
    let StatusError::Transport { forge, message, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*forge, Forge::Gitea);
    assert!(
        err.to_string()
            .starts_with("could not reach Gitea for POST /api/v1/repos/ops/infra/statuses/"),
        "{err}"
    );
    assert!(message.to_lowercase().contains("connect"), "{message}");
    assert_no_token(&err);
}

#[tokio::test]
async fn bad_configuration_and_statuses_are_refused_before_sending() {
    let forge = TestForge::start(vec![]).await;
    let with_password = ReporterConfig::new(
        format!("http://bot:{TOKEN}@{}", forge.addr),
        Secret::new(TOKEN),
    );
    let err = GitHubReporter::new(&with_password).unwrap_err();
    assert!(
        matches!(
            err,
            StatusError::InvalidConfig {
                field: "base_url",
                ..
            }
        ),
        "{err:?}"
    );
    assert_no_token(&err);
    let err = GitHubReporter::new(&ReporterConfig::new(
        "ftp://example.com",
        Secret::new(TOKEN),
    ))
    .unwrap_err();
    assert!(
        matches!(
            err,
            StatusError::InvalidConfig {
                field: "base_url",
                ..
            }
        ),
        "{err:?}"
    );
    let err =
        GitHubReporter::new(&ReporterConfig::new(forge.url(""), Secret::new(" "))).unwrap_err();
    assert!(
        matches!(err, StatusError::InvalidConfig { field: "token", .. }),
        "{err:?}"
    );

    let newline_token = "abc\ndef-secret";
    let reporter = GitHubReporter::new(&ReporterConfig::new(
        forge.url(""),
        Secret::new(newline_token),
    ))
    .unwrap();
    let err = reporter
        .report(&status("acme/web", StatusState::Success))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StatusError::InvalidConfig { field: "token", .. }),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?} {reporter:?}").contains("def-secret"));

    let reporter = GitHubReporter::new(&config(forge.url(""))).unwrap();
    assert!(!format!("{reporter:?}").contains(TOKEN));
    let err = reporter
        .report(&status("acme", StatusState::Success))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid commit status repo: expected `owner/name`"
    );
    let mut bad_sha = status("acme/web", StatusState::Success);
    bad_sha.sha = "main".to_string();
    assert!(matches!(
        reporter.report(&bad_sha).await.unwrap_err(),
        StatusError::InvalidStatus { field: "sha", .. }
    ));
    assert!(forge.requests().is_empty());
}
