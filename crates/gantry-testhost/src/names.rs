//! The names labs give their namespaces and links, and parsing them back, so that stale
//! leftovers of a killed test process can be traced to the slot that made them.
//!
//! Every name carries the lab's slot number: `gantry-lab7` is slot 7's own namespace (the
//! one holding the bridge) and also its uplink link in the root namespace,
//! `gantry-lab7-db` is host `db` of that lab. The uplink is the only name in the root
//! namespace's 15-character interface namespace; `gantry-lab255` fits.

use std::io;

/// Prefix of every lab namespace and uplink.
pub(crate) const LAB_PREFIX: &str = "gantry-lab";

/// Prefix of the throwaway namespace `available()` creates; the pid follows.
pub(crate) const PROBE_PREFIX: &str = "gantry-probe";

/// Longest host name accepted; namespace names are file names, but shorter is readable.
const MAX_HOST_NAME: usize = 40;

/// The lab's own namespace, which holds the bridge.
pub(crate) fn lab_netns(slot: u8) -> String {
    format!("{LAB_PREFIX}{slot}")
}

/// The root-namespace end of the lab's uplink, which carries the gateway address.
pub(crate) fn uplink(slot: u8) -> String {
    lab_netns(slot)
}

/// A host's namespace.
pub(crate) fn host_netns(slot: u8, host: &str) -> String {
    format!("{LAB_PREFIX}{slot}-{host}")
}

/// The slot a lab namespace, host namespace or uplink belongs to.
pub(crate) fn slot_of(name: &str) -> Option<u8> {
    let rest = name.strip_prefix(LAB_PREFIX)?;
    let digits = rest.split('-').next()?;
    // `gantry-lab007` is not ours: only the canonical spelling round-trips.
    let slot: u8 = digits.parse().ok()?;
    (slot.to_string() == digits).then_some(slot)
}

/// The probe namespace for a process.
pub(crate) fn probe_netns(pid: u32) -> String {
    format!("{PROBE_PREFIX}{pid}")
}

/// The pid that made a probe namespace.
pub(crate) fn probe_pid(name: &str) -> Option<u32> {
    name.strip_prefix(PROBE_PREFIX)?.parse().ok()
}

/// Host names become part of namespace names and of `ip` command lines, so only a plain
/// alphabet is accepted.
pub(crate) fn check_host_name(name: &str) -> io::Result<()> {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if name.is_empty() || name.len() > MAX_HOST_NAME || !plain || name.starts_with('-') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "test host name {name:?} is not usable: use 1 to {MAX_HOST_NAME} characters \
                 from a-z, A-Z, 0-9, '-' and '_', not starting with '-'"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_round_trip() {
        assert_eq!(slot_of(&lab_netns(7)), Some(7));
        assert_eq!(slot_of(&uplink(255)), Some(255));
        assert_eq!(slot_of(&host_netns(12, "db-1")), Some(12));
        assert!(uplink(255).len() <= 15);
    }

    #[test]
    fn foreign_names_have_no_slot() {
        for name in [
            "gantry-lab",
            "gantry-lab007",
            "gantry-lab256",
            "gantry-labx",
            "eth0",
        ] {
            assert_eq!(slot_of(name), None, "{name}");
        }
    }

    #[test]
    fn probe_names_carry_the_pid() {
        assert_eq!(probe_pid(&probe_netns(4242)), Some(4242));
        assert_eq!(probe_pid("gantry-lab1"), None);
    }

    #[test]
    fn host_names_are_checked() {
        assert!(check_host_name("node-1").is_ok());
        for bad in ["", "-x", "a b", "a/b", &"x".repeat(41)] {
            assert!(check_host_name(bad).is_err(), "{bad:?}");
        }
    }
}
