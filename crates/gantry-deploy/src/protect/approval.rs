//! Approvals of a release for an environment, kept (like the deploy lock) on the
//! environment's first host: `<base>/.approvals/<environment>/<service>/<version>/<who>`,
//! one file per approver holding when they approved. `gantry approve` writes one; a
//! deploy to an environment with `approvals: N` waits until N people other than the
//! deployer have approved exactly that version.
//!
//! Trust: from the command line, a person is their `$GANTRY_USER` or `user@machine`, and
//! anyone who can write to that directory over SSH can approve. The server's approvals
//! (API tokens, a UI button) are the ones to rely on where that is not enough.

use std::time::{Duration, Instant};

use gantry_infra::shell::quote;
use serde::Serialize;

use crate::error::DeployError;
use crate::rollout::Progress;
use crate::target::Target;

/// One approval of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    pub by: String,
    /// Unix time (seconds, the host's clock).
    pub at: u64,
}

fn dir(base: &str, environment: &str, service: &str, version: &str) -> String {
    format!(
        "{}/.approvals/{environment}/{service}/{version}",
        base.trim_end_matches('/')
    )
}

/// Records `who`'s approval of `version` of `service` for `environment`.
pub fn approve(
    target: &Target,
    base: &str,
    environment: &str,
    service: &str,
    version: &str,
    who: &str,
) -> Result<(), String> {
    let d = quote(&dir(base, environment, service, version));
    let f = quote(who);
    let script = format!(
        "set -eu\nd={d}\nmkdir -p \"$d\"\nprintf 'at=%s\\n' \"$(date +%s)\" > \"$d/.tmp.$$\"\nmv -f \"$d/.tmp.$$\" \"$d/\"{f}\n"
    );
    target.run_ok(&script).map(drop)
}

/// Every approval of `version` of `service` for `environment`, oldest first.
pub fn approvals(
    target: &Target,
    base: &str,
    environment: &str,
    service: &str,
    version: &str,
) -> Result<Vec<Approval>, String> {
    let d = quote(&dir(base, environment, service, version));
    let script = format!(
        "d={d}\n[ -d \"$d\" ] || exit 0\nfor f in \"$d\"/*; do [ -f \"$f\" ] || continue; printf 'approval %s %s\\n' \"$(sed -n 's/^at=//p' \"$f\")\" \"${{f##*/}}\"; done\n"
    );
    let out = target.run_ok(&script)?;
    let mut list: Vec<Approval> = out
        .lines()
        .filter_map(|l| {
            let mut f = l.strip_prefix("approval ")?.splitn(2, ' ');
            let at = f.next()?.parse().unwrap_or(0);
            let by = f.next()?.to_string();
            Some(Approval { by, at })
        })
        .collect();
    list.sort_by_key(|a| a.at);
    Ok(list)
}

/// Waits until `needed` people other than `deployer` have approved, polling every
/// `poll`, up to `timeout`. Returns who approved.
#[allow(clippy::too_many_arguments)]
pub(crate) fn wait(
    target: &Target,
    base: &str,
    environment: &str,
    service: &str,
    version: &str,
    needed: u32,
    deployer: &str,
    (timeout, poll): (Duration, Duration),
    cancel: &crate::Cancel,
    progress: Progress<'_>,
) -> Result<Vec<String>, DeployError> {
    let started = Instant::now();
    // How many approvals the last "waiting" line reported.
    let mut told: Option<usize> = None;
    loop {
        let by: Vec<String> = approvals(target, base, environment, service, version)
            .map_err(|e| {
                DeployError::Protected(format!(
                    "cannot read the approvals of {environment} on {}: {e}",
                    target.name
                ))
            })?
            .into_iter()
            .map(|a| a.by)
            .filter(|by| by != deployer)
            .collect();
        if by.len() >= needed as usize {
            progress(&format!(
                "{service} {version} to {environment} approved by {}",
                by.join(", ")
            ));
            return Ok(by);
        }
        if told != Some(by.len()) {
            told = Some(by.len());
            progress(&format!(
                "waiting for {} approval(s) of {service} {version} to {environment} from someone other than {deployer} (have {}): gantry approve {service} --env {environment} --version {version}",
                needed,
                by.len()
            ));
        }
        if started.elapsed() >= timeout {
            return Err(DeployError::Protected(format!(
                "{environment} needs {needed} approval(s) of {service} {version}; {} came within {}s (--approval-timeout)",
                by.len(),
                timeout.as_secs()
            )));
        }
        if cancel.sleep(poll) {
            return Err(DeployError::Cancelled(format!(
                "cancelled while waiting for approvals of {service} {version} to {environment}: nothing was changed"
            )));
        }
    }
}

/// `gantry approve`: records `options.identity`'s approval of `version` on the
/// environment's first host and returns every approval of it.
pub fn approve_release(
    resolved: &crate::request::Resolved<'_>,
    version: &str,
    options: &crate::request::Options,
) -> Result<Vec<Approval>, DeployError> {
    let targets = crate::rollout::connect(resolved, options)?;
    let first = &targets.hosts[0];
    let env = &resolved.environment.name;
    let service = &resolved.service.name;
    let on_host = |e: String| DeployError::Protected(format!("on {}: {e}", first.name));
    approve(
        first,
        &options.base_dir,
        env,
        service,
        version,
        &options.identity,
    )
    .map_err(on_host)?;
    approvals(first, &options.base_dir, env, service, version).map_err(on_host)
}

/// Where approvals live on a host, for the docs and tests.
pub fn approvals_dir(base: &str) -> String {
    format!("{}/.approvals", base.trim_end_matches('/'))
}
