//! Cron expressions (croner, five fields) and IANA time zones (jiff's bundled database,
//! so the answer is the same on every machine and needs no file system).

use std::collections::HashMap;
use std::sync::OnceLock;

use croner::parser::{CronParser, Seconds, Year};
use gantry_core::did_you_mean;
use jiff::tz::TimeZoneDatabase;

use crate::model::Text;
use crate::parse::Cx;

/// Zone names by their lower-case form. Looking a name up in jiff's bundled database
/// parses zone data on every call; validation only needs the names.
fn zones() -> &'static HashMap<String, String> {
    static ZONES: OnceLock<HashMap<String, String>> = OnceLock::new();
    ZONES.get_or_init(|| {
        TimeZoneDatabase::bundled()
            .available()
            .map(|n| (n.as_str().to_ascii_lowercase(), n.as_str().to_string()))
            .collect()
    })
}

/// Parses a standard five-field cron expression (or `@daily`, `@hourly`, …).
pub fn parse_cron(expr: &str) -> Result<croner::Cron, croner::errors::CronError> {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(expr)
}

/// What is wrong with a cron expression, in words for a diagnostic (`expected 5 fields,
/// found 4`, `number out of bounds`); `None` when it is valid. Shared with the infra
/// `cron` resource, so both read schedules alike.
pub fn cron_problem(expr: &str) -> Option<String> {
    let fields = expr.split_whitespace().count();
    if !expr.trim_start().starts_with('@') && fields != 5 {
        return Some(format!("expected 5 fields, found {fields}"));
    }
    parse_cron(expr).err().map(|err| tidy(&err.to_string()))
}

/// Reports an invalid cron expression; true when it is valid.
pub fn check_cron(cx: &mut Cx, text: &Text) -> bool {
    match cron_problem(&text.value) {
        None => true,
        Some(reason) => {
            let diag = cx
                .error(text.span, format!("invalid cron expression '{}': {reason}", text.value))
                .with_help("write five fields: minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\" for 03:00 every day")
                .with_note("@hourly, @daily, @weekly, @monthly and @yearly work too");
            cx.push(diag);
            false
        }
    }
}

/// croner's messages read "Component error: Number out of bounds."; ours are lower case
/// without the category and the full stop.
fn tidy(message: &str) -> String {
    let rest = message
        .split_once(": ")
        .map_or(message, |(_, rest)| rest)
        .trim_end_matches('.');
    let mut chars = rest.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

/// The canonical name of a time zone, or a reported error.
pub fn check_timezone(cx: &mut Cx, text: &Text) -> Option<String> {
    match zones().get(&text.value.to_ascii_lowercase()) {
        Some(name) => Some(name.clone()),
        None => {
            let help = did_you_mean(&text.value, zones().values().map(String::as_str)).map_or_else(
                || {
                    "use an IANA time zone name such as UTC, Europe/Berlin or America/New_York"
                        .to_string()
                },
                |s| format!("did you mean '{s}'?"),
            );
            let diag = cx
                .error(text.span, format!("unknown time zone '{}'", text.value))
                .with_help(help);
            cx.push(diag);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_are_found_and_canonicalised() {
        for (given, canonical) in [
            ("UTC", "UTC"),
            ("europe/berlin", "Europe/Berlin"),
            ("US/Eastern", "US/Eastern"),
            ("Etc/GMT+5", "Etc/GMT+5"),
        ] {
            assert_eq!(
                zones().get(&given.to_ascii_lowercase()).map(String::as_str),
                Some(canonical),
                "{given}"
            );
            assert!(
                TimeZoneDatabase::bundled().get(canonical).is_ok(),
                "{canonical}"
            );
        }
        assert!(zones().len() > 300);
        assert!(!zones().contains_key("europe/berln"));
    }

    #[test]
    fn cron_accepts_five_fields_and_nicknames() {
        for ok in [
            "0 3 * * *",
            "*/15 8-18 * * MON-FRI",
            "@daily",
            "@weekly",
            "0 0 L * *",
            "0 0 * * 5#2",
        ] {
            assert!(parse_cron(ok).is_ok(), "{ok}");
        }
        for bad in ["0 0 * * * *", "61 * * * *", "x"] {
            assert!(parse_cron(bad).is_err(), "{bad}");
        }
    }
}
