//! The agent registry and queue views over real HTTP: agents registered through the agent
//! protocol, a job with `runs_on: [gpu]` that waits in the queue until an agent with the
//! label claims it, `/api/v1/agents`, `/api/v1/agents/{name}`, `/api/v1/queue`, the
//! roles that may read them, and the `/agents` page.

use std::time::Duration;

use gantry_agent::client::AGENT_HEADER;
use gantry_agent::protocol::{self, Poll, Register};
use serde_json::{Value, json};

use crate::git_repo::TestRepo;
use crate::server::TestServer;

const PIPELINE: &str =
    "on: { manual: {} }\njobs:\n  train:\n    runs_on: [gpu]\n    steps: ['echo training']\n";

async fn send(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: &str,
    agent: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = server
        .http
        .request(method, format!("{}{path}", server.base))
        .bearer_auth(token);
    if let Some(name) = agent {
        req = req.header(AGENT_HEADER, name);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get_as(server: &TestServer, path: &str, token: &str) -> (u16, Value) {
    send(server, reqwest::Method::GET, path, token, None, None).await
}

/// A new API token with `role`, created by the admin.
async fn token(server: &TestServer, name: &str, role: &str) -> String {
    let (status, body) = send(
        server,
        reqwest::Method::POST,
        "/api/v1/tokens",
        &server.token,
        None,
        Some(json!({ "name": name, "role": role })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["token"].as_str().unwrap().to_string()
}

async fn register(server: &TestServer, token: &str, name: &str, labels: &[&str]) {
    let body = Register {
        name: name.into(),
        version: "9.9.9-test".into(),
        protocol: protocol::PROTOCOL,
        labels: labels.iter().map(|l| l.to_string()).collect(),
        executors: vec!["host".into()],
        capacity: 2,
    };
    let (status, reply) = send(
        server,
        reqwest::Method::POST,
        "/api/v1/agent/register",
        token,
        Some(name),
        Some(serde_json::to_value(body).unwrap()),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
}

async fn page(server: &TestServer, token: &str) -> (u16, String) {
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/agents", server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn agent<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no agent {name} in {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_queue_views_roles_and_page() {
    let repo = TestRepo::new();
    repo.commit(&[(".gantry/pipelines/gpu.yml", Some(PIPELINE))], "gpu job");
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
    let viewer = token(&server, "watcher", "viewer").await;
    let gpu_token = token(&server, "gpu-box", "agent").await;
    let linux_token = token(&server, "linux-1", "agent").await;

    // Nothing registered, nothing queued.
    let (status, body) = server.get("/api/v1/agents").await;
    assert_eq!((status, body.clone()), (200, json!({ "agents": [] })));
    let (_, body) = server.get("/api/v1/queue").await;
    assert_eq!(body, json!({ "queues": [], "unlabeled_jobs": "server" }));

    // A GPU job with no agent to take it stays queued, and the queue says nobody can.
    let (status, body) = send(
        &server,
        reqwest::Method::POST,
        "/api/v1/projects/app/pipelines/gpu/trigger",
        &server.token,
        None,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let run_id = body["runs"][0]["run_id"].as_i64().unwrap();
    let queue = server
        .wait_for("the GPU job to queue", Duration::from_secs(30), async |s| {
            let (_, q) = s.get("/api/v1/queue").await;
            (q["queues"].as_array().is_some_and(|a| !a.is_empty())).then_some(q)
        })
        .await;
    let gpu = &queue["queues"][0];
    assert_eq!(gpu["runs_on"], json!(["gpu"]), "{queue}");
    assert_eq!(gpu["queued"], 1);
    assert!(gpu["oldest_queued_at"].is_string(), "{queue}");
    assert_eq!(
        gpu["server"], false,
        "the server's pool never runs labeled jobs"
    );
    assert_eq!(gpu["agents"], json!([]));
    let (status, html) = page(&server, &server.token).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"class="queue-stuck""#), "{html}");
    assert!(html.contains("No agent has registered yet"));

    // Two agents register through the protocol; only the one with the label can take it.
    // The server's own route label is not an agent's to take.
    let reserved = Register {
        name: "gpu-box".into(),
        version: "9.9.9-test".into(),
        protocol: protocol::PROTOCOL,
        labels: vec!["linux".into(), "gantry:server".into()],
        executors: vec!["host".into()],
        capacity: 2,
    };
    let (status, reply) = send(
        &server,
        reqwest::Method::POST,
        "/api/v1/agent/register",
        &gpu_token,
        Some("gpu-box"),
        Some(serde_json::to_value(reserved).unwrap()),
    )
    .await;
    assert_eq!(status, 400, "{reply}");
    assert!(reply.to_string().contains("reserved"), "{reply}");
    register(&server, &gpu_token, "gpu-box", &["linux", "gpu"]).await;
    register(&server, &linux_token, "linux-1", &["linux"]).await;
    let (status, list) = server.get("/api/v1/agents").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["agents"].as_array().unwrap().len(), 2);
    let a = agent(&list, "gpu-box");
    assert_eq!(a["labels"], json!(["gpu", "linux"]), "sorted: {a}");
    assert_eq!(a["version"], "9.9.9-test");
    assert_eq!(a["executors"], json!(["host"]));
    assert_eq!(a["capacity"], 2);
    assert_eq!(a["online"], true);
    assert_eq!(a["draining"], false);
    assert_eq!(a["running"], 0);
    assert_eq!(a["queued"], 1, "the GPU job waits for it");
    assert_eq!(a["jobs"], json!([]));
    assert!(a["last_seen_at"].is_string() && a["registered_at"].is_string());
    assert_eq!(agent(&list, "linux-1")["queued"], 0);
    let (_, queue) = server.get("/api/v1/queue").await;
    assert_eq!(queue["queues"][0]["agents"], json!(["gpu-box"]), "{queue}");

    // The page: the agents with their labels, and the queue row with who can take it.
    let (status, html) = page(&server, &server.token).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"<span class="agent-name">gpu-box</span>"#),
        "{html}"
    );
    assert!(html.contains(r#"<span class="agent-name">linux-1</span>"#));
    assert!(html.contains(r#"<li class="chip">gpu</li>"#));
    assert!(html.contains(r#"<li class="chip">linux</li>"#));
    assert!(html.contains(r#"<span class="badge" data-status="online">"#));
    assert!(html.contains("9.9.9-test"));
    assert!(html.contains(r#"<li class="chip chip-agent">gpu-box</li>"#));
    assert!(!html.contains("queue-stuck"), "{html}");
    assert!(html.contains(r#"<a href="/agents" aria-current="page">Agents</a>"#));

    // The agent claims the job: it shows under the agent and leaves the queue.
    let poll = Poll {
        free: 1,
        draining: false,
        held: Vec::new(),
        wait_ms: 0,
    };
    let (status, reply) = send(
        &server,
        reqwest::Method::POST,
        "/api/v1/agent/poll",
        &gpu_token,
        Some("gpu-box"),
        Some(serde_json::to_value(&poll).unwrap()),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let job_id = reply["jobs"][0]["job_id"].as_i64().unwrap();
    let (status, one) = server.get("/api/v1/agents/gpu-box").await;
    assert_eq!(status, 200, "{one}");
    let jobs = &one["agent"]["jobs"];
    assert_eq!(jobs.as_array().unwrap().len(), 1, "{one}");
    assert_eq!(jobs[0]["id"], job_id);
    assert_eq!(jobs[0]["run_id"], run_id);
    assert_eq!(jobs[0]["key"], "train");
    assert_eq!(jobs[0]["name"], "train");
    assert!(jobs[0]["started_at"].is_string());
    assert_eq!(one["agent"]["running"], 1);
    assert_eq!(one["agent"]["queued"], 0);
    let (_, queue) = server.get("/api/v1/queue").await;
    assert_eq!(queue["queues"], json!([]));
    let (_, html) = page(&server, &server.token).await;
    assert!(
        html.contains(&format!(
            r#"<a href="/runs/{run_id}?job={job_id}">train</a>"#
        )),
        "{html}"
    );
    assert!(html.contains("app / gpu #1"), "{html}");
    caches(&server, &gpu_token, &linux_token, &reply["jobs"][0]).await;

    // A bad body or query on an agent endpoint is a JSON error naming the field.
    let (status, body) = send(
        &server,
        reqwest::Method::POST,
        "/api/v1/agent/poll",
        &gpu_token,
        Some("gpu-box"),
        Some(json!({ "free": "two", "draining": false, "held": [], "wait_ms": 0 })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("free"),
        "{body}"
    );
    let (status, body) = send(
        &server,
        reqwest::Method::GET,
        &format!("/api/v1/agent/jobs/{job_id}/source?fencing_token=x"),
        &gpu_token,
        Some("gpu-box"),
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("fencing_token"),
        "{body}"
    );

    // Unknown agents are a JSON 404.
    let (status, body) = server.get("/api/v1/agents/nope").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("nope"),
        "{body}"
    );

    // Viewers may look; agent tokens may not (they only speak the agent protocol).
    for path in ["/api/v1/agents", "/api/v1/agents/gpu-box", "/api/v1/queue"] {
        let (status, _) = get_as(&server, path, &viewer).await;
        assert_eq!(status, 200, "viewer on {path}");
        let (status, body) = get_as(&server, path, &gpu_token).await;
        assert_eq!(status, 403, "agent on {path}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("agent endpoints"),
            "{body}"
        );
    }
    let (status, _) = page(&server, &viewer).await;
    assert_eq!(status, 200);
    let (status, _) = page(&server, &gpu_token).await;
    assert_eq!(status, 303, "an agent token is sent to sign in");
    server.stop().await;
}

/// The cache endpoints, as the owner of `job` and as another agent: bad keys, a miss,
/// a broken upload, an upload, the same key again (entries are immutable), a restore by
/// prefix that streams the tar back with the key found.
async fn caches(server: &TestServer, owner: &str, other: &str, job: &Value) {
    let id = job["job_id"].as_i64().unwrap();
    let fence = job["fencing_token"].as_i64().unwrap();
    let restore = |token: &str, agent: &str, key: &str, prefixes: &[&str]| {
        server
            .http
            .post(format!(
                "{}/api/v1/agent/jobs/{id}/cache/restore",
                server.base
            ))
            .bearer_auth(token)
            .header(AGENT_HEADER, agent)
            .json(&json!({ "fencing_token": fence, "key": key, "restore_keys": prefixes }))
            .send()
    };
    let upload = |key: &str, body: Vec<u8>| {
        server
            .http
            .put(format!("{}/api/v1/agent/jobs/{id}/cache", server.base))
            .bearer_auth(owner)
            .header(AGENT_HEADER, "gpu-box")
            .query(&[
                ("fencing_token", fence.to_string()),
                ("key", key.to_string()),
            ])
            .body(body)
            .send()
    };
    let r = restore(other, "linux-1", "deps-1", &[]).await.unwrap();
    assert_eq!(r.status().as_u16(), 409, "another agent's job");
    let r = restore(owner, "gpu-box", "", &[]).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("'key'"),
        "{body}"
    );
    let r = restore(owner, "gpu-box", "deps-1", &["deps-"])
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204, "nothing cached yet");

    let r = upload("deps-1", b"not a tar at all".repeat(100))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400, "{}", r.text().await.unwrap());
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("deps")).unwrap();
    std::fs::write(src.path().join("deps/lib.a"), "compiled").unwrap();
    let tar = gantry_agent::archive::pack_dir(src.path()).unwrap();
    let r = upload("deps-1", tar.clone()).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["added"], true);
    let r = upload("deps-1", tar).await.unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["added"],
        false,
        "immutable"
    );

    let r = restore(owner, "gpu-box", "deps-2", &["nope-", "deps-"])
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["gantry-cache-key"],
        "deps%2D1",
        "percent-encoded"
    );
    let bytes = r.bytes().await.unwrap();
    let out = tempfile::tempdir().unwrap();
    gantry_agent::archive::unpack(&bytes, out.path()).unwrap();
    assert_eq!(
        std::fs::read_to_string(out.path().join("deps/lib.a")).unwrap(),
        "compiled"
    );
}
