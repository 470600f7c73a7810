//! The `canary` strategy. The new release starts in the idle slot on every host and is
//! health-gated there; then, step by step, nginx sends it `weight`% of each host's
//! requests while an analysis runs every `interval` for `hold`: the health checks
//! against the canary slot, its error rate and 95th-percentile response time from what
//! nginx logged since the step began, and an optional Prometheus query. Every step
//! passed: the canary goes live (as a blue-green switch) and the old slots drain and
//! stop. Any check failed: every host's requests go back to the stable slot, the canary
//! stops, and the deploy ends rolled back.

mod prometheus;
mod traffic;

use std::time::{Duration, Instant};

use gantry_workspace::{Canary, CanaryStep, Health};
use serde::Serialize;

pub use traffic::Traffic;

use crate::blue_green::{self, Upstream, access_log, script, site, slot_probe, start_and_gate};
use crate::health::gate;
use crate::layout::Slot;
use crate::parallel::each;
use crate::report::{DeploymentReport, also};
use crate::rollout::{End, Fleet, millis};
use crate::script::PreviousLink;

/// What one step of a canary measured, and whether it passed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// Percent of requests sent to the canary.
    pub weight: u32,
    pub canary: Traffic,
    pub stable: Traffic,
    /// The Prometheus query's last value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<f64>,
    pub passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub duration_ms: u64,
}

/// Slots and ports of the hosts for one canary.
struct Slots {
    listen: u16,
    stable: Vec<Slot>,
    canary: Vec<Slot>,
}

pub(crate) fn run(
    fleet: &Fleet<'_>,
    c: &Canary,
    version: &str,
    report: &mut DeploymentReport,
) -> End {
    let Fleet {
        service,
        hosts,
        states,
        progress,
        ..
    } = *fleet;
    let Some(listen) = service.port else {
        return End::Failed("the canary strategy needs the service's port".into());
    };
    if let Some(i) = states.iter().position(|s| s.live.is_none()) {
        // A canary needs a stable release behind nginx to share the requests with.
        progress(&format!(
            "{} has no live slot yet, so there is no stable release to compare with: going live as blue-green",
            hosts[i].name
        ));
        let versions = vec![version.to_string(); hosts.len()];
        return blue_green::switch_over(fleet, &c.as_blue_green(), &versions, report);
    }
    let stable: Vec<Slot> = states
        .iter()
        .map(|s| s.live.unwrap_or(Slot::Blue))
        .collect();
    let slots = Slots {
        listen,
        canary: stable.iter().map(|s| s.other()).collect(),
        stable,
    };
    let all: Vec<usize> = (0..hosts.len()).collect();

    // 1. The canary beside the stable slot on every host, gated there.
    progress(&format!(
        "starting {version} in the idle slot of {} host(s)",
        hosts.len()
    ));
    let started = each(&all, |&i| {
        let t0 = Instant::now();
        let r = start_and_gate(fleet, c.ports, i, slots.canary[i], version);
        (r, millis(t0))
    });
    let mut bad = Vec::new();
    for (i, (r, ms)) in started.into_iter().enumerate() {
        let host = &mut report.hosts[i];
        host.slot = Some(slots.canary[i]);
        host.duration_ms += ms;
        match r {
            Ok(h) => host.health = Some(h),
            Err((h, e)) => {
                host.health = h;
                progress(&format!("{}: {e}", host.host));
                host.error = Some(e);
                bad.push(host.host.clone());
            }
        }
    }
    if !bad.is_empty() {
        let why = format!("{version} failed on {}", bad.join(", "));
        return abort(fleet, c, &slots, why, report);
    }

    // 2. The steps.
    for (n, step) in c.steps.iter().enumerate() {
        if let Some(why) = fleet.lease.lost() {
            return abort(fleet, c, &slots, why, report);
        }
        let log = access_log(&service.name);
        let offsets: Vec<u64> = each(&all, |&i| {
            hosts[i]
                .run_ok(&traffic::offset(&log))
                .ok()
                .and_then(|o| o.trim().parse().ok())
                .unwrap_or(0)
        });
        let weights = each(&all, |&i| {
            let conf = weighted_site(fleet, c, &slots, i, step.weight, version);
            hosts[i].run_ok(&script::set_site(fleet.layout, &conf))
        });
        let mut failed = Vec::new();
        for (i, r) in weights.into_iter().enumerate() {
            match r {
                Ok(_) => report.hosts[i].switched = true,
                Err(e) => {
                    report.hosts[i].error =
                        Some(format!("setting the canary's weight failed: {e}"));
                    failed.push(hosts[i].name.clone());
                }
            }
        }
        if !failed.is_empty() {
            let why = format!("nginx could not be set on {}", failed.join(", "));
            return abort(fleet, c, &slots, why, report);
        }
        progress(&format!(
            "step {}/{}: {}% of requests to {version} for {:?}",
            n + 1,
            c.steps.len(),
            step.weight,
            step.hold
        ));
        let result = hold(
            fleet,
            c,
            &slots,
            step,
            &offsets,
            &format!("step {}/{}", n + 1, c.steps.len()),
        );
        let passed = result.passed;
        let reason = result.reason.clone();
        report.canary.push(result);
        if !passed {
            let why = format!(
                "the canary analysis failed at step {} ({}%): {}",
                n + 1,
                step.weight,
                reason.unwrap_or_default()
            );
            return abort(fleet, c, &slots, why, report);
        }
    }

    // 3. Every step passed: the canary goes live, the old slots drain and stop.
    progress(&format!("{version} passed every step: making it live"));
    let promoted = each(&all, |&i| {
        let slot = slots.canary[i];
        let conf = site(
            &service.name,
            listen,
            &[Upstream {
                port: slot.port(c.ports),
                weight: 1,
            }],
            &format!("live slot {} ({version})", slot.name()),
        );
        hosts[i].run_ok(&script::go_live(
            fleet.layout,
            slot,
            version,
            &conf,
            &PreviousLink::FromCurrent,
        ))
    });
    let mut failed = Vec::new();
    for (i, r) in promoted.into_iter().enumerate() {
        if let Err(e) = r {
            report.hosts[i].error = Some(format!("making the canary live failed: {e}"));
            failed.push(hosts[i].name.clone());
        }
    }
    if !failed.is_empty() {
        // `current` may have moved on some hosts: those go back as blue-green puts back.
        let why = format!("making {version} live failed on {}", failed.join(", "));
        let bg = c.as_blue_green();
        return if blue_green::put_back(fleet, &bg, listen, &slots.canary, &all, &all, report) {
            End::RolledBack(why)
        } else {
            End::RollbackFailed(why)
        };
    }
    let old: Vec<Option<Slot>> = slots.stable.iter().copied().map(Some).collect();
    blue_green::drain_and_stop(fleet, &old, c.drain, report);
    End::Done
}

/// The site of one step on host `i`: the stable slot `100 - weight`, the canary
/// `weight`.
fn weighted_site(
    fleet: &Fleet<'_>,
    c: &Canary,
    slots: &Slots,
    i: usize,
    weight: u32,
    version: &str,
) -> String {
    let (stable, canary) = (slots.stable[i], slots.canary[i]);
    site(
        &fleet.service.name,
        slots.listen,
        &[
            Upstream {
                port: stable.port(c.ports),
                weight: 100 - weight,
            },
            Upstream {
                port: canary.port(c.ports),
                weight,
            },
        ],
        &format!(
            "canary {version} in the {} slot at {weight}%, stable in the {} slot",
            canary.name(),
            stable.name()
        ),
    )
}

/// Holds a step for its duration, running the analysis every `interval` (and once at
/// the end); stops at the first failure.
fn hold(
    fleet: &Fleet<'_>,
    c: &Canary,
    slots: &Slots,
    step: &CanaryStep,
    offsets: &[u64],
    label: &str,
) -> StepReport {
    let Fleet {
        service,
        hosts,
        layout,
        progress,
        ..
    } = *fleet;
    let started = Instant::now();
    let deadline = started + step.hold;
    let all: Vec<usize> = (0..hosts.len()).collect();
    let log = access_log(&service.name);
    // One attempt per evaluation: the analysis repeats itself every interval.
    let once: Option<Health> = service.health.clone().map(|h| Health { retries: 0, ..h });
    let mut report = StepReport {
        weight: step.weight,
        canary: Traffic::default(),
        stable: Traffic::default(),
        prometheus: None,
        passed: false,
        reason: None,
        duration_ms: 0,
    };
    loop {
        let now = Instant::now();
        let wait = c
            .analysis
            .interval
            .min(deadline.saturating_duration_since(now));
        std::thread::sleep(wait);
        let last = Instant::now() >= deadline;
        let fail = |mut report: StepReport, why: String| {
            progress(&format!("{label}: FAILED: {why}"));
            report.reason = Some(why);
            report.duration_ms = millis(started);
            report
        };

        if let Some(health) = &once {
            let results = each(&all, |&i| {
                let slot = slots.canary[i];
                gate(
                    &hosts[i],
                    &slot_probe(layout, slot, slot.port(c.ports)),
                    Some(health),
                )
            });
            if let Some((i, h)) = results.iter().enumerate().find(|(_, h)| !h.healthy) {
                let why = format!(
                    "{}: the canary is unhealthy: {}",
                    hosts[i].name,
                    h.error.clone().unwrap_or_default()
                );
                return fail(report, why);
            }
        }

        let counts = each(&all, |&i| {
            let canary = slots.canary[i].port(c.ports);
            let stable = slots.stable[i].port(c.ports);
            hosts[i]
                .run_ok(&traffic::count(&log, offsets[i], canary, stable))
                .map(|out| traffic::parse(&out))
        });
        let (mut canary, mut stable) = (Traffic::default(), Traffic::default());
        for (i, r) in counts.into_iter().enumerate() {
            match r {
                Ok(t) => {
                    canary.add(&t.canary);
                    stable.add(&t.stable);
                }
                Err(e) => {
                    let why = format!("{}: cannot read nginx's log {log}: {e}", hosts[i].name);
                    return fail(report, why);
                }
            }
        }
        report.canary = canary;
        report.stable = stable;
        progress(&format!(
            "{label}: canary {} request(s), {} error(s) ({:.1}%), p95 {}; stable {} request(s), {} error(s)",
            canary.requests,
            canary.errors,
            canary.error_rate() * 100.0,
            canary.p95_ms.map_or("-".to_string(), |p| format!("{p} ms")),
            stable.requests,
            stable.errors
        ));
        if let Err(why) = traffic::judge(&c.analysis, &canary, last) {
            return fail(report, why);
        }

        if let Some(check) = &c.analysis.prometheus {
            let timeout = c.analysis.interval.max(Duration::from_secs(5));
            let judged =
                prometheus::query(check, timeout).and_then(|v| prometheus::judge(check, v));
            match judged {
                Ok(v) => report.prometheus = Some(v),
                Err(why) => return fail(report, why),
            }
        }

        if last {
            report.passed = true;
            report.duration_ms = millis(started);
            return report;
        }
    }
}

/// Every host's requests back to the stable slot (which never stopped), the canary
/// stopped, the stable slot gated once more. `current`, `previous` and `live` never
/// moved during the canary.
fn abort(
    fleet: &Fleet<'_>,
    c: &Canary,
    slots: &Slots,
    why: String,
    report: &mut DeploymentReport,
) -> End {
    let Fleet {
        service,
        hosts,
        layout,
        states,
        progress,
        ..
    } = *fleet;
    progress(&format!(
        "aborting the canary: {why}; every request goes back to the stable slot"
    ));
    let all: Vec<usize> = (0..hosts.len()).collect();
    let results = each(&all, |&i| {
        let t0 = Instant::now();
        let stable = slots.stable[i];
        let port = stable.port(c.ports);
        let version = states[i].current.as_deref().unwrap_or("previous release");
        let conf = site(
            &service.name,
            slots.listen,
            &[Upstream { port, weight: 1 }],
            &format!("live slot {} ({version})", stable.name()),
        );
        let mut result = hosts[i]
            .run_ok(&script::set_site(layout, &conf))
            .map(drop)
            .map_err(|e| format!("putting nginx back on the stable slot failed: {e}"));
        if let Err(e) = hosts[i].run_ok(&script::stop(layout, slots.canary[i])) {
            result = also(result, format!("stopping the canary failed: {e}"));
        }
        let health = gate(
            &hosts[i],
            &slot_probe(layout, stable, port),
            service.health.as_ref(),
        );
        (result, health, millis(t0))
    });
    let mut all_back = true;
    for (i, (result, health, ms)) in results.into_iter().enumerate() {
        let host = &mut report.hosts[i];
        host.rolled_back = host.switched && result.is_ok();
        all_back &= host.record_put_back(result, Some(health), ms, "the stable slot is unhealthy");
    }
    if all_back {
        End::RolledBack(why)
    } else {
        End::RollbackFailed(why)
    }
}
