//! Cron schedules through the running server: after downtime that missed several fire
//! times, exactly one catch-up run starts (trigger `schedule`, at the branch tip), and
//! the schedule's state is saved so a restart does not start another.

use std::time::Duration;

use crate::git_repo::TestRepo;
use crate::server::TestServer;

const PIPELINE: &str = r#"
name: yearly
on:
  schedule: [{ cron: "0 0 1 1 *", timezone: "Europe/Berlin" }]
jobs:
  report:
    steps:
      - run: echo "scheduled report"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_schedules_run_once_after_downtime() {
    let repo = TestRepo::new();
    let sha = repo.commit(
        &[(".gantry/pipelines/yearly.yml", Some(PIPELINE))],
        "schedule",
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
    // The server last fired this schedule three years ago: three fire times were missed.
    let data = tempfile::tempdir().unwrap();
    let last = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(3 * 366 * 24);
    std::fs::write(
        data.path().join("cron.json"),
        serde_json::json!({ "app/yearly/0 0 1 1 *@Europe/Berlin": last }).to_string(),
    )
    .unwrap();
    let data_path = data.path().to_path_buf();
    let server = TestServer::start_in(ws.path(), None, data).await;
    let run = server
        .wait_for("the catch-up run", Duration::from_secs(20), async |s| {
            let (_, runs) = s.get("/api/v1/runs?project=app").await;
            runs["runs"].as_array().unwrap().first().cloned()
        })
        .await;
    assert_eq!(run["trigger"], "schedule", "{run}");
    assert_eq!(run["pipeline"], "yearly");
    assert_eq!(run["git"]["sha"], sha);
    // A few more ticks of the scheduler: still exactly one run.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, runs) = server.get("/api/v1/runs?project=app").await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1, "{runs}");
    // The fire time is saved, so a restart would not catch up again.
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data_path.join("cron.json")).unwrap()).unwrap();
    let saved_at: jiff::Timestamp = saved["app/yearly/0 0 1 1 *@Europe/Berlin"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(saved_at > last, "the catch-up was recorded");
    server.stop().await;
}
