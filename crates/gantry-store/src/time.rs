//! Times as the store keeps them: UTC milliseconds since the Unix epoch in the database
//! (one integer column type on both backends), `jiff::Timestamp` in the API.

use jiff::Timestamp;

use crate::error::StoreError;

pub(crate) fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

pub(crate) fn to_ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn from_ms(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::corrupt(format!("timestamp {ms}: {e}")))
}

/// A duration in whole milliseconds, saturating (a lease of "forever" stays representable).
pub(crate) fn duration_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_range() {
        let t = Timestamp::from_millisecond(1_700_000_000_123).ok();
        assert_eq!(t.map(to_ms), Some(1_700_000_000_123));
        assert!(from_ms(i64::MAX).is_err());
        assert_eq!(duration_ms(std::time::Duration::from_secs(2)), 2000);
        assert_eq!(duration_ms(std::time::Duration::MAX), i64::MAX);
    }
}
