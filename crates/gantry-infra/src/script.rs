//! The scripts sent to hosts: one check script per host per plan (facts and every
//! resource's actual state in one round trip), one apply script with the resources that
//! changed, and one with the notified handlers. Their output is the `report` format.

use crate::declaration::{Handler, Resource};
use crate::report::{END, Observed};
use crate::shell::quote;

/// Facts, as `F` records. Each in a subshell so a missing tool costs only its fact.
const FACTS: &str = r#"( . /etc/os-release 2>/dev/null; echo "F os_id ${ID:-unknown}"; echo "F os_version ${VERSION_ID:-}" )
echo "F arch $(uname -m)"
echo "F hostname $(hostname 2>/dev/null || uname -n)"
echo "F memory_mb $(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo 2>/dev/null)"
echo "F cpus $(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)"
_pm=unknown; for _p in apt-get dnf yum zypper apk pacman; do if command -v $_p >/dev/null 2>&1; then _pm=$_p; break; fi; done
[ "$_pm" = apt-get ] && _pm=apt; echo "F package_manager $_pm"
if [ -d /run/systemd/system ]; then echo "F init_system systemd"; else echo "F init_system $(cat /proc/1/comm 2>/dev/null || echo unknown)"; fi
"#;

/// `_gstat INDEX PATH`: what is at PATH (type, and mode/owner/group or link target).
const PRELUDE: &str = r#"_gstat() {
  if [ -L "$2" ]; then echo "R $1 type link"; echo "R $1 target $(printf '%s' "$(readlink -- "$2")" | base64 -w0)"
  elif [ -d "$2" ]; then echo "R $1 type dir"; echo "R $1 stat $(stat -c '%a %U %G' -- "$2")"
  elif [ -f "$2" ]; then echo "R $1 type file"; echo "R $1 stat $(stat -c '%a %U %G' -- "$2")"
  elif [ -e "$2" ]; then echo "R $1 type other"
  else echo "R $1 type none"; fi
}
"#;

/// Facts plus the check of every resource; `resources[i]` reports as index `i`.
pub fn check(resources: &[&Resource]) -> String {
    let mut out = String::from(FACTS);
    out.push_str(PRELUDE);
    for (i, r) in resources.iter().enumerate() {
        out.push_str("{\n");
        r.spec.as_type().check_script(i, &mut out);
        out.push_str("}\n");
    }
    out.push_str(&format!("echo {END}\n"));
    out
}

/// Applies `steps` (index, resource, its observed state) in order, each in a subshell
/// with `set -e`; stops at the first failure. Each step reports an `A` record.
pub fn apply(steps: &[(usize, &Resource, &Observed)]) -> String {
    let mut out = String::new();
    for (i, r, observed) in steps {
        let mut body = String::from("set -e\n");
        r.spec.as_type().apply_script(observed, &mut body);
        out.push_str(&format!(
            "_o=$( ( {body} ) 2>&1 ); _rc=$?\n\
             echo \"A {i} $_rc $(printf '%s' \"$_o\" | tail -c 4000 | base64 -w0)\"\n\
             if [ $_rc -ne 0 ]; then echo {END}; exit 0; fi\n"
        ));
    }
    out.push_str(&format!("echo {END}\n"));
    out
}

/// Runs each handler once, in order; a failing handler does not stop the others.
pub fn handlers(handlers: &[(usize, &Handler)]) -> String {
    let mut out = String::new();
    for (i, h) in handlers {
        out.push_str(&format!(
            "_o=$( sh -c {} </dev/null 2>&1 ); _rc=$?\n\
             echo \"H {i} $_rc $(printf '%s' \"$_o\" | tail -c 4000 | base64 -w0)\"\n",
            quote(&h.run)
        ));
    }
    out.push_str(&format!("echo {END}\n"));
    out
}
