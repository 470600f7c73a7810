//! The deploy lock as a file on the environment's first host:
//! `<base>/.locks/<environment>.lock` holding `holder=`, `pid=`, `machine=` and
//! `expires=` (unix time by the host's clock, so deployers' clocks never disagree). Every
//! operation is one script run under `flock` on a mutex file beside it, so reading,
//! deciding and writing are atomic on the host; a new lock is created with `set -C`
//! (noclobber), a takeover or renewal is written to a temp file and renamed over it.

use std::time::Duration;

use gantry_infra::shell::quote;

use super::{Attempt, DeployLock, LockError, LockHolder, LockInfo};
use crate::layout::Layout;
use crate::target::Target;

/// The lock of one environment, kept on `target`.
#[derive(Debug)]
pub struct HostFileLock<'a> {
    target: &'a Target,
    environment: String,
    dir: String,
}

impl<'a> HostFileLock<'a> {
    pub fn new(target: &'a Target, base_dir: &str, environment: &str) -> HostFileLock<'a> {
        HostFileLock {
            target,
            environment: environment.to_string(),
            dir: Layout::locks_dir(base_dir),
        }
    }

    /// Runs `body` under the host's mutex, with `$f` the lock file, `$now` the host's
    /// time and `$holder`/`$exp` what the file holds; `write` takes the
    /// lock for `lease`.
    fn script(&self, holder: &LockHolder, lease: Duration, body: &str) -> String {
        format!(
            r#"set -eu
d={dir}
f="$d/"{env}.lock
me={me}
mkdir -p "$d"
exec 9>"$d/.mutex"
flock -w 20 9 || {{ echo "cannot take the lock mutex $d/.mutex" >&2; exit 1; }}
now=$(date +%s)
holder=""
exp=0
if [ -f "$f" ]; then
  holder=$(sed -n 's/^holder=//p' "$f")
  exp=$(sed -n 's/^expires=//p' "$f")
  case "$exp" in ''|*[!0-9]*) exp=0 ;; esac
fi
show() {{ cat "$f"; echo "now=$now"; }}
write() {{
  printf 'holder=%s\npid=%s\nmachine=%s\nexpires=%s\n' "$me" {pid} {machine} "$((now + {lease}))" > "$f.tmp"
  mv -f "$f.tmp" "$f"
}}
{body}"#,
            dir = quote(&self.dir),
            env = quote(&self.environment),
            me = quote(&holder.id),
            pid = holder.pid,
            machine = quote(&holder.machine),
            lease = lease.as_secs().max(1),
        )
    }

    fn run(&self, script: &str) -> Result<String, LockError> {
        self.target
            .run_ok(script)
            .map_err(|reason| LockError::Unavailable {
                environment: self.environment.clone(),
                reason: format!("on host {}: {reason}", self.target.name),
            })
    }
}

impl DeployLock for HostFileLock<'_> {
    fn environment(&self) -> &str {
        &self.environment
    }

    fn try_acquire(&self, holder: &LockHolder, lease: Duration) -> Result<Attempt, LockError> {
        let body = r#"if [ ! -f "$f" ]; then
  ( set -C; : > "$f" ) 2>/dev/null || { echo "the lock file appeared under the mutex" >&2; exit 1; }
  write; echo acquired
elif [ "$holder" = "$me" ]; then
  write; echo acquired
elif [ "$exp" -le "$now" ]; then
  echo taken_over; show; write
else
  echo held; show
fi
"#;
        let out = self.run(&self.script(holder, lease, body))?;
        Ok(parse(&out))
    }

    fn renew(&self, holder: &LockHolder, lease: Duration) -> Result<Attempt, LockError> {
        let body = r#"if [ "$holder" = "$me" ] || { [ -z "$holder" ] || [ "$exp" -le "$now" ]; }; then
  write; echo acquired
else
  echo held; show
fi
"#;
        let out = self.run(&self.script(holder, lease, body))?;
        Ok(parse(&out))
    }

    fn release(&self, holder: &LockHolder) -> Result<(), LockError> {
        let body = "if [ \"$holder\" = \"$me\" ]; then rm -f \"$f\"; fi\necho released\n";
        self.run(&self.script(holder, Duration::ZERO, body))
            .map(drop)
    }
}

/// Reads `acquired`, `taken_over` + the old file, or `held` + the file.
fn parse(out: &str) -> Attempt {
    let mut lines = out.lines();
    let status = lines.next().unwrap_or("").trim();
    let mut info = LockInfo {
        holder: "unknown".into(),
        pid: 0,
        machine: "unknown".into(),
        expires_in: 0,
    };
    let (mut expires, mut now) = (0i64, 0i64);
    for line in lines {
        match line.split_once('=') {
            Some(("holder", v)) => info.holder = v.to_string(),
            Some(("pid", v)) => info.pid = v.parse().unwrap_or(0),
            Some(("machine", v)) => info.machine = v.to_string(),
            Some(("expires", v)) => expires = v.parse().unwrap_or(0),
            Some(("now", v)) => now = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    info.expires_in = expires - now;
    match status {
        "acquired" => Attempt::Acquired { taken_over: None },
        "taken_over" => Attempt::Acquired {
            taken_over: Some(info),
        },
        _ => Attempt::Held(info),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_lock_script_prints() {
        assert_eq!(parse("acquired\n"), Attempt::Acquired { taken_over: None });
        let held = parse("held\nholder=bob@ci/42/ab\npid=42\nmachine=ci\nexpires=150\nnow=100\n");
        let Attempt::Held(info) = held else {
            panic!("held")
        };
        assert_eq!((info.pid, info.expires_in), (42, 50));
        assert_eq!(info.to_string(), "bob@ci (pid 42), lease expires in 50s");
        assert!(matches!(
            parse("taken_over\nholder=x\nexpires=1\nnow=9\n"),
            Attempt::Acquired {
                taken_over: Some(_)
            }
        ));
    }
}
