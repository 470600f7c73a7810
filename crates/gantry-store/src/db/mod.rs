//! The thin layer between the store's logic and sqlx: one `Db`/`Tx`/`Row` API over the
//! SQLite and PostgreSQL drivers, so every operation is written once.
//!
//! Why not sqlx's `Any` driver: it maps types lossily, cannot apply a backend's own
//! migrations, and hides the backend when a statement must differ (row locks, advisory
//! locks). Here the logic picks the backend-specific SQL where it matters and shares the
//! rest: both drivers accept `$1`-style placeholders.
//!
//! Every write transaction buffers its events and inserts them at commit (see `Tx::commit`):
//! that is what keeps event ids in commit order on PostgreSQL.

mod postgres;
mod row;
mod sqlite;

use std::borrow::Cow;

pub(crate) use row::Row;
pub(crate) use sqlite::SqliteTarget;

use crate::error::StoreError;
use crate::model::NewEvent;
use crate::types::RunId;

pub(crate) type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A bind value. Nulls are typed because PostgreSQL checks a parameter's type against
/// its column.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I64(Option<i64>),
    Text(Option<String>),
    Bool(bool),
    /// JSONB on PostgreSQL, TEXT on SQLite.
    Json(serde_json::Value),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::I64(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_string))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl From<RunId> for Arg {
    fn from(v: RunId) -> Self {
        Arg::I64(Some(v.0))
    }
}
impl From<crate::types::JobId> for Arg {
    fn from(v: crate::types::JobId) -> Self {
        Arg::I64(Some(v.0))
    }
}

/// A statement and its binds. The text is always assembled from literals in this crate;
/// values only ever travel as binds.
#[derive(Debug)]
pub(crate) struct Sql {
    text: Cow<'static, str>,
    args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(text: &'static str) -> Self {
        Sql {
            text: Cow::Borrowed(text),
            args: Vec::new(),
        }
    }

    /// A statement assembled at run time from literal fragments (never from input).
    pub(crate) fn assembled(text: String) -> Self {
        Sql {
            text: Cow::Owned(text),
            args: Vec::new(),
        }
    }

    pub(crate) fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    /// The next placeholder (`$n`) for a bind about to be added.
    pub(crate) fn next_placeholder(&self) -> String {
        format!("${}", self.args.len() + 1)
    }

    pub(crate) fn push_str(&mut self, text: &str) {
        self.text.to_mut().push_str(text);
    }

    /// Adds a bind whose placeholder the text already names (`next_placeholder`).
    pub(crate) fn push_arg(&mut self, value: impl Into<Arg>) {
        self.args.push(value.into());
    }

    pub(crate) fn push_bind(&mut self, value: impl Into<Arg>) {
        let p = self.next_placeholder();
        self.text.to_mut().push_str(&p);
        self.args.push(value.into());
    }

    fn into_parts(self) -> (sqlx::AssertSqlSafe<Cow<'static, str>>, Vec<Arg>) {
        // Safe by construction: the text is built from this crate's literals only.
        (sqlx::AssertSqlSafe(self.text), self.args)
    }
}

/// The open database: connection pools for one backend.
pub(crate) enum Db {
    Sqlite(sqlite::SqliteDb),
    Postgres(postgres::PgDb),
}

impl Db {
    pub(crate) async fn open_sqlite(target: SqliteTarget) -> Result<Db> {
        Ok(Db::Sqlite(sqlite::SqliteDb::open(target).await?))
    }

    pub(crate) async fn open_postgres(url: &str) -> Result<Db> {
        Ok(Db::Postgres(postgres::PgDb::open(url).await?))
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock up front (`BEGIN
    /// IMMEDIATE`), so two writers never deadlock upgrading a read lock.
    pub(crate) async fn begin(&self) -> Result<Tx> {
        let inner = match self {
            Db::Sqlite(db) => TxInner::Sqlite(db.begin().await?),
            Db::Postgres(db) => TxInner::Postgres(db.begin().await?),
        };
        Ok(Tx {
            inner,
            events: Vec::new(),
            now: crate::time::now_ms(),
        })
    }

    pub(crate) async fn fetch_all(&self, sql: Sql) -> Result<Vec<Row>> {
        match self {
            Db::Sqlite(db) => sqlite::fetch_all(db.reader(), sql).await,
            Db::Postgres(db) => postgres::fetch_all(db.pool(), sql).await,
        }
    }

    pub(crate) async fn fetch_optional(&self, sql: Sql) -> Result<Option<Row>> {
        Ok(self.fetch_all(sql).await?.into_iter().next())
    }

    pub(crate) async fn fetch_one(&self, sql: Sql) -> Result<Row> {
        self.fetch_optional(sql)
            .await?
            .ok_or_else(|| StoreError::Database("query returned no row".into()))
    }

    /// A write outside a transaction, for bookkeeping that records no event (a token's
    /// last use).
    pub(crate) async fn execute(&self, sql: Sql) -> Result<u64> {
        match self {
            Db::Sqlite(db) => sqlite::execute(db.writer(), sql).await,
            Db::Postgres(db) => postgres::execute(db.pool(), sql).await,
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            Db::Sqlite(db) => db.close().await,
            Db::Postgres(db) => db.close().await,
        }
    }
}

enum TxInner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// A write transaction. Events added with `event` are inserted by `commit`, after every
/// other statement, so a transaction that rolls back leaves no event behind and one that
/// commits leaves all of them.
pub(crate) struct Tx {
    inner: TxInner,
    events: Vec<NewEvent>,
    now: i64,
}

impl Tx {
    pub(crate) fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    /// The transaction's clock, in UTC milliseconds: every time written by one change is
    /// the same instant.
    pub(crate) fn now(&self) -> i64 {
        self.now
    }

    pub(crate) async fn execute(&mut self, sql: Sql) -> Result<u64> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => sqlite::execute(&mut **tx, sql).await,
            TxInner::Postgres(tx) => postgres::execute(&mut **tx, sql).await,
        }
    }

    pub(crate) async fn fetch_all(&mut self, sql: Sql) -> Result<Vec<Row>> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => sqlite::fetch_all(&mut **tx, sql).await,
            TxInner::Postgres(tx) => postgres::fetch_all(&mut **tx, sql).await,
        }
    }

    pub(crate) async fn fetch_optional(&mut self, sql: Sql) -> Result<Option<Row>> {
        Ok(self.fetch_all(sql).await?.into_iter().next())
    }

    pub(crate) async fn fetch_one(&mut self, sql: Sql) -> Result<Row> {
        self.fetch_optional(sql)
            .await?
            .ok_or_else(|| StoreError::Database("query returned no row".into()))
    }

    /// Records an event to be appended when the transaction commits.
    pub(crate) fn event(&mut self, event: NewEvent) {
        self.events.push(event);
    }

    /// Locks a run's row until commit (PostgreSQL). Every transaction that changes a run's
    /// jobs locks the run first, so they take row locks in one order and cannot deadlock.
    /// SQLite needs nothing: `BEGIN IMMEDIATE` already excludes every other writer.
    pub(crate) async fn lock_run(&mut self, run: RunId) -> Result<()> {
        if let TxInner::Postgres(_) = self.inner {
            self.execute(Sql::new("SELECT id FROM runs WHERE id = $1 FOR UPDATE").bind(run))
                .await?;
        }
        Ok(())
    }

    /// Serialises changes to one concurrency group (PostgreSQL; SQLite is serialised
    /// already). Taken before any row lock, so it cannot take part in a deadlock.
    pub(crate) async fn lock_concurrency_group(
        &mut self,
        project: &str,
        group: &str,
    ) -> Result<()> {
        if let TxInner::Postgres(_) = self.inner {
            let key = format!("{project}\u{1f}{group}");
            // Lock space 1 is concurrency groups (2 is the event log, see postgres.rs).
            self.execute(Sql::new("SELECT pg_advisory_xact_lock(1, hashtext($1))").bind(key))
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn commit(mut self) -> Result<()> {
        let events = std::mem::take(&mut self.events);
        match self.inner {
            TxInner::Sqlite(mut tx) => {
                sqlite::insert_events(&mut tx, self.now, events).await?;
                tx.commit().await?;
            }
            TxInner::Postgres(mut tx) => {
                postgres::insert_events(&mut tx, self.now, events).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }
}

/// The shared multi-row insert for buffered events: `(at, kind, project, run_id, job_id,
/// actor, data)` per row, in chunks that stay far below both backends' bind limits.
fn event_inserts(now: i64, events: Vec<NewEvent>) -> Vec<Sql> {
    const ROWS_PER_STATEMENT: usize = 100;
    let mut out = Vec::new();
    let mut rows = events.into_iter().peekable();
    while rows.peek().is_some() {
        let mut sql = Sql::assembled(
            "INSERT INTO events (at, kind, project, run_id, job_id, actor, data) VALUES "
                .to_string(),
        );
        for (i, e) in rows.by_ref().take(ROWS_PER_STATEMENT).enumerate() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            sql.push_bind(now);
            sql.push_str(", ");
            sql.push_bind(e.kind);
            sql.push_str(", ");
            sql.push_bind(e.project);
            sql.push_str(", ");
            sql.push_bind(e.run_id.map(|r| r.0));
            sql.push_str(", ");
            sql.push_bind(e.job_id.map(|j| j.0));
            sql.push_str(", ");
            sql.push_bind(e.actor);
            sql.push_str(", ");
            let p = sql.next_placeholder();
            sql.push_str(&p);
            sql.args.push(Arg::Json(e.data));
            sql.push_str(")");
        }
        out.push(sql);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_inserts_chunk_and_number_placeholders() {
        let events: Vec<NewEvent> = (0..150).map(|i| NewEvent::new(format!("k{i}"))).collect();
        let sqls = event_inserts(1, events);
        assert_eq!(sqls.len(), 2);
        assert_eq!(sqls[0].args.len(), 700);
        assert_eq!(sqls[1].args.len(), 350);
        assert!(sqls[1].text.contains("$350)"), "{}", sqls[1].text);
        assert!(!sqls[1].text.contains("$351"));
    }
}
