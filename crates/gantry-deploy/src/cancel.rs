//! Giving up on a deploy that has not changed a host yet: a flag another thread sets
//! (the server's Cancel button, a cancelled pipeline run) and the waits before the lock
//! look at — for approvals and for another deploy's lock. Once a deploy holds the lock
//! it never stops half-way: it finishes or rolls back on its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a wait looks at the flag.
const CHECK: Duration = Duration::from_millis(100);

/// Shared by whoever may cancel and the deploy; clones share one flag.
#[derive(Clone, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    /// Another source of cancellation looked at too (a pipeline run's token).
    watched: Option<Arc<dyn Fn() -> bool + Send + Sync>>,
}

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancel")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancelled also once `cancelled` says so (e.g. a run's cancellation token).
    pub fn watching(cancelled: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Cancel {
            flag: Arc::default(),
            watched: Some(Arc::new(cancelled)),
        }
    }

    /// Asks the deploy to give up if it has not changed a host yet.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst) || self.watched.as_ref().is_some_and(|w| w())
    }

    /// Sleeps `d`, waking early when cancelled; true when cancelled.
    pub fn sleep(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        loop {
            if self.is_cancelled() {
                return true;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            std::thread::sleep(left.min(CHECK));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_ends_early_when_cancelled_from_another_thread() {
        let c = Cancel::new();
        assert!(!c.sleep(Duration::from_millis(10)));
        let other = c.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            other.cancel();
        });
        let started = Instant::now();
        assert!(c.sleep(Duration::from_secs(30)));
        assert!(started.elapsed() < Duration::from_secs(5));
        t.join().unwrap_or_default();
        assert!(c.is_cancelled());
        let outside = Arc::new(AtomicBool::new(false));
        let seen = outside.clone();
        let w = Cancel::watching(move || seen.load(Ordering::SeqCst));
        assert!(!w.is_cancelled());
        outside.store(true, Ordering::SeqCst);
        assert!(w.is_cancelled() && w.sleep(Duration::from_secs(30)));
    }
}
