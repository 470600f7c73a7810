//! PostgreSQL: a connection pool and the migrations in `migrations/postgres`.
//!
//! Concurrency rules that keep every operation atomic without deadlocks (READ COMMITTED):
//! - a transaction that changes a run's jobs locks the run row first (`Tx::lock_run`), and
//!   one that touches a concurrency group takes the group's advisory lock before that;
//! - claiming locks job and run rows with `SKIP LOCKED`, so it never waits on anyone;
//! - events are inserted last, under one advisory lock held until commit (below).

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::types::Json;
use sqlx::{Connection, Executor, Postgres};

use super::{Arg, Result, Row, Sql, event_inserts};
use crate::error::StoreError;
use crate::model::NewEvent;

const MAX_CONNECTIONS: u32 = 10;

pub(crate) struct PgDb {
    pool: PgPool,
}

impl PgDb {
    pub(crate) async fn open(url: &str) -> Result<PgDb> {
        let options: PgConnectOptions =
            url.parse()
                .map_err(|e: sqlx::Error| StoreError::InvalidUrl {
                    url: crate::url::redact(url),
                    reason: e.to_string(),
                })?;
        let open_err = |e: sqlx::Error| StoreError::Open {
            backend: "postgres",
            message: e.to_string(),
        };
        // One plain connection first: a wrong host, port or password fails at once with
        // the server's reason, where the pool would keep retrying until its timeout.
        let probe = PgConnection::connect_with(&options)
            .await
            .map_err(open_err)?;
        probe.close().await.map_err(open_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(open_err)?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgDb { pool })
    }

    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

type Query = sqlx::query::Query<'static, Postgres, <Postgres as sqlx::Database>::Arguments>;

fn query(sql: Sql) -> Query {
    let (text, args) = sql.into_parts();
    args.into_iter()
        .fold(sqlx::query(text), |q, arg| match arg {
            Arg::I64(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::Bool(v) => q.bind(v),
            Arg::Json(v) => q.bind(Json(v)),
        })
}

pub(super) async fn fetch_all<'c, E>(executor: E, sql: Sql) -> Result<Vec<Row>>
where
    E: Executor<'c, Database = Postgres>,
{
    Ok(query(sql)
        .fetch_all(executor)
        .await?
        .into_iter()
        .map(Row::Postgres)
        .collect())
}

pub(super) async fn execute<'c, E>(executor: E, sql: Sql) -> Result<u64>
where
    E: Executor<'c, Database = Postgres>,
{
    Ok(query(sql).execute(executor).await?.rows_affected())
}

/// Appends the transaction's events under the event-log lock (advisory lock space 2),
/// held until commit.
///
/// Why: identity values are handed out at insert, but transactions commit in any order.
/// Without the lock a feed reading "events after id N" could see id 12 committed while
/// id 11 is still in flight, move its cursor past 11 and never see it. With the lock,
/// ids are allocated in commit order. It is taken after every row lock the transaction
/// needs, and a holder only inserts and commits, so it cannot deadlock; it serialises
/// just the tail of each transaction.
pub(super) async fn insert_events(
    tx: &mut sqlx::Transaction<'static, Postgres>,
    now: i64,
    events: Vec<NewEvent>,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    execute(&mut **tx, Sql::new("SELECT pg_advisory_xact_lock(2, 0)")).await?;
    for sql in event_inserts(now, events) {
        execute(&mut **tx, sql).await?;
    }
    Ok(())
}
