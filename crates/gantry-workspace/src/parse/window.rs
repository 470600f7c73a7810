//! Reads `windows:` of an environment: `[{ days: mon-fri, from: "09:00", to: "17:00",
//! timezone: Europe/Berlin }]`, each time zone checked against the bundled tz database.

use gantry_pipeline::yaml::{Kind, Node};

use super::cx::Cx;
use crate::window::{ALL_DAYS, DeployWindow};

const WINDOW_KEYS: &[&str] = &["days", "from", "to", "timezone"];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

pub fn windows(cx: &mut Cx, node: &Node, what: &str) -> Option<Vec<DeployWindow>> {
    let Kind::Seq(items) = &node.kind else {
        cx.type_error(
            node,
            "a list of windows like { days: mon-fri, from: \"09:00\", to: \"17:00\" }",
            what,
        );
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (n, item) in items.iter().enumerate() {
        match window(cx, item, &format!("window {} of {what}", n + 1)) {
            Some(w) => out.push(w),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn window(cx: &mut Cx, node: &Node, what: &str) -> Option<DeployWindow> {
    let entries = cx.map(node, "a map (days, from, to, timezone)", what)?;
    cx.check_keys(entries, WINDOW_KEYS, &format!("in {what}"));
    let days = match node.get("days") {
        Some(n) => days(cx, n, &format!("'days' in {what}")),
        None => Some(ALL_DAYS),
    };
    let from = match node.get("from") {
        Some(n) => clock(cx, n, &format!("'from' in {what}")),
        None => {
            cx.require(
                node,
                "from",
                what,
                "when the window opens, e.g. `from: \"09:00\"`",
            );
            None
        }
    };
    let to = match node.get("to") {
        Some(n) => clock(cx, n, &format!("'to' in {what}")),
        None => {
            cx.require(
                node,
                "to",
                what,
                "when the window closes, e.g. `to: \"17:00\"`",
            );
            None
        }
    };
    let timezone = match node.get("timezone") {
        Some(n) => cx.text(n, &format!("'timezone' in {what}")).and_then(|tz| {
            if jiff::tz::TimeZone::get(&tz).is_ok() {
                Some(tz)
            } else {
                let diag = cx
                    .error(n.span, format!("unknown time zone '{tz}' in {what}"))
                    .with_help("use an IANA name such as Europe/Berlin, America/New_York or UTC");
                cx.push(diag);
                None
            }
        }),
        None => Some("UTC".to_string()),
    };
    let (days, from, to, timezone) = (days?, from?, to?, timezone?);
    let day_text = node
        .get("days")
        .map_or("every day".to_string(), |n| n.text.trim().to_lowercase());
    let text = format!(
        "{day_text} {:02}:{:02}-{:02}:{:02} {timezone}",
        from / 60,
        from % 60,
        to / 60,
        to % 60
    );
    Some(DeployWindow {
        days,
        from,
        to,
        timezone,
        text,
    })
}

/// `"09:00"`: minutes after midnight.
fn clock(cx: &mut Cx, node: &Node, what: &str) -> Option<u16> {
    let text = node.text.trim();
    let parsed = text.split_once(':').and_then(|(h, m)| {
        let (h, m) = (h.parse::<u16>().ok()?, m.parse::<u16>().ok()?);
        (h < 24 && m < 60 && text.len() <= 5).then_some(h * 60 + m)
    });
    if parsed.is_none() {
        let diag = cx
            .error(
                node.span,
                format!("{what} must be a time of day like \"09:00\""),
            )
            .with_help("hours 00 to 23, minutes 00 to 59; quote it in YAML");
        cx.push(diag);
    }
    parsed
}

/// `mon-fri`, `sat,sun`, `fri-mon` (a range wraps round the week).
fn days(cx: &mut Cx, node: &Node, what: &str) -> Option<u8> {
    let text = node.text.trim().to_lowercase();
    let day = |name: &str| DAYS.iter().position(|d| *d == name.trim());
    let mut mask = 0u8;
    let mut ok = node.kind == Kind::Str && !text.is_empty();
    for part in text.split(',') {
        match part.split_once('-') {
            Some((a, b)) => match (day(a), day(b)) {
                (Some(a), Some(b)) => {
                    let mut d = a;
                    loop {
                        mask |= 1 << d;
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                _ => ok = false,
            },
            None => match day(part) {
                Some(d) => mask |= 1 << d,
                None => ok = false,
            },
        }
    }
    if !ok {
        let diag = cx
            .error(node.span, format!("{what} must name days like mon-fri or sat,sun"))
            .with_help("days are mon, tue, wed, thu, fri, sat, sun; a range wraps round the week (fri-mon)");
        cx.push(diag);
        return None;
    }
    Some(mask)
}
