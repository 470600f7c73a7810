//! Status names and their glyphs: the pages, the CSS (`[data-status=…]`) and app.js all
//! key colours off the lowercase names the store uses (plus the agents page's `online`,
//! `draining` and `offline`).

use gantry_store::{JobStatus, RunStatus, StepStatus};

/// A status as a badge shows it. The glyph doubles the colour so the badge reads without
/// colour vision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusView {
    /// The store's name: `queued`, `running`, `success`, … (the CSS hook).
    pub name: &'static str,
    pub glyph: &'static str,
}

/// The glyph for a status name; app.js has the same table.
pub fn glyph(name: &str) -> &'static str {
    match name {
        "success" => "✓",
        "failure" => "✕",
        "running" => "●",
        "cancelled" => "⊘",
        "skipped" => "↷",
        "waiting" => "◌",
        "online" => "●",
        "draining" => "◐",
        _ => "○",
    }
}

impl StatusView {
    fn named(name: &'static str) -> Self {
        StatusView {
            name,
            glyph: glyph(name),
        }
    }
}

impl StatusView {
    /// A host's drift state or an apply request's state, as the store names it; the CSS
    /// gives them the success, failure, running and waiting colours.
    pub fn infra(name: &str) -> Self {
        match name {
            "in_sync" | "applied" => StatusView {
                name: "success",
                glyph: glyph("success"),
            },
            "drifted" | "awaiting_approval" => StatusView {
                name: "waiting",
                glyph: "△",
            },
            "applying" => StatusView::named("running"),
            "unreachable" | "error" | "failed" => StatusView::named("failure"),
            _ => StatusView::named("skipped"),
        }
    }

    /// A deployment's state or a host's phase in one: the CSS gives them the success,
    /// failure, running and waiting colours.
    pub fn deployment(name: &str) -> Self {
        match name {
            "succeeded" => StatusView::named("success"),
            "failed" => StatusView::named("failure"),
            "rolled_back" => StatusView {
                name: "failure",
                glyph: "↶",
            },
            "running" => StatusView::named("running"),
            "waiting_approval" => StatusView {
                name: "waiting",
                glyph: "△",
            },
            "cancelled" => StatusView::named("cancelled"),
            _ => StatusView::named("skipped"),
        }
    }

    /// An agent's state: `online`, `draining` (online, taking no new jobs) or `offline`.
    /// The CSS gives them the success, running and cancelled colours.
    pub fn agent(online: bool, draining: bool) -> Self {
        match (online, draining) {
            (false, _) => StatusView::named("offline"),
            (true, true) => StatusView::named("draining"),
            (true, false) => StatusView::named("online"),
        }
    }
}

impl From<RunStatus> for StatusView {
    fn from(s: RunStatus) -> Self {
        StatusView::named(s.as_str())
    }
}

impl From<JobStatus> for StatusView {
    fn from(s: JobStatus) -> Self {
        StatusView::named(s.as_str())
    }
}

impl From<StepStatus> for StatusView {
    fn from(s: StepStatus) -> Self {
        StatusView::named(s.as_str())
    }
}
