//! The OpenAPI document against the router: every operation it lists reaches a handler
//! (no fallback 404 "no such API endpoint", no 405), so the document cannot name a path
//! the server does not have. schemathesis (scripts/api-fuzz.sh) checks the answers.

use serde_json::Value;

use crate::git_repo::TestRepo;
use crate::server::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_has_a_route() {
    let repo = TestRepo::new();
    repo.commit(
        &[(
            ".gantry/pipelines/ci.yml",
            Some("on: { manual: {} }\njobs:\n  a:\n    steps: ['true']\n"),
        )],
        "init",
    );
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(
        ws.path().join("gantry.yml"),
        format!(
            "projects:\n  app: {{ path: {}, poll: off }}\n",
            repo.work.display()
        ),
    )
    .unwrap();
    let server = TestServer::start(ws.path(), None).await;
    let (status, doc) = server.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/agents") && paths.contains_key("/agent/poll"));
    for (path, ops) in paths {
        // Ids that exist nowhere, so no stream stays open and nothing is changed.
        let concrete: String = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "987654" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for method in ops.as_object().unwrap().keys() {
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let r = server
                .http
                .request(method.clone(), format!("{}/api/v1{concrete}", server.base))
                .bearer_auth(&server.token)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert_ne!(status, 405, "{method} {path}: no such method");
            assert_ne!(
                body["error"]["message"], "no such API endpoint",
                "{method} {path} is documented but has no route"
            );
        }
    }
    server.stop().await;
}
