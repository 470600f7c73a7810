//! Deploy windows (`environments.<name>.windows`): the days and hours, in a time zone,
//! when deploys to an environment may start. Plain data and the pure test of a local
//! weekday and time against a window.

use serde::Serialize;

/// `{ days: mon-fri, from: "09:00", to: "17:00", timezone: Europe/Berlin }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployWindow {
    /// The days it opens on: bit 0 Monday … bit 6 Sunday.
    pub days: u8,
    /// Minutes after midnight it opens at.
    pub from: u16,
    /// Minutes after midnight it closes at; at or before `from`, it closes the next day.
    pub to: u16,
    /// An IANA time zone name (`UTC` unless given), checked when the file is read.
    pub timezone: String,
    /// As written, for messages (`mon-fri 09:00-17:00 Europe/Berlin`).
    pub text: String,
}

impl DeployWindow {
    /// Whether the window is open at `minute` after midnight of `weekday` (0 Monday …
    /// 6 Sunday), local time in the window's zone. A window past midnight belongs to
    /// the day it opened on.
    pub fn contains(&self, weekday: u8, minute: u16) -> bool {
        let on = |day: u8| self.days & (1 << (day % 7)) != 0;
        if self.from < self.to {
            on(weekday) && (self.from..self.to).contains(&minute)
        } else {
            (on(weekday) && minute >= self.from) || (on((weekday + 6) % 7) && minute < self.to)
        }
    }
}

/// Every day of the week.
pub const ALL_DAYS: u8 = 0x7f;

#[cfg(test)]
mod tests {
    use super::*;

    fn window(days: u8, from: u16, to: u16) -> DeployWindow {
        DeployWindow {
            days,
            from,
            to,
            timezone: "UTC".into(),
            text: String::new(),
        }
    }

    #[test]
    fn office_hours_and_windows_past_midnight() {
        let office = window(0b0001_1111, 9 * 60, 17 * 60);
        assert!(office.contains(0, 9 * 60));
        assert!(office.contains(4, 16 * 60 + 59));
        assert!(!office.contains(4, 17 * 60));
        assert!(!office.contains(5, 12 * 60));
        // Friday 22:00 to Saturday 04:00, and nothing else.
        let night = window(0b0001_0000, 22 * 60, 4 * 60);
        assert!(night.contains(4, 23 * 60));
        assert!(night.contains(5, 3 * 60));
        assert!(!night.contains(5, 23 * 60));
        assert!(!night.contains(4, 3 * 60));
    }
}
