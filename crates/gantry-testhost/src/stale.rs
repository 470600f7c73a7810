//! Removing what test processes killed before their `Drop` ran (`kill -9`, a CI timeout)
//! left behind: lab and host namespaces with their processes, uplinks, probe namespaces.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use crate::lab::teardown;
use crate::slot::SlotLock;
use crate::{names, netns};

/// Removes the namespaces and links of labs whose process is gone, and kills the processes
/// still running in their hosts. Labs of live processes (this one included) are left alone:
/// a slot is stale exactly when nobody holds its lock file. Returns how many stale labs and
/// probe namespaces were removed. [`Lab::new`](crate::Lab::new) calls this.
pub fn cleanup_stale() -> io::Result<usize> {
    let namespaces = netns::list()?;
    let slots: BTreeSet<u8> = namespaces
        .iter()
        .chain(&netns::root_links()?)
        .filter_map(|name| names::slot_of(name))
        .collect();
    let mut removed = 0;
    for slot in slots {
        // Holding the lock while tearing down keeps a new lab off the slot meanwhile.
        if let Some(_lock) = SlotLock::try_claim(slot)? {
            teardown(slot)?;
            removed += 1;
        }
    }
    for ns in &namespaces {
        if let Some(pid) = names::probe_pid(ns)
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            netns::destroy(ns)?;
            removed += 1;
        }
    }
    Ok(removed)
}
