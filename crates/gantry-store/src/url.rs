//! The `--database-url` forms: which backend a string names, and how to show a URL in an
//! error without its password.

use std::path::PathBuf;

use crate::db::SqliteTarget;
use crate::error::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Sqlite(SqliteTarget),
    /// The URL as given (sqlx parses it).
    Postgres(String),
}

/// `postgres://…` / `postgresql://…` → PostgreSQL; `sqlite::memory:` → in-memory SQLite;
/// `sqlite:///abs/path`, `sqlite://rel/path`, `sqlite:path` or a plain path → a SQLite file.
pub(crate) fn parse(url_or_path: &str) -> Result<Target, StoreError> {
    let s = url_or_path.trim();
    let invalid = |reason: &str| StoreError::InvalidUrl {
        url: redact(s),
        reason: reason.to_string(),
    };
    if s.is_empty() {
        return Err(invalid(
            "empty; give a file path, sqlite:///path/gantry.db or postgres://user@host/db",
        ));
    }
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        return Ok(Target::Postgres(s.to_string()));
    }
    if s == "sqlite::memory:" || s == "sqlite://:memory:" {
        return Ok(Target::Sqlite(SqliteTarget::Memory));
    }
    let path = if let Some(rest) = s.strip_prefix("sqlite://") {
        rest
    } else if let Some(rest) = s.strip_prefix("sqlite:") {
        rest
    } else if let Some((scheme, _)) = s.split_once("://") {
        return Err(invalid(&format!(
            "unsupported scheme '{scheme}'; use a file path, sqlite:///path/gantry.db or postgres://user@host/db"
        )));
    } else {
        s
    };
    if path.contains('?') {
        return Err(invalid(
            "query parameters are not supported for SQLite; give the file path only",
        ));
    }
    if path.is_empty() {
        return Err(invalid("no SQLite file path"));
    }
    Ok(Target::Sqlite(SqliteTarget::File(PathBuf::from(path))))
}

/// The URL with any password replaced by `***` (`postgres://gantry:***@db/gantry`), and
/// `password=` query parameters masked too.
pub(crate) fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out = format!("{head}{}", masked.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(p: &str) -> Option<Target> {
        Some(Target::Sqlite(SqliteTarget::File(PathBuf::from(p))))
    }

    #[test]
    fn forms() {
        assert_eq!(
            parse("/var/lib/gantry/gantry.db").ok(),
            file("/var/lib/gantry/gantry.db")
        );
        assert_eq!(parse("data/gantry.db").ok(), file("data/gantry.db"));
        assert_eq!(
            parse("sqlite:///var/lib/gantry.db").ok(),
            file("/var/lib/gantry.db")
        );
        assert_eq!(parse("sqlite://rel.db").ok(), file("rel.db"));
        assert_eq!(parse("sqlite:rel.db").ok(), file("rel.db"));
        assert_eq!(
            parse("sqlite::memory:").ok(),
            Some(Target::Sqlite(SqliteTarget::Memory))
        );
        assert_eq!(
            parse("postgres://u:p@h:5432/db").ok(),
            Some(Target::Postgres("postgres://u:p@h:5432/db".into()))
        );
        assert!(matches!(
            parse("postgresql://h/db"),
            Ok(Target::Postgres(_))
        ));
    }

    #[test]
    fn bad_forms_say_what_to_do_without_the_password() {
        let e = parse("mysql://root:hunter2@db/gantry")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("unsupported scheme 'mysql'"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        assert!(parse("").is_err());
        assert!(parse("sqlite://").is_err());
        assert!(parse("sqlite:///x.db?mode=ro").is_err());
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact("postgres://gantry:s3cr:et@db:5432/g"),
            "postgres://gantry:***@db:5432/g"
        );
        assert_eq!(redact("postgres://gantry@db/g"), "postgres://gantry@db/g");
        assert_eq!(
            redact("postgres://db/g?user=a&password=x&sslmode=off"),
            "postgres://db/g?user=a&password=***&sslmode=off"
        );
        assert_eq!(redact("postgres://u:p@w@db/g"), "postgres://u:***@db/g");
    }
}
