//! Runs each story against a fresh SQLite file and a fresh PostgreSQL database, plus the
//! small builders the stories share (plans from pipeline YAML, runs, claim/finish helpers).

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::Connection;

use gantry_store::{
    ClaimedJob, EventFilter, GitFacts, JobConclusion, JobOutcome, NewRun, RunId, Store, Trigger,
};

pub type Shared = Arc<dyn Store>;

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const LEASE: Duration = Duration::from_secs(60);

/// The admin URL of the test PostgreSQL: `GANTRY_TEST_DATABASE_URL`, or the cluster that
/// scripts/start-postgres.sh starts (once per test binary). Failing to get one fails the
/// test: PostgreSQL stories never skip.
pub fn postgres_admin_url() -> String {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    let url = URL.get_or_init(|| {
        if let Ok(url) = std::env::var("GANTRY_TEST_DATABASE_URL")
            && !url.is_empty()
        {
            return Ok(url);
        }
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/start-postgres.sh"
        );
        let out = std::process::Command::new("bash")
            .arg(script)
            .output()
            .map_err(|e| format!("cannot run {script}: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "{script} failed ({}):\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("export GANTRY_TEST_DATABASE_URL="))
            .map(str::to_string)
            .ok_or_else(|| format!("{script} printed no GANTRY_TEST_DATABASE_URL line:\n{stdout}"))
    });
    match url {
        Ok(url) => url.clone(),
        Err(e) => panic!("PostgreSQL for the tests is not available: {e}"),
    }
}

fn random_name() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("randomness");
    format!("gantry_test_{}", hex::encode(bytes))
}

/// The URL with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// Opens a fresh store, runs the story, closes the store and drops the database.
pub async fn run<F, Fut>(backend: Backend, story: F)
where
    F: FnOnce(Shared) -> Fut,
    Fut: Future<Output = ()>,
{
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("gantry.db").display());
            let store: Shared = Arc::from(gantry_store::open(&url).await.expect("open sqlite"));
            assert_eq!(store.backend(), "sqlite");
            story(store.clone()).await;
            store.close().await;
        }
        Backend::Postgres => {
            let admin_url = tokio::task::spawn_blocking(postgres_admin_url)
                .await
                .expect("admin url");
            let name = random_name();
            let mut admin = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("connect to the test PostgreSQL");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .expect("create test database");
            let store: Shared = Arc::from(
                gantry_store::open(&with_database(&admin_url, &name))
                    .await
                    .expect("open postgres"),
            );
            assert_eq!(store.backend(), "postgres");
            story(store.clone()).await;
            store.close().await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .expect("drop test database");
        }
    }
}

/// Declares one test per backend for each story function `async fn(Shared)`.
#[macro_export]
macro_rules! stories {
    ($($story:ident),* $(,)?) => {
        $(
            mod $story {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    $crate::harness::run($crate::harness::Backend::Sqlite, super::$story).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    $crate::harness::run($crate::harness::Backend::Postgres, super::$story).await
                }
            }
        )*
    };
}

/// Compiles pipeline YAML to a plan, failing the test on any diagnostic.
pub fn plan(yaml: &str) -> gantry_pipeline::Plan {
    let compiled = gantry_pipeline::compile("ci.yml", yaml);
    match compiled.plan {
        Some(plan) => plan,
        None => panic!("test pipeline does not compile: {:?}", compiled.diagnostics),
    }
}

/// `lint`, then `test` and `build` both needing `lint`.
pub const THREE_JOBS: &str = "
name: ci
jobs:
  lint:
    steps: [{ run: 'true' }]
  test:
    needs: [lint]
    steps: [{ name: unit, run: 'true' }, { name: integration, run: 'true' }]
  build:
    needs: [lint]
    steps: [{ run: 'true' }]
";

pub fn new_run(project: &str, yaml: &str) -> NewRun {
    let plan = plan(yaml);
    NewRun {
        project: project.to_string(),
        pipeline: plan.name.clone(),
        trigger: Trigger::Push,
        git: GitFacts {
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            branch: Some("main".into()),
            tag: None,
            message: "Fix the flux capacitor".into(),
            author: "Ada <ada@example.com>".into(),
        },
        inputs: Default::default(),
        plan,
        concurrency: None,
        actor: Some("ada".into()),
    }
}

/// Claims everything claimable for `owner`.
pub async fn claim_all(store: &Shared, owner: &str) -> Vec<ClaimedJob> {
    store.claim_jobs(owner, 1000, LEASE).await.expect("claim")
}

pub async fn finish(
    store: &Shared,
    job: &ClaimedJob,
    result: JobConclusion,
) -> gantry_store::FinishedJob {
    store
        .finish_job(job.job_id, job.fencing_token, JobOutcome::new(result))
        .await
        .expect("finish")
}

pub fn keys(jobs: &[ClaimedJob]) -> Vec<&str> {
    let mut keys: Vec<&str> = jobs.iter().map(|j| j.key.as_str()).collect();
    keys.sort();
    keys
}

/// The kinds of a run's events, oldest first, with the job key for job and step events
/// (`job.started:lint`).
pub async fn event_trail(store: &Shared, run: RunId) -> Vec<String> {
    let filter = EventFilter {
        run_id: Some(run),
        limit: 1000,
        ..Default::default()
    };
    store
        .events(&filter)
        .await
        .expect("events")
        .into_iter()
        .map(|e| match e.data.get("key").and_then(|k| k.as_str()) {
            Some(key) => format!("{}:{key}", e.kind),
            None => e.kind,
        })
        .collect()
}

#[test]
fn database_name_replacement() {
    assert_eq!(
        with_database("postgres://u@h:1/gantry", "t1"),
        "postgres://u@h:1/t1"
    );
    assert_eq!(
        with_database("postgres://u@h:1/gantry?sslmode=disable", "t1"),
        "postgres://u@h:1/t1?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "t1"), "postgres://h/t1");
}
