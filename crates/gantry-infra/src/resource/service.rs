//! `service`: a systemd unit, enabled or not at boot, running or stopped now. Checked
//! with `systemctl is-enabled`, `is-active` and `show -p LoadState` in the host's one
//! check script; converged with `systemctl enable|disable` and `start|stop`. Restarting
//! on a change is a handler's job (`handlers: { restart nginx: { service: { name: nginx,
//! state: restarted } } }`), so it happens once per apply however many resources notify it.
//! When a file under a systemd unit directory changed earlier in the same apply,
//! `systemctl daemon-reload` runs before the next service action (see `script`).

use serde::Serialize;

use super::{Change, Check, ResourceType, Spec};
use crate::report::Observed;
use crate::shell::quote;

/// Whether a service should be running now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceState {
    Running,
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSpec {
    /// The unit (`nginx`, `nginx.service`, `app@1`).
    pub name: String,
    /// Started at boot; `None` leaves it as it is.
    pub enabled: Option<bool>,
    /// Running or stopped now; `None` leaves it as it is.
    pub state: Option<ServiceState>,
}

/// Directories whose unit files systemd reads only after `daemon-reload`.
const UNIT_DIRS: &[&str] = &["/etc/systemd/", "/lib/systemd/", "/usr/lib/systemd/"];

/// `is-enabled` answers that mean "started at boot (or on demand)".
const ENABLED: &[&str] = &[
    "enabled",
    "enabled-runtime",
    "static",
    "indirect",
    "generated",
    "transient",
    "alias",
];

/// Whether applying `spec` writes under a systemd unit directory, so systemd must reload
/// before a service is started or enabled.
pub(crate) fn touches_units(spec: &Spec) -> bool {
    let path = match spec {
        Spec::File(s) => &s.path,
        Spec::Template(s) => &s.path,
        Spec::Directory(s) => &s.path,
        Spec::Symlink(s) => &s.path,
        Spec::Line(s) => &s.path,
        _ => return false,
    };
    UNIT_DIRS.iter().any(|d| path.starts_with(d))
}

impl ServiceSpec {
    fn changes(&self, observed: &Observed) -> Result<Vec<Change>, String> {
        let init = observed.get("init").unwrap_or("unknown");
        if init != "systemd" {
            return Err(format!(
                "service resources need systemd; this host's init system is {init}"
            ));
        }
        let missing = observed.get("load") == Some("not-found");
        let enabled = observed.get("enabled").unwrap_or_default();
        let active = observed.get("active").unwrap_or_default();
        let masked = enabled.starts_with("masked") || observed.get("load") == Some("masked");
        let here = |word: &str| {
            if missing {
                "not found".to_string()
            } else if word.is_empty() {
                "unknown".to_string()
            } else {
                word.to_string()
            }
        };
        let mut changes = Vec::new();
        if masked && (self.enabled == Some(true) || self.state == Some(ServiceState::Running)) {
            return Err(format!(
                "the unit '{}' is masked; unmask it (systemctl unmask) before enabling or starting it",
                self.name
            ));
        }
        match self.enabled {
            Some(true) if missing || !ENABLED.contains(&enabled) => {
                changes.push(Change::new(
                    "enabled",
                    Some(here(enabled)),
                    Some("enabled".into()),
                ));
            }
            Some(false) if !missing && enabled == "static" => {
                return Err(format!(
                    "the unit '{}' is static (it has no [Install] section), so it cannot be \
                     disabled; remove `enabled: false` or mask it",
                    self.name
                ));
            }
            Some(false) if !missing && ENABLED.contains(&enabled) => {
                changes.push(Change::new(
                    "enabled",
                    Some(enabled.to_string()),
                    Some("disabled".into()),
                ));
            }
            _ => {}
        }
        let running = matches!(active, "active" | "activating" | "reloading");
        match self.state {
            Some(ServiceState::Running) if missing || !running => {
                changes.push(Change::new(
                    "state",
                    Some(here(active)),
                    Some("running".into()),
                ));
            }
            Some(ServiceState::Stopped) if !missing && (running || active == "deactivating") => {
                changes.push(Change::new(
                    "state",
                    Some(active.to_string()),
                    Some("stopped".into()),
                ));
            }
            _ => {}
        }
        Ok(changes)
    }
}

impl ResourceType for ServiceSpec {
    fn type_name(&self) -> &'static str {
        "service"
    }

    fn default_id(&self) -> String {
        format!("service {}", self.name)
    }

    fn check_script(&self, index: usize, out: &mut String) {
        let n = quote(&self.name);
        out.push_str(&format!(
            "echo \"R {index} type service\"\n\
             if [ -d /run/systemd/system ]; then echo \"R {index} init systemd\"; \
             echo \"R {index} load $(systemctl show -p LoadState --value -- {n} 2>/dev/null)\"; \
             echo \"R {index} enabled $(systemctl is-enabled -- {n} 2>/dev/null)\"; \
             echo \"R {index} active $(systemctl is-active -- {n} 2>/dev/null)\"; \
             else echo \"R {index} init $(cat /proc/1/comm 2>/dev/null || echo unknown)\"; fi\n"
        ));
    }

    fn compare(&self, observed: &Observed) -> Check {
        match self.changes(observed) {
            Ok(changes) if changes.is_empty() => Check::Unchanged,
            Ok(changes) => Check::Change { changes },
            Err(message) => Check::Error { message },
        }
    }

    fn apply_script(&self, observed: &Observed, out: &mut String) {
        let n = quote(&self.name);
        // A unit that did not exist at the check was installed since (by a package, a
        // command): systemd only sees it after a reload.
        if observed.get("load") == Some("not-found") {
            out.push_str("systemctl daemon-reload\n");
        }
        for change in self.changes(observed).unwrap_or_default() {
            let verb = match change.to.as_deref() {
                Some("enabled") => "enable",
                Some("disabled") => "disable",
                Some("running") => "start",
                Some("stopped") => "stop",
                _ => continue,
            };
            out.push_str(&format!("systemctl {verb} -- {n}\n"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(enabled: Option<bool>, state: Option<ServiceState>) -> ServiceSpec {
        ServiceSpec {
            name: "app".into(),
            enabled,
            state,
        }
    }

    fn observed(load: &str, enabled: &str, active: &str) -> Observed {
        let mut o = Observed::default();
        for (k, v) in [
            ("type", "service"),
            ("init", "systemd"),
            ("load", load),
            ("enabled", enabled),
            ("active", active),
        ] {
            o.0.insert(k.into(), v.into());
        }
        o
    }

    #[test]
    fn enabled_and_running_compare_with_systemctl_words() {
        let s = spec(Some(true), Some(ServiceState::Running));
        assert_eq!(
            s.compare(&observed("loaded", "enabled", "active")),
            Check::Unchanged
        );
        assert_eq!(
            s.compare(&observed("loaded", "static", "active")),
            Check::Unchanged,
            "a static unit counts as enabled"
        );
        let Check::Change { changes } = s.compare(&observed("loaded", "enabled", "failed")) else {
            panic!("a change")
        };
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (changes[0].field.as_str(), changes[0].from.as_deref()),
            ("state", Some("failed"))
        );
        let mut out = String::new();
        s.apply_script(&observed("loaded", "enabled", "failed"), &mut out);
        assert_eq!(out, "systemctl start -- 'app'\n");
    }

    #[test]
    fn a_unit_not_found_yet_is_a_change_and_reloads_systemd_first() {
        let s = spec(Some(true), Some(ServiceState::Running));
        let o = observed("not-found", "", "inactive");
        let Check::Change { changes } = s.compare(&o) else {
            panic!("a change")
        };
        let shown: Vec<_> = changes
            .iter()
            .map(|c| (c.field.as_str(), c.from.as_deref(), c.to.as_deref()))
            .collect();
        assert_eq!(
            shown,
            [
                ("enabled", Some("not found"), Some("enabled")),
                ("state", Some("not found"), Some("running"))
            ]
        );
        let mut out = String::new();
        s.apply_script(&o, &mut out);
        assert_eq!(
            out,
            "systemctl daemon-reload\nsystemctl enable -- 'app'\nsystemctl start -- 'app'\n"
        );
        // Stopped and disabled: a missing unit is both already.
        assert_eq!(
            spec(Some(false), Some(ServiceState::Stopped)).compare(&o),
            Check::Unchanged
        );
    }

    #[test]
    fn disable_and_stop() {
        let s = spec(Some(false), Some(ServiceState::Stopped));
        let o = observed("loaded", "enabled", "active");
        let mut out = String::new();
        s.apply_script(&o, &mut out);
        assert_eq!(out, "systemctl disable -- 'app'\nsystemctl stop -- 'app'\n");
        assert_eq!(
            s.compare(&observed("loaded", "disabled", "failed")),
            Check::Unchanged
        );
        // Only what is declared is compared.
        assert_eq!(
            spec(None, Some(ServiceState::Stopped))
                .compare(&observed("loaded", "enabled", "inactive")),
            Check::Unchanged
        );
    }

    #[test]
    fn no_systemd_masked_and_static_units_are_errors() {
        let s = spec(Some(true), None);
        let mut o = Observed::default();
        o.0.insert("type".into(), "service".into());
        o.0.insert("init".into(), "runit".into());
        let Check::Error { message } = s.compare(&o) else {
            panic!("an error")
        };
        assert!(
            message.contains("need systemd") && message.contains("runit"),
            "{message}"
        );
        let Check::Error { message } = s.compare(&observed("masked", "masked", "inactive")) else {
            panic!("an error")
        };
        assert!(message.contains("masked"), "{message}");
        let Check::Error { message } =
            spec(Some(false), None).compare(&observed("loaded", "static", "inactive"))
        else {
            panic!("an error")
        };
        assert!(message.contains("static"), "{message}");
    }

    #[test]
    fn unit_directories_are_recognised() {
        let file = |path: &str| {
            Spec::File(crate::resource::FileSpec {
                path: path.into(),
                content: crate::resource::FileContent::Inline(String::new()),
                mode: None,
                owner: None,
                group: None,
            })
        };
        assert!(touches_units(&file("/etc/systemd/system/app.service")));
        assert!(touches_units(&file("/lib/systemd/system/app.service")));
        assert!(!touches_units(&file("/etc/nginx/nginx.conf")));
    }
}
