//! Claiming a lab slot (a number that picks the lab's subnet and names) across threads and
//! processes with a lock file, so that a claim ends with the process holding it even when
//! that process is killed with -9.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::PathBuf;

/// Lock files live on tmpfs, so a reboot (which also drops every namespace) clears them.
const STATE_DIR: &str = "/run/gantry-testhost";

/// A held slot. Dropping it releases the slot; the lab tears its network down first.
#[derive(Debug)]
pub(crate) struct SlotLock {
    slot: u8,
    // Holding the open file is holding the flock.
    _file: File,
}

impl SlotLock {
    /// Takes `slot` unless a lab in this or another process holds it (`Ok(None)`).
    ///
    /// The lock files are never deleted: unlinking a lock file races with a process that
    /// has just opened it and would let two labs hold the same slot.
    pub(crate) fn try_claim(slot: u8) -> io::Result<Option<SlotLock>> {
        fs::create_dir_all(STATE_DIR)?;
        let path = lock_path(slot);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        // flock conflicts between separate opens even within one process, so two labs of
        // the same test binary cannot share a slot either.
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(e),
        }
        // The pid is only for a person looking at the state dir; the lock is the truth.
        file.set_len(0)?;
        (&file).write_all(format!("{}\n", std::process::id()).as_bytes())?;
        Ok(Some(SlotLock { slot, _file: file }))
    }

    pub(crate) fn slot(&self) -> u8 {
        self.slot
    }
}

fn lock_path(slot: u8) -> PathBuf {
    PathBuf::from(STATE_DIR).join(format!("lab{slot}.lock"))
}
