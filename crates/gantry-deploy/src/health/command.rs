//! The `command` check: a command run on the host (in the current release's directory);
//! exit code 0 is healthy.

use std::time::Duration;

use crate::script;
use crate::target::Target;

pub fn probe(target: &Target, dir: &str, run: &str, timeout: Duration) -> Result<(), String> {
    // The time limit is enforced on the host, so a hung check cannot hold the deploy.
    let secs = timeout.as_secs().max(1);
    let inner = script::command(dir, &[], run);
    let wrapped = format!("timeout {secs} sh -s <<'GANTRY_CHECK_END'\n{inner}GANTRY_CHECK_END\n");
    target
        .run_ok(&wrapped)
        .map(drop)
        .map_err(|e| format!("command `{run}`: {e}"))
}
