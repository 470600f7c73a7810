//! Reads a service's `strategy:`: `rolling`, `blue_green` and `canary`, their batches,
//! slot ports, canary steps and analysis thresholds.

use gantry_pipeline::yaml::{Kind, Node};

use super::cx::Cx;
use super::service::port;
use crate::service::{
    Analysis, Batch, BlueGreen, Canary, CanaryStep, DEFAULT_DRAIN, PrometheusCheck, Rolling,
    Strategy,
};

const STRATEGY_KEYS: &[&str] = &["rolling", "blue_green", "canary"];
const CANARY_KEYS: &[&str] = &["ports", "steps", "analysis", "drain"];
const STEP_KEYS: &[&str] = &["weight", "hold"];
const ANALYSIS_KEYS: &[&str] = &[
    "interval",
    "max_error_rate",
    "max_latency",
    "min_requests",
    "prometheus",
];
const PROMETHEUS_KEYS: &[&str] = &["url", "query", "max"];
const ROLLING_KEYS: &[&str] = &["batch", "pause"];
const BLUE_GREEN_KEYS: &[&str] = &["ports", "drain", "batch"];

pub(super) fn strategy(cx: &mut Cx, node: &Node, what: &str) -> Option<Strategy> {
    let place = format!("'strategy' in {what}");
    let entries = cx.map(node, "a map (rolling, blue_green or canary)", &place)?;
    cx.check_keys(entries, STRATEGY_KEYS, &format!("in {place}"));
    let known = entries
        .iter()
        .filter(|(k, _)| STRATEGY_KEYS.contains(&k.text.as_str()))
        .count();
    if known > 1 {
        let diag = cx
            .error(node.span, format!("{place} names more than one strategy"))
            .with_help("keep one");
        cx.push(diag);
        return None;
    }
    if let Some(bg) = node.get("blue_green") {
        return blue_green(cx, bg, what).map(Strategy::BlueGreen);
    }
    if let Some(c) = node.get("canary") {
        return canary(cx, c, what).map(Strategy::Canary);
    }
    let Some(rolling) = node.get("rolling") else {
        cx.require(node, "rolling", &place, "add `rolling: { batch: 1 }`");
        return None;
    };
    let place = format!("'rolling' in {what}");
    if rolling.kind == Kind::Null {
        return Some(Strategy::default());
    }
    let entries = cx.map(rolling, "a map (batch, pause)", &place)?;
    cx.check_keys(entries, ROLLING_KEYS, &format!("in {place}"));
    let batch = match rolling.get("batch") {
        Some(n) => batch(cx, n, &format!("'batch' in {place}")),
        None => Some(Batch::Count(1)),
    };
    let pause = rolling
        .get("pause")
        .map(|n| cx.duration(n, &format!("'pause' in {place}")));
    Some(Strategy::Rolling(Rolling {
        batch: batch?,
        pause: pause.map_or(Some(None), |p| p.map(Some))?,
    }))
}

/// `canary: { ports, steps: [{ weight, hold }], analysis: {…}, drain }`.
fn canary(cx: &mut Cx, node: &Node, what: &str) -> Option<Canary> {
    let place = format!("'canary' in {what}");
    let help = "e.g. `canary: { ports: [8081, 8082], steps: [{ weight: 10, hold: 1m }, { weight: 50, hold: 1m }] }`";
    let ports = slotted(
        cx,
        node,
        &place,
        help,
        "a map (ports, steps, analysis, drain)",
        CANARY_KEYS,
    )?;
    let steps = match node.get("steps") {
        None => {
            cx.require(node, "steps", &place, help);
            None
        }
        Some(n) => steps(cx, n, &format!("'steps' in {place}")),
    };
    let analysis = match node.get("analysis") {
        Some(n) => analysis(cx, n, &format!("'analysis' in {place}")),
        None => Some(Analysis::default()),
    };
    let drain = match node.get("drain") {
        Some(n) => cx.duration(n, &format!("'drain' in {place}")),
        None => Some(DEFAULT_DRAIN),
    };
    Some(Canary {
        ports: ports?,
        steps: steps?,
        analysis: analysis?,
        drain: drain?,
    })
}

fn steps(cx: &mut Cx, node: &Node, what: &str) -> Option<Vec<CanaryStep>> {
    let Kind::Seq(items) = &node.kind else {
        cx.type_error(node, "a list of steps like { weight: 10, hold: 1m }", what);
        return None;
    };
    if items.is_empty() {
        let diag = cx
            .error(node.span, format!("{what} is empty"))
            .with_help("give at least one step, e.g. `[{ weight: 10, hold: 1m }]`");
        cx.push(diag);
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (n, item) in items.iter().enumerate() {
        let place = format!("step {} of {what}", n + 1);
        let Some(entries) = cx.map(item, "a map (weight, hold)", &place) else {
            ok = false;
            continue;
        };
        cx.check_keys(entries, STEP_KEYS, &format!("in {place}"));
        let weight = match item.get("weight") {
            Some(w) => cx.count(w, &format!("'weight' in {place}"), 1, 99),
            None => {
                cx.require(
                    item,
                    "weight",
                    &place,
                    "the canary's share of requests, 1 to 99 (percent)",
                );
                None
            }
        };
        let hold = match item.get("hold") {
            Some(h) => cx.duration(h, &format!("'hold' in {place}")),
            None => {
                cx.require(
                    item,
                    "hold",
                    &place,
                    "how long the step lasts while the analysis runs, e.g. `hold: 1m`",
                );
                None
            }
        };
        match (weight, hold) {
            (Some(weight), Some(hold)) => out.push(CanaryStep { weight, hold }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

fn analysis(cx: &mut Cx, node: &Node, what: &str) -> Option<Analysis> {
    let entries = cx.map(
        node,
        "a map (interval, max_error_rate, max_latency, min_requests, prometheus)",
        what,
    )?;
    cx.check_keys(entries, ANALYSIS_KEYS, &format!("in {what}"));
    let defaults = Analysis::default();
    let interval = match node.get("interval") {
        Some(n) => cx.duration(n, &format!("'interval' in {what}")),
        None => Some(defaults.interval),
    };
    let max_error_rate = match node.get("max_error_rate") {
        Some(n) => percent(cx, n, &format!("'max_error_rate' in {what}")),
        None => Some(defaults.max_error_rate),
    };
    let max_latency = node
        .get("max_latency")
        .map(|n| cx.duration(n, &format!("'max_latency' in {what}")));
    let min_requests = match node.get("min_requests") {
        Some(n) => cx.count(n, &format!("'min_requests' in {what}"), 0, 1_000_000_000),
        None => Some(defaults.min_requests),
    };
    let prometheus = node
        .get("prometheus")
        .map(|n| prometheus(cx, n, &format!("'prometheus' in {what}")));
    Some(Analysis {
        interval: interval?,
        max_error_rate: max_error_rate?,
        max_latency: max_latency.map_or(Some(None), |d| d.map(Some))?,
        min_requests: min_requests?,
        prometheus: prometheus.map_or(Some(None), |p| p.map(Some))?,
    })
}

/// `"5%"` or `"0.5%"`: a fraction from 0 to 1.
fn percent(cx: &mut Cx, node: &Node, what: &str) -> Option<f64> {
    let parsed = (node.kind == Kind::Str)
        .then(|| node.text.trim().strip_suffix('%'))
        .flatten()
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|p| (0.0..=100.0).contains(p));
    if parsed.is_none() {
        let diag = cx
            .error(node.span, format!("{what} must be a percentage from 0% to 100%"))
            .with_help("e.g. \"5%\": the analysis fails when more than 5% of the canary's requests get a 5xx");
        cx.push(diag);
    }
    parsed.map(|p| p / 100.0)
}

/// `prometheus: { url, query, max }`.
fn prometheus(cx: &mut Cx, node: &Node, what: &str) -> Option<PrometheusCheck> {
    let entries = cx.map(node, "a map (url, query, max)", what)?;
    cx.check_keys(entries, PROMETHEUS_KEYS, &format!("in {what}"));
    let help = "e.g. `prometheus: { url: \"http://prometheus:9090\", query: \"sum(rate(http_errors_total{version='canary'}[1m])) or vector(0)\", max: 0.05 }`";
    let url = match node.get("url") {
        Some(n) => cx.text(n, &format!("'url' in {what}")).and_then(|u| {
            if crate::url::userinfo_range(&u).is_some() {
                // Credentials in the URL are a literal secret: never printed in a snippet.
                cx.secret_spans.push(n.span);
            }
            if u.starts_with("http://") || u.starts_with("https://") {
                Some(u.trim_end_matches('/').to_string())
            } else {
                let diag = cx
                    .error(
                        n.span,
                        format!("'url' in {what} must start with http:// or https://"),
                    )
                    .with_help(
                        "the base URL of the Prometheus server, e.g. http://prometheus:9090",
                    );
                cx.push(diag);
                None
            }
        }),
        None => {
            cx.require(node, "url", what, help);
            None
        }
    };
    let query = match node.get("query") {
        Some(n) => cx.text(n, &format!("'query' in {what}")),
        None => {
            cx.require(node, "query", what, help);
            None
        }
    };
    let max = match node.get("max") {
        Some(n) => match n.kind {
            Kind::Int(i) => Some(i as f64),
            Kind::Float(f) => Some(f),
            _ => {
                cx.type_error(n, "a number", &format!("'max' in {what}"));
                None
            }
        },
        None => {
            cx.require(node, "max", what, help);
            None
        }
    };
    Some(PrometheusCheck {
        url: url?,
        query: query?,
        max: max?,
    })
}

/// `blue_green: { ports: [8081, 8082], drain: 5s, batch: "50%" }`.
fn blue_green(cx: &mut Cx, node: &Node, what: &str) -> Option<BlueGreen> {
    let place = format!("'blue_green' in {what}");
    let help = "give the two slots' ports, e.g. `blue_green: { ports: [8081, 8082] }`: the service's `port` is where nginx listens";
    let ports = slotted(
        cx,
        node,
        &place,
        help,
        "a map (ports, drain, batch)",
        BLUE_GREEN_KEYS,
    )?;
    let drain = match node.get("drain") {
        Some(n) => cx.duration(n, &format!("'drain' in {place}")),
        None => Some(DEFAULT_DRAIN),
    };
    let batch = match node.get("batch") {
        Some(n) => batch(cx, n, &format!("'batch' in {place}")),
        None => Some(Batch::Percent(100)),
    };
    Some(BlueGreen {
        ports: ports?,
        drain: drain?,
        batch: batch?,
    })
}

/// A strategy with slots (blue_green, canary): its map with the keys checked, and its
/// `ports` (`Some(None)` when they are missing or wrong, already reported); `None` when
/// it is no map at all.
fn slotted(
    cx: &mut Cx,
    node: &Node,
    place: &str,
    help: &str,
    expected: &str,
    keys: &[&str],
) -> Option<Option<[u16; 2]>> {
    if node.kind == Kind::Null {
        let diag = cx
            .error(node.span, format!("{place} has no 'ports'"))
            .with_help(help);
        cx.push(diag);
        return None;
    }
    let entries = cx.map(node, expected, place)?;
    cx.check_keys(entries, keys, &format!("in {place}"));
    Some(match node.get("ports") {
        None => {
            cx.require(node, "ports", place, help);
            None
        }
        Some(n) => slot_ports(cx, n, &format!("'ports' in {place}")),
    })
}

/// Two different ports.
fn slot_ports(cx: &mut Cx, node: &Node, what: &str) -> Option<[u16; 2]> {
    let Kind::Seq(items) = &node.kind else {
        cx.type_error(node, "a list of two ports, e.g. [8081, 8082]", what);
        return None;
    };
    if items.len() != 2 {
        let diag = cx
            .error(
                node.span,
                format!(
                    "{what} must list two ports (blue, green), found {}",
                    items.len()
                ),
            )
            .with_help("e.g. [8081, 8082]");
        cx.push(diag);
        return None;
    }
    let blue = port(cx, &items[0], what);
    let green = port(cx, &items[1], what);
    let (blue, green) = (blue?, green?);
    if blue == green {
        let diag = cx
            .error(node.span, format!("{what} lists port {blue} twice"))
            .with_help("each slot needs its own port");
        cx.push(diag);
        return None;
    }
    Some([blue, green])
}

/// A blue-green or canary service needs its `port` (where nginx listens), apart from the slots'.
pub(super) fn slots_fit(
    cx: &mut Cx,
    node: &Node,
    strategy: Strategy,
    port: Option<u16>,
    what: &str,
) -> Option<Strategy> {
    let (name, ports) = match &strategy {
        Strategy::BlueGreen(bg) => ("blue_green", bg.ports),
        Strategy::Canary(c) => ("canary", c.ports),
        Strategy::Rolling(_) => return Some(strategy),
    };
    match port {
        None => {
            let diag = cx
                .error(
                    node.span,
                    format!("the {name} strategy of {what} needs the service's 'port'"),
                )
                .with_help(
                    "add `port: 8080`: nginx listens there and sends requests to the live slot",
                );
            cx.push(diag);
            None
        }
        Some(p) if ports.contains(&p) => {
            let diag = cx
                .error(
                    node.span,
                    format!("{what} listens on port {p}, which is also a {name} slot's port"),
                )
                .with_help("nginx listens on `port`; the slots need two other ports");
            cx.push(diag);
            None
        }
        Some(_) => Some(strategy),
    }
}

/// `2` or `"25%"`.
fn batch(cx: &mut Cx, node: &Node, what: &str) -> Option<Batch> {
    if let Kind::Int(_) = node.kind {
        return cx.count(node, what, 1, 10_000).map(Batch::Count);
    }
    if node.kind == Kind::Str
        && let Some(number) = node.text.trim().strip_suffix('%')
    {
        return match number.trim().parse::<u32>() {
            Ok(p) if (1..=100).contains(&p) => Some(Batch::Percent(p)),
            _ => {
                let diag = cx
                    .error(
                        node.span,
                        format!("{what} must be a percentage from 1% to 100%"),
                    )
                    .with_help("e.g. \"25%\": a quarter of the environment's hosts at a time");
                cx.push(diag);
                None
            }
        };
    }
    let diag = cx
        .error(
            node.span,
            format!(
                "expected a host count or a percentage for {what}, found {}",
                node.describe()
            ),
        )
        .with_help("e.g. `batch: 2` or `batch: \"25%\"`");
    cx.push(diag);
    None
}
