//! `Lab`: one private network (a bridge with a /24) that test hosts join, reachable from the
//! test process at the gateway address.
//!
//! Layout: the bridge lives in the lab's own namespace, not the root one. With
//! `br_netfilter` loaded, frames bridged in the root namespace go through its iptables
//! FORWARD chain, where Docker sets the policy to DROP, so host-to-host traffic would die
//! there; in the lab namespace the (empty) tables accept everything and nothing global is
//! touched. A veth "uplink" joins the bridge to the root namespace, and its root end carries
//! the gateway address, so traffic to the gateway is local delivery (INPUT), never FORWARD.

use std::io;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::host::TestHost;
use crate::slot::SlotLock;
use crate::{available, cmd, names, netns, partition, stale, subnet};

/// How many slots (and so simultaneous labs on one machine) there are.
const SLOTS: u16 = 256;

/// Spreads the starting slot of labs made at the same moment, so they rarely contend.
static LABS_MADE: AtomicU32 = AtomicU32::new(0);

/// A private network for test hosts. See the crate docs for an example.
///
/// The network stays up while the `Lab` or any of its hosts is alive, and is removed when
/// the last of them is dropped.
#[derive(Debug)]
pub struct Lab {
    shared: Arc<LabShared>,
}

/// What the lab and its hosts share; its drop tears the network down.
#[derive(Debug)]
pub(crate) struct LabShared {
    pub(crate) slot: u8,
    pub(crate) netns: String,
    hosts_made: AtomicU32,
    // Declared last so it is dropped after the teardown in `Drop` has run.
    _lock: SlotLock,
}

impl Lab {
    /// Creates a lab on a free subnet. Runs [`cleanup_stale`](crate::cleanup_stale) first,
    /// so leftovers of killed test processes do not pile up.
    ///
    /// Fails with `ErrorKind::Unsupported` and the reason when the machine cannot host labs
    /// (see [`available`](crate::available)).
    pub fn new() -> io::Result<Lab> {
        available().map_err(|why| io::Error::new(io::ErrorKind::Unsupported, why))?;
        if let Err(e) = stale::cleanup_stale() {
            // Leftovers only cost a slot or two; a new lab is still possible.
            eprintln!("gantry-testhost: cleaning up stale labs failed: {e}");
        }
        let lock = claim_slot()?;
        let slot = lock.slot();
        let shared = LabShared {
            slot,
            netns: names::lab_netns(slot),
            hosts_made: AtomicU32::new(0),
            _lock: lock,
        };
        // On error `shared` is dropped here, which removes what was built so far.
        shared.build()?;
        Ok(Lab {
            shared: Arc::new(shared),
        })
    }

    /// The lab's address in the root namespace: servers the test starts listen here (or on
    /// 0.0.0.0) and hosts reach them at this address. It is also the hosts' default route.
    pub fn gateway(&self) -> Ipv4Addr {
        subnet::gateway(self.shared.slot)
    }

    /// The lab's subnet as network address and prefix length, e.g. `(10.213.7.0, 24)`.
    pub fn subnet(&self) -> (Ipv4Addr, u8) {
        (subnet::network(self.shared.slot), subnet::PREFIX_LEN)
    }

    /// The namespace holding the lab's bridge, for debugging (`ip netns exec … tcpdump`).
    pub fn netns(&self) -> &str {
        &self.shared.netns
    }

    /// Adds a host: a network namespace `gantry-lab<slot>-<name>` whose `eth0` is on the
    /// lab's bridge with the next free address. `name` uses a-z, A-Z, 0-9, `-` and `_`, and
    /// is unique among the lab's live hosts.
    pub fn host(&self, name: &str) -> io::Result<TestHost> {
        names::check_host_name(name)?;
        let index = self.shared.hosts_made.fetch_add(1, Ordering::Relaxed);
        let addr = subnet::host(self.shared.slot, index)
            .ok_or_else(|| io::Error::other("a lab holds at most 253 hosts over its lifetime"))?;
        TestHost::create(Arc::clone(&self.shared), name, index, addr)
    }
}

impl LabShared {
    /// Builds the lab namespace, its bridge, the uplink and the partition filter.
    fn build(&self) -> io::Result<()> {
        let uplink = names::uplink(self.slot);
        let gateway = format!("{}/{}", subnet::gateway(self.slot), subnet::PREFIX_LEN);
        netns::add(&self.netns)?;
        cmd::ip_batch(
            &self.netns,
            &[
                "link set lo up".into(),
                "link add br0 type bridge".into(),
                "link set br0 up".into(),
            ],
        )?;
        // Created with its peer already in the lab namespace, so no half-moved pair can
        // be left behind in the root namespace.
        cmd::ip(&[
            "link",
            "add",
            &uplink,
            "type",
            "veth",
            "peer",
            "name",
            "uplink",
            "netns",
            &self.netns,
        ])?;
        cmd::ip(&["addr", "add", &gateway, "dev", &uplink])?;
        cmd::ip(&["link", "set", &uplink, "up"])?;
        cmd::ip_batch(
            &self.netns,
            &[
                "link set uplink master br0".into(),
                "link set uplink up".into(),
            ],
        )?;
        partition::install(&self.netns)
    }
}

impl Drop for LabShared {
    fn drop(&mut self) {
        if let Err(e) = teardown(self.slot) {
            eprintln!("gantry-testhost: removing lab {} failed: {e}", self.netns);
        }
    }
}

/// Removes everything a slot may own: host namespaces (with their processes), the uplink
/// and the lab namespace. Used by `Drop` and for stale slots. Links are deleted explicitly
/// because deleting a namespace destroys its interfaces asynchronously, and a test checking
/// for leftovers (or the next lab on the slot) must not see them linger.
pub(crate) fn teardown(slot: u8) -> io::Result<()> {
    let lab = names::lab_netns(slot);
    let host_prefix = format!("{lab}-");
    let mut first_error = None;
    let mut note = |result: io::Result<()>| {
        if let Err(e) = result {
            first_error.get_or_insert(e);
        }
    };
    for ns in netns::list()? {
        if ns.starts_with(&host_prefix) {
            note(netns::destroy(&ns));
        }
    }
    let uplink = names::uplink(slot);
    if netns::root_links()?.contains(&uplink) {
        note(cmd::ip(&["link", "delete", &uplink]).map(drop));
    }
    note(netns::destroy(&lab));
    first_error.map_or(Ok(()), Err)
}

/// Claims the first free slot whose subnet nothing else on the machine uses.
fn claim_slot() -> io::Result<SlotLock> {
    let made = LABS_MADE.fetch_add(1, Ordering::Relaxed);
    let start = (std::process::id().wrapping_mul(7).wrapping_add(made)) % u32::from(SLOTS);
    for offset in 0..u32::from(SLOTS) {
        let slot = u8::try_from((start + offset) % u32::from(SLOTS))
            .map_err(|_| io::Error::other("slot out of range"))?;
        let Some(lock) = SlotLock::try_claim(slot)? else {
            continue;
        };
        // A process that died between `cleanup_stale` and now may have left this slot's
        // names behind; we hold the lock, so they are certainly stale.
        teardown(slot)?;
        if subnet::in_use(slot)? {
            continue;
        }
        return Ok(lock);
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "no free lab subnet in 10.213.0.0/16: all 256 /24s are in use by labs or routes",
    ))
}
