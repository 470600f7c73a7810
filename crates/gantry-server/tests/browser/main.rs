//! The web UI in a real browser: headless Chromium driven through chromedriver
//! (WebDriver) against a server started in process. It signs in, follows a running run's
//! log live, sees the job graph turn green without a reload, clicks Rerun and lands on
//! the new run; a deployment's page follows it live from waiting for approval to its
//! end (tests/browser/deploy.rs). With `GANTRY_UPDATE_SCREENSHOTS=1` it also saves the screenshots in
//! docs/images/ that the README and docs/web-ui.md show.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chrome;
mod deploy;
mod fixture;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrome::{Browser, ChromeDriver, wait_until};
use fixture::{TestServer, commit_readme_change, write_workspace};

pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// Where screenshots go when GANTRY_UPDATE_SCREENSHOTS=1, else None (so CI runs leave
/// the tree clean).
pub(crate) fn screenshot_path(name: &str) -> Option<PathBuf> {
    (std::env::var("GANTRY_UPDATE_SCREENSHOTS").as_deref() == Ok("1")).then(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/images")
            .join(name)
    })
}

/// The id of the job with `key` in run `run`.
async fn job_id(server: &TestServer, run: i64, key: &str) -> i64 {
    let detail = server.run(run).await;
    detail["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["key"] == key)
        .and_then(|j| j["id"].as_i64())
        .unwrap_or_else(|| panic!("no job {key} in {detail}"))
}

async fn node_status(browser: &Browser, job: i64) -> String {
    browser
        .attr(&format!(".dag .node[data-job-id=\"{job}\"]"), "data-status")
        .await
        .unwrap_or_default()
}

pub(crate) async fn sign_in(browser: &Browser, server: &TestServer) {
    browser.goto(&format!("{}/", server.base)).await;
    wait_until("the redirect to /login", WAIT, || async {
        let path = browser.path().await;
        if path.starts_with("/login") {
            Ok(())
        } else {
            Err(path)
        }
    })
    .await;
    browser.type_into("input[name=username]", "admin").await;
    browser
        .type_into("input[name=password]", &server.password)
        .await;
    browser
        .click("form[action='/login'] button[type=submit]")
        .await;
    wait_until("the dashboard after signing in", WAIT, || async {
        let path = browser.path().await;
        if path == "/" && browser.count("h1").await > 0 {
            Ok(())
        } else {
            Err(path)
        }
    })
    .await;
    assert_eq!(browser.text("h1").await, "Dashboard");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_follow_a_live_run_and_rerun_it() {
    let begun = Instant::now();
    let ws = tempfile::Builder::new()
        .prefix("gantry-browser-test.")
        .tempdir()
        .unwrap();
    write_workspace(ws.path());
    let (server, driver) = tokio::join!(TestServer::start(ws.path()), ChromeDriver::start());
    let browser = driver.session().await;

    // The slow green run the browser follows, and a red one (of a newer commit) for the
    // dashboard.
    let first = server.trigger("ci").await;
    commit_readme_change(ws.path());
    let lint = server.trigger("lint").await;
    let build = job_id(&server, first, "build").await;
    let test = job_id(&server, first, "test").await;

    // Signing in: / sends a signed-out browser to /login, which leads back to /.
    sign_in(&browser, &server).await;
    let link = format!("a.run-title[href=\"/runs/{first}\"]");
    assert_eq!(
        browser.count(&link).await,
        1,
        "the dashboard lists run {first}"
    );
    assert_eq!(
        browser
            .count(&format!("a.run-title[href=\"/runs/{lint}\"]"))
            .await,
        1,
        "the dashboard lists run {lint}"
    );

    // The run page, opened from the dashboard while `build` runs.
    browser.click(&link).await;
    wait_until("the run page", WAIT, || async {
        let path = browser.path().await;
        if path == format!("/runs/{first}") && browser.count("#run").await == 1 {
            Ok(())
        } else {
            Err(path)
        }
    })
    .await;
    // A mark that a reload would wipe: everything below must happen in this page load.
    browser
        .js("window.gantryTestMark = 'same page'; return true;")
        .await;
    assert_eq!(
        browser.attr("#log", "data-job-id").await,
        Some(build.to_string()),
        "the log panel shows the running job"
    );
    assert_eq!(
        browser.count("#rerun-form button").await,
        1,
        "the Rerun form is on the page"
    );
    assert!(
        !browser.displayed("#rerun-form button").await,
        "Rerun is hidden while the run is unfinished"
    );

    // Log lines arrive while the page is open: count them, a second apart.
    let lines = "#log-lines .ln";
    let before = wait_until("the first log lines", WAIT, || async {
        match browser.count(lines).await {
            0 => Err(format!(
                "no lines; build is {}",
                node_status(&browser, build).await
            )),
            n => Ok(n),
        }
    })
    .await;
    assert_eq!(
        node_status(&browser, build).await,
        "running",
        "build is running when its first lines are shown"
    );
    assert!(
        before < 30,
        "the page was opened while build was writing ({before} lines already)"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = browser.count(lines).await;
    assert!(
        after > before,
        "log lines arrive live: {before} lines, then {after} a second later"
    );

    // The graph turns green and Rerun appears, without a reload.
    for (job, name) in [(build, "build"), (test, "test")] {
        wait_until(
            &format!("{name} to show success in the graph"),
            WAIT,
            || async {
                match node_status(&browser, job).await.as_str() {
                    "success" => Ok(()),
                    other => Err(other.to_string()),
                }
            },
        )
        .await;
    }
    wait_until("the run to show success", WAIT, || async {
        match browser.attr("#run", "data-status").await.as_deref() {
            Some("success") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    wait_until("the Rerun button", WAIT, || async {
        if browser.displayed("#rerun-form button").await {
            Ok(())
        } else {
            Err("hidden".to_string())
        }
    })
    .await;
    assert!(!browser.displayed("#cancel-form").await, "Cancel is gone");
    assert_eq!(
        browser.js("return window.gantryTestMark || null;").await,
        "same page",
        "the page was not reloaded"
    );
    // The whole log, as the engine wrote it: two step headers, 30 coloured lines, the
    // stderr line marked.
    wait_until("the end of build's log", WAIT, || async {
        let text = browser.text("#log-lines").await;
        if text.contains("line 30: Compiling unit-30 of 30")
            && text.contains("linking target/release/web")
        {
            Ok(())
        } else {
            Err(format!("{} lines", browser.count(lines).await))
        }
    })
    .await;
    assert_eq!(browser.count("#log-lines .ln-step").await, 2);
    assert!(browser.count("#log-lines .ln.err").await >= 1);
    assert_eq!(browser.count("#log-lines .a-fg2.a-b").await, 30);
    assert_eq!(server.finished(lint, WAIT).await, "failure");
    // The step results arrived with the finished jobs, still without a reload.
    wait_until("every step's result, live", WAIT, || async {
        let steps = browser
            .count(".job-list .step[data-status=\"success\"]")
            .await;
        if steps == 3 {
            Ok(())
        } else {
            Err(format!("{steps} steps with success"))
        }
    })
    .await;
    assert_eq!(
        browser.js("return window.gantryTestMark || null;").await,
        "same page"
    );

    // Reloaded, the finished run shows every step's result, and the whole log again.
    browser.client.refresh().await.unwrap();
    wait_until("the reloaded run page with its log", WAIT, || async {
        let steps = browser
            .count(".job-list .step[data-status=\"success\"]")
            .await;
        let text = browser.text("#log-lines").await;
        if steps == 3 && text.contains("linking target/release/web") {
            Ok(())
        } else {
            Err(format!("{steps} steps with success"))
        }
    })
    .await;
    if let Some(file) = screenshot_path("run.png") {
        browser.save_full_page(&file).await;
    }

    // Rerun: the browser lands on run #2 of ci, which starts.
    browser.click("#rerun-form button").await;
    let second = wait_until("the new run's page", WAIT, || async {
        let path = browser.path().await;
        match path
            .strip_prefix("/runs/")
            .and_then(|id| id.parse::<i64>().ok())
        {
            Some(id) if id != first && browser.count("#run").await == 1 => Ok(id),
            _ => Err(path),
        }
    })
    .await;
    assert_eq!(browser.text(".crumbs strong").await, "#2");
    let detail = server.run(second).await;
    assert_eq!(detail["run"]["rerun_of"], first, "{detail}");
    assert_eq!(detail["run"]["number"], 2, "{detail}");
    wait_until("the new run to start", WAIT, || async {
        let status = browser
            .attr("#run", "data-status")
            .await
            .unwrap_or_default();
        let lines = browser.count(lines).await;
        if (status == "running" || status == "success") && lines > 0 {
            Ok(())
        } else {
            Err(format!("run {status}, {lines} log lines"))
        }
    })
    .await;
    assert_eq!(server.finished(second, WAIT).await, "success");

    if let Some(file) = screenshot_path("dashboard.png") {
        browser.goto(&format!("{}/", server.base)).await;
        wait_until("three runs on the dashboard", WAIT, || async {
            match browser.count(".run-row").await {
                3 => Ok(()),
                n => Err(format!("{n} runs")),
            }
        })
        .await;
        browser.save_full_page(&file).await;
    }

    browser.close().await;
    server.stop().await;
    drop(driver);
    eprintln!("browser test took {:?}", begun.elapsed());
}
