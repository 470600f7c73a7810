//! The health gate of a host after a switch: the service's checks (one file each:
//! `http`, `tcp`, `command`), all passing in one attempt, tried up to `retries + 1`
//! times `interval` apart. Without `health:`, a host is healthy once its unit is active
//! with the same main process in two attempts in a row (a crash-looping unit is briefly
//! "active" after each automatic restart).

mod command;
mod http;
mod tcp;

use std::time::{Duration, Instant};

use gantry_workspace::{Health, HealthCheck};
use serde::Serialize;

use crate::layout::Layout;
use crate::script;
use crate::target::Target;

/// What a gate probes on a host: the unit (without checks: its being active), the
/// directory `command` checks run in, and the port `http` and `tcp` checks default to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub unit: String,
    pub dir: String,
    pub port: Option<u16>,
}

impl Probe {
    /// The service's own unit and `current` release, on its `port` (rolling).
    pub fn current(layout: &Layout, port: Option<u16>) -> Probe {
        Probe {
            unit: layout.unit_name(),
            dir: layout.current(),
            port,
        }
    }
}

/// What the gate found on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthResult {
    pub healthy: bool,
    pub attempts: u32,
    /// Why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// Checks when a service declares no `health:`: the unit is active.
const UNIT_ONLY_INTERVAL: Duration = Duration::from_secs(1);
const UNIT_ONLY_RETRIES: u32 = 5;

/// Runs the gate on `target` for the service's `port`.
pub fn gate(target: &Target, probe: &Probe, health: Option<&Health>) -> HealthResult {
    let started = Instant::now();
    let (interval, retries) = match health {
        Some(h) => (h.interval, h.retries),
        None => (UNIT_ONLY_INTERVAL, UNIT_ONLY_RETRIES),
    };
    let mut attempts = 0;
    let mut error = None;
    // Without checks: the same main process active in two attempts in a row, so a unit
    // that crashes and is restarted is not taken for a running one.
    let mut last_pid: Option<String> = None;
    for attempt in 0..=retries {
        if attempt > 0 {
            std::thread::sleep(interval);
        }
        attempts += 1;
        let result = match health {
            Some(_) => attempt_once(target, probe, health),
            None => match main_pid(target, &probe.unit) {
                Ok(pid) if last_pid.as_deref() == Some(pid.as_str()) => Ok(()),
                Ok(pid) => {
                    last_pid = Some(pid);
                    Err(format!("unit {} has only just started", probe.unit))
                }
                Err(e) => {
                    last_pid = None;
                    Err(e)
                }
            },
        };
        match result {
            Ok(()) => {
                error = None;
                break;
            }
            Err(e) => error = Some(e),
        }
    }
    HealthResult {
        healthy: error.is_none(),
        attempts,
        error,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// The unit's main pid when it is active.
fn main_pid(target: &Target, unit: &str) -> Result<String, String> {
    let not_active = || format!("unit {unit} is not active");
    let out = target
        .run_ok(&script::main_pid(unit))
        .map_err(|_| not_active())?;
    let pid = out.trim().to_string();
    if pid.is_empty() || pid == "0" {
        return Err(not_active());
    }
    Ok(pid)
}

fn attempt_once(target: &Target, probe: &Probe, health: Option<&Health>) -> Result<(), String> {
    let port = probe.port;
    let Some(health) = health else {
        return main_pid(target, &probe.unit).map(drop);
    };
    for check in &health.checks {
        match check {
            HealthCheck::Http {
                path,
                expect,
                port: check_port,
                timeout,
            } => {
                let port = check_port.or(port).ok_or("no port to probe")?;
                http::probe(
                    &target.address,
                    port,
                    path,
                    *expect,
                    timeout.unwrap_or(health.timeout),
                )?;
            }
            HealthCheck::Tcp {
                port: check_port,
                timeout,
            } => {
                let port = check_port.or(port).ok_or("no port to probe")?;
                tcp::probe(&target.address, port, timeout.unwrap_or(health.timeout))?;
            }
            HealthCheck::Command { run } => {
                command::probe(target, &probe.dir, port, run, health.timeout)?;
            }
        }
    }
    Ok(())
}
