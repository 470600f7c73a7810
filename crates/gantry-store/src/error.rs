//! `StoreError`: every way a store operation can fail, with no database driver type in it
//! (callers stay backend-agnostic) and no secret in any message.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// The `--database-url` is not one of the accepted forms.
    #[error("invalid database url '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },

    /// The database could not be reached or opened.
    #[error("cannot open the {backend} database: {message}")]
    Open {
        backend: &'static str,
        message: String,
    },

    /// Applying the schema migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(String),

    /// Lock contention that outlasted the store's retries (SQLite busy, PostgreSQL
    /// deadlock or serialization failure). Trying again later may succeed.
    #[error("the database is busy: {0}")]
    Busy(String),

    /// Any other database failure.
    #[error("database error: {0}")]
    Database(String),

    /// A row the operation needs does not exist.
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },

    /// A job was finished or its lease extended with a fencing token that is no longer
    /// current: the job was re-claimed (or already finished) since that token was issued.
    #[error(
        "job {job_id}: fencing token {presented} is stale (job is {status}, current token {current})"
    )]
    StaleFencingToken {
        job_id: i64,
        presented: i64,
        current: i64,
        status: String,
    },

    /// The operation does not apply to the current state (e.g. rerunning an unfinished run,
    /// creating a user that exists).
    #[error("{0}")]
    Conflict(String),

    /// The caller passed something the store cannot accept (empty name, bad plan indices).
    #[error("invalid input: {0}")]
    Invalid(String),

    /// A stored value could not be read back (bad JSON, unknown status, bad timestamp).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),

    /// Password hashing failed (argon2); the message never contains the password.
    #[error("password hashing failed: {0}")]
    Crypto(String),
}

impl StoreError {
    /// Worth retrying the whole transaction: lock contention, not a logic error.
    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Busy(_))
    }

    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> Self {
        StoreError::NotFound {
            what,
            id: id.to_string(),
        }
    }

    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }
}

/// SQLite result codes that mean "contention, try again": SQLITE_BUSY (5) and
/// SQLITE_LOCKED (6), whose extended codes keep the primary code in the low byte.
fn sqlite_contention(code: &str) -> bool {
    code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

/// PostgreSQL SQLSTATEs that mean "contention, try again": deadlock_detected,
/// serialization_failure, lock_not_available.
fn postgres_contention(code: &str) -> bool {
    matches!(code, "40P01" | "40001" | "55P03")
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) => {
                // The driver's message only: PostgreSQL's DETAIL (which can quote row
                // values, e.g. a duplicate key) is not part of it.
                let message = db.message().to_string();
                if db.is_unique_violation() {
                    return StoreError::Conflict("a row with the same key already exists".into());
                }
                let sqlite = db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some();
                match db.code() {
                    Some(code) if sqlite && sqlite_contention(&code) => StoreError::Busy(message),
                    Some(code) if !sqlite && postgres_contention(&code) => {
                        StoreError::Busy(message)
                    }
                    Some(code) => StoreError::Database(format!("{message} (code {code})")),
                    None => StoreError::Database(message),
                }
            }
            sqlx::Error::PoolTimedOut => {
                StoreError::Busy("timed out waiting for a database connection".into())
            }
            sqlx::Error::ColumnDecode { index, source } => {
                StoreError::Corrupt(format!("column {index}: {source}"))
            }
            sqlx::Error::ColumnNotFound(name) => {
                StoreError::Corrupt(format!("column {name} missing"))
            }
            other => StoreError::Database(other.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contention_codes() {
        assert!(sqlite_contention("5"));
        assert!(sqlite_contention("517")); // SQLITE_BUSY_SNAPSHOT
        assert!(sqlite_contention("6"));
        assert!(!sqlite_contention("19")); // SQLITE_CONSTRAINT
        assert!(!sqlite_contention("2067")); // SQLITE_CONSTRAINT_UNIQUE
        assert!(postgres_contention("40P01"));
        assert!(postgres_contention("40001"));
        assert!(!postgres_contention("23505")); // unique_violation
    }
}
