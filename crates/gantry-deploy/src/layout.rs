//! Where a service lives on a host: `<base>/<service>/releases/<version>/`, the `current`
//! and `previous` symlinks beside `releases/`, the rendered unit inside each release
//! (`.gantry/unit`), and the systemd unit name; for blue-green, the two slots (a symlink
//! and a unit each), the `live` file naming the slot nginx sends requests to, and the
//! nginx site. Pure.

/// The base directory unless the caller sets another.
pub const DEFAULT_BASE_DIR: &str = "/opt/gantry";
/// Where systemd reads the units Gantry installs.
pub const UNIT_DIR: &str = "/etc/systemd/system";
/// Where nginx reads the sites Gantry writes (Debian's and Fedora's nginx both include it).
pub const NGINX_CONF_DIR: &str = "/etc/nginx/conf.d";
/// Longest version accepted: it is a directory name on every host.
const MAX_VERSION: usize = 128;

/// The paths of one service on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    base: String,
    service: String,
}

impl Layout {
    pub fn new(base: &str, service: &str) -> Layout {
        Layout {
            base: base.trim_end_matches('/').to_string(),
            service: service.to_string(),
        }
    }

    /// `<base>/<service>`.
    pub fn root(&self) -> String {
        format!("{}/{}", self.base, self.service)
    }

    pub fn releases(&self) -> String {
        format!("{}/releases", self.root())
    }

    pub fn release(&self, version: &str) -> String {
        format!("{}/{version}", self.releases())
    }

    pub fn current(&self) -> String {
        format!("{}/current", self.root())
    }

    pub fn previous(&self) -> String {
        format!("{}/previous", self.root())
    }

    /// The rendered unit kept with a release: a switch installs the unit of the release
    /// it switches to, so a rollback runs the old release with its own command line.
    pub fn release_unit(&self, version: &str) -> String {
        format!("{}/.gantry/unit", self.release(version))
    }

    /// `gantry-<service>.service`.
    pub fn unit_name(&self) -> String {
        format!("gantry-{}.service", self.service)
    }

    pub fn unit_path(&self) -> String {
        format!("{UNIT_DIR}/{}", self.unit_name())
    }

    /// `<root>/<slot>`: the release a blue-green slot runs.
    pub fn slot_link(&self, slot: Slot) -> String {
        format!("{}/{}", self.root(), slot.name())
    }

    /// `gantry-<service>.<slot>.service` (a service name has no `.`, so no other
    /// service's unit can have this name).
    pub fn slot_unit_name(&self, slot: Slot) -> String {
        format!("gantry-{}.{}.service", self.service, slot.name())
    }

    pub fn slot_unit_path(&self, slot: Slot) -> String {
        format!("{UNIT_DIR}/{}", self.slot_unit_name(slot))
    }

    /// `<root>/live`: the name of the slot nginx sends requests to.
    pub fn live_file(&self) -> String {
        format!("{}/live", self.root())
    }

    /// `/etc/nginx/conf.d/gantry-<service>.conf`.
    pub fn nginx_conf(&self) -> String {
        format!("{NGINX_CONF_DIR}/gantry-{}.conf", self.service)
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// Where the environments' deploy locks live on their first host.
    pub fn locks_dir(base: &str) -> String {
        format!("{}/.locks", base.trim_end_matches('/'))
    }
}

/// One of the two places a blue-green service runs on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    Blue,
    Green,
}

impl Slot {
    pub fn name(self) -> &'static str {
        match self {
            Slot::Blue => "blue",
            Slot::Green => "green",
        }
    }

    pub fn other(self) -> Slot {
        match self {
            Slot::Blue => Slot::Green,
            Slot::Green => Slot::Blue,
        }
    }

    /// The slot's port among `[blue, green]`.
    pub fn port(self, ports: [u16; 2]) -> u16 {
        match self {
            Slot::Blue => ports[0],
            Slot::Green => ports[1],
        }
    }

    pub fn parse(name: &str) -> Option<Slot> {
        match name.trim() {
            "blue" => Some(Slot::Blue),
            "green" => Some(Slot::Green),
            _ => None,
        }
    }
}

/// Checks that `version` can name a release directory: letters, digits, `.`, `_`, `+`,
/// `-`, not starting with `.` or `-`, at most 128 characters.
pub fn check_version(version: &str) -> Result<(), String> {
    let ok = !version.is_empty()
        && version.len() <= MAX_VERSION
        && !version.starts_with(['.', '-'])
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid version '{version}': use letters, digits, '.', '_', '+' and '-' (at most {MAX_VERSION} characters, not starting with '.' or '-'); it names a directory on every host"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_documented_layout() {
        let l = Layout::new("/opt/gantry/", "web");
        assert_eq!(l.release("v2"), "/opt/gantry/web/releases/v2");
        assert_eq!(l.current(), "/opt/gantry/web/current");
        assert_eq!(
            l.release_unit("v2"),
            "/opt/gantry/web/releases/v2/.gantry/unit"
        );
        assert_eq!(l.unit_path(), "/etc/systemd/system/gantry-web.service");
        assert_eq!(Layout::locks_dir("/opt/gantry"), "/opt/gantry/.locks");
        assert_eq!(l.slot_link(Slot::Green), "/opt/gantry/web/green");
        assert_eq!(
            l.slot_unit_path(Slot::Blue),
            "/etc/systemd/system/gantry-web.blue.service"
        );
        assert_eq!(l.live_file(), "/opt/gantry/web/live");
        assert_eq!(l.nginx_conf(), "/etc/nginx/conf.d/gantry-web.conf");
        assert_eq!(Slot::parse("green\n"), Some(Slot::Green));
        assert_eq!(Slot::Blue.other().port([8081, 8082]), 8082);
    }

    #[test]
    fn versions_must_be_safe_directory_names() {
        for good in ["v1", "1.2.3", "1.0.0+build.5", "abc123_x-y"] {
            assert!(check_version(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "..",
            ".hidden",
            "-x",
            "a/b",
            "a b",
            "v$(x)",
            &"x".repeat(129),
        ] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }
}
