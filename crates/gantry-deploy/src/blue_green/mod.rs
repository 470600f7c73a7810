//! The `blue_green` strategy. Per host, batch by batch: the new release starts in the
//! idle slot beside the live one (its own unit, on that slot's port), passes the health
//! gate there while the live slot keeps serving, then nginx is switched to it with a
//! graceful reload. The old slots keep running until every host is switched, so an
//! unhealthy host puts every switched host back with one reload each; after the last
//! batch the old slots drain for `drain` and stop.

mod nginx;
pub(crate) mod script;

use std::time::Instant;

use gantry_workspace::BlueGreen;

pub use nginx::{Upstream, access_log, site};

use crate::batch::batches;
use crate::docker;
use crate::env_file;
use crate::health::{HealthResult, Probe, gate};
use crate::layout::{Layout, Slot};
use crate::parallel::each;
use crate::report::{DeploymentReport, also};
use crate::rollout::{End, Fleet, millis};
use crate::script::PreviousLink;
use crate::unit::{UnitContext, render_unit};

/// Puts `versions[i]` live on host `i`, every host, as `bg` says; on a failure every
/// host is put back as it was. The report's hosts get `slot`, `switched`, `health`,
/// `rolled_back` and errors.
pub(crate) fn switch_over(
    fleet: &Fleet<'_>,
    bg: &BlueGreen,
    versions: &[String],
    report: &mut DeploymentReport,
) -> End {
    let Fleet {
        service,
        hosts,
        states,
        lease,
        progress,
        ..
    } = *fleet;
    let Some(listen) = service.port else {
        return End::Failed("the blue_green strategy needs the service's port".into());
    };
    // The new release goes to the slot that is not live (blue on a first deploy).
    let slots: Vec<Slot> = states
        .iter()
        .map(|s| s.live.map_or(Slot::Blue, Slot::other))
        .collect();
    let plan = batches(hosts.len(), bg.batch);
    let mut started: Vec<usize> = Vec::new();
    let mut live: Vec<usize> = Vec::new();
    let mut failure = None;
    for (n, batch) in plan.iter().enumerate() {
        if let Some(why) = lease.lost() {
            failure = Some(why);
            break;
        }
        progress(&format!(
            "batch {}/{}: starting {}",
            n + 1,
            plan.len(),
            batch
                .iter()
                .map(|&i| format!(
                    "{} {} in the {} slot (port {})",
                    hosts[i].name,
                    versions[i],
                    slots[i].name(),
                    slots[i].port(bg.ports)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let results = each(batch, |&i| {
            let t0 = Instant::now();
            let r = start_and_go_live(fleet, bg, listen, i, slots[i], &versions[i]);
            (r, millis(t0))
        });
        let mut bad = Vec::new();
        for (&i, (r, ms)) in batch.iter().zip(results) {
            let host = &mut report.hosts[i];
            host.duration_ms += ms;
            host.slot = Some(slots[i]);
            started.push(i);
            if let Some(h) = r.health {
                if h.healthy {
                    progress(&format!(
                        "{}: healthy on {} in the {} slot ({} attempt(s))",
                        host.host,
                        versions[i],
                        slots[i].name(),
                        h.attempts
                    ));
                }
                host.health = Some(h);
            }
            host.switched = r.live;
            if r.live {
                live.push(i);
                progress(&format!(
                    "{}: nginx now sends requests to {}",
                    host.host, versions[i]
                ));
            }
            if let Some(e) = r.error {
                progress(&format!("{}: {e}", host.host));
                host.error = Some(e);
                bad.push(host.host.clone());
            }
        }
        if !bad.is_empty() {
            failure = Some(format!(
                "{} failed on {}",
                versions[batch[0]],
                bad.join(", ")
            ));
            break;
        }
    }

    if let Some(why) = failure {
        if started.is_empty() {
            return End::Failed(why);
        }
        progress(&format!("putting {} host(s) back: {why}", started.len()));
        return if put_back(fleet, bg, listen, &slots, &started, &live, report) {
            End::RolledBack(why)
        } else {
            End::RollbackFailed(why)
        };
    }

    // Every host is live on the new slot: the old slots drain, then stop.
    let old: Vec<Option<Slot>> = states.iter().map(|s| s.live).collect();
    drain_and_stop(fleet, &old, bg.drain, report);
    End::Done
}

/// What happened on one host of a batch.
struct HostStep {
    health: Option<HealthResult>,
    live: bool,
    error: Option<String>,
}

fn start_and_go_live(
    fleet: &Fleet<'_>,
    bg: &BlueGreen,
    listen: u16,
    i: usize,
    slot: Slot,
    version: &str,
) -> HostStep {
    let health = match start_and_gate(fleet, bg.ports, i, slot, version) {
        Ok(h) => h,
        Err((health, error)) => {
            return HostStep {
                health,
                live: false,
                error: Some(error),
            };
        }
    };
    let port = slot.port(bg.ports);
    let conf = site(
        &fleet.service.name,
        listen,
        &[Upstream { port, weight: 1 }],
        &format!("live slot {} ({version})", slot.name()),
    );
    let live = fleet.hosts[i].run_ok(&script::go_live(
        fleet.layout,
        slot,
        version,
        &conf,
        &PreviousLink::FromCurrent,
    ));
    HostStep {
        health: Some(health),
        live: live.is_ok(),
        error: live.err().map(|e| format!("switching nginx failed: {e}")),
    }
}

/// Starts `version` in `slot` on host `i` (its unit rendered for the slot's port) and
/// runs the health gate there. `Err` carries the gate's result when it ran.
pub(crate) fn start_and_gate(
    fleet: &Fleet<'_>,
    ports: [u16; 2],
    i: usize,
    slot: Slot,
    version: &str,
) -> Result<HealthResult, (Option<HealthResult>, String)> {
    let target = &fleet.hosts[i];
    let layout = fleet.layout;
    let port = slot.port(ports);
    let release_dir = layout.release(version);
    let cx = UnitContext {
        service: &fleet.service.name,
        version,
        release_dir: &release_dir,
        port: Some(port),
        vars: &target.vars,
        slot: Some(slot),
        secrets: fleet.secrets,
    };
    let rendered = render_unit(&fleet.service.run, &cx)
        .and_then(|unit| Ok((unit, env_file::render(&fleet.service.run, &cx)?)));
    let (unit, env) =
        rendered.map_err(|e| (None, format!("service '{}': {e}", fleet.service.name)))?;
    let before_start = docker::before_start(fleet.service, layout, version);
    target
        .run_ok(&script::start(
            layout,
            slot,
            version,
            &unit,
            &env,
            &before_start,
        ))
        .map_err(|e| {
            (
                None,
                format!("starting the {} slot failed: {e}", slot.name()),
            )
        })?;
    let probe = slot_probe(layout, slot, port);
    let health = gate(target, &probe, fleet.service.health.as_ref());
    if health.healthy {
        return Ok(health);
    }
    let why = format!(
        "unhealthy in the {} slot after {} attempt(s): {}",
        slot.name(),
        health.attempts,
        health.error.clone().unwrap_or_default()
    );
    Err((Some(health), why))
}

/// What the gate probes for a slot: its unit, the release it runs, its port.
pub(crate) fn slot_probe(layout: &Layout, slot: Slot, port: u16) -> Probe {
    Probe {
        unit: layout.slot_unit_name(slot),
        dir: layout.slot_link(slot),
        port: Some(port),
    }
}

/// Every started host back as it was: nginx on the old slot (still running) or off,
/// `current`/`previous`/`live` restored, the new slot stopped; the old slot health-gated
/// where one serves again. True when all are back and healthy.
pub(crate) fn put_back(
    fleet: &Fleet<'_>,
    bg: &BlueGreen,
    listen: u16,
    slots: &[Slot],
    started: &[usize],
    live: &[usize],
    report: &mut DeploymentReport,
) -> bool {
    let Fleet {
        service,
        hosts,
        layout,
        states,
        ..
    } = *fleet;
    let results = each(started, |&i| {
        let t0 = Instant::now();
        let target = &hosts[i];
        let state = &states[i];
        let new = slots[i];
        let mut health = None;
        let mut result = Ok(());
        if live.contains(&i) {
            let previous = PreviousLink::Set(state.previous.clone());
            let back = match (state.live, state.current.as_deref()) {
                (Some(old), Some(version)) => {
                    let port = old.port(bg.ports);
                    let conf = site(
                        &service.name,
                        listen,
                        &[Upstream { port, weight: 1 }],
                        &format!("live slot {} ({version})", old.name()),
                    );
                    target
                        .run_ok(&script::go_live(layout, old, version, &conf, &previous))
                        .map(|_| Some((old, port)))
                }
                (None, Some(version)) => target
                    .run_ok(&script::off_nginx(layout, Some((version, &previous))))
                    .map(|_| None),
                (_, None) => target
                    .run_ok(&script::off_nginx(layout, None))
                    .map(|_| None),
            };
            match back {
                Ok(Some((old, port))) => {
                    let probe = slot_probe(layout, old, port);
                    health = Some(gate(target, &probe, service.health.as_ref()));
                }
                Ok(None) => {}
                Err(e) => result = Err(format!("putting nginx back failed: {e}")),
            }
        }
        if let Err(e) = target.run_ok(&script::stop(layout, new)) {
            result = also(
                result,
                format!("stopping the {} slot failed: {e}", new.name()),
            );
        }
        (result, health, millis(t0))
    });
    let mut all_back = true;
    for (&i, (result, health, ms)) in started.iter().zip(results) {
        let host = &mut report.hosts[i];
        host.rolled_back = host.switched && result.is_ok();
        all_back &= host.record_put_back(result, health, ms, "the old slot is unhealthy too");
    }
    all_back
}

/// After every host went live: the old slots (`old[i]` on host `i`, where there is
/// one) drain for `drain`, then stop. An old slot that does not stop is reported on
/// its host, not fatal: the new release serves.
pub(crate) fn drain_and_stop(
    fleet: &Fleet<'_>,
    old: &[Option<Slot>],
    drain: std::time::Duration,
    report: &mut DeploymentReport,
) {
    let hosts: Vec<(usize, Slot)> = old
        .iter()
        .enumerate()
        .filter_map(|(i, slot)| slot.map(|s| (i, s)))
        .collect();
    if hosts.is_empty() {
        return;
    }
    (fleet.progress)(&format!("draining the old slots for {drain:?}"));
    std::thread::sleep(drain);
    let stopped = each(&hosts, |&(i, slot)| {
        fleet.hosts[i]
            .run_ok(&script::stop(fleet.layout, slot))
            .map_err(|e| format!("stopping the old {} slot failed: {e}", slot.name()))
    });
    for (&(i, _), r) in hosts.iter().zip(stopped) {
        if let Err(e) = r {
            report.hosts[i].error = Some(e);
        }
    }
}
