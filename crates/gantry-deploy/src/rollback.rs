//! `gantry rollback`: every host of the environment back to its previous release (or
//! to a given one), batch by batch as the service's strategy says, health-gated, under
//! the deploy lock. A rollback by hand leaves `previous` pointing at the release it left,
//! so a second rollback undoes the first. A host failing its gate stops the rollback
//! (no automatic undo of an undo): the report says which hosts moved.

use std::time::Instant;

use gantry_workspace::Strategy;

use crate::batch::batches;
use crate::blue_green;
use crate::docker;
use crate::error::DeployError;
use crate::health::{Probe, gate};
use crate::layout::{Layout, check_version};
use crate::lock::{HostFileLock, Lease};
use crate::mask::Masked;
use crate::parallel::each;
use crate::report::{DeploymentReport, Kind, Outcome};
use crate::request::{Options, Resolved};
use crate::rollout::{End, Fleet, Progress, connect, locked, millis, read_states, stamp};
use crate::script::{self, HostState, PreviousLink};
use crate::target::Target;

/// Rolls the resolved service back on its environment: to `to`, or to each host's
/// previous release.
pub fn rollback(
    resolved: &Resolved<'_>,
    to: Option<&str>,
    options: &Options,
    progress: Progress<'_>,
) -> Result<DeploymentReport, DeployError> {
    let masked = Masked::new(options, progress);
    masked.result(rollback_unmasked(resolved, to, options, &masked.progress()))
}

fn rollback_unmasked(
    resolved: &Resolved<'_>,
    to: Option<&str>,
    options: &Options,
    progress: Progress<'_>,
) -> Result<DeploymentReport, DeployError> {
    // A blue-green or canary rollback renders the old release's slot unit and env.
    resolved.check_secrets(options)?;
    if let Some(v) = to {
        check_version(v).map_err(DeployError::Version)?;
    }
    let targets = connect(resolved, options)?;
    let lock = HostFileLock::new(
        &targets.hosts[0],
        &options.base_dir,
        &resolved.environment.name,
    );
    let mut report = locked(&lock, resolved, options, progress, |lease| {
        run(resolved, &targets.hosts, to, options, lease, progress)
    })?;
    stamp(&mut report, options);
    Ok(report)
}

fn run(
    resolved: &Resolved<'_>,
    hosts: &[Target],
    to: Option<&str>,
    options: &Options,
    lease: &Lease,
    progress: Progress<'_>,
) -> DeploymentReport {
    let started = Instant::now();
    let service = resolved.service;
    let layout = Layout::new(&options.base_dir, &service.name);
    let mut report = DeploymentReport::begin(
        Kind::Rollback,
        &service.name,
        &resolved.environment.name,
        to.unwrap_or("previous"),
        hosts.iter().map(|t| t.name.clone()),
    );
    let finish = |mut report: DeploymentReport, outcome: Outcome, error: Option<String>| {
        report.outcome = outcome;
        report.error = error;
        report.duration_ms = millis(started);
        report
    };

    // Every host's target release, checked before anything moves.
    let mut targets: Vec<String> = Vec::new();
    let mut states = Vec::new();
    let mut problems = Vec::new();
    for (i, state) in read_states(hosts, &layout).into_iter().enumerate() {
        let host = &mut report.hosts[i];
        let target = match state {
            Err(e) => {
                states.push(HostState::default());
                Err(e)
            }
            Ok(s) => {
                states.push(s.clone());
                host.previous_version = s.current.clone();
                match to.map(str::to_string).or(s.previous.clone()) {
                    None => Err("no previous release to roll back to".to_string()),
                    Some(v) if !s.has_release(&v) => {
                        Err(format!("release {v} is not on this host"))
                    }
                    Some(v) => Ok(v),
                }
            }
        };
        match target {
            Ok(v) => targets.push(v),
            Err(e) => {
                problems.push(format!("{}: {e}", host.host));
                host.error = Some(e);
                targets.push(String::new());
            }
        }
    }
    report.previous_version = report.hosts[0].previous_version.clone();
    if to.is_none() && !targets[0].is_empty() {
        report.version = targets[0].clone();
    }
    if !problems.is_empty() {
        let error = format!("nothing rolled back: {}", problems.join("; "));
        return finish(report, Outcome::Failed, Some(error));
    }

    // Blue-green and canary roll back by a switch-over: a rollback is urgent, so no
    // canary steps, straight to the release known good.
    let switch_over = match &service.strategy {
        Strategy::Rolling(_) => None,
        Strategy::BlueGreen(bg) => Some(bg.clone()),
        Strategy::Canary(c) => Some(c.as_blue_green()),
    };
    if let Some(bg) = switch_over {
        progress("each host's release starts in the idle slot, then goes live");
        let fleet = Fleet {
            service,
            hosts,
            layout: &layout,
            states: &states,
            lease,
            progress,
            secrets: &options.secrets,
        };
        return match blue_green::switch_over(&fleet, &bg, &targets, &mut report) {
            End::Done => finish(report, Outcome::Succeeded, None),
            End::Failed(why) => finish(report, Outcome::Failed, Some(why)),
            End::RolledBack(why) => {
                let error = format!("{why}; every host is back where it was");
                finish(report, Outcome::Failed, Some(error))
            }
            End::RollbackFailed(why) => {
                let error = format!("{why}; putting the hosts back failed too, see the hosts");
                finish(report, Outcome::Failed, Some(error))
            }
        };
    }
    let Strategy::Rolling(rolling) = &service.strategy else {
        return finish(
            report,
            Outcome::Failed,
            Some("no strategy to roll back with".into()),
        );
    };
    let plan = batches(hosts.len(), rolling.batch);
    for (n, batch) in plan.iter().enumerate() {
        if let Some(why) = lease.lost() {
            return finish(report, Outcome::Failed, Some(why));
        }
        progress(&format!(
            "batch {}/{}: rolling back {}",
            n + 1,
            plan.len(),
            batch
                .iter()
                .map(|&i| format!("{} to {}", hosts[i].name, targets[i]))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let results = each(batch, |&i| {
            let t0 = Instant::now();
            let target = &hosts[i];
            let before_start = docker::before_start(service, &layout, &targets[i]);
            match target.run_ok(&script::switch(
                &layout,
                &targets[i],
                &PreviousLink::FromCurrent,
                &before_start,
            )) {
                Err(e) => (Err(format!("switch failed: {e}")), None, millis(t0)),
                Ok(_) => {
                    let h = gate(
                        target,
                        &Probe::current(&layout, service.port),
                        service.health.as_ref(),
                    );
                    (Ok(()), Some(h), millis(t0))
                }
            }
        });
        let mut failed = Vec::new();
        for (&i, (result, health, ms)) in batch.iter().zip(results) {
            let host = &mut report.hosts[i];
            host.duration_ms += ms;
            match result {
                Ok(()) => host.switched = true,
                Err(e) => {
                    host.error = Some(e);
                    failed.push(host.host.clone());
                }
            }
            if let Some(h) = &health
                && !h.healthy
            {
                host.error = Some(format!(
                    "unhealthy after {} attempt(s): {}",
                    h.attempts,
                    h.error.clone().unwrap_or_default()
                ));
                failed.push(host.host.clone());
            }
            host.health = health;
        }
        if !failed.is_empty() {
            let error = format!(
                "the rollback failed on {}; it stopped there",
                failed.join(", ")
            );
            return finish(report, Outcome::Failed, Some(error));
        }
    }
    finish(report, Outcome::Succeeded, None)
}
