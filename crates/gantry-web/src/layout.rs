//! What every page's frame needs: who is signed in, the CSRF token for its forms, a
//! one-off message, and the instant the page is rendered for (relative times).

use jiff::Timestamp;

/// The page frame's data. `now` is a field rather than a clock read so that rendering
/// stays pure and tests are deterministic; [`Layout::new`] fills it with the current time.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The signed-in user; `None` hides the nav and the logout form (login page).
    pub user: Option<String>,
    /// Put in a hidden `csrf` field of every POST form.
    pub csrf: String,
    /// A one-off notice shown under the header ("Run #12 queued").
    pub flash: Option<String>,
    pub now: Timestamp,
}

impl Layout {
    pub fn new(user: Option<String>, csrf: impl Into<String>) -> Self {
        Layout {
            user,
            csrf: csrf.into(),
            flash: None,
            now: Timestamp::now(),
        }
    }

    pub fn with_flash(mut self, flash: impl Into<String>) -> Self {
        self.flash = Some(flash.into());
        self
    }
}

/// The frame as the base template reads it, with the page's title and nav entry.
#[derive(Debug)]
pub(crate) struct Frame<'a> {
    pub layout: &'a Layout,
    pub title: String,
    /// `"dashboard"`, `"events"`, `"agents"` or `""`: which nav link gets `aria-current`.
    pub nav: &'static str,
}
