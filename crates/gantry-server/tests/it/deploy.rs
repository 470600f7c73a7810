//! Deployments through the server against real hosts: two container hosts (Debian,
//! systemd, OpenSSH; gantry-testhost), a project in a local git repository whose
//! pipeline builds the service's artifact and writes its `version` output, and the API
//! flow: deploy the newest good build (version and commit taken from the run), a second
//! deploy whose changelog lists exactly the commits since the first, a protected
//! environment that waits until someone other than the deployer approves, a rollback,
//! the environment's view of what runs where, the live stream, and the `deploy.*`
//! events. No mock: the hosts run what the server deployed.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use gantry_testhost::ContainerHost;
use serde_json::{Value, json};

use crate::infra::send;
use crate::server::TestServer;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Commits `VERSION` = `version` with `subject`; returns the commit id.
fn commit(repo: &Path, version: &str, subject: &str) -> String {
    fs::write(repo.join("VERSION"), format!("{version}\n")).unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "--allow-empty", "-m", subject]);
    git(repo, &["rev-parse", "HEAD"])
}

/// Starts container hosts `names` (in parallel) and writes an SSH key they accept and
/// their known_hosts into `dir/keys`.
fn fleet(dir: &Path, names: &[&'static str]) -> Vec<ContainerHost> {
    if let Err(why) = gantry_testhost::containers_available() {
        panic!("container hosts cannot run here: {why}");
    }
    fs::create_dir_all(dir.join("keys")).unwrap();
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(dir.join("keys/id"))
        .status()
        .unwrap();
    assert!(status.success());
    let public = fs::read_to_string(dir.join("keys/id.pub")).unwrap();
    let hosts: Vec<ContainerHost> = std::thread::scope(|s| {
        let started: Vec<_> = names
            .iter()
            .map(|n| {
                let public = &public;
                s.spawn(move || ContainerHost::start(n, public))
            })
            .collect();
        started
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect()
    });
    let known: String = hosts.iter().map(|h| h.known_hosts_line() + "\n").collect();
    fs::write(dir.join("keys/known_hosts"), known).unwrap();
    hosts
}

/// The `hosts:` section naming `hosts` with the key `fleet` wrote.
fn hosts_yaml(hosts: &[ContainerHost]) -> String {
    let mut yml = String::from("hosts:\n");
    for h in hosts {
        yml.push_str(&format!(
            "  {}: {{ address: {}, user: root, ssh_key: keys/id, known_hosts: keys/known_hosts }}\n",
            h.name(),
            h.addr()
        ));
    }
    yml
}

const PIPELINE: &str = r#"name: build
jobs:
  build:
    outputs: { version: "${{ steps.v.outputs.version }}" }
    artifacts: [app]
    steps:
      - id: v
        run: |
          mkdir -p app
          printf '#!/bin/sh\necho "$1" > /root/running\necho "$TOKEN" > /root/token\nexec sleep 100000\n' > app/run
          chmod +x app/run
          echo "version=$(cat VERSION)" >> "$GANTRY_OUTPUT"
"#;

/// The value of the service's secret: never in a record, an event or an answer.
const TOKEN: &str = "tok-3f9a-never-shown";

/// Runs the build pipeline and waits for it to succeed.
async fn build(server: &TestServer) -> i64 {
    let (status, body) = send(
        server,
        &server.token,
        reqwest::Method::POST,
        "/projects/web/pipelines/build/trigger",
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["runs"][0]["run_id"].as_i64().unwrap();
    server
        .wait_for("the build", Duration::from_secs(60), async |s| {
            let (_, r) = s.get(&format!("/api/v1/runs/{id}")).await;
            let status = r["run"]["status"].as_str().unwrap_or("").to_string();
            assert!(status != "failure" && status != "cancelled", "{r}");
            (status == "success").then_some(())
        })
        .await;
    id
}

async fn wait_state(server: &TestServer, id: i64, want: &str) -> Value {
    server
        .wait_for(
            &format!("deployment {id} to be {want}"),
            Duration::from_secs(120),
            async |s| {
                let (_, d) = s.get(&format!("/api/v1/deployments/{id}")).await;
                let state = d["deployment"]["state"].as_str().unwrap_or("").to_string();
                if state == want {
                    return Some(d);
                }
                assert!(
                    !["succeeded", "failed", "rolled_back", "cancelled"].contains(&state.as_str()),
                    "deployment {id} ended {state}, not {want}: {d}"
                );
                None
            },
        )
        .await
}

fn subjects(d: &Value) -> Vec<String> {
    d["changelog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_builds_with_their_changelog_approvals_and_a_rollback() {
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    let hosts = fleet(dir, &["srvdep1", "srvdep2"]);
    let repo = dir.join("web");
    fs::create_dir_all(repo.join(".gantry/pipelines")).unwrap();
    fs::write(repo.join(".gantry/pipelines/build.yml"), PIPELINE).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let first = commit(&repo, "1.0.0", "First release");
    fs::write(
        dir.join("gantry.yml"),
        format!(
            "projects:\n  web: {{ path: web, poll: off }}\n\
             {}\
             secrets:\n  token: {{ file: keys/token }}\n\
             environments:\n  staging: {{ hosts: [srvdep1] }}\n  production: {{ hosts: [srvdep2], approvals: 2 }}\n\
             services:\n  web:\n    project: web\n    artifact: {{ job: build, path: app }}\n    \
             run: {{ systemd: {{ exec: \"{{{{ release_dir }}}}/run {{{{ version }}}}\", env: {{ TOKEN: \"{{{{ secrets.token }}}}\" }} }} }}\n",
            hosts_yaml(&hosts)
        ),
    )
    .unwrap();
    let running = |i: usize| {
        hosts[i]
            .exec_ok("cat /root/running")
            .unwrap()
            .trim()
            .to_string()
    };

    let server = TestServer::start(dir, None).await;
    let admin = server.token.clone();
    let post = |path: &'static str, body: Value| {
        let (server, admin) = (&server, admin.clone());
        async move { send(server, &admin, reqwest::Method::POST, path, Some(body)).await }
    };
    let post_path = |path: String| {
        let (server, admin) = (&server, admin.clone());
        async move { send(server, &admin, reqwest::Method::POST, &path, None).await }
    };

    // The service's secret cannot be read yet: refused before anything is recorded.
    let (status, body) = post(
        "/deployments",
        json!({ "service": "web", "environment": "staging" }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("token"),
        "{body}"
    );
    fs::write(dir.join("keys/token"), format!("{TOKEN}\n")).unwrap();

    // Nothing built yet: a clear refusal, nothing recorded.
    let (status, body) = post(
        "/deployments",
        json!({ "service": "web", "environment": "staging" }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("successful 'build' job"),
        "{body}"
    );
    let (status, body) = post(
        "/deployments",
        json!({ "service": "wbe", "environment": "staging" }),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no service 'wbe'")
    );
    let (status, body) = post("/deployments", json!({ "service": "web" })).await;
    assert!(status == 400 || status == 422, "{status} {body}");

    // The newest good build goes out: version from the job's output, commit from the run.
    let run1 = build(&server).await;
    let (status, body) = post(
        "/deployments",
        json!({ "service": "web", "environment": "staging" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let d1 = &body["deployment"];
    assert_eq!(d1["version"], "1.0.0", "{d1}");
    assert_eq!(d1["run_id"], run1);
    assert_eq!(d1["commit_sha"], first.as_str());
    assert_eq!(d1["trigger"], "api");
    assert_eq!(subjects(d1), ["First release"]);
    let id1 = d1["id"].as_i64().unwrap();
    let done = wait_state(&server, id1, "succeeded").await;
    assert_eq!(running(0), "1.0.0");
    assert!(
        done["deployment"]["hosts"]["srvdep1"]["phase"] != "waiting",
        "{done}"
    );
    assert!(!done["lines"].as_array().unwrap().is_empty(), "{done}");
    assert_eq!(done["deployment"]["report"]["outcome"], "succeeded");

    // Two more commits: the second deploy's changelog is exactly those, newest first.
    commit(&repo, "1.1.0", "Second: faster pages");
    let third = commit(&repo, "1.1.0", "Third: fix the footer");
    let run2 = build(&server).await;
    let (status, body) = post(
        "/deployments",
        json!({ "service": "web", "environment": "staging" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let d2 = &body["deployment"];
    assert_eq!(d2["version"], "1.1.0");
    assert_eq!(d2["previous_version"], "1.0.0");
    assert_eq!(d2["previous_commit"], first.as_str());
    assert_eq!(d2["commit_sha"], third.as_str());
    assert_eq!(
        subjects(d2),
        ["Third: fix the footer", "Second: faster pages"]
    );
    let id2 = d2["id"].as_i64().unwrap();

    // The live stream replays the lines and ends once the deployment has.
    let live = server
        .http
        .get(format!("{}/api/v1/deployments/{id2}/live", server.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(live.status().as_u16(), 200);
    let text = tokio::time::timeout(Duration::from_secs(120), live.text())
        .await
        .expect("the live stream ends with the deployment")
        .unwrap();
    assert!(text.contains("event: line"), "{text}");
    assert!(text.contains("event: deployment"), "{text}");
    assert!(text.trim_end().ends_with("data: {}"), "{text}");
    wait_state(&server, id2, "succeeded").await;
    assert_eq!(running(0), "1.1.0");

    // A newer build exists, but production gets exactly what staging runs (a
    // promotion), after two approvals from people other than the deployer: a
    // reviewer's token through the API, then the admin user with the page's button.
    commit(&repo, "1.2.0", "Fourth: not on staging yet");
    build(&server).await;
    for (bad, why) in [
        (
            json!({ "service": "web", "environment": "production", "from": "staging", "version": "1.2.0" }),
            "without a version",
        ),
        (
            json!({ "service": "web", "environment": "production", "from": "production" }),
            "to itself",
        ),
    ] {
        let (status, body) = post("/deployments", bad).await;
        assert_eq!(status, 422, "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(why),
            "{body}"
        );
    }
    let (status, body) = post(
        "/deployments",
        json!({ "service": "web", "environment": "production", "from": "staging" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["deployment"]["version"], "1.1.0", "{body}");
    assert_eq!(body["deployment"]["run_id"], run2);
    assert_eq!(body["deployment"]["trigger"], "promote");
    let id3 = body["deployment"]["id"].as_i64().unwrap();
    let deployer = body["deployment"]["triggered_by"]
        .as_str()
        .unwrap()
        .to_string();
    wait_state(&server, id3, "waiting_approval").await;
    assert!(
        hosts[1].exec_ok("test -e /root/running").is_err(),
        "nothing runs before the approvals"
    );
    let approve = format!("/deployments/{id3}/approve");
    let (status, body) = send(&server, &admin, reqwest::Method::POST, &approve, None).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("someone else"),
        "{body}"
    );
    let (status, created) = post(
        "/tokens",
        json!({ "name": "reviewer", "role": "developer" }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let reviewer = created["token"].as_str().unwrap().to_string();
    let (status, body) = send(&server, &reviewer, reqwest::Method::POST, &approve, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["approved_by"], json!(["token:reviewer"]));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, still) = server.get(&format!("/api/v1/deployments/{id3}")).await;
    assert_eq!(
        still["deployment"]["state"], "waiting_approval",
        "one of two"
    );

    let session = crate::ui::sign_in(&server).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(format!("{}/deployments/{id3}", server.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"approve-form\""), "{page}");
    assert!(page.contains("waiting for 2 approval(s)"), "{page}");
    let r = http
        .post(format!("{}{approve}", server.base))
        .header("cookie", &session)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "a form from elsewhere is refused");
    let r = http
        .post(format!("{}{approve}", server.base))
        .header("cookie", &session)
        .form(&[("csrf", crate::ui::csrf_field(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], format!("/deployments/{id3}"));
    let done = wait_state(&server, id3, "succeeded").await;
    assert_eq!(running(1), "1.1.0");
    let mut approvers: Vec<String> = done["deployment"]["report"]["approved_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    approvers.sort();
    assert_eq!(approvers, ["admin", "token:reviewer"]);
    assert_eq!(
        done["deployment"]["report"]["triggered_by"],
        deployer.as_str()
    );

    // The pages: the environment's grid and history, the deployment's record.
    let page = |path: String| {
        let (http, session, base) = (&http, &session, &server.base);
        async move {
            let r = http
                .get(format!("{base}{path}"))
                .header("cookie", session)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, html) = page("/environments".into()).await;
    assert_eq!(status, 200);
    assert!(html.contains("href=\"/environments/production\""), "{html}");
    let (status, html) = page(format!("/deployments/{id2}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Third: fix the footer"), "{html}");
    assert!(
        !html.contains("data-live="),
        "a finished deployment opens no stream"
    );
    let (status, _) = page("/environments/nope".into()).await;
    assert_eq!(status, 404);

    // A rollback of staging puts 1.0.0 back; the environment's view says so.
    let (status, body) = post(
        "/rollbacks",
        json!({ "service": "web", "environment": "staging" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id4 = body["deployment"]["id"].as_i64().unwrap();
    assert_eq!(body["deployment"]["kind"], "rollback");
    wait_state(&server, id4, "succeeded").await;
    assert_eq!(running(0), "1.0.0");
    let (status, env) = server.get("/api/v1/environments/staging").await;
    assert_eq!(status, 200, "{env}");
    let web = &env["environment"]["services"][0];
    assert_eq!(web["service"], "web");
    assert_eq!(web["running"]["srvdep1"]["version"], "1.0.0", "{env}");
    let (_, envs) = server.get("/api/v1/environments").await;
    let prod = envs["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "production")
        .unwrap();
    assert_eq!(prod["approvals"], 2);
    assert_eq!(
        prod["services"][0]["running"]["srvdep2"]["version"],
        "1.1.0"
    );
    let (status, _) = server.get("/api/v1/environments/nope").await;
    assert_eq!(status, 404);
    let (status, html) = page("/environments/staging".into()).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("data-host=\"srvdep1\"><code>1.0.0</code>"),
        "{html}"
    );
    assert!(html.contains("id=\"deploy-form\""), "{html}");

    // A deploy waiting for its approvals can be cancelled: nothing changes on the host.
    let (status, body) = post(
        "/deployments",
        json!({ "service": "web", "environment": "production", "version": "1.2.0" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id5 = body["deployment"]["id"].as_i64().unwrap();
    wait_state(&server, id5, "waiting_approval").await;
    let (status, body) = post_path(format!("/deployments/{id5}/cancel")).await;
    assert_eq!(status, 202, "{body}");
    let cancelled = wait_state(&server, id5, "cancelled").await;
    assert!(
        cancelled["deployment"]["report"]["error"]
            .as_str()
            .unwrap()
            .contains("nothing was changed"),
        "{cancelled}"
    );
    assert_eq!(
        running(1),
        "1.1.0",
        "production still runs the promoted release"
    );
    let (status, body) = post_path(format!("/deployments/{id5}/cancel")).await;
    assert_eq!(status, 409, "{body}");

    // The service got its secret; nothing the server kept or answers shows it.
    assert_eq!(hosts[0].exec_ok("cat /root/token").unwrap().trim(), TOKEN);
    for path in [
        "/api/v1/deployments?limit=50".to_string(),
        format!("/api/v1/deployments/{id2}"),
        "/api/v1/events?limit=500".to_string(),
        "/api/v1/environments".to_string(),
    ] {
        let (_, body) = server.get(&path).await;
        assert!(!body.to_string().contains(TOKEN), "{path} shows the secret");
    }

    // Every step is in the event log.
    let (_, events) = server.get("/api/v1/events?kind=deploy.&limit=500").await;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "deploy.started",
        "deploy.host_progress",
        "deploy.approved",
        "deploy.finished",
    ] {
        assert!(kinds.contains(&k), "no {k} in {kinds:?}");
    }
    let finished: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "deploy.finished")
        .collect();
    let outcomes: Vec<&str> = finished
        .iter()
        .map(|e| e["data"]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "succeeded").count(),
        4,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| **o == "cancelled").count(),
        1,
        "{outcomes:?}"
    );
    assert!(kinds.contains(&"deploy.cancel_requested"), "{kinds:?}");
    let (status, list) = server
        .get("/api/v1/deployments?environment=staging&limit=10")
        .await;
    assert_eq!(status, 200);
    let ids: Vec<i64> = list["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [id4, id2, id1]);
    server.stop().await;
}

const PIPELINE_WITH_DEPLOY: &str = r#"name: ship
jobs:
  build:
    outputs: { version: "${{ steps.v.outputs.version }}" }
    artifacts: [app]
    steps:
      - id: v
        run: |
          mkdir -p app
          printf '#!/bin/sh\necho "$1" > /root/running\nexec sleep 100000\n' > app/run
          chmod +x app/run
          echo "version=$(cat VERSION)" >> "$GANTRY_OUTPUT"
  deploy-staging:
    needs: [build]
    deploy: { service: web, environment: staging, version: "${{ needs.build.outputs.version }}" }
"#;

/// A pipeline's deploy job on the server's own pool becomes a recorded deployment (its
/// progress in the job's log), and `auto_deploy: { branch: main }` deploys the run's
/// build to another environment once the run succeeded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_deploy_jobs_and_auto_deploys_are_recorded_deployments() {
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    let hosts = fleet(dir, &["srvpipe1", "srvpipe2"]);
    let repo = dir.join("web");
    fs::create_dir_all(repo.join(".gantry/pipelines")).unwrap();
    fs::write(
        repo.join(".gantry/pipelines/ship.yml"),
        PIPELINE_WITH_DEPLOY,
    )
    .unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let sha = commit(&repo, "2.0.0", "Ship it");
    fs::write(
        dir.join("gantry.yml"),
        format!(
            "projects:\n  web: {{ path: web, poll: off }}\n\
             {}\
             environments:\n  staging: {{ hosts: [srvpipe1], branches: [main] }}\n  qa: {{ hosts: [srvpipe2], auto_deploy: {{ branch: main }} }}\n\
             services:\n  web:\n    project: web\n    artifact: {{ job: build, path: app }}\n    \
             run: {{ systemd: {{ exec: \"{{{{ release_dir }}}}/run {{{{ version }}}}\" }} }}\n",
            hosts_yaml(&hosts)
        ),
    )
    .unwrap();
    let running = |i: usize| {
        hosts[i]
            .exec_ok("cat /root/running")
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };

    let server = TestServer::start(dir, None).await;
    let (status, body) = send(
        &server,
        &server.token,
        reqwest::Method::POST,
        "/projects/web/pipelines/ship/trigger",
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let run = body["runs"][0]["run_id"].as_i64().unwrap();
    let finished = server
        .wait_for("the run", Duration::from_secs(120), async |s| {
            let (_, r) = s.get(&format!("/api/v1/runs/{run}")).await;
            let status = r["run"]["status"].as_str().unwrap_or("").to_string();
            ["success", "failure", "cancelled"]
                .contains(&status.as_str())
                .then_some(r)
        })
        .await;
    assert_eq!(finished["run"]["status"], "success", "{finished}");
    assert_eq!(running(0), "2.0.0", "the deploy job deployed staging");

    // The deploy job's deployment: recorded with its run, commit and trigger.
    let (_, list) = server.get("/api/v1/deployments?environment=staging").await;
    let d = &list["deployments"][0];
    assert_eq!(d["trigger"], "pipeline", "{list}");
    assert_eq!(d["run_id"], run);
    assert_eq!(d["commit_sha"], sha.as_str());
    assert_eq!(d["version"], "2.0.0");
    assert_eq!(d["state"], "succeeded");
    // Its progress is in the job's log.
    let jobs = finished["jobs"].as_array().unwrap();
    let deploy_job = jobs
        .iter()
        .find(|j| j["job_id"] == "deploy-staging")
        .unwrap_or_else(|| panic!("no deploy job in {finished}"));
    assert_eq!(deploy_job["status"], "success");
    let (_, log) = server
        .get(&format!(
            "/api/v1/jobs/{}/logs",
            deploy_job["id"].as_i64().unwrap()
        ))
        .await;
    let text = log.to_string();
    assert!(
        text.contains(&format!("deployment {} of web 2.0.0 to staging", d["id"])),
        "{text}"
    );
    assert!(text.contains("srvpipe1"), "{text}");

    // qa deploys the same build by itself once the run succeeded.
    let auto = server
        .wait_for(
            "the auto deploy to qa",
            Duration::from_secs(120),
            async |s| {
                let (_, list) = s.get("/api/v1/deployments?environment=qa").await;
                let d = list["deployments"][0].clone();
                (d["state"] == "succeeded").then_some(d)
            },
        )
        .await;
    assert_eq!(auto["trigger"], "auto");
    assert_eq!(auto["run_id"], run);
    assert_eq!(auto["version"], "2.0.0");
    assert_eq!(running(1), "2.0.0");
    server.stop().await;
}
