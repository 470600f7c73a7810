//! `Row`: typed column access over either driver's row, where a value of the wrong type
//! is a `StoreError::Corrupt`, never a panic.

use sqlx::Row as _;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;

use super::Result;
use crate::error::StoreError;
use crate::time::from_ms;

pub(crate) enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

fn decode_err(col: &str, e: sqlx::Error) -> StoreError {
    StoreError::corrupt(format!("column {col}: {e}"))
}

macro_rules! get {
    ($row:expr, $ty:ty, $col:expr) => {
        match $row {
            Row::Sqlite(r) => r.try_get::<$ty, _>($col).map_err(|e| decode_err($col, e)),
            Row::Postgres(r) => r.try_get::<$ty, _>($col).map_err(|e| decode_err($col, e)),
        }
    };
}

impl Row {
    pub(crate) fn i64(&self, col: &str) -> Result<i64> {
        get!(self, i64, col)
    }

    pub(crate) fn opt_i64(&self, col: &str) -> Result<Option<i64>> {
        get!(self, Option<i64>, col)
    }

    pub(crate) fn text(&self, col: &str) -> Result<String> {
        get!(self, String, col)
    }

    pub(crate) fn opt_text(&self, col: &str) -> Result<Option<String>> {
        get!(self, Option<String>, col)
    }

    pub(crate) fn bool(&self, col: &str) -> Result<bool> {
        get!(self, bool, col)
    }

    /// A non-negative count or index that fits the target type.
    pub(crate) fn unsigned<T: TryFrom<i64>>(&self, col: &str) -> Result<T> {
        let v = self.i64(col)?;
        T::try_from(v)
            .map_err(|_| StoreError::corrupt(format!("column {col}: {v} is out of range")))
    }

    /// A value stored by name (a status, a trigger, a role).
    pub(crate) fn parse<T: std::str::FromStr<Err = StoreError>>(&self, col: &str) -> Result<T> {
        self.text(col)?
            .parse()
            .map_err(|e: StoreError| StoreError::corrupt(format!("column {col}: {e}")))
    }

    /// A JSON document stored as TEXT on both backends.
    pub(crate) fn json_text<T: serde::de::DeserializeOwned>(&self, col: &str) -> Result<T> {
        let text = self.text(col)?;
        serde_json::from_str(&text).map_err(|e| StoreError::corrupt(format!("column {col}: {e}")))
    }

    /// A nullable JSON document stored as TEXT on both backends.
    pub(crate) fn opt_json_text<T: serde::de::DeserializeOwned>(
        &self,
        col: &str,
    ) -> Result<Option<T>> {
        self.opt_text(col)?
            .map(|t| {
                serde_json::from_str(&t)
                    .map_err(|e| StoreError::corrupt(format!("column {col}: {e}")))
            })
            .transpose()
    }

    /// A JSON value stored as JSONB (PostgreSQL) or TEXT (SQLite).
    pub(crate) fn json(&self, col: &str) -> Result<serde_json::Value> {
        match self {
            Row::Sqlite(_) => self.json_text(col),
            Row::Postgres(r) => r
                .try_get::<Json<serde_json::Value>, _>(col)
                .map(|j| j.0)
                .map_err(|e| decode_err(col, e)),
        }
    }

    pub(crate) fn timestamp(&self, col: &str) -> Result<jiff::Timestamp> {
        from_ms(self.i64(col)?)
    }

    pub(crate) fn opt_timestamp(&self, col: &str) -> Result<Option<jiff::Timestamp>> {
        self.opt_i64(col)?.map(from_ms).transpose()
    }
}
