//! The environment's deploy lock: one deploy at a time per environment, held with a
//! lease so that a crashed deployer never leaves it locked for longer than the lease.
//! Behind the [`DeployLock`] trait so the server can keep it in its store later; `host_file`
//! is the CLI's implementation, a lock file on the environment's first host.
//!
//! While a deploy runs, a thread renews the lease every lease/3 ([`with_lease`]); a lock
//! whose lease expired is taken over by the next deployer.

mod host_file;

pub use host_file::HostFileLock;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Who holds (or wants) a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockHolder {
    /// Unique per deploy: `<user>@<machine>/<pid>/<nonce>`.
    pub id: String,
    pub pid: u32,
    /// The deployer's machine.
    pub machine: String,
    pub user: String,
}

impl LockHolder {
    /// A holder id for this process.
    pub fn this_process() -> LockHolder {
        let pid = std::process::id();
        let machine = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| safe(s.trim()))
            .unwrap_or_else(|_| "unknown".into());
        let user = safe(&std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        LockHolder {
            id: format!("{user}@{machine}/{pid}/{nonce:x}"),
            pid,
            machine,
            user,
        }
    }
}

/// Keeps what may reach a lock file and a message: letters, digits, `.`, `_`, `-`.
fn safe(s: &str) -> String {
    let s: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(64)
        .collect();
    if s.is_empty() { "unknown".into() } else { s }
}

/// A lock as its holder left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockInfo {
    pub holder: String,
    pub pid: u32,
    pub machine: String,
    /// Seconds until the lease expires (by the lock keeper's clock) when it was read.
    pub expires_in: i64,
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let who = self.holder.split('/').next().unwrap_or(&self.holder);
        write!(
            f,
            "{who} (pid {}), lease expires in {}s",
            self.pid,
            self.expires_in.max(0)
        )
    }
}

/// The answer to an attempt to take or renew a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The caller holds the lock now. `taken_over`: from a holder whose lease expired.
    Acquired { taken_over: Option<LockInfo> },
    /// Someone else holds it.
    Held(LockInfo),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    #[error("cannot reach the deploy lock of {environment}: {reason}")]
    Unavailable { environment: String, reason: String },
    #[error("cancelled while waiting for the deploy lock of {environment}: nothing was changed")]
    Cancelled { environment: String },
    #[error(
        "timed out after {waited}s waiting for the deploy lock of {environment}, held by {held_by}; try again later or wait longer (--lock-timeout)"
    )]
    Timeout {
        environment: String,
        waited: u64,
        held_by: LockInfo,
    },
}

/// A lock per environment, with a lease.
pub trait DeployLock: Send + Sync {
    /// The environment the lock guards.
    fn environment(&self) -> &str;
    /// Takes the lock for `lease` when it is free, expired or already the holder's.
    fn try_acquire(&self, holder: &LockHolder, lease: Duration) -> Result<Attempt, LockError>;
    /// Extends the holder's lease; [`Attempt::Held`] when the lock is someone else's now.
    fn renew(&self, holder: &LockHolder, lease: Duration) -> Result<Attempt, LockError>;
    /// Gives the lock up, if the holder still has it.
    fn release(&self, holder: &LockHolder) -> Result<(), LockError>;
}

/// Takes `lock`, waiting up to `wait` while someone else holds it; `on_wait` hears about
/// each new holder waited for.
pub fn acquire(
    lock: &dyn DeployLock,
    holder: &LockHolder,
    lease: Duration,
    wait: Duration,
    poll: Duration,
    cancel: &crate::Cancel,
    on_wait: &mut dyn FnMut(&LockInfo),
) -> Result<Option<LockInfo>, LockError> {
    let started = Instant::now();
    let mut last_holder: Option<String> = None;
    loop {
        if cancel.is_cancelled() {
            return Err(LockError::Cancelled {
                environment: lock.environment().to_string(),
            });
        }
        match lock.try_acquire(holder, lease)? {
            Attempt::Acquired { taken_over } => return Ok(taken_over),
            Attempt::Held(info) => {
                if started.elapsed() >= wait {
                    return Err(LockError::Timeout {
                        environment: lock.environment().to_string(),
                        waited: started.elapsed().as_secs(),
                        held_by: info,
                    });
                }
                if last_holder.as_deref() != Some(info.holder.as_str()) {
                    on_wait(&info);
                    last_holder = Some(info.holder.clone());
                }
                let left = wait.saturating_sub(started.elapsed());
                cancel.sleep(poll.min(left).max(Duration::from_millis(50)));
            }
        }
    }
}

/// A held lease, as the work under it sees it.
#[derive(Debug, Default)]
pub struct Lease {
    lost: AtomicBool,
    why: Mutex<Option<String>>,
}

impl Lease {
    /// Why the lease was lost (renewals failed past its expiry, or someone took it), if it
    /// was.
    pub fn lost(&self) -> Option<String> {
        if !self.lost.load(Ordering::SeqCst) {
            return None;
        }
        self.why.lock().ok().and_then(|w| w.clone())
    }

    fn set_lost(&self, why: String) {
        if let Ok(mut w) = self.why.lock() {
            *w = Some(why);
        }
        self.lost.store(true, Ordering::SeqCst);
    }
}

/// Runs `work` while a thread renews the holder's lease every lease/3, then releases the
/// lock. The lock must already be held.
pub fn with_lease<R>(
    lock: &dyn DeployLock,
    holder: &LockHolder,
    lease_time: Duration,
    work: impl FnOnce(&Lease) -> R,
) -> R {
    let lease = Lease::default();
    let (stop, stopped) = mpsc::channel::<()>();
    let result = std::thread::scope(|scope| {
        let lease = &lease;
        scope.spawn(move || {
            let every = lease_time / 3;
            let mut last_ok = Instant::now();
            loop {
                match stopped.recv_timeout(every) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                match lock.renew(holder, lease_time) {
                    Ok(Attempt::Acquired { .. }) => last_ok = Instant::now(),
                    Ok(Attempt::Held(info)) => {
                        lease.set_lost(format!(
                            "the deploy lock of {} was taken over by {info}",
                            lock.environment()
                        ));
                        return;
                    }
                    // A failed renewal is retried at the next tick; the lease is only
                    // lost once it has run out.
                    Err(e) if last_ok.elapsed() >= lease_time => {
                        lease.set_lost(format!("the deploy lock's lease ran out: {e}"));
                        return;
                    }
                    Err(_) => {}
                }
            }
        });
        let result = work(lease);
        let _ = stop.send(());
        result
    });
    let _ = lock.release(holder);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory lock with a fake clock, for the waiting and renewal logic.
    #[derive(Default)]
    struct MemoryLock {
        state: Mutex<Option<(String, Instant)>>,
        renewals: Mutex<u32>,
    }

    impl DeployLock for MemoryLock {
        fn environment(&self) -> &str {
            "staging"
        }
        fn try_acquire(&self, h: &LockHolder, lease: Duration) -> Result<Attempt, LockError> {
            let mut s = self.state.lock().unwrap();
            match &*s {
                Some((id, exp)) if id != &h.id && *exp > Instant::now() => {
                    Ok(Attempt::Held(LockInfo {
                        holder: id.clone(),
                        pid: 1,
                        machine: "m".into(),
                        expires_in: exp.saturating_duration_since(Instant::now()).as_secs() as i64,
                    }))
                }
                _ => {
                    *s = Some((h.id.clone(), Instant::now() + lease));
                    Ok(Attempt::Acquired { taken_over: None })
                }
            }
        }
        fn renew(&self, h: &LockHolder, lease: Duration) -> Result<Attempt, LockError> {
            *self.renewals.lock().unwrap() += 1;
            self.try_acquire(h, lease)
        }
        fn release(&self, h: &LockHolder) -> Result<(), LockError> {
            let mut s = self.state.lock().unwrap();
            if s.as_ref().is_some_and(|(id, _)| id == &h.id) {
                *s = None;
            }
            Ok(())
        }
    }

    fn holder(id: &str) -> LockHolder {
        LockHolder {
            id: id.into(),
            pid: 1,
            machine: "m".into(),
            user: "u".into(),
        }
    }

    #[test]
    fn a_second_holder_waits_then_times_out_with_the_holder_named() {
        let lock = MemoryLock::default();
        let lease = Duration::from_secs(60);
        let poll = Duration::from_millis(10);
        acquire(
            &lock,
            &holder("a"),
            lease,
            Duration::ZERO,
            poll,
            &crate::Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
        let mut waited_for = Vec::new();
        let err = acquire(
            &lock,
            &holder("b"),
            lease,
            Duration::from_millis(100),
            poll,
            &crate::Cancel::new(),
            &mut |i| waited_for.push(i.holder.clone()),
        )
        .unwrap_err();
        assert_eq!(waited_for, ["a"], "told once per holder");
        let text = err.to_string();
        assert!(
            text.contains("waiting for the deploy lock of staging, held by a"),
            "{text}"
        );
    }

    #[test]
    fn a_cancelled_wait_for_the_lock_gives_up_at_once() {
        let lock = MemoryLock::default();
        let lease = Duration::from_secs(60);
        let none = crate::Cancel::new();
        let poll = Duration::from_secs(5);
        acquire(
            &lock,
            &holder("a"),
            lease,
            Duration::ZERO,
            poll,
            &none,
            &mut |_| {},
        )
        .unwrap();
        let cancel = crate::Cancel::new();
        let other = cancel.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            other.cancel();
        });
        let started = std::time::Instant::now();
        let err = acquire(
            &lock,
            &holder("b"),
            lease,
            Duration::from_secs(60),
            poll,
            &cancel,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(err, LockError::Cancelled { .. }), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the poll sleep was cut short"
        );
        t.join().unwrap();
    }

    #[test]
    fn an_expired_lease_is_taken_over_and_a_held_one_is_renewed() {
        let lock = MemoryLock::default();
        let poll = Duration::from_millis(10);
        acquire(
            &lock,
            &holder("a"),
            Duration::from_millis(50),
            Duration::ZERO,
            poll,
            &crate::Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
        // "a" crashed: no renewal; "b" gets it once the lease runs out.
        acquire(
            &lock,
            &holder("b"),
            Duration::from_secs(1),
            Duration::from_secs(2),
            poll,
            &crate::Cancel::new(),
            &mut |_| {},
        )
        .unwrap();
        let lost = with_lease(&lock, &holder("b"), Duration::from_millis(90), |lease| {
            std::thread::sleep(Duration::from_millis(250));
            lease.lost()
        });
        assert_eq!(lost, None);
        assert!(*lock.renewals.lock().unwrap() >= 3);
        assert!(lock.state.lock().unwrap().is_none(), "released at the end");
    }
}
