//! A deployment's page in a real browser: opened while the deployment waits for an
//! approval, it shows the Approve button; approved (by another token, through the API),
//! the page appends the progress lines and turns its badge as they come, without a
//! reload, and reloads itself once at the end to show the record. What the page saw
//! while live is kept in the tab's sessionStorage by a MutationObserver the test installs,
//! so it survives that final reload. Runs against one container host (gantry-testhost).

use std::path::Path;
use std::process::Command;

use gantry_testhost::ContainerHost;
use serde_json::json;

use crate::chrome::{ChromeDriver, wait_until};
use crate::fixture::{PROJECT, TestServer};
use crate::{WAIT, screenshot_path, sign_in};

const BUILD: &str = r#"name: build
on: { manual: {} }
jobs:
  build:
    outputs: { version: "${{ steps.v.outputs.version }}" }
    artifacts: [app]
    steps:
      - id: v
        run: |
          mkdir -p app
          printf '#!/bin/sh\nexec sleep 100000\n' > app/run
          chmod +x app/run
          echo "version=1.4.0" >> "$GANTRY_OUTPUT"
"#;

fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .unwrap();
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
}

/// Records, in sessionStorage, every progress line the page appends and every state its
/// badge shows.
const OBSERVE: &str = r#"
sessionStorage.setItem('lines', '0');
sessionStorage.setItem('states', '');
new MutationObserver(function (records) {
  records.forEach(function (r) {
    var n = parseInt(sessionStorage.getItem('lines'), 10) + r.addedNodes.length;
    sessionStorage.setItem('lines', String(n));
  });
}).observe(document.getElementById('deploy-lines'), { childList: true });
new MutationObserver(function () {
  var s = document.querySelector('#deployment-state .badge-label').textContent;
  sessionStorage.setItem('states', sessionStorage.getItem('states') + ' ' + s);
}).observe(document.getElementById('deployment-state'), { subtree: true, childList: true, characterData: true });
return true;
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_page_follows_the_deployment_live() {
    if let Err(why) = gantry_testhost::containers_available() {
        panic!("container hosts cannot run here: {why}");
    }
    let ws = tempfile::Builder::new()
        .prefix("gantry-browser-deploy.")
        .tempdir()
        .unwrap();
    let dir = ws.path();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    run(
        dir,
        "ssh-keygen",
        &["-q", "-t", "ed25519", "-N", "", "-f", "keys/id"],
    );
    let public = std::fs::read_to_string(dir.join("keys/id.pub")).unwrap();
    let host = ContainerHost::start("brdep1", &public).unwrap();
    std::fs::write(dir.join("keys/known_hosts"), host.known_hosts_line() + "\n").unwrap();
    let repo = dir.join("web");
    std::fs::create_dir_all(repo.join(".gantry/pipelines")).unwrap();
    std::fs::write(repo.join(".gantry/pipelines/build.yml"), BUILD).unwrap();
    run(&repo, "git", &["init", "-q", "-b", "main"]);
    run(&repo, "git", &["add", "."]);
    run(
        &repo,
        "git",
        &["commit", "-q", "-m", "Faster checkout pages"],
    );
    std::fs::write(
        dir.join("gantry.yml"),
        format!(
            "projects:\n  {PROJECT}: {{ path: web, poll: off }}\n\
             hosts:\n  brdep1: {{ address: {}, user: root, ssh_key: keys/id, known_hosts: keys/known_hosts }}\n\
             environments:\n  production: {{ hosts: [brdep1], approvals: 1 }}\n\
             services:\n  web:\n    project: {PROJECT}\n    artifact: {{ job: build, path: app }}\n    \
             run: {{ systemd: {{ exec: \"{{{{ release_dir }}}}/run\" }} }}\n",
            host.addr()
        ),
    )
    .unwrap();

    let (server, driver) = tokio::join!(TestServer::start(dir), ChromeDriver::start());
    let build = server.trigger("build").await;
    assert_eq!(server.finished(build, WAIT).await, "success");
    let (status, body) = server
        .post(
            "/api/v1/deployments",
            json!({ "service": "web", "environment": "production" }),
            None,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["deployment"]["id"].as_i64().unwrap();
    wait_until("the deployment to wait for approval", WAIT, || async {
        let d = server.get(&format!("/api/v1/deployments/{id}")).await;
        match d["deployment"]["state"].as_str() {
            Some("waiting_approval") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    let browser = driver.session().await;
    sign_in(&browser, &server).await;
    browser
        .goto(&format!("{}/deployments/{id}", server.base))
        .await;
    wait_until("the deployment page", WAIT, || async {
        match browser.count("#deploy-lines li").await {
            0 => Err("no lines yet".to_string()),
            n => Ok(n),
        }
    })
    .await;
    assert_eq!(
        browser.text("#deployment-state .badge-label").await,
        "waiting_approval"
    );
    assert!(
        browser.displayed("#approve-form button").await,
        "the admin user did not start it (a token did): they may approve"
    );
    assert!(
        browser
            .attr("#deployment", "data-live")
            .await
            .is_some_and(|u| u.ends_with(&format!("/deployments/{id}/live")))
    );
    if let Some(file) = screenshot_path("deployment-waiting.png") {
        browser.save_full_page(&file).await;
    }
    browser.js(OBSERVE).await;

    // Someone else approves through the API; the open page follows the rest.
    let (status, created) = server
        .post(
            "/api/v1/tokens",
            json!({ "name": "reviewer", "role": "developer" }),
            None,
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let reviewer = created["token"].as_str().unwrap().to_string();
    let (status, body) = server
        .post(
            &format!("/api/v1/deployments/{id}/approve"),
            json!({}),
            Some(&reviewer),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // At its end the page reloads itself: the record, no stream any more.
    wait_until("the page to show the finished deployment", WAIT, || async {
        let state = browser.text("#deployment-state .badge-label").await;
        let live = browser.attr("#deployment", "data-live").await;
        if state == "succeeded" && live.is_none() {
            Ok(())
        } else {
            Err(format!("{state}, live {live:?}"))
        }
    })
    .await;
    let seen_lines: u64 = browser
        .js("return sessionStorage.getItem('lines');")
        .await
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(seen_lines > 0, "progress lines were appended live");
    let states = browser
        .js("return sessionStorage.getItem('states');")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        states.contains("running") || states.contains("succeeded"),
        "the badge changed live: {states:?}"
    );
    assert_eq!(
        browser.text("tr[data-host=\"brdep1\"] .result").await,
        "switched"
    );
    assert!(!browser.displayed("#approve-form").await || browser.count("#approve-form").await == 0);
    assert!(
        browser
            .text("ul.commits")
            .await
            .contains("Faster checkout pages")
    );
    if let Some(file) = screenshot_path("deployment.png") {
        browser.save_full_page(&file).await;
    }

    // The environment's page: the version production runs, the history.
    browser
        .goto(&format!("{}/environments/production", server.base))
        .await;
    wait_until("the environment page", WAIT, || async {
        let cell = browser
            .text("tr[data-service=\"web\"] td[data-host=\"brdep1\"]")
            .await;
        if cell == "1.4.0" { Ok(()) } else { Err(cell) }
    })
    .await;
    assert_eq!(browser.count(".history-table tbody tr").await, 1);
    if let Some(file) = screenshot_path("environment.png") {
        browser.save_full_page(&file).await;
    }
    browser.close().await;
    server.stop().await;
    drop(driver);
}
