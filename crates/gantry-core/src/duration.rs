//! Human durations in pipeline and workspace files: `30s`, `20m`, `1h30m`, `500ms`.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration '{input}': {reason}")]
pub struct DurationError {
    pub input: String,
    pub reason: String,
}

/// Parses a duration written with unit designators (`90s`, `1h 30m`, `2m30s`, `250ms`).
/// A bare number is refused: the unit is always required, so `timeout: 30` cannot mean
/// seconds to one reader and minutes to another.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let err = |reason: &str| DurationError {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(err("empty; write e.g. 30s, 20m or 1h30m"));
    }
    if trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err(err("a unit is required; write e.g. 30s, 20m or 1h30m"));
    }
    let signed: jiff::SignedDuration = trimmed.parse().map_err(|_| {
        err("expected a number with a unit (ms, s, m, h, d), e.g. 30s, 20m or 1h30m")
    })?;
    if signed.is_negative() {
        return Err(err("must not be negative"));
    }
    Duration::try_from(signed).map_err(|_| err("out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("20m"), Ok(Duration::from_secs(1200)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn refuses_bare_numbers_and_garbage() {
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-5s").is_err());
    }
}
