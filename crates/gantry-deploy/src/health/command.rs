//! The `command` check: a command run on the host (in the release's directory, with the
//! port it should answer on in `GANTRY_PORT`); exit code 0 is healthy.

use std::time::Duration;

use crate::script;
use crate::target::Target;

pub fn probe(
    target: &Target,
    dir: &str,
    port: Option<u16>,
    run: &str,
    timeout: Duration,
) -> Result<(), String> {
    // The time limit is enforced on the host, so a hung check cannot hold the deploy.
    let secs = timeout.as_secs().max(1);
    let port = port.map(|p| p.to_string()).unwrap_or_default();
    let inner = script::command(dir, None, &[("GANTRY_PORT", port.as_str())], run);
    let wrapped = format!("timeout {secs} sh -s <<'GANTRY_CHECK_END'\n{inner}GANTRY_CHECK_END\n");
    target
        .run_ok(&wrapped)
        .map(drop)
        .map_err(|e| format!("command `{run}`: {e}"))
}
