//! Whether this machine can host labs, checked once per process by building a throwaway
//! namespace with everything a lab uses.

use std::sync::OnceLock;

use crate::{cmd, names, netns};

/// `Ok(())` when labs work here, else a reason a person can act on. Tests call it first and
/// fail (not skip) with the reason, so a machine that cannot run them is never mistaken for
/// a passing one:
///
/// ```no_run
/// if let Err(why) = gantry_testhost::available() {
///     panic!("test hosts are unavailable: {why}");
/// }
/// ```
///
/// Needs root (namespaces, links and nftables need CAP_NET_ADMIN and CAP_SYS_ADMIN), `ip`
/// from iproute2, `nft` from nftables, and a kernel with bridges, veth and nftables' bridge
/// family. The result is cached.
pub fn available() -> Result<(), String> {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    RESULT.get_or_init(check).clone()
}

fn check() -> Result<(), String> {
    let euid = nix::unistd::geteuid();
    if !euid.is_root() {
        return Err(format!(
            "gantry-testhost needs root to create network namespaces (running as uid {euid})"
        ));
    }
    for (tool, package) in [("ip", "iproute2"), ("nft", "nftables")] {
        if cmd::find_tool(tool).is_none() {
            return Err(format!(
                "`{tool}` was not found; install the {package} package"
            ));
        }
    }
    let probe = names::probe_netns(std::process::id());
    let result = probe_in(&probe);
    let _ = netns::destroy(&probe);
    result.map_err(|e| format!("cannot build a test network on this machine: {e}"))
}

/// Builds, inside `probe`, one of everything a lab needs.
fn probe_in(probe: &str) -> std::io::Result<()> {
    netns::add(probe)?;
    cmd::ip_batch(
        probe,
        &[
            "link add br0 type bridge".into(),
            "link add v0 type veth peer name v1".into(),
            "link set v0 master br0".into(),
        ],
    )?;
    cmd::nft(
        probe,
        "table bridge probe { set s { type ifname; }; chain c { type filter hook forward priority filter; iifname @s drop; }; }\n",
    )
}
