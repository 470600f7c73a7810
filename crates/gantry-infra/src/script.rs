//! The scripts sent to hosts: one check script per host per plan (facts and every
//! resource's actual state in one round trip), one apply script with the resources that
//! changed, and one with the notified handlers. Their output is the `report` format.
//! Across resources: every `package` of a host is checked by one query, consecutive
//! changed packages apply as one transaction, and `systemctl daemon-reload` runs before
//! a service action (or a service handler) when a unit file changed earlier.

use crate::declaration::{Handler, Resource};
use crate::report::{END, Observed};
use crate::resource::{PackageSpec, Spec, package_batch_apply, package_batch_check, touches_units};
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

/// Makes systemd read changed unit files.
const RELOAD: &str = "systemctl daemon-reload\n";

/// Facts plus the check of every resource; `resources[i]` reports as index `i`.
pub fn check(resources: &[&Resource]) -> String {
    let mut out = String::from(FACTS);
    out.push_str(PRELUDE);
    let mut packages: Vec<(usize, &PackageSpec)> = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        if let Spec::Package(p) = &r.spec {
            packages.push((i, p));
            continue;
        }
        out.push_str("{\n");
        r.spec.as_type().check_script(i, &mut out);
        out.push_str("}\n");
    }
    if !packages.is_empty() {
        out.push_str("{\n");
        package_batch_check(&packages, &mut out);
        out.push_str("}\n");
    }
    out.push_str(&format!("echo {END}\n"));
    out
}

/// Applies `steps` (index, resource, its observed state) in order, each in a subshell
/// with `set -e`; stops at the first failure. Each step reports an `A` record; a run of
/// consecutive packages is one step reported under each of their indexes.
pub fn apply(steps: &[(usize, &Resource, &Observed)]) -> String {
    let mut out = String::new();
    // A unit file changed and systemd has not reloaded since.
    let mut units_changed = false;
    let mut apt_updated = false;
    let mut k = 0;
    while k < steps.len() {
        let mut body = String::from("set -e\n");
        let mut indexes = vec![steps[k].0];
        if let Spec::Package(_) = &steps[k].1.spec {
            let mut batch: Vec<(&PackageSpec, &Observed)> = Vec::new();
            while let Some((i, r, observed)) = steps.get(k)
                && let Spec::Package(p) = &r.spec
            {
                if !batch.is_empty() {
                    indexes.push(*i);
                }
                batch.push((p, observed));
                k += 1;
            }
            package_batch_apply(&batch, &mut apt_updated, &mut body);
        } else {
            let (_, r, observed) = steps[k];
            let mut own = String::new();
            r.spec.as_type().apply_script(observed, &mut own);
            if matches!(r.spec, Spec::Service(_)) && units_changed {
                // One reload, whether or not the service asks for its own.
                if !own.starts_with(RELOAD) {
                    body.push_str(RELOAD);
                }
                units_changed = false;
            }
            units_changed |= touches_units(&r.spec);
            body.push_str(&own);
            k += 1;
        }
        out.push_str(&format!(
            "_o=$( ( {body} ) 2>&1 ); _rc=$?\n\
             _o=$(printf '%s' \"$_o\" | tail -c 4000 | base64 -w0)\n"
        ));
        for i in indexes {
            out.push_str(&format!("echo \"A {i} $_rc $_o\"\n"));
        }
        out.push_str(&format!("if [ $_rc -ne 0 ]; then echo {END}; exit 0; fi\n"));
    }
    out.push_str(&format!("echo {END}\n"));
    out
}

/// Runs each handler once, in order; a failing handler does not stop the others.
/// `units_changed`: a unit file changed in this apply, so systemd reloads before the
/// first service handler.
pub fn handlers(handlers: &[(usize, &Handler)], units_changed: bool) -> String {
    let mut out = String::new();
    if units_changed && handlers.iter().any(|(_, h)| h.service.is_some()) {
        out.push_str("systemctl daemon-reload >/dev/null 2>&1\n");
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn resources(body: &str) -> Vec<Resource> {
        let source = format!("- hosts: [local]\n  resources:\n{body}");
        let parsed = crate::parse::parse("infra/t.yml", &source);
        let file = parsed.file.expect("valid");
        file.plays.into_iter().flat_map(|p| p.resources).collect()
    }

    fn packages(pm: &str, installed: &[(&str, &str)]) -> Observed {
        let mut o = Observed::default();
        o.0.insert("pm".into(), pm.into());
        for (name, version) in installed {
            o.0.insert(format!("installed:{name}"), version.to_string());
            o.0.insert(format!("candidate:{name}"), "2.0".into());
        }
        o
    }

    #[test]
    fn every_package_of_a_host_is_checked_by_one_query() {
        let rs = resources(
            "    - package: { name: a }\n    - file: { path: /x, content: x }\n    - package: { names: [b, c], state: absent }\n",
        );
        let refs: Vec<&Resource> = rs.iter().collect();
        let script = check(&refs);
        assert_eq!(script.matches("dpkg-query").count(), 1, "{script}");
        assert!(script.contains("'M 0 a' 'M 2 b' 'M 2 c'"), "{script}");
        assert!(script.contains("_gstat 1 '/x'"), "{script}");
    }

    #[test]
    fn consecutive_packages_apply_as_one_step_and_units_reload_before_services() {
        let rs = resources(
            "    - file: { path: /etc/systemd/system/app.service, content: x }\n\
             \x20   - package: { name: a, update_cache: true }\n\
             \x20   - package: { name: b }\n\
             \x20   - service: { name: app, state: running }\n\
             \x20   - package: { name: c, update_cache: true }\n\
             \x20   - service: { name: other, state: running }\n",
        );
        let none = Observed::default();
        let pa = packages("apt", &[("a", "-")]);
        let pb = packages("apt", &[("b", "-")]);
        let pc = packages("apt", &[("c", "-")]);
        let mut svc = Observed::default();
        for (k, v) in [
            ("init", "systemd"),
            ("load", "loaded"),
            ("enabled", "enabled"),
            ("active", "inactive"),
        ] {
            svc.0.insert(k.into(), v.into());
        }
        let steps = vec![
            (0, &rs[0], &none),
            (1, &rs[1], &pa),
            (2, &rs[2], &pb),
            (3, &rs[3], &svc),
            (4, &rs[4], &pc),
            (5, &rs[5], &svc),
        ];
        let script = apply(&steps);
        // a and b in one install, c in another; the lists refreshed once.
        assert_eq!(script.matches("apt-get install").count(), 2, "{script}");
        assert!(script.contains("--force-confold 'a' 'b'\n"), "{script}");
        assert_eq!(script.matches("apt-get update").count(), 1, "{script}");
        // Both packages of the first batch report its outcome.
        assert!(
            script.contains("echo \"A 1 $_rc $_o\"\necho \"A 2 $_rc $_o\"\n"),
            "{script}"
        );
        // One reload, before the first service after the unit file.
        assert_eq!(
            script.matches("systemctl daemon-reload").count(),
            1,
            "{script}"
        );
        let reload = script.find("systemctl daemon-reload").unwrap_or_default();
        assert!(reload < script.find("systemctl start -- 'app'").unwrap_or_default());
        assert!(reload > script.find("apt-get install").unwrap_or_default());
    }

    #[test]
    fn a_batch_reports_each_of_its_resources_when_run() {
        let rs = resources(
            "    - command: { run: \"true\" }\n    - package: { name: a }\n    - package: { name: b }\n    - command: { run: \"echo after\" }\n",
        );
        // A host without apt-get or dnf: the batch fails, both report it, the rest stops.
        let pa = packages("apt", &[("a", "-")]);
        let pb = packages("apt", &[("b", "-")]);
        let none = Observed::default();
        let steps = vec![
            (0, &rs[0], &none),
            (1, &rs[1], &pa),
            (2, &rs[2], &pb),
            (3, &rs[3], &none),
        ];
        let script = apply(&steps).replace("apt-get install", "false && apt-get install");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("sh runs");
        let report = crate::report::parse(&String::from_utf8_lossy(&out.stdout));
        assert!(report.complete);
        let codes: Vec<(usize, i32)> = report.applied.iter().map(|(i, o)| (*i, o.code)).collect();
        assert_eq!(codes, [(0, 0), (1, 1), (2, 1)]);
    }

    #[test]
    fn service_handlers_reload_systemd_after_unit_changes() {
        let h = Handler {
            name: "restart app".into(),
            run: "systemctl restart -- 'app'".into(),
            service: Some("app".into()),
            file: "infra/t.yml".into(),
        };
        assert!(handlers(&[(0, &h)], true).starts_with("systemctl daemon-reload"));
        assert!(!handlers(&[(0, &h)], false).contains("daemon-reload"));
    }
}
