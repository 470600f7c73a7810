//! The hosts pages: `GET /infra` lists the inventory's hosts with their drift state and
//! last check, a form to plan now, the plan just made (with a form to request its
//! apply) and the apply requests (with Approve forms); `GET /infra/hosts/{host}` shows
//! the stored report of a host's latest check with its diffs.

use std::time::Duration;

use askama::Template;
use serde_json::Value;

use gantry_store::{ApplyState, HostCheck, InfraApply, InfraPlan};

use crate::format::{self, TimeView};
use crate::layout::{Frame, Layout};
use crate::render::render;
use crate::status::StatusView;
use crate::urls;

/// One inventory host and its latest check.
#[derive(Debug, Clone)]
pub struct InfraHostEntry<'a> {
    pub name: &'a str,
    pub groups: &'a [String],
    pub check: Option<&'a HostCheck>,
    /// The shortest `drift: { every: }` of its groups.
    pub drift_every: Option<Duration>,
}

/// What the hosts page shows.
#[derive(Debug, Clone)]
pub struct InfraData<'a> {
    pub hosts: &'a [InfraHostEntry<'a>],
    /// Newest first.
    pub applies: &'a [InfraApply],
    /// The plan just made (`?plan=ID`).
    pub plan: Option<&'a InfraPlan>,
}

/// What a host's page shows.
#[derive(Debug, Clone)]
pub struct InfraHostData<'a> {
    pub host: InfraHostEntry<'a>,
}

#[derive(Debug)]
struct HostRow<'a> {
    name: &'a str,
    url: String,
    groups: &'a [String],
    status: StatusView,
    state: &'a str,
    changes: String,
    checked: Option<TimeView>,
    every: String,
}

fn host_row<'a>(h: &InfraHostEntry<'a>, now: jiff::Timestamp) -> HostRow<'a> {
    HostRow {
        name: h.name,
        url: urls::infra_host(h.name),
        groups: h.groups,
        status: StatusView::infra(h.check.map_or("unknown", |c| c.state.as_str())),
        state: h.check.map_or("unknown", |c| c.state.as_str()),
        changes: h
            .check
            .map_or_else(|| "—".into(), |c| c.changes.to_string()),
        checked: h.check.map(|c| TimeView::new(c.checked_at, now)),
        every: h.drift_every.map_or_else(
            || "not scheduled".into(),
            |d| format!("every {}", format::duration_ms(d.as_millis() as u64)),
        ),
    }
}

#[derive(Debug)]
struct ApplyRow<'a> {
    id: i64,
    plan_id: i64,
    status: StatusView,
    state: &'static str,
    requested_by: &'a str,
    requested: TimeView,
    approved_by: &'a str,
    approve_url: Option<String>,
}

#[derive(Debug)]
struct PlanBox<'a> {
    id: i64,
    hosts: String,
    changes: u64,
    created_by: &'a str,
}

#[derive(Template)]
#[template(path = "infra.html")]
struct InfraPage<'a> {
    frame: Frame<'a>,
    hosts: Vec<HostRow<'a>>,
    applies: Vec<ApplyRow<'a>>,
    plan: Option<PlanBox<'a>>,
    plan_url: &'static str,
    applies_url: &'static str,
}

/// The hosts page.
pub fn infra_page(layout: &Layout, data: &InfraData<'_>) -> String {
    render(&InfraPage {
        frame: Frame {
            layout,
            title: "Hosts".into(),
            nav: "infra",
        },
        hosts: data.hosts.iter().map(|h| host_row(h, layout.now)).collect(),
        applies: data
            .applies
            .iter()
            .map(|a| ApplyRow {
                id: a.id.0,
                plan_id: a.plan_id.0,
                status: StatusView::infra(a.state.as_str()),
                state: a.state.as_str(),
                requested_by: &a.requested_by,
                requested: TimeView::new(a.requested_at, layout.now),
                approved_by: a.approved_by.as_deref().unwrap_or("—"),
                approve_url: (a.state == ApplyState::AwaitingApproval)
                    .then(|| urls::infra_approve(a.id)),
            })
            .collect(),
        plan: data.plan.map(|p| PlanBox {
            id: p.id.0,
            hosts: p.hosts.join(", "),
            changes: p.changes,
            created_by: &p.created_by,
        }),
        plan_url: urls::INFRA_PLAN,
        applies_url: urls::INFRA_APPLIES,
    })
}

#[derive(Debug)]
struct ChangeRow {
    field: String,
    from: String,
    to: String,
    diff: String,
}

#[derive(Debug)]
struct ResourceRow {
    id: String,
    kind: String,
    location: String,
    status: String,
    message: String,
    changes: Vec<ChangeRow>,
}

#[derive(Template)]
#[template(path = "infra_host.html")]
struct InfraHostPage<'a> {
    frame: Frame<'a>,
    host: HostRow<'a>,
    error: String,
    resources: Vec<ResourceRow>,
    checked: bool,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The resources of the (one-host) report a check stored.
fn resources(report: &Value) -> (String, Vec<ResourceRow>) {
    let host = &report["hosts"][0];
    let rows = host["resources"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| ResourceRow {
                    id: text(&r["id"]),
                    kind: text(&r["type"]),
                    location: text(&r["location"]),
                    status: text(&r["status"]),
                    message: text(&r["message"]),
                    changes: r["changes"]
                        .as_array()
                        .map(|cs| {
                            cs.iter()
                                .map(|c| ChangeRow {
                                    field: text(&c["field"]),
                                    from: text(&c["from"]),
                                    to: text(&c["to"]),
                                    diff: text(&c["diff"]),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    (text(&host["error"]), rows)
}

/// A host's page.
pub fn infra_host_page(layout: &Layout, data: &InfraHostData<'_>) -> String {
    let (error, resources) = data
        .host
        .check
        .map(|c| resources(&c.report))
        .unwrap_or_default();
    render(&InfraHostPage {
        frame: Frame {
            layout,
            title: format!("Host {}", data.host.name),
            nav: "infra",
        },
        host: host_row(&data.host, layout.now),
        error,
        resources,
        checked: data.host.check.is_some(),
    })
}
