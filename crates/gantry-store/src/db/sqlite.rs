//! SQLite: a file in WAL mode with one writer connection and a few readers, foreign keys
//! on, a busy timeout, and the migrations in `migrations/sqlite`.
//!
//! Why one writer: SQLite allows one write transaction at a time anyway. Queueing writers
//! on an async pool of one connection is fair and never spins, where many connections
//! would all sleep-and-retry in SQLite's busy handler. `BEGIN IMMEDIATE` still guards
//! against another process writing the same file (the busy timeout covers that case).

use std::path::PathBuf;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Executor, Sqlite};

use super::{Arg, Result, Row, Sql, event_inserts};
use crate::error::StoreError;
use crate::model::NewEvent;

/// Where the SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SqliteTarget {
    File(PathBuf),
    /// A private in-memory database (tests, `gantry serve --database-url sqlite::memory:`).
    Memory,
}

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const READERS: u32 = 4;

pub(crate) struct SqliteDb {
    writer: SqlitePool,
    reader: SqlitePool,
}

fn open_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        backend: "sqlite",
        message: e.to_string(),
    }
}

impl SqliteDb {
    pub(crate) async fn open(target: SqliteTarget) -> Result<SqliteDb> {
        let base = SqliteConnectOptions::new()
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        match target {
            SqliteTarget::Memory => {
                // One connection that lives as long as the pool: the database is that
                // connection's memory, so it must never be closed and reopened.
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(base.in_memory(true))
                    .await
                    .map_err(open_err)?;
                migrate(&pool).await?;
                Ok(SqliteDb {
                    writer: pool.clone(),
                    reader: pool,
                })
            }
            SqliteTarget::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    tokio::fs::create_dir_all(dir)
                        .await
                        .map_err(|e| open_err(format!("cannot create {}: {e}", dir.display())))?;
                }
                let file = base.filename(&path);
                // NORMAL is durable in WAL mode except for the last commits before a power
                // loss; it saves an fsync per transaction.
                let writer_options = file
                    .clone()
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal);
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(writer_options)
                    .await
                    .map_err(|e| open_err(format!("{}: {e}", path.display())))?;
                migrate(&writer).await?;
                // Readers see committed data while the writer works (WAL); the journal mode
                // is a property of the file, set once by the writer.
                let reader = SqlitePoolOptions::new()
                    .max_connections(READERS)
                    .connect_with(file.read_only(true))
                    .await
                    .map_err(|e| open_err(format!("{}: {e}", path.display())))?;
                Ok(SqliteDb { writer, reader })
            }
        }
    }

    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    pub(crate) fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    pub(crate) fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    pub(crate) async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

async fn migrate(pool: &SqlitePool) -> Result<()> {
    sqlx::migrate!("./migrations/sqlite").run(pool).await?;
    Ok(())
}

type Query = sqlx::query::Query<'static, Sqlite, <Sqlite as sqlx::Database>::Arguments>;

fn query(sql: Sql) -> Query {
    let (text, args) = sql.into_parts();
    args.into_iter()
        .fold(sqlx::query(text), |q, arg| match arg {
            Arg::I64(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::Bool(v) => q.bind(v),
            Arg::Json(v) => q.bind(v.to_string()),
        })
}

pub(super) async fn fetch_all<'c, E>(executor: E, sql: Sql) -> Result<Vec<Row>>
where
    E: Executor<'c, Database = Sqlite>,
{
    Ok(query(sql)
        .fetch_all(executor)
        .await?
        .into_iter()
        .map(Row::Sqlite)
        .collect())
}

pub(super) async fn execute<'c, E>(executor: E, sql: Sql) -> Result<u64>
where
    E: Executor<'c, Database = Sqlite>,
{
    Ok(query(sql).execute(executor).await?.rows_affected())
}

pub(super) async fn insert_events(
    tx: &mut sqlx::Transaction<'static, Sqlite>,
    now: i64,
    events: Vec<NewEvent>,
) -> Result<()> {
    // Writers are serialised, so AUTOINCREMENT ids are already in commit order.
    for sql in event_inserts(now, events) {
        execute(&mut **tx, sql).await?;
    }
    Ok(())
}
