//! The lab's private /24 (`10.213.<slot>.0/24`) and the check that nothing else on the
//! machine routes addresses inside it.

use std::io;
use std::net::Ipv4Addr;

use crate::cmd;

/// Every lab is a /24: gateway `.1`, hosts from `.2`.
pub(crate) const PREFIX_LEN: u8 = 24;

/// The network address of a slot's subnet. 10.213/16 is an arbitrary corner of the private
/// range; `in_use` guards against machines that use it anyway.
pub(crate) fn network(slot: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 213, slot, 0)
}

/// The gateway (root-namespace) address of a slot.
pub(crate) fn gateway(slot: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 213, slot, 1)
}

/// The address of the `index`-th host (0-based) of a slot, `None` past the end of the /24.
pub(crate) fn host(slot: u8, index: u32) -> Option<Ipv4Addr> {
    let last = u8::try_from(index.checked_add(2)?)
        .ok()
        .filter(|octet| *octet < 255)?;
    Some(Ipv4Addr::new(10, 213, slot, last))
}

/// Whether some route of the root namespace (any table, so local addresses count) lies
/// inside the slot's /24. Wider routes such as a VPN's 10.0.0.0/8 do not matter: the lab's
/// own /24 is more specific and wins.
pub(crate) fn in_use(slot: u8) -> io::Result<bool> {
    let routes = cmd::ip(&["-4", "-o", "route", "show", "table", "all"])?;
    let ours = u32::from(network(slot));
    Ok(routes
        .lines()
        .filter_map(route_prefix)
        .any(|(addr, len)| len >= u32::from(PREFIX_LEN) && u32::from(addr) & 0xffff_ff00 == ours))
}

/// The destination prefix of one `ip -o route` line, skipping the route type keyword.
fn route_prefix(line: &str) -> Option<(Ipv4Addr, u32)> {
    const TYPES: [&str; 10] = [
        "unicast",
        "local",
        "broadcast",
        "multicast",
        "throw",
        "unreachable",
        "prohibit",
        "blackhole",
        "nat",
        "anycast",
    ];
    let mut tokens = line.split_whitespace();
    let mut dest = tokens.next()?;
    if TYPES.contains(&dest) {
        dest = tokens.next()?;
    }
    let (addr, len) = dest.split_once('/').unwrap_or((dest, "32"));
    Some((addr.parse().ok()?, len.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_addresses_stay_inside_the_subnet() {
        assert_eq!(host(3, 0), Some(Ipv4Addr::new(10, 213, 3, 2)));
        assert_eq!(host(3, 252), Some(Ipv4Addr::new(10, 213, 3, 254)));
        assert_eq!(host(3, 253), None);
        assert_eq!(host(3, u32::MAX), None);
    }

    #[test]
    fn route_lines_are_parsed() {
        let cases = [
            ("default via 192.0.2.1 dev eth0", None),
            (
                "10.213.9.0/24 dev x proto kernel scope link src 10.213.9.1",
                Some((Ipv4Addr::new(10, 213, 9, 0), 24)),
            ),
            (
                "local 10.213.9.1 dev x table local proto kernel scope host src 10.213.9.1",
                Some((Ipv4Addr::new(10, 213, 9, 1), 32)),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(route_prefix(line), want, "{line}");
        }
    }
}
