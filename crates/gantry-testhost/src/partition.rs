//! Network partitions: an nftables bridge filter inside the lab's own namespace that drops
//! every IP frame to and from the bridge ports of cut hosts.
//!
//! Why this mechanism (measured on kernel 6.18 with a TCP connection across a cut):
//! - Setting the port down is not silent: the host sees carrier loss and a new `connect`
//!   fails with EHOSTUNREACH after about a second, and the old socket gets soft error 113.
//! - Dropping all frames (an nft drop on the port, or the bridge port's `state 0`) stalls
//!   connections, but drops ARP too: once the neighbour entry has failed (it had, ten
//!   seconds into a cut with traffic) a new `connect` fails with EHOSTUNREACH after ~3 s
//!   instead of timing out.
//! - Dropping IP but letting ARP through keeps neighbours resolved: writes stall, nothing
//!   is reset, a new `connect` times out even a minute into the cut, and once restored the
//!   stalled data arrives on the same connection at the next TCP retransmission.
//! - netem is not built into this kernel, and tc's drop action (`act_gact`) is not either.
//!
//! The rules live in the lab namespace, not the root one, so they cannot interact with
//! Docker's or anyone's firewall and disappear with the lab.

use std::io;

use crate::cmd;

/// Installs the (initially empty) partition filter in a lab namespace.
pub(crate) fn install(lab_netns: &str) -> io::Result<()> {
    cmd::nft(
        lab_netns,
        "table bridge gantry_testhost {
            set cut {
                type ifname
            }
            chain forward {
                type filter hook forward priority filter; policy accept;
                ether type arp accept
                iifname @cut drop
                oifname @cut drop
            }
        }\n",
    )
}

/// Starts dropping IP frames from and to bridge port `port`.
pub(crate) fn cut(lab_netns: &str, port: &str) -> io::Result<()> {
    cmd::nft(
        lab_netns,
        &format!("add element bridge gantry_testhost cut {{ \"{port}\" }}\n"),
    )
}

/// Stops dropping frames of bridge port `port`.
pub(crate) fn restore(lab_netns: &str, port: &str) -> io::Result<()> {
    cmd::nft(
        lab_netns,
        &format!("delete element bridge gantry_testhost cut {{ \"{port}\" }}\n"),
    )
}
