//! The shell scripts a deploy runs on a host, one round trip each, and the parsing of
//! what the state script prints. Every value reaching a script is single-quoted.

use gantry_infra::shell::quote;

use crate::layout::{Layout, Slot};
use crate::prune::ReleaseEntry;

/// A release is complete (fully unpacked, its unit written) when this marker exists;
/// its modification time is when it was (last) installed.
const COMPLETE: &str = ".gantry/complete";

/// What a host has of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostState {
    /// The release `current` points at.
    pub current: Option<String>,
    /// The release `previous` points at.
    pub previous: Option<String>,
    /// Complete releases.
    pub releases: Vec<ReleaseEntry>,
    /// `systemctl is-active` of the unit.
    pub active: String,
    /// The slot nginx sends requests to (blue-green).
    pub live: Option<Slot>,
}

impl HostState {
    pub fn has_release(&self, version: &str) -> bool {
        self.releases.iter().any(|r| r.version == version)
    }
}

/// Prints the host's releases, links and unit state (read only).
pub fn state(layout: &Layout) -> String {
    format!(
        r#"root={root}
link() {{ t=$(readlink "$root/$1" 2>/dev/null) && printf '%s %s\n' "$1" "${{t##*/}}"; true; }}
link current
link previous
if [ -d "$root/releases" ]; then
  for d in "$root"/releases/*/; do
    [ -f "$d{COMPLETE}" ] || continue
    d=${{d%/}}
    printf 'release %s %s\n' "$(stat -c %Y "$d/{COMPLETE}")" "${{d##*/}}"
  done
fi
printf 'active %s\n' "$(systemctl is-active {unit} 2>/dev/null || true)"
if [ -f "$root/live" ]; then printf 'live %s\n' "$(cat "$root/live")"; fi
"#,
        root = quote(&layout.root()),
        unit = quote(&layout.unit_name()),
    )
}

pub fn parse_state(stdout: &str) -> HostState {
    let mut state = HostState::default();
    for line in stdout.lines() {
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        match kind {
            "current" if !rest.is_empty() => state.current = Some(rest.to_string()),
            "previous" if !rest.is_empty() => state.previous = Some(rest.to_string()),
            "release" => {
                if let Some((time, version)) = rest.split_once(' ') {
                    state.releases.push(ReleaseEntry {
                        version: version.to_string(),
                        installed_at: time.parse().unwrap_or(0),
                    });
                }
            }
            "active" => state.active = rest.trim().to_string(),
            "live" => state.live = Slot::parse(rest),
            _ => {}
        }
    }
    state
}

/// What an install brings to a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shipment<'a> {
    /// A new release with files: the base64 tar.gz of the artifact.
    Payload(&'a str),
    /// A new release without files (a docker service whose image is on the host).
    Empty,
    /// The release is on the host already.
    Present,
}

/// Installs a release: a new one is made in a temp dir beside the releases (the
/// payload unpacked, if any), its unit and its environment file (`env`, mode 0600)
/// written, `prepare` run on it (shell lines working on the release directory in `$dir`:
/// a docker service's image), then it is marked complete and renamed into place; a
/// failure leaves nothing behind. A release already there gets its unit and environment
/// rewritten (a secret may have changed), `prepare` run, and its install time renewed.
pub fn install(
    layout: &Layout,
    version: &str,
    shipment: Shipment<'_>,
    unit: &str,
    env: &str,
    prepare: &str,
) -> String {
    let release = quote(&layout.release(version));
    let releases = quote(&layout.releases());
    let unit_file = quote(&layout.release_unit(version));
    let mut s = String::from("set -eu\numask 022\n");
    s.push_str(&format!("mkdir -p {releases}\n"));
    if shipment == Shipment::Present {
        s.push_str(&format!("mkdir -p {release}/.gantry\n"));
        s.push_str(&format!(
            "printf '%s' {} > {unit_file}.tmp\nmv -f {unit_file}.tmp {unit_file}\n",
            quote(unit)
        ));
        s.push_str(&write_private(
            &quote(&crate::env_file::path(&layout.release(version), None)),
            env,
        ));
        s.push_str(&format!("dir={release}\n"));
        s.push_str(prepare);
        s.push_str(&format!("touch {release}/{COMPLETE}\necho present\n"));
        return s;
    }
    s.push_str(&format!(
        "tmp=$(mktemp -d {releases}/.incoming.XXXXXX)\ntrap 'rm -rf \"$tmp\"' EXIT\n"
    ));
    if let Shipment::Payload(payload) = shipment {
        s.push_str("base64 -d > \"$tmp/.payload.tgz\" <<'GANTRY_PAYLOAD_END'\n");
        s.push_str(payload);
        if !payload.ends_with('\n') {
            s.push('\n');
        }
        s.push_str("GANTRY_PAYLOAD_END\n");
        s.push_str("tar -xzf \"$tmp/.payload.tgz\" -C \"$tmp\" --no-same-owner\nrm -f \"$tmp/.payload.tgz\"\n");
    }
    s.push_str("mkdir -p \"$tmp/.gantry\"\n");
    s.push_str(&format!(
        "printf '%s' {} > \"$tmp/.gantry/unit\"\n",
        quote(unit)
    ));
    s.push_str(&write_private("\"$tmp/.gantry/env\"", env));
    s.push_str("dir=$tmp\n");
    s.push_str(prepare);
    s.push_str("chmod 755 \"$tmp\"\n");
    s.push_str(&format!("rm -rf {release}\n"));
    s.push_str(&format!(
        "touch \"$tmp/{COMPLETE}\"\nmv -T \"$tmp\" {release}\n"
    ));
    s.push_str("trap - EXIT\necho installed\n");
    s
}

/// Writes `content` to `path` (a shell word) readable by its owner only (the deploy
/// runs as root): made under umask 077 beside it, never through an older file's
/// permissions, then renamed over it. `printf` is a shell builtin, so the content is on
/// no command line.
pub fn write_private(path: &str, content: &str) -> String {
    format!(
        "rm -f {path}.tmp\n(umask 077 && printf '%s' {} > {path}.tmp)\nchmod 600 {path}.tmp\nmv -f {path}.tmp {path}\n",
        quote(content)
    )
}

/// What `previous` points at after a switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviousLink {
    /// The release `current` pointed at before (a deploy, or a rollback by hand, which
    /// can then be undone by another rollback).
    FromCurrent,
    /// This release, or no `previous` link (an automatic rollback restores the link as
    /// it was before the deploy).
    Set(Option<String>),
}

/// Points `current` at `version` atomically (`ln -sfn` to a temp name, `mv -T`),
/// installs the release's unit, reloads systemd and restarts the unit. `before_start`
/// runs first, before anything moves (a docker service's image loaded again if it went
/// missing).
pub fn switch(
    layout: &Layout,
    version: &str,
    previous: &PreviousLink,
    before_start: &str,
) -> String {
    let unit_name = quote(&layout.unit_name());
    let unit_path = quote(&layout.unit_path());
    let mut s = String::from("set -eu\n");
    s.push_str(before_start);
    s.push_str(&links(layout, version, previous));
    s.push_str(&format!(
        "cp \"$rel/.gantry/unit\" {unit_path}.gantry-tmp && mv -f {unit_path}.gantry-tmp {unit_path}\n"
    ));
    s.push_str(&format!(
        "systemctl daemon-reload\nsystemctl enable --quiet {unit_name} 2>/dev/null || true\nsystemctl reset-failed {unit_name} 2>/dev/null || true\nsystemctl restart {unit_name}\n"
    ));
    s
}

/// Sets `root` and `rel` (the release, which must be complete on the host), then points
/// `previous` as asked and `current` at the release, each atomically.
pub fn links(layout: &Layout, version: &str, previous: &PreviousLink) -> String {
    let root = quote(&layout.root());
    let release = quote(&layout.release(version));
    let mut s = format!("root={root}\nrel={release}\n");
    s.push_str(&format!(
        "test -f \"$rel/{COMPLETE}\" || {{ echo \"release {version} is not on this host\" >&2; exit 3; }}\n"
    ));
    match previous {
        PreviousLink::FromCurrent => s.push_str(
            "old=$(readlink \"$root/current\" 2>/dev/null || true)\n\
             if [ -n \"$old\" ] && [ \"$old\" != \"$rel\" ]; then\n\
             \x20 ln -sfn \"$old\" \"$root/.previous.tmp\" && mv -T \"$root/.previous.tmp\" \"$root/previous\"\n\
             fi\n",
        ),
        PreviousLink::Set(Some(v)) => s.push_str(&format!(
            "ln -sfn {} \"$root/.previous.tmp\" && mv -T \"$root/.previous.tmp\" \"$root/previous\"\n",
            quote(&layout.release(v))
        )),
        PreviousLink::Set(None) => s.push_str("rm -f \"$root/previous\"\n"),
    }
    s.push_str("ln -sfn \"$rel\" \"$root/.current.tmp\" && mv -T \"$root/.current.tmp\" \"$root/current\"\n");
    s
}

/// Stops and removes the service (an automatic rollback of a host that had no release
/// before the deploy).
pub fn remove(layout: &Layout) -> String {
    let root = quote(&layout.root());
    let unit_name = quote(&layout.unit_name());
    let unit_path = quote(&layout.unit_path());
    format!(
        "set -u\nsystemctl disable --now --quiet {unit_name} 2>/dev/null || systemctl stop {unit_name} 2>/dev/null || true\nrm -f {unit_path} {root}/current {root}/previous\nsystemctl daemon-reload\n"
    )
}

/// The unit's main pid; exit 0 only when the unit is active.
pub fn main_pid(unit: &str) -> String {
    let unit = quote(unit);
    format!("systemctl is-active --quiet {unit} && systemctl show -p MainPID --value {unit}\n")
}

/// Deletes old releases.
pub fn prune(layout: &Layout, versions: &[String]) -> String {
    let mut s = String::from("set -eu\n");
    for v in versions {
        s.push_str(&format!("rm -rf {}\n", quote(&layout.release(v))));
    }
    s
}

/// Runs a hook (or a health `command`) with `sh`, in `dir`, with the variables of
/// `env_file` (a release's environment file, sourced with `set -a` when it is there:
/// its quoting reads the same in sh as in systemd) and then `env` set.
pub fn command(dir: &str, env_file: Option<&str>, env: &[(&str, &str)], run: &str) -> String {
    let mut s = format!("cd {} 2>/dev/null || cd /\n", quote(dir));
    if let Some(file) = env_file {
        let file = quote(file);
        s.push_str(&format!(
            "if [ -f {file} ]; then set -a; . {file}; set +a; fi\n"
        ));
    }
    for (k, v) in env {
        s.push_str(&format!("export {k}={}\n", quote(v)));
    }
    s.push_str(&format!("exec sh -c {}\n", quote(run)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_output_is_read_back() {
        let state =
            parse_state("current v2\nprevious v1\nrelease 100 v1\nrelease 200 v2\nactive active\n");
        assert_eq!(state.current.as_deref(), Some("v2"));
        assert_eq!(state.previous.as_deref(), Some("v1"));
        assert_eq!(state.releases.len(), 2);
        assert!(state.has_release("v1") && !state.has_release("v3"));
        assert_eq!(state.active, "active");
        assert_eq!(
            parse_state("active inactive\nlive green\n"),
            HostState {
                active: "inactive".into(),
                live: Some(Slot::Green),
                ..HostState::default()
            }
        );
    }

    #[test]
    fn scripts_quote_every_value() {
        let layout = Layout::new("/opt/gantry", "web");
        let s = switch(&layout, "v2", &PreviousLink::FromCurrent, "");
        assert!(s.contains("rel='/opt/gantry/web/releases/v2'"), "{s}");
        assert!(
            s.contains("mv -T \"$root/.current.tmp\" \"$root/current\""),
            "{s}"
        );
        let s = command(
            "/x",
            Some("/x/.gantry/env"),
            &[("GANTRY_VERSION", "it's")],
            "echo $GANTRY_VERSION",
        );
        assert!(s.contains("export GANTRY_VERSION='it'\\''s'"), "{s}");
        let source = s.find(". '/x/.gantry/env'").unwrap();
        assert!(source < s.find("export GANTRY_VERSION").unwrap(), "{s}");
        let s = install(
            &layout,
            "v2",
            Shipment::Present,
            "[Unit]",
            "A=\"it's\"\n",
            "",
        );
        assert!(
            s.contains("(umask 077 && printf '%s' 'A=\"it'\\''s\"\n' > '/opt/gantry/web/releases/v2/.gantry/env'.tmp)"),
            "{s}"
        );
    }
}
