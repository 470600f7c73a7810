//! A deploy: the release installed on every host, the `pre` hook, then the strategy —
//! `rolling` here (batches switched at once, each host health-gated, a pause between
//! batches), `blue_green` in its own module — and on any health failure the automatic
//! rollback of every host switched so far. Then the `post` hook and the pruning of old
//! releases. All under the environment's deploy lock.

use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use gantry_core::Secret;
use gantry_workspace::{Rolling, Run, Service, Strategy};
use indexmap::IndexMap;

use crate::artifact::{Packed, pack, pack_image};
use crate::batch::batches;
use crate::env_file;
use crate::error::DeployError;
use crate::health::{HealthResult, Probe, gate};
use crate::layout::{Layout, check_version};
use crate::lock::{DeployLock, HostFileLock, Lease, LockHolder, acquire, with_lease};
use crate::mask::Masked;
use crate::parallel::each;
use crate::prune::{ReleaseEntry, releases_to_delete};
use crate::report::{DeploymentReport, Kind, Outcome};
use crate::request::{Options, Resolved};
use crate::script::{self, HostState, PreviousLink, Shipment};
use crate::target::{Target, Targets};
use crate::unit::{UnitContext, render_unit};
use crate::{blue_green, canary, docker, protect};

/// Where progress lines go (a terminal, a log).
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

/// What a strategy works on.
#[derive(Clone, Copy)]
pub(crate) struct Fleet<'a> {
    pub service: &'a Service,
    pub hosts: &'a [Target],
    pub layout: &'a Layout,
    /// Each host's state before the deploy.
    pub states: &'a [HostState],
    pub lease: &'a Lease,
    pub progress: Progress<'a>,
    /// The resolved secrets the service's env values read.
    pub secrets: &'a IndexMap<String, Secret>,
}

/// How a strategy ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// Every host runs the version, healthy.
    Done,
    /// Nothing was switched.
    Failed(String),
    /// Something failed; every switched host is back, healthy.
    RolledBack(String),
    /// Something failed and putting the hosts back failed too.
    RollbackFailed(String),
}

/// Deploys `version` of the resolved service to its environment. `artifact` overrides
/// the service's `artifact.path`. `Err` only when nothing was changed (bad request,
/// artifact missing, lock not obtained); everything else is in the report. Every
/// progress line, the error and the report are masked over `options.secrets`.
pub fn deploy(
    resolved: &Resolved<'_>,
    version: &str,
    artifact: Option<&Path>,
    options: &Options,
    progress: Progress<'_>,
) -> Result<DeploymentReport, DeployError> {
    let masked = Masked::new(options, progress);
    masked.result(deploy_unmasked(
        resolved,
        version,
        artifact,
        options,
        &masked.progress(),
    ))
}

fn deploy_unmasked(
    resolved: &Resolved<'_>,
    version: &str,
    artifact: Option<&Path>,
    options: &Options,
    progress: Progress<'_>,
) -> Result<DeploymentReport, DeployError> {
    check_version(version).map_err(DeployError::Version)?;
    resolved.check_secrets(options)?;
    let env = resolved.environment;
    protect::check_branch(&env.name, &env.branches, options.branch.as_deref())
        .map_err(DeployError::Protected)?;
    let window = protect::check_window(&env.name, &env.windows, jiff::Timestamp::now());
    if let Err(why) = &window {
        if !options.outside_window {
            return Err(DeployError::Protected(why.clone()));
        }
        progress(&format!(
            "deploying outside the windows of {} (--outside-window): this is in the record",
            env.name
        ));
    }
    let packed = match resolved.artifact_path(artifact) {
        Some(path) => Some(match resolved.service.run {
            Run::Systemd(_) => pack(&path),
            Run::Docker(_) => pack_image(&path),
        })
        .transpose()
        .map_err(DeployError::Artifact)?,
        None => None,
    };
    let targets = connect(resolved, options)?;
    // Approvals are waited for before the lock: a deploy waiting for people must not
    // hold up another environment's rollback… or this one's.
    let approved_by = if env.approvals > 0 {
        protect::approval::wait(
            &targets.hosts[0],
            &options.base_dir,
            &env.name,
            &resolved.service.name,
            version,
            env.approvals,
            &options.identity,
            (options.approval_timeout, options.approval_poll),
            &options.cancel,
            progress,
        )?
    } else {
        Vec::new()
    };
    let lock = HostFileLock::new(&targets.hosts[0], &options.base_dir, &env.name);
    let mut report = locked(&lock, resolved, options, progress, |lease| {
        run(
            resolved,
            &targets.hosts,
            version,
            packed.as_ref(),
            options,
            lease,
            progress,
        )
    })?;
    stamp(&mut report, options);
    report.approved_by = approved_by;
    report.outside_window = window.is_err();
    Ok(report)
}

/// Who and what started a deployment, and the build's branch, in its record.
pub(crate) fn stamp(report: &mut DeploymentReport, options: &Options) {
    report.triggered_by = options.identity.clone();
    report.trigger = options.trigger.clone();
    report.branch = options.branch.clone();
}

pub(crate) fn connect(resolved: &Resolved<'_>, options: &Options) -> Result<Targets, DeployError> {
    Targets::connect(
        &resolved.workspace.inventory,
        &resolved.hosts,
        resolved.dir,
        options.connect_timeout,
    )
    .map_err(|e| DeployError::Setup(format!("cannot prepare SSH connections: {e}")))
}

/// Takes the environment's lock (waiting for another deploy up to the lock timeout),
/// runs `work` while renewing the lease, and releases it.
pub(crate) fn locked<R>(
    lock: &dyn DeployLock,
    resolved: &Resolved<'_>,
    options: &Options,
    progress: Progress<'_>,
    work: impl FnOnce(&Lease) -> R,
) -> Result<R, DeployError> {
    let holder = LockHolder::this_process();
    let lease = resolved.environment.lock_lease;
    let env = &resolved.environment.name;
    let taken_over = acquire(
        lock,
        &holder,
        lease,
        options.lock_timeout,
        options.lock_poll,
        &options.cancel,
        &mut |info| {
            progress(&format!(
                "waiting for the deploy lock of {env} held by {info}"
            ))
        },
    )?;
    if let Some(old) = taken_over {
        progress(&format!(
            "took over the deploy lock of {env}: the lease of {old} had run out"
        ));
    }
    Ok(with_lease(lock, &holder, lease, work))
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(crate) fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Reads every host's state; `Err` names the hosts that could not be read.
pub(crate) fn read_states(hosts: &[Target], layout: &Layout) -> Vec<Result<HostState, String>> {
    each(hosts, |t| {
        t.run_ok(&script::state(layout))
            .map(|out| script::parse_state(&out))
    })
}

fn run(
    resolved: &Resolved<'_>,
    hosts: &[Target],
    version: &str,
    packed: Option<&Packed>,
    options: &Options,
    lease: &Lease,
    progress: Progress<'_>,
) -> DeploymentReport {
    let started = Instant::now();
    let service = resolved.service;
    let layout = Layout::new(&options.base_dir, &service.name);
    let mut report = DeploymentReport::begin(
        Kind::Deploy,
        &service.name,
        &resolved.environment.name,
        version,
        hosts.iter().map(|t| t.name.clone()),
    );
    let finish = |mut report: DeploymentReport, outcome: Outcome, error: Option<String>| {
        report.outcome = outcome;
        report.error = error;
        report.duration_ms = millis(started);
        report
    };

    // 1. What each host has.
    let mut states = Vec::new();
    let mut unreachable = Vec::new();
    for (i, state) in read_states(hosts, &layout).into_iter().enumerate() {
        match state {
            Ok(s) => {
                report.hosts[i].previous_version = s.current.clone();
                states.push(s);
            }
            Err(e) => {
                report.hosts[i].error = Some(e);
                unreachable.push(hosts[i].name.clone());
                states.push(HostState::default());
            }
        }
    }
    report.previous_version = states[0].current.clone();
    if !unreachable.is_empty() {
        let error = format!("cannot read the state of {}", unreachable.join(", "));
        return finish(report, Outcome::Failed, Some(error));
    }

    // 2. The release on every host, before any switch.
    progress(&format!(
        "installing {} {version} on {} host(s){}",
        service.name,
        hosts.len(),
        packed.map_or(String::new(), |p| format!(
            " ({} KiB packed)",
            p.bytes / 1024
        ))
    ));
    let installs = each(&(0..hosts.len()).collect::<Vec<_>>(), |&i| {
        let t0 = Instant::now();
        let target = &hosts[i];
        let release_dir = layout.release(version);
        let cx = UnitContext {
            service: &service.name,
            version,
            release_dir: &release_dir,
            port: service.port,
            vars: &target.vars,
            slot: None,
            secrets: &options.secrets,
        };
        let unit = render_unit(&service.run, &cx)
            .and_then(|unit| Ok((unit, env_file::render(&service.run, &cx)?)));
        let (unit, env) = unit.map_err(|e| format!("service '{}': {e}", service.name))?;
        let present = states[i].has_release(version);
        let prepare = match &service.run {
            Run::Systemd(_) => String::new(),
            Run::Docker(run) => {
                let image = docker::unit::render_image(run, &cx)
                    .map_err(|e| format!("service '{}': {e}", service.name))?;
                if let Some(other) = docker::tag_clash(&service.name, version, &states[i].releases)
                {
                    return Err(format!(
                        "releases {version} and {other} would share the Docker tag {} ('+' becomes '_' in a tag): deploy under another version",
                        docker::pinned_image(&service.name, version)
                    ));
                }
                docker::script::install_image(&layout, version, &image, !present)
            }
        };
        let shipment = match (present, packed) {
            (true, _) => Shipment::Present,
            (false, Some(p)) => Shipment::Payload(p.base64.as_str()),
            // A docker release may be just its image, already on the host: the install
            // finds it (or says it is missing) and records the release.
            (false, None) if matches!(service.run, Run::Docker(_)) => Shipment::Empty,
            (false, None) => {
                return Err(format!(
                    "release {version} is not on the host and no artifact was given (--artifact, or `artifact.path` of the service)"
                ));
            }
        };
        target
            .run_ok(&script::install(
                &layout, version, shipment, &unit, &env, &prepare,
            ))
            .map(|_| (matches!(shipment, Shipment::Payload(_)), millis(t0)))
    });
    let mut failed = Vec::new();
    for (i, r) in installs.into_iter().enumerate() {
        match r {
            Ok((uploaded, ms)) => {
                report.hosts[i].uploaded = uploaded;
                report.hosts[i].duration_ms += ms;
            }
            Err(e) => {
                report.hosts[i].error = Some(format!("install failed: {e}"));
                failed.push(hosts[i].name.clone());
            }
        }
    }
    if !failed.is_empty() {
        let error = format!("cannot install {version} on {}", failed.join(", "));
        return finish(report, Outcome::Failed, Some(error));
    }

    let hook_env = |previous: &str| {
        vec![
            ("GANTRY_SERVICE", service.name.clone()),
            ("GANTRY_ENVIRONMENT", resolved.environment.name.clone()),
            ("GANTRY_VERSION", version.to_string()),
            ("GANTRY_PREVIOUS_VERSION", previous.to_string()),
        ]
    };
    let previous = report.previous_version.clone().unwrap_or_default();
    if let Some(pre) = &service.hooks.pre {
        progress(&format!("running the pre hook on {}", hosts[0].name));
        let env = hook_env(&previous);
        if let Err(e) = run_hook(&hosts[0], &layout.release(version), &env, pre) {
            let error = format!("the pre hook failed on {}: {e}", hosts[0].name);
            return finish(report, Outcome::Failed, Some(error));
        }
    }

    // 3. The strategy.
    let fleet = Fleet {
        service,
        hosts,
        layout: &layout,
        states: &states,
        lease,
        progress,
        secrets: &options.secrets,
    };
    let end = match &service.strategy {
        Strategy::Rolling(rolling) => roll(&fleet, rolling, version, &mut report),
        Strategy::BlueGreen(bg) => {
            let versions = vec![version.to_string(); hosts.len()];
            blue_green::switch_over(&fleet, bg, &versions, &mut report)
        }
        Strategy::Canary(c) => canary::run(&fleet, c, version, &mut report),
    };
    match end {
        End::Done => {}
        End::Failed(why) => return finish(report, Outcome::Failed, Some(why)),
        End::RolledBack(why) => return finish(report, Outcome::RolledBack, Some(why)),
        End::RollbackFailed(why) => {
            let error = format!("{why}; the rollback failed too, see the hosts");
            return finish(report, Outcome::Failed, Some(error));
        }
    }

    // 4. The post hook, then old releases go.
    let mut error = None;
    if let Some(post) = &service.hooks.post {
        progress(&format!("running the post hook on {}", hosts[0].name));
        let env = hook_env(&previous);
        if let Err(e) = run_hook(&hosts[0], &layout.current(), &env, post) {
            error = Some(format!("the post hook failed on {}: {e}", hosts[0].name));
        }
    }
    let keep = service.keep as usize;
    let pruned = each(&(0..hosts.len()).collect::<Vec<_>>(), |&i| {
        let state = &states[i];
        let mut releases = state.releases.clone();
        releases.retain(|r| r.version != version);
        releases.push(ReleaseEntry {
            version: version.to_string(),
            installed_at: i64::MAX,
        });
        let previous = match state.current.as_deref() {
            Some(c) if c != version => Some(c),
            _ => state.previous.as_deref(),
        };
        let delete = releases_to_delete(&releases, keep, Some(version), previous);
        if delete.is_empty() {
            return Ok(delete);
        }
        let prune = match service.run {
            Run::Systemd(_) => script::prune(&layout, &delete),
            Run::Docker(_) => docker::script::prune(&layout, &delete),
        };
        hosts[i].run_ok(&prune).map(|_| delete)
    });
    for (i, p) in pruned.into_iter().enumerate() {
        match p {
            Ok(deleted) => report.hosts[i].pruned = deleted,
            Err(e) => report.hosts[i].error = Some(format!("pruning old releases failed: {e}")),
        }
    }
    let outcome = if error.is_some() {
        Outcome::Failed
    } else {
        Outcome::Succeeded
    };
    finish(report, outcome, error)
}

/// `rolling`: batch by batch, each host of a batch switched and health-gated at once;
/// on a failure every switched host goes back.
fn roll(fleet: &Fleet<'_>, rolling: &Rolling, version: &str, report: &mut DeploymentReport) -> End {
    let Fleet {
        service,
        hosts,
        layout,
        states,
        lease,
        progress,
        ..
    } = *fleet;
    let plan = batches(hosts.len(), rolling.batch);
    let mut switched: Vec<usize> = Vec::new();
    let mut failure: Option<String> = None;
    for (n, batch) in plan.iter().enumerate() {
        if let Some(why) = lease.lost() {
            failure = Some(why);
            break;
        }
        let names: Vec<&str> = batch.iter().map(|&i| hosts[i].name.as_str()).collect();
        progress(&format!(
            "batch {}/{}: switching {} to {version}",
            n + 1,
            plan.len(),
            names.join(", ")
        ));
        let results = each(batch, |&i| {
            let t0 = Instant::now();
            let target = &hosts[i];
            let before_start = docker::before_start(service, layout, version);
            let switched = target.run_ok(&script::switch(
                layout,
                version,
                &PreviousLink::FromCurrent,
                &before_start,
            ));
            match switched {
                Err(e) => (Err(format!("switch failed: {e}")), None, millis(t0)),
                Ok(_) => {
                    let health = gate(
                        target,
                        &Probe::current(layout, service.port),
                        service.health.as_ref(),
                    );
                    (Ok(()), Some(health), millis(t0))
                }
            }
        });
        let mut unhealthy = Vec::new();
        for (&i, (switch, health, ms)) in batch.iter().zip(results) {
            let host = &mut report.hosts[i];
            host.duration_ms += ms;
            // A failed switch may have moved `current` already: it is rolled back too.
            host.switched = switch.is_ok();
            switched.push(i);
            if let Err(e) = switch {
                host.error = Some(e);
                unhealthy.push(host.host.clone());
                continue;
            }
            let health = health.unwrap_or(HealthResult {
                healthy: false,
                attempts: 0,
                error: None,
                duration_ms: 0,
            });
            if health.healthy {
                progress(&format!(
                    "{}: healthy on {version} ({} attempt(s))",
                    host.host, health.attempts
                ));
            } else {
                let why = health.error.clone().unwrap_or_default();
                progress(&format!("{}: unhealthy on {version}: {why}", host.host));
                host.error = Some(format!(
                    "unhealthy after {} attempt(s): {why}",
                    health.attempts
                ));
                unhealthy.push(host.host.clone());
            }
            host.health = Some(health);
        }
        if !unhealthy.is_empty() {
            failure = Some(format!("{} failed on {}", version, unhealthy.join(", ")));
            break;
        }
        if n + 1 < plan.len()
            && let Some(pause) = rolling.pause
        {
            progress(&format!("pausing {pause:?} before the next batch"));
            std::thread::sleep(pause);
        }
    }

    let Some(why) = failure else {
        return End::Done;
    };
    if switched.is_empty() {
        return End::Failed(why);
    }
    progress(&format!("rolling back {} host(s): {why}", switched.len()));
    if roll_back(hosts, layout, service, version, states, &switched, report) {
        End::RolledBack(why)
    } else {
        End::RollbackFailed(why)
    }
}

/// Runs a hook in `dir` (a release, or `current`) with that release's environment file
/// sourced and the `GANTRY_*` variables of `env` on top.
fn run_hook(target: &Target, dir: &str, env: &[(&str, String)], run: &str) -> Result<(), String> {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let file = env_file::path(dir, None);
    target
        .run_ok(&script::command(dir, Some(&file), &env, run))
        .map(drop)
}

/// Puts every switched host back on the release it ran before the deploy (or removes
/// the service where there was none), health-gated. True when all are back and healthy.
fn roll_back(
    hosts: &[Target],
    layout: &Layout,
    service: &Service,
    version: &str,
    states: &[HostState],
    switched: &[usize],
    report: &mut DeploymentReport,
) -> bool {
    let results = each(switched, |&i| {
        let t0 = Instant::now();
        let state = &states[i];
        let target = &hosts[i];
        match state.current.as_deref() {
            Some(old) if old != version => {
                let previous = PreviousLink::Set(state.previous.clone());
                let before_start = docker::before_start(service, layout, old);
                match target.run_ok(&script::switch(layout, old, &previous, &before_start)) {
                    Err(e) => (
                        Err(format!("rollback to {old} failed: {e}")),
                        None,
                        millis(t0),
                    ),
                    Ok(_) => {
                        let h = gate(
                            target,
                            &Probe::current(layout, service.port),
                            service.health.as_ref(),
                        );
                        (Ok(()), Some(h), millis(t0))
                    }
                }
            }
            Some(_) => (
                Err(format!(
                    "{version} was already current here: nothing to roll back to"
                )),
                None,
                millis(t0),
            ),
            None => {
                let r = target
                    .run_ok(&script::remove(layout))
                    .map(drop)
                    .map_err(|e| format!("removing the service failed: {e}"));
                (r, None, millis(t0))
            }
        }
    });
    let mut all_back = true;
    for (&i, (result, health, ms)) in switched.iter().zip(results) {
        let host = &mut report.hosts[i];
        host.rolled_back = result.is_ok();
        all_back &= host.record_put_back(result, health, ms, "unhealthy after the rollback too");
    }
    all_back
}
