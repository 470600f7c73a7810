//! The shell a blue-green deploy runs on a host, one round trip per step: start a
//! release in a slot, put a slot live (nginx site, graceful reload, links), take the
//! service off nginx again, stop a slot. Every value reaching a script is single-quoted.

use gantry_infra::shell::quote;

use crate::env_file;
use crate::layout::{Layout, Slot};
use crate::script::{PreviousLink, links, write_private};

/// Installs nginx with the host's package manager when it is missing.
const ENSURE_NGINX: &str = r#"if [ ! -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq nginx >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nginx >/dev/null; }
  elif command -v dnf >/dev/null 2>&1; then
    dnf install -y -q nginx >/dev/null
  else
    echo "nginx is not installed and there is no apt-get or dnf to install it" >&2; exit 4
  fi
fi
"#;

/// Points the slot at the release, writes its unit (`unit`, rendered for the slot's
/// port) and its environment file (`env`, mode 0600, beside the release's own) and
/// restarts it. nginx is installed here if missing, before anything is live.
/// `before_start` runs before the slot moves (a docker service's image loaded again if
/// it went missing).
pub fn start(
    layout: &Layout,
    slot: Slot,
    version: &str,
    unit: &str,
    env: &str,
    before_start: &str,
) -> String {
    let root = quote(&layout.root());
    let rel = quote(&layout.release(version));
    let link = quote(&layout.slot_link(slot));
    let unit_name = quote(&layout.slot_unit_name(slot));
    let unit_path = quote(&layout.slot_unit_path(slot));
    let mut s = String::from("set -eu\n");
    s.push_str(ENSURE_NGINX);
    s.push_str(&format!(
        "test -f {rel}/.gantry/complete || {{ echo \"release {version} is not on this host\" >&2; exit 3; }}\n"
    ));
    s.push_str(before_start);
    s.push_str(&format!(
        "ln -sfn {rel} {root}/.slot.tmp && mv -T {root}/.slot.tmp {link}\n"
    ));
    s.push_str(&write_private(
        &quote(&env_file::path(&layout.release(version), Some(slot))),
        env,
    ));
    s.push_str(&format!(
        "printf '%s' {} > {unit_path}.gantry-tmp && mv -f {unit_path}.gantry-tmp {unit_path}\n",
        quote(unit)
    ));
    s.push_str(&format!(
        "systemctl daemon-reload\nsystemctl reset-failed {unit_name} 2>/dev/null || true\nsystemctl restart {unit_name}\n"
    ));
    s
}

/// Makes `slot` (running `version`) the live one: the service's plain (rolling) unit
/// stopped if it ran, the nginx site written and checked (`nginx -t`; the old site
/// restored when refused), nginx reloaded gracefully (started when it was not running),
/// the slot's unit enabled for boot, `current`/`previous` and `live` updated.
pub fn go_live(
    layout: &Layout,
    slot: Slot,
    version: &str,
    site: &str,
    previous: &PreviousLink,
) -> String {
    let conf = quote(&layout.nginx_conf());
    let plain_name = quote(&layout.unit_name());
    let plain_path = quote(&layout.unit_path());
    let slot_unit = quote(&layout.slot_unit_name(slot));
    let mut s = String::from("set -eu\n");
    s.push_str(&format!("conf={conf}\n"));
    // A service that ran with `rolling` before holds the port nginx is about to take.
    s.push_str(&format!(
        "if [ -f {plain_path} ] && {{ systemctl is-enabled --quiet {plain_name} 2>/dev/null || systemctl is-active --quiet {plain_name} 2>/dev/null; }}; then systemctl disable --now --quiet {plain_name} 2>/dev/null || systemctl stop {plain_name} 2>/dev/null || true; fi\n"
    ));
    s.push_str(&write_site(site));
    s.push_str(RELOAD_NGINX);
    s.push_str(&format!(
        "systemctl is-enabled --quiet {slot_unit} 2>/dev/null || systemctl enable --quiet {slot_unit} 2>/dev/null || true\n"
    ));
    s.push_str(&links(layout, version, previous));
    s.push_str(&format!(
        "printf '%s\\n' {} > \"$root/.live.tmp\" && mv -f \"$root/.live.tmp\" \"$root/live\"\n",
        slot.name()
    ));
    s
}

/// Takes the service off nginx (an automatic rollback of a host that had no live slot
/// before): the site removed, nginx reloaded, and either `current`/`previous` put back
/// on the release the plain unit ran (which is started again) or the links removed.
pub fn off_nginx(layout: &Layout, restore: Option<(&str, &PreviousLink)>) -> String {
    let conf = quote(&layout.nginx_conf());
    let plain_name = quote(&layout.unit_name());
    let plain_path = quote(&layout.unit_path());
    let root = quote(&layout.root());
    let mut s = format!("set -eu\nrm -f {conf}\n");
    s.push_str("if systemctl is-active --quiet nginx; then systemctl reload nginx; fi\n");
    s.push_str(&format!("rm -f {root}/live\n"));
    match restore {
        Some((version, previous)) => {
            s.push_str(&links(layout, version, previous));
            s.push_str(&format!(
                "if [ -f {plain_path} ]; then systemctl enable --quiet {plain_name} 2>/dev/null || true; systemctl restart {plain_name}; fi\n"
            ));
        }
        None => s.push_str(&format!("rm -f {root}/current {root}/previous\n")),
    }
    s
}

/// Replaces the nginx site (checked with `nginx -t` first) and reloads nginx: a canary
/// step's weights, or the stable slot alone again after an abort.
pub fn set_site(layout: &Layout, site: &str) -> String {
    let mut s = format!("set -eu\nconf={}\n", quote(&layout.nginx_conf()));
    s.push_str(&write_site(site));
    s.push_str(RELOAD_NGINX);
    s
}

/// Stops a slot's unit and keeps it from starting at boot.
pub fn stop(layout: &Layout, slot: Slot) -> String {
    let unit = quote(&layout.slot_unit_name(slot));
    format!(
        "if systemctl is-enabled --quiet {unit} 2>/dev/null; then systemctl disable --quiet {unit} 2>/dev/null || true; fi\nsystemctl stop {unit}\n"
    )
}

/// Reloads nginx when it runs (new workers take the new site, the old ones finish their
/// requests), starts it when it does not. `enable` and `disable` here and above run only
/// when they change something: each is a systemd reload of every unit file.
const RELOAD_NGINX: &str = "systemctl is-enabled --quiet nginx 2>/dev/null || systemctl enable --quiet nginx 2>/dev/null || true
if systemctl is-active --quiet nginx; then systemctl reload nginx; else systemctl start nginx; fi
";

/// Writes the site to `$conf`, keeping the old one until `nginx -t` accepts the new.
fn write_site(site: &str) -> String {
    format!(
        r#"if [ -f "$conf" ]; then cp -p "$conf" "$conf.gantry-prev"; else rm -f "$conf.gantry-prev"; fi
printf '%s' {} > "$conf.gantry-tmp" && mv -f "$conf.gantry-tmp" "$conf"
if ! out=$(nginx -t 2>&1); then
  if [ -f "$conf.gantry-prev" ]; then mv -f "$conf.gantry-prev" "$conf"; else rm -f "$conf"; fi
  printf 'nginx refused the site: %s\n' "$out" >&2; exit 5
fi
rm -f "$conf.gantry-prev"
"#,
        quote(site)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn going_live_checks_the_site_before_the_reload_and_moves_the_links_after() {
        let layout = Layout::new("/opt/gantry", "web");
        let s = go_live(
            &layout,
            Slot::Green,
            "v2",
            "server { listen 8080; }",
            &PreviousLink::FromCurrent,
        );
        let check = s.find("nginx -t").unwrap();
        let reload = s.find("systemctl reload nginx").unwrap();
        let link = s.find("$root/current").unwrap();
        assert!(check < reload && reload < link, "{s}");
        assert!(
            s.contains("conf='/etc/nginx/conf.d/gantry-web.conf'"),
            "{s}"
        );
        assert!(s.contains("gantry-web.green.service"), "{s}");
        assert!(s.contains("printf '%s\\n' green"), "{s}");
        let s = start(
            &layout,
            Slot::Blue,
            "v1",
            "ExecStart=/x 'it'",
            "A=\"1\"\n",
            "",
        );
        assert!(
            s.contains("> '/opt/gantry/web/releases/v1/.gantry/env.blue'.tmp)"),
            "{s}"
        );
        assert!(s.contains("'ExecStart=/x '\\''it'\\'''"), "{s}");
        assert!(
            s.contains("mv -T '/opt/gantry/web'/.slot.tmp '/opt/gantry/web/blue'"),
            "{s}"
        );
    }
}
