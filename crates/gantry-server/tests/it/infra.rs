//! Infra in the server against a real host: a test host in its own network namespace
//! with its own OpenSSH server (strict host keys), a group checked for drift every
//! second, and the API flow plan → apply request → approval by a second caller →
//! applied; then drift made by hand is detected, stored and announced once. A secret
//! used by a template never appears in a stored report, an answer, an event or a page.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::server::TestServer;

/// An API request with `token`; the status and the JSON body (null if none).
pub(crate) async fn send(
    server: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = server
        .http
        .request(method, format!("{}/api/v1{path}", server.base))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn host_state(server: &TestServer, name: &str) -> Value {
    let (status, body) = server.get("/api/v1/infra/hosts").await;
    assert_eq!(status, 200, "{body}");
    body["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

async fn infra_events(server: &TestServer, kind: &str) -> Vec<Value> {
    let (status, body) = server
        .get(&format!("/api/v1/events?kind={kind}&limit=500"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

const SECRET: &str = "s3cr3t-api-key-4711";

fn assert_no_secret(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the secret: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_plans_and_approved_applies_on_an_ssh_host() {
    if let Err(why) = gantry_testhost::available() {
        panic!("test hosts are unavailable (they need root): {why}");
    }
    if let Err(why) = gantry_testhost::sshd_available() {
        panic!("OpenSSH server is unavailable: {why}");
    }
    let lab = gantry_testhost::Lab::new().unwrap();
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    for d in ["keys", "infra", "root"] {
        fs::create_dir_all(dir.join(d)).unwrap();
    }
    let key = dir.join("keys/id");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let public = fs::read_to_string(dir.join("keys/id.pub")).unwrap();
    let host = lab.host("web1").unwrap();
    let sshd = host.start_sshd(&public).unwrap();
    fs::write(
        dir.join("keys/known_hosts"),
        format!("{}\n", sshd.known_hosts_line()),
    )
    .unwrap();
    fs::write(
        dir.join("gantry.yml"),
        format!(
            "hosts:\n  web1: {{ address: {}, user: root, ssh_key: keys/id, known_hosts: keys/known_hosts, groups: [web] }}\n\
             groups:\n  web: {{ drift: {{ every: 1s }} }}\n\
             secrets:\n  api_key: {{ file: keys/api_key }}\n",
            sshd.addr().ip()
        ),
    )
    .unwrap();
    let motd = dir.join("root/motd");
    let conf = dir.join("root/app.conf");
    fs::write(dir.join("keys/api_key"), format!("{SECRET}\n")).unwrap();
    fs::write(
        dir.join("infra/app.yml"),
        format!(
            "- hosts: [web]\n  resources:\n    - file: {{ path: {}, content: \"welcome\\n\" }}\n    - template: {{ path: {}, content: \"key={{{{ secrets.api_key }}}}\\n\" }}\n",
            motd.display(),
            conf.display()
        ),
    )
    .unwrap();

    let server = TestServer::start(dir, None).await;
    let admin = server.token.clone();

    // The first scheduled check finds the file missing: drifted, announced once.
    let web1 = server
        .wait_for(
            "the first drift check",
            Duration::from_secs(30),
            async |s| {
                let h = host_state(s, "web1").await;
                (h["state"] == "drifted").then_some(h)
            },
        )
        .await;
    assert_eq!(web1["groups"], json!(["web"]));
    assert_eq!(web1["drift_every_ms"], 1000);
    assert_eq!(web1["changes"], 2);
    let (status, detail) = server.get("/api/v1/infra/hosts/web1").await;
    assert_eq!(status, 200, "{detail}");
    assert_no_secret("the stored check", &detail.to_string());
    assert!(detail.to_string().contains("key=***"), "{detail}");
    let resources = detail["report"]["hosts"][0]["resources"]
        .as_array()
        .unwrap();
    assert!(
        resources.iter().all(|r| r["status"] == "change"),
        "{detail}"
    );
    let ids: Vec<String> = resources
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let resource_id = ids.iter().find(|i| i.contains("motd")).unwrap().clone();
    let (status, _) = server.get("/api/v1/infra/hosts/nope").await;
    assert_eq!(status, 404);

    // Plan now: saved, with its changes.
    let (status, planned) = send(
        &server,
        &admin,
        reqwest::Method::POST,
        "/infra/plans",
        Some(json!({ "hosts": "web*" })),
    )
    .await;
    assert_eq!(status, 201, "{planned}");
    assert_no_secret("the plan", &planned.to_string());
    assert_eq!(planned["plan"]["changes"], 2);
    assert_eq!(planned["plan"]["hosts"], json!(["web1"]));
    let plan_id = planned["plan"]["id"].as_i64().unwrap();
    let (status, bad) = send(
        &server,
        &admin,
        reqwest::Method::POST,
        "/infra/plans",
        Some(json!({ "hosts": "nothing-matches" })),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("field 'hosts'"),
        "{bad}"
    );

    // Requested: nothing happens until someone else approves.
    let (status, requested) = send(
        &server,
        &admin,
        reqwest::Method::POST,
        "/infra/applies",
        Some(json!({ "plan_id": plan_id })),
    )
    .await;
    assert_eq!(status, 201, "{requested}");
    assert_eq!(requested["apply"]["state"], "awaiting_approval");
    let apply_id = requested["apply"]["id"].as_i64().unwrap();
    let (status, missing) = send(
        &server,
        &admin,
        reqwest::Method::POST,
        "/infra/applies",
        Some(json!({ "plan_id": 987654 })),
    )
    .await;
    assert_eq!(status, 404, "{missing}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!motd.exists(), "an unapproved apply changed the host");
    let (status, own) = send(
        &server,
        &admin,
        reqwest::Method::POST,
        &format!("/infra/applies/{apply_id}/approve"),
        None,
    )
    .await;
    assert_eq!(status, 403, "{own}");
    assert_eq!(own["error"]["code"], "own_request");
    assert!(!motd.exists());

    // A second caller approves: the saved plan is applied.
    let (status, created) = send(
        &server,
        &admin,
        reqwest::Method::POST,
        "/tokens",
        Some(json!({ "name": "reviewer", "role": "developer" })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let reviewer = created["token"].as_str().unwrap().to_string();
    let (status, approved) = send(
        &server,
        &reviewer,
        reqwest::Method::POST,
        &format!("/infra/applies/{apply_id}/approve"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["apply"]["state"], "applied", "{approved}");
    assert_eq!(approved["apply"]["approved_by"], "token:reviewer");
    assert_eq!(fs::read_to_string(&motd).unwrap(), "welcome\n");
    assert_eq!(
        fs::read_to_string(&conf).unwrap(),
        format!("key={SECRET}\n")
    );
    assert_no_secret("the apply", &approved.to_string());
    let (status, again) = send(
        &server,
        &reviewer,
        reqwest::Method::POST,
        &format!("/infra/applies/{apply_id}/approve"),
        None,
    )
    .await;
    assert_eq!(status, 409, "{again}");
    let (status, got) = server
        .get(&format!("/api/v1/infra/applies/{apply_id}"))
        .await;
    assert_eq!((status, &got["apply"]["state"]), (200, &json!("applied")));

    let applied = infra_events(&server, "infra.applied").await;
    assert_eq!(applied.len(), 1, "{applied:?}");
    let data = &applied[0]["data"];
    assert_eq!(data["requested_by"], "token:bootstrap");
    assert_eq!(data["approved_by"], "token:reviewer");
    assert_eq!(data["state"], "applied");
    assert_eq!(data["hosts"][0]["host"], "web1");
    assert_eq!(data["hosts"][0]["changed"], json!(ids));
    assert_eq!(
        infra_events(&server, "infra.apply_requested").await.len(),
        1
    );
    assert_eq!(infra_events(&server, "infra.apply_approved").await.len(), 1);
    assert_eq!(host_state(&server, "web1").await["state"], "in_sync");

    // Drift made by hand: detected by the schedule, announced once with what changed.
    let before = infra_events(&server, "infra.drift_detected").await.len();
    fs::write(&motd, "edited by hand\n").unwrap();
    server
        .wait_for("drift to be detected", Duration::from_secs(30), async |s| {
            (host_state(s, "web1").await["state"] == "drifted").then_some(())
        })
        .await;
    // A few more checks find the same drift: no new event.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let detected = infra_events(&server, "infra.drift_detected").await;
    assert_eq!(detected.len(), before + 1, "{detected:?}");
    let newest = &detected[0]["data"];
    assert_eq!(newest["host"], "web1");
    assert_eq!(newest["from"], "in_sync");
    assert_eq!(newest["changed"], json!([resource_id]));
    let (_, detail) = server.get("/api/v1/infra/hosts/web1").await;
    assert!(detail.to_string().contains("edited by hand"), "{detail}");
    assert_eq!(detail["host"]["changes"], 1);
    let (_, events) = server.get("/api/v1/events?kind=infra.&limit=500").await;
    assert_no_secret("the events", &events.to_string());

    // The hosts page renders the host and its state.
    let page = server
        .http
        .get(format!("{}/infra", server.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("web1") && html.contains("drifted"), "{html}");
    let page = server
        .http
        .get(format!("{}/infra/hosts/web1", server.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("edited by hand"), "{html}");
    assert_no_secret("the host page", &html);

    server.stop().await;
    drop(sshd);
    drop(host);
    drop(lab);
}
