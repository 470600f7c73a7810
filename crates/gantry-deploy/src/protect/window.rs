//! `windows:` of an environment: a deploy may start only while one is open, judged in
//! each window's own time zone; outside, the error says when the next one opens.

use gantry_workspace::DeployWindow;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};

/// How far ahead the next opening is looked for.
const LOOK_AHEAD_MINUTES: i64 = 8 * 24 * 60;

/// `Ok` when `now` is inside one of `windows` (or there are none).
pub fn check_window(
    environment: &str,
    windows: &[DeployWindow],
    now: Timestamp,
) -> Result<(), String> {
    if windows.is_empty() || windows.iter().any(|w| open_at(w, now)) {
        return Ok(());
    }
    let list = windows
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let next = (1..=LOOK_AHEAD_MINUTES)
        .filter_map(|m| now.checked_add(m.minutes()).ok())
        .find(|t| windows.iter().any(|w| open_at(w, *t)));
    let when = match next {
        Some(t) => format!("; the next opens at {} UTC", t.strftime("%Y-%m-%d %H:%M")),
        None => String::new(),
    };
    Err(format!(
        "{environment} takes deploys only in its windows ({list}){when}; --outside-window overrides this, and the deployment record says so"
    ))
}

fn open_at(window: &DeployWindow, t: Timestamp) -> bool {
    let tz = TimeZone::get(&window.timezone).unwrap_or(TimeZone::UTC);
    let local: Zoned = t.to_zoned(tz);
    let weekday = local.weekday().to_monday_zero_offset() as u8;
    let minute = local.hour() as u16 * 60 + local.minute() as u16;
    window.contains(weekday, minute)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office() -> DeployWindow {
        DeployWindow {
            days: 0b0001_1111,
            from: 9 * 60,
            to: 17 * 60,
            timezone: "Europe/Berlin".into(),
            text: "mon-fri 09:00-17:00 Europe/Berlin".into(),
        }
    }

    #[test]
    fn judged_in_the_windows_zone_with_the_next_opening_named() {
        // Monday 2026-11-30 08:30 UTC is 09:30 in Berlin: open.
        let monday: Timestamp = "2026-11-30T08:30:00Z".parse().unwrap();
        assert!(check_window("production", &[office()], monday).is_ok());
        // Saturday 12:00 UTC: closed until Monday 09:00 Berlin = 08:00 UTC.
        let saturday: Timestamp = "2026-12-05T12:00:00Z".parse().unwrap();
        let err = check_window("production", &[office()], saturday).unwrap_err();
        assert!(
            err.contains("the next opens at 2026-12-07 08:00 UTC"),
            "{err}"
        );
        assert!(err.contains("mon-fri 09:00-17:00 Europe/Berlin"), "{err}");
        assert!(check_window("production", &[], saturday).is_ok());
    }
}
