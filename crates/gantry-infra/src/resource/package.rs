//! `package`: system packages through the host's package manager (`apt` or `dnf`, from
//! the facts). Batched per host: one check for every package resource of the host (the
//! installed and the candidate version of each package: `dpkg-query` and
//! `apt-cache policy`, or `rpm -q` and `dnf list`), and consecutive package resources
//! applied as one transaction (`apt-get remove`, then `apt-get install`). The package
//! lists are never refreshed implicitly: only `update_cache: true` runs `apt-get update`
//! (`dnf makecache`), once per host per apply, and never during a plan.

use std::cmp::Ordering;

use serde::Serialize;

use super::{Change, Check, ResourceType};
use crate::report::Observed;
use crate::shell::quote;

/// What a package resource wants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageState {
    /// Installed, any version (or exactly `version`).
    #[default]
    Present,
    /// Not installed (`apt-get remove`: configuration files are kept).
    Absent,
    /// Installed at the candidate version of the host's package lists.
    Latest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageSpec {
    /// `name`, or the items of `names`.
    pub names: Vec<String>,
    pub state: PackageState,
    /// An exact version (`1.2-1`; dnf: `1.2` or `1.2-1.el9`); only with one name and
    /// `state: present`.
    pub version: Option<String>,
    /// Refresh the package lists (`apt-get update`) before installing, once per apply.
    pub update_cache: bool,
}

/// What an apply does to one package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Install,
    /// dnf only: `dnf upgrade` (apt upgrades with `apt-get install`).
    Upgrade,
    Remove,
}

/// Package managers Gantry drives.
const MANAGERS: &[&str] = &["apt", "dnf"];

/// `-` in a report: nothing installed, no candidate.
const NONE: &str = "-";

impl PackageSpec {
    fn installed<'a>(observed: &'a Observed, name: &str) -> Option<&'a str> {
        observed
            .get(&format!("installed:{name}"))
            .filter(|v| !v.is_empty() && *v != NONE)
    }

    fn candidate<'a>(observed: &'a Observed, name: &str) -> Option<&'a str> {
        observed
            .get(&format!("candidate:{name}"))
            .filter(|v| !v.is_empty() && *v != NONE)
    }

    /// Whether an installed version is the declared one (dnf: the release may be left out).
    fn version_matches(pm: &str, installed: &str, wanted: &str) -> bool {
        installed == wanted || (pm == "dnf" && installed.starts_with(&format!("{wanted}-")))
    }

    /// The packages to act on, with the argument the package manager takes
    /// (`name`, `name=1.0` for apt, `name-1.0` for dnf) and the plan's change.
    fn actions(&self, observed: &Observed) -> Result<Vec<(Action, String, Change)>, String> {
        let pm = observed.get("pm").unwrap_or("unknown");
        if !MANAGERS.contains(&pm) {
            return Err(format!(
                "package resources support apt and dnf; this host's package manager is {pm}"
            ));
        }
        let mut out = Vec::new();
        for name in &self.names {
            let installed = Self::installed(observed, name);
            let candidate = Self::candidate(observed, name);
            let from = || installed.unwrap_or("not installed").to_string();
            match (self.state, &self.version) {
                (PackageState::Absent, _) => {
                    if installed.is_some() {
                        out.push((
                            Action::Remove,
                            name.clone(),
                            Change::new(name, Some(from()), Some("absent".into())),
                        ));
                    }
                }
                (PackageState::Present | PackageState::Latest, Some(version)) => {
                    if !installed.is_some_and(|i| Self::version_matches(pm, i, version)) {
                        let sep = if pm == "apt" { "=" } else { "-" };
                        out.push((
                            Action::Install,
                            format!("{name}{sep}{version}"),
                            Change::new(name, Some(from()), Some(version.clone())),
                        ));
                    }
                }
                (PackageState::Present | PackageState::Latest, None) if installed.is_none() => {
                    if candidate.is_none() && pm == "apt" && !self.update_cache {
                        return Err(format!(
                            "package '{name}' is not available from the host's package lists \
                             (apt-cache policy shows no candidate); run apt-get update on the \
                             host, add its repository, or set `update_cache: true`"
                        ));
                    }
                    let to = candidate.unwrap_or("latest available");
                    out.push((
                        Action::Install,
                        name.clone(),
                        Change::new(name, Some(from()), Some(to.to_string())),
                    ));
                }
                (PackageState::Latest, None) => {
                    // Only upward: a newer local build stays (the package manager
                    // would not downgrade it either, and the plan must settle).
                    if let (Some(have), Some(want)) = (installed, candidate)
                        && version_cmp(pm, have, want) == Ordering::Less
                    {
                        let action = if pm == "dnf" {
                            Action::Upgrade
                        } else {
                            Action::Install
                        };
                        out.push((
                            action,
                            name.clone(),
                            Change::new(name, Some(have.to_string()), Some(want.to_string())),
                        ));
                    }
                }
                (PackageState::Present, None) => {}
            }
        }
        Ok(out)
    }
}

impl ResourceType for PackageSpec {
    fn type_name(&self) -> &'static str {
        "package"
    }

    fn default_id(&self) -> String {
        format!("package {}", self.names.join(" "))
    }

    fn check_script(&self, index: usize, out: &mut String) {
        batch_check(&[(index, self)], out);
    }

    fn compare(&self, observed: &Observed) -> Check {
        match self.actions(observed) {
            Ok(actions) if actions.is_empty() => Check::Unchanged,
            Ok(actions) => Check::Change {
                changes: actions.into_iter().map(|(_, _, c)| c).collect(),
            },
            Err(message) => Check::Error { message },
        }
    }

    fn apply_script(&self, observed: &Observed, out: &mut String) {
        let mut updated = false;
        batch_apply(&[(self, observed)], &mut updated, out);
    }
}

/// The check of every package resource of a host, as one query per package manager:
/// for each resource, `R <i> pm <manager>`, and per package `installed:<name>` and
/// `candidate:<name>` (a version, or `-`). Read-only: the package lists are not refreshed.
pub(crate) fn batch_check(items: &[(usize, &PackageSpec)], out: &mut String) {
    if items.is_empty() {
        return;
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, spec) in items {
        out.push_str(&format!(
            "echo \"R {i} type package\"; echo \"R {i} pm ${{_pm:-unknown}}\"\n"
        ));
        for n in &spec.names {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    let args: Vec<String> = names.iter().map(|n| quote(n)).collect();
    let args = args.join(" ");
    // `M <index> <name>` maps the packages back to their resources.
    let map: Vec<String> = items
        .iter()
        .flat_map(|(i, spec)| spec.names.iter().map(move |n| quote(&format!("M {i} {n}"))))
        .collect();
    out.push_str(&format!("{{ printf '%s\\n' {}\n", map.join(" ")));
    out.push_str("case \"${_pm:-unknown}\" in\n");
    // dpkg's status abbreviation has `i` second for an installed package (`ii`, `hi`).
    out.push_str(&format!(
        "apt) LC_ALL=C dpkg-query -W -f='${{db:Status-Abbrev}} ${{Package}} ${{Version}}\\n' {args} 2>/dev/null | awk '$1 ~ /^.i/ {{ print \"I\", $2, $3 }}'\n\
         LC_ALL=C apt-cache policy {args} 2>/dev/null | awk '/^[^ ]/ {{ p = $1; sub(/:$/, \"\", p) }} $1 == \"Candidate:\" && $2 != \"(none)\" {{ print \"C\", p, $2 }}' ;;\n"
    ));
    // `-C`: from the metadata cache only, so a plan never refreshes it.
    out.push_str(&format!(
        "dnf) rpm -q --qf 'I %{{NAME}} %|EPOCH?{{%{{EPOCH}}:}}:{{}}|%{{VERSION}}-%{{RELEASE}}\\n' {args} 2>/dev/null | grep '^I '\n\
         dnf -C -q list --available {args} 2>/dev/null | awk 'NF == 3 && $1 ~ /\\./ {{ n = $1; sub(/\\.[^.]*$/, \"\", n); print \"C\", n, $2 }}' ;;\n"
    ));
    out.push_str("esac; } | awk '$1 == \"I\" { inst[$2] = $3 } $1 == \"C\" { cand[$2] = $3 } $1 == \"M\" { n++; mi[n] = $2; mn[n] = $3 }\n\
         END { for (k = 1; k <= n; k++) { p = mn[k]; print \"R \" mi[k] \" installed:\" p \" \" ((p in inst) ? inst[p] : \"-\"); print \"R \" mi[k] \" candidate:\" p \" \" ((p in cand) ? cand[p] : \"-\") } }'\n");
}

/// Converges consecutive package resources of a host as one transaction: removals first
/// (one `apt-get remove`), then one `apt-get install` (dnf: `dnf remove`, `dnf install`,
/// `dnf upgrade`). `updated` says whether this apply refreshed the package lists already;
/// a resource with `update_cache` refreshes them once.
pub(crate) fn batch_apply(
    items: &[(&PackageSpec, &Observed)],
    updated: &mut bool,
    out: &mut String,
) {
    let Some(pm) = items.first().and_then(|(_, o)| o.get("pm")) else {
        return;
    };
    let mut install: Vec<String> = Vec::new();
    let mut upgrade: Vec<String> = Vec::new();
    let mut remove: Vec<String> = Vec::new();
    let mut update = false;
    let mut pinned = false;
    for (spec, observed) in items {
        let Ok(actions) = spec.actions(observed) else {
            continue;
        };
        update |= spec.update_cache && actions.iter().any(|(a, _, _)| *a != Action::Remove);
        pinned |= spec.version.is_some() && !actions.is_empty();
        for (action, arg, _) in actions {
            let list = match action {
                Action::Install => &mut install,
                Action::Upgrade => &mut upgrade,
                Action::Remove => &mut remove,
            };
            if !list.contains(&arg) {
                list.push(arg);
            }
        }
    }
    let words = |list: &[String]| list.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
    if pm == "apt" {
        out.push_str("export DEBIAN_FRONTEND=noninteractive\n");
        if update && !*updated {
            out.push_str("apt-get update -q\n");
            *updated = true;
        }
        if !remove.is_empty() {
            out.push_str(&format!(
                "apt-get remove -y -q -o DPkg::Lock::Timeout=120 {}\n",
                words(&remove)
            ));
        }
        install.extend(upgrade);
        if !install.is_empty() {
            let downgrades = if pinned { " --allow-downgrades" } else { "" };
            out.push_str(&format!(
                "apt-get install -y -q -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confold{downgrades} {}\n",
                words(&install)
            ));
        }
    } else {
        if update && !*updated {
            out.push_str("dnf makecache -q\n");
            *updated = true;
        }
        if !remove.is_empty() {
            out.push_str(&format!("dnf remove -y -q {}\n", words(&remove)));
        }
        if !install.is_empty() {
            out.push_str(&format!("dnf install -y -q {}\n", words(&install)));
        }
        if !upgrade.is_empty() {
            out.push_str(&format!("dnf upgrade -y -q {}\n", words(&upgrade)));
        }
    }
}

/// Compares two versions as the package manager does: dpkg's order for apt
/// (`epoch:upstream-revision`, `~` before anything), rpm's for dnf (`epoch:version-release`).
fn version_cmp(pm: &str, a: &str, b: &str) -> Ordering {
    let split = |v: &'_ str| -> (u64, String, String) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, rest)) if e.chars().all(|c| c.is_ascii_digit()) => {
                (e.parse().unwrap_or(0), rest)
            }
            _ => (0, v),
        };
        match rest.rsplit_once('-') {
            Some((version, release)) => (epoch, version.to_string(), release.to_string()),
            None => (epoch, rest.to_string(), String::new()),
        }
    };
    let (ea, va, ra) = split(a);
    let (eb, vb, rb) = split(b);
    let cmp: fn(&str, &str) -> Ordering = if pm == "dnf" { rpm_cmp } else { deb_cmp };
    ea.cmp(&eb)
        .then_with(|| cmp(&va, &vb))
        .then_with(|| cmp(&ra, &rb))
}

/// dpkg's `verrevcmp`: non-digit runs compare by character (letters before other
/// characters, `~` before everything, even the end), digit runs numerically.
fn deb_cmp(a: &str, b: &str) -> Ordering {
    fn order(c: Option<&u8>) -> i32 {
        match c {
            None => 0,
            Some(c) if c.is_ascii_digit() => 0,
            Some(c) if c.is_ascii_alphabetic() => i32::from(*c),
            Some(b'~') => -1,
            Some(c) => i32::from(*c) + 256,
        }
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (ac, bc) = (order(a.get(i)), order(b.get(j)));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

/// The leading run of digits (or of letters) of `s`, and the rest.
fn segment(s: &str, numeric: bool) -> (&str, &str) {
    let end = s
        .find(|c: char| {
            if numeric {
                !c.is_ascii_digit()
            } else {
                !c.is_ascii_alphabetic()
            }
        })
        .unwrap_or(s.len());
    s.split_at(end)
}

/// rpm's `rpmvercmp`: alphanumeric segments, numbers numerically and newer than letters,
/// `~` older than anything.
fn rpm_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        let separator = |c: char| !c.is_ascii_alphanumeric() && c != '~';
        a = a.trim_start_matches(separator);
        b = b.trim_start_matches(separator);
        match (a.strip_prefix('~'), b.strip_prefix('~')) {
            (Some(x), Some(y)) => {
                a = x;
                b = y;
                continue;
            }
            (Some(_), None) => return Ordering::Less,
            (None, Some(_)) => return Ordering::Greater,
            (None, None) => {}
        }
        if a.is_empty() || b.is_empty() {
            return a.len().cmp(&b.len());
        }
        let numeric = a.starts_with(|c: char| c.is_ascii_digit());
        let (sa, ra) = segment(a, numeric);
        let (sb, rb) = segment(b, numeric);
        if sb.is_empty() {
            // A number against letters: the number is newer.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ord = if numeric {
            let (x, y) = (sa.trim_start_matches('0'), sb.trim_start_matches('0'));
            x.len().cmp(&y.len()).then_with(|| x.cmp(y))
        } else {
            sa.cmp(sb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        a = ra;
        b = rb;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(names: &[&str], state: PackageState) -> PackageSpec {
        PackageSpec {
            names: names.iter().map(|n| n.to_string()).collect(),
            state,
            version: None,
            update_cache: false,
        }
    }

    fn observed(pm: &str, pkgs: &[(&str, &str, &str)]) -> Observed {
        let mut o = Observed::default();
        o.0.insert("type".into(), "package".into());
        o.0.insert("pm".into(), pm.into());
        for (name, installed, candidate) in pkgs {
            o.0.insert(format!("installed:{name}"), installed.to_string());
            o.0.insert(format!("candidate:{name}"), candidate.to_string());
        }
        o
    }

    fn changes(check: Check) -> Vec<(String, Option<String>, Option<String>)> {
        match check {
            Check::Change { changes } => changes
                .into_iter()
                .map(|c| (c.field, c.from, c.to))
                .collect(),
            other => panic!("expected changes, got {other:?}"),
        }
    }

    #[test]
    fn present_installs_what_is_missing_and_leaves_the_rest() {
        let s = spec(&["curl", "git"], PackageState::Present);
        let o = observed("apt", &[("curl", "7.88", "7.88"), ("git", "-", "2.39")]);
        assert_eq!(
            changes(s.compare(&o)),
            [(
                "git".to_string(),
                Some("not installed".to_string()),
                Some("2.39".to_string())
            )]
        );
        let o = observed("apt", &[("curl", "7.88", "7.89"), ("git", "2.39", "2.40")]);
        assert_eq!(
            s.compare(&o),
            Check::Unchanged,
            "present ignores newer versions"
        );
    }

    #[test]
    fn latest_upgrades_to_the_candidate_and_absent_removes() {
        let s = spec(&["curl"], PackageState::Latest);
        let o = observed("apt", &[("curl", "7.88", "7.89")]);
        assert_eq!(
            changes(s.compare(&o)),
            [(
                "curl".to_string(),
                Some("7.88".to_string()),
                Some("7.89".to_string())
            )]
        );
        assert_eq!(
            s.compare(&observed("apt", &[("curl", "7.89", "7.89")])),
            Check::Unchanged
        );
        let s = spec(&["curl"], PackageState::Absent);
        assert_eq!(
            changes(s.compare(&o))[0].2.as_deref(),
            Some("absent"),
            "installed → absent"
        );
        assert_eq!(
            s.compare(&observed("apt", &[("curl", "-", "7.89")])),
            Check::Unchanged
        );
    }

    #[test]
    fn versions_compare_as_dpkg_and_rpm_do() {
        use Ordering::{Equal, Greater, Less};
        for (a, b, want) in [
            ("1.0", "1.1", Less),
            ("1.10", "1.9", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1:0.9", "2.0", Greater),
            ("7.88.1-10", "7.88.1-10+deb12u5", Less),
            ("2.39-1", "2.39-1", Equal),
            ("1.0a", "1.0", Greater),
            ("1.0-1", "1.0.0-1", Less),
        ] {
            assert_eq!(version_cmp("apt", a, b), want, "apt {a} {b}");
        }
        for (a, b, want) in [
            ("1.0-1.el9", "1.0-2.el9", Less),
            ("2:8.2-1.el9", "8.3-1.el9", Greater),
            ("1.10-1", "1.9-1", Greater),
            ("1.0~rc1-1", "1.0-1", Less),
            ("1.0a-1", "1.0-1", Greater),
            ("5.6-1", "5.6-1", Equal),
        ] {
            assert_eq!(version_cmp("dnf", a, b), want, "dnf {a} {b}");
        }
    }

    #[test]
    fn latest_never_downgrades_a_newer_local_build() {
        let s = spec(&["app"], PackageState::Latest);
        assert_eq!(
            s.compare(&observed("apt", &[("app", "2.0+local1", "2.0")])),
            Check::Unchanged
        );
    }

    #[test]
    fn a_pinned_version_is_compared_exactly() {
        let mut s = spec(&["hello"], PackageState::Present);
        s.version = Some("1.0".into());
        assert_eq!(
            s.compare(&observed("apt", &[("hello", "1.0", "1.1")])),
            Check::Unchanged
        );
        assert_eq!(
            changes(s.compare(&observed("apt", &[("hello", "1.1", "1.1")])))[0].2,
            Some("1.0".to_string())
        );
        // dnf versions may leave the release out.
        assert_eq!(
            s.compare(&observed("dnf", &[("hello", "1.0-3.el9", "1.1-1.el9")])),
            Check::Unchanged
        );
    }

    #[test]
    fn other_package_managers_and_unknown_packages_are_errors() {
        let s = spec(&["curl"], PackageState::Present);
        let Check::Error { message } = s.compare(&observed("zypper", &[("curl", "-", "-")])) else {
            panic!("an error")
        };
        assert!(message.contains("apt and dnf"), "{message}");
        assert!(message.contains("zypper"), "{message}");
        let Check::Error { message } = s.compare(&observed("apt", &[("curl", "-", "-")])) else {
            panic!("an error")
        };
        assert!(message.contains("update_cache"), "{message}");
        // With update_cache the lists are refreshed first, so it may appear.
        let mut s = s;
        s.update_cache = true;
        assert!(matches!(
            s.compare(&observed("apt", &[("curl", "-", "-")])),
            Check::Change { .. }
        ));
    }

    #[test]
    fn apt_batches_removals_then_one_install_and_updates_once() {
        let mut a = spec(&["curl", "git"], PackageState::Present);
        a.update_cache = true;
        let oa = observed("apt", &[("curl", "-", "7.88"), ("git", "-", "2.39")]);
        let b = spec(&["nano"], PackageState::Absent);
        let ob = observed("apt", &[("nano", "7.2", "7.2")]);
        let mut c = spec(&["vim"], PackageState::Latest);
        c.update_cache = true;
        let oc = observed("apt", &[("vim", "9.0", "9.1")]);
        let mut updated = false;
        let mut out = String::new();
        batch_apply(&[(&a, &oa), (&b, &ob), (&c, &oc)], &mut updated, &mut out);
        assert_eq!(
            out,
            "export DEBIAN_FRONTEND=noninteractive\n\
             apt-get update -q\n\
             apt-get remove -y -q -o DPkg::Lock::Timeout=120 'nano'\n\
             apt-get install -y -q -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confold 'curl' 'git' 'vim'\n"
        );
        assert!(updated);
        // A later batch of the same apply does not update again.
        let mut out = String::new();
        batch_apply(&[(&c, &oc)], &mut updated, &mut out);
        assert!(!out.contains("apt-get update"), "{out}");
    }

    #[test]
    fn apt_pins_versions_and_may_downgrade_to_them() {
        let mut s = spec(&["hello"], PackageState::Present);
        s.version = Some("1.0".into());
        let mut out = String::new();
        s.apply_script(&observed("apt", &[("hello", "1.1", "1.1")]), &mut out);
        assert!(
            out.contains("-o Dpkg::Options::=--force-confold --allow-downgrades 'hello=1.0'"),
            "{out}"
        );
        assert!(
            !out.contains("apt-get update"),
            "never without update_cache"
        );
    }

    #[test]
    fn dnf_gets_the_equivalent_commands() {
        let mut a = spec(&["curl"], PackageState::Present);
        a.update_cache = true;
        let oa = observed("dnf", &[("curl", "-", "7.76.1-26.el9")]);
        let b = spec(&["vim-enhanced"], PackageState::Latest);
        let ob = observed("dnf", &[("vim-enhanced", "2:8.2-1.el9", "2:8.2-2.el9")]);
        let mut c = spec(&["hello"], PackageState::Present);
        c.version = Some("1.0".into());
        let oc = observed("dnf", &[("hello", "-", "1.1-1")]);
        let d = spec(&["nano"], PackageState::Absent);
        let od = observed("dnf", &[("nano", "5.6-1", "-")]);
        let mut out = String::new();
        batch_apply(
            &[(&a, &oa), (&b, &ob), (&c, &oc), (&d, &od)],
            &mut false,
            &mut out,
        );
        assert_eq!(
            out,
            "dnf makecache -q\n\
             dnf remove -y -q 'nano'\n\
             dnf install -y -q 'curl' 'hello-1.0'\n\
             dnf upgrade -y -q 'vim-enhanced'\n"
        );
    }

    #[test]
    fn one_check_queries_every_package_of_the_host_once() {
        let a = spec(&["curl", "git"], PackageState::Present);
        let b = spec(&["it's"], PackageState::Absent);
        let mut out = String::new();
        batch_check(&[(0, &a), (3, &b)], &mut out);
        assert_eq!(out.matches("dpkg-query").count(), 1, "{out}");
        assert_eq!(out.matches("apt-cache policy").count(), 1, "{out}");
        assert_eq!(out.matches("rpm -q").count(), 1, "{out}");
        assert!(
            out.contains("'curl' 'git' 'it'\\''s'"),
            "values are quoted: {out}"
        );
        assert!(out.contains("'M 0 curl' 'M 0 git' 'M 3 it'\\''s'"), "{out}");
        assert!(
            !out.contains("apt-get"),
            "a check never changes the host: {out}"
        );
        assert!(!out.contains("makecache"), "{out}");
    }

    /// The check's awk, run on canned manager output: the report maps back to resources.
    #[test]
    fn the_check_reports_installed_and_candidate_versions() {
        let a = spec(&["curl", "gantry-hello"], PackageState::Present);
        let b = spec(&["nano"], PackageState::Absent);
        let mut script = String::from(
            "dpkg-query() { printf 'ii  curl 7.88.1-10\\nrc  nano 7.2-1\\n'; }\n\
             apt-cache() { printf 'curl:\\n  Installed: 7.88.1-10\\n  Candidate: 7.88.1-10\\ngantry-hello:\\n  Installed: (none)\\n  Candidate: 1.1\\nnano:\\n  Installed: (none)\\n  Candidate: (none)\\n'; }\n\
             _pm=apt\n",
        );
        batch_check(&[(0, &a), (1, &b)], &mut script);
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("sh runs");
        let report = crate::report::parse(&String::from_utf8_lossy(&out.stdout));
        let r0 = &report.resources[&0];
        assert_eq!(r0.get("pm"), Some("apt"));
        assert_eq!(r0.get("installed:curl"), Some("7.88.1-10"));
        assert_eq!(r0.get("candidate:curl"), Some("7.88.1-10"));
        assert_eq!(r0.get("installed:gantry-hello"), Some("-"));
        assert_eq!(r0.get("candidate:gantry-hello"), Some("1.1"));
        let r1 = &report.resources[&1];
        assert_eq!(r1.get("installed:nano"), Some("-"), "config files only");
        assert_eq!(r1.get("candidate:nano"), Some("-"));
    }
}
