//! The event feed (`GET /events`): everything that happened, newest first, paged with
//! `?before={event_id}`.

use askama::Template;
use serde_json::Value;

use gantry_store::Event;

use crate::format::{self, TimeView};
use crate::layout::{Frame, Layout};
use crate::render::render;
use crate::urls;

/// One page of the feed.
#[derive(Debug, Clone)]
pub struct EventsData<'a> {
    /// Newest first.
    pub events: &'a [Event],
    /// More events exist before the last one (shows the "older" link).
    pub has_more: bool,
}

#[derive(Debug)]
struct EventRow {
    when: TimeView,
    kind: String,
    /// `success`/`failure`/`cancelled` from the event's data, for the kind's colour.
    tone: String,
    project: Option<(String, String)>,
    /// Link and label of the run ("#12" when the data carries the number).
    run: Option<(String, String)>,
    /// Link to the run page with the job selected, and the job's key.
    job: Option<(String, String)>,
    actor: String,
    details: String,
}

#[derive(Template)]
#[template(path = "events.html")]
struct EventsPage<'a> {
    frame: Frame<'a>,
    events: Vec<EventRow>,
    older: Option<String>,
}

/// Keys shown elsewhere in the row, or too noisy for a feed.
const HIDDEN_KEYS: &[&str] = &["number", "fencing_token"];

/// The event's data as `key: value` pairs on one line; `*_ms` numbers read as durations
/// ("duration: 41s"). `skip` names keys the row already shows.
fn details(data: &Value, skip: &[&str]) -> String {
    let Value::Object(map) = data else {
        return match data {
            Value::Null => String::new(),
            other => other.to_string(),
        };
    };
    map.iter()
        .filter(|(k, v)| {
            !HIDDEN_KEYS.contains(&k.as_str()) && !skip.contains(&k.as_str()) && !v.is_null()
        })
        .map(|(k, v)| match (k.strip_suffix("_ms"), v) {
            (Some(name), Value::Number(n)) if n.as_u64().is_some() => {
                format!("{name}: {}", format::duration_ms(n.as_u64().unwrap_or(0)))
            }
            (_, Value::String(s)) => format!("{k}: {s}"),
            (_, other) => format!("{k}: {other}"),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn row(e: &Event, now: jiff::Timestamp) -> EventRow {
    let field = |k: &str| e.data.get(k).and_then(Value::as_str).map(str::to_string);
    let tone = field("status")
        .or_else(|| field("result"))
        .filter(|t| matches!(t.as_str(), "success" | "failure" | "cancelled" | "skipped"))
        .unwrap_or_default();
    let run = e.run_id.map(|id| {
        let label = match e.data.get("number").and_then(Value::as_i64) {
            Some(n) => format!("#{n}"),
            None => format!("run {id}"),
        };
        (urls::run(id), label)
    });
    let job = match (e.run_id, e.job_id) {
        (Some(r), Some(j)) => Some((
            urls::run_job(r, j),
            field("key").unwrap_or_else(|| format!("job {j}")),
        )),
        _ => None,
    };
    EventRow {
        when: TimeView::new(e.at, now),
        kind: e.kind.clone(),
        tone,
        project: e.project.as_ref().map(|p| (urls::project(p), p.clone())),
        run,
        actor: e.actor.clone().unwrap_or_default(),
        // The job link already shows the job's key.
        details: details(&e.data, if job.is_some() { &["key"] } else { &[] }),
        job,
    }
}

/// The event feed.
pub fn events_page(layout: &Layout, data: &EventsData<'_>) -> String {
    let older = data
        .events
        .last()
        .filter(|_| data.has_more)
        .map(|e| urls::events_before(e.id));
    render(&EventsPage {
        frame: Frame {
            layout,
            title: "Events".into(),
            nav: "events",
        },
        events: data.events.iter().map(|e| row(e, layout.now)).collect(),
        older,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn details_are_one_line() {
        let d = details(
            &json!({"number": 3, "status": "failure", "duration_ms": 83000, "reason": null, "key": "x"}),
            &["key"],
        );
        assert_eq!(d, "status: failure · duration: 1m 23s");
        assert_eq!(details(&Value::Null, &[]), "");
    }
}
