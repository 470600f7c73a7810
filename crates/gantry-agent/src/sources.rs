//! Runs' source tars kept in memory, so the jobs of one run that land on this agent
//! download its source once (a 100-job run asked the server for the same tar 100
//! times). Bounded by count and bytes; the oldest run's tar goes first. Concurrent
//! jobs of a run share one download.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Runs kept at most.
const MAX_RUNS: usize = 8;
/// Bytes kept at most (one tar bigger than this is used once and not kept).
const MAX_BYTES: usize = 256 * 1024 * 1024;

type Slot = Arc<tokio::sync::OnceCell<Arc<Vec<u8>>>>;

#[derive(Debug, Default)]
pub struct Sources {
    runs: Mutex<VecDeque<(i64, Slot)>>,
}

impl Sources {
    /// The source tar of `run`: the kept one, or `fetch`'s (kept for the next jobs).
    /// A failed fetch is not kept.
    pub async fn get<F, Fut, E>(&self, run: i64, fetch: F) -> Result<Arc<Vec<u8>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, E>>,
    {
        let slot = self.slot(run);
        let tar = slot
            .get_or_try_init(|| async { fetch().await.map(Arc::new) })
            .await?
            .clone();
        self.trim();
        Ok(tar)
    }

    fn slot(&self, run: i64) -> Slot {
        let Ok(mut runs) = self.runs.lock() else {
            return Slot::default();
        };
        if let Some((_, slot)) = runs.iter().find(|(r, _)| *r == run) {
            return slot.clone();
        }
        let slot = Slot::default();
        runs.push_back((run, slot.clone()));
        slot
    }

    /// Drops the oldest runs beyond the bounds (a download in progress counts as 0).
    fn trim(&self) {
        let Ok(mut runs) = self.runs.lock() else {
            return;
        };
        let bytes = |runs: &VecDeque<(i64, Slot)>| -> usize {
            runs.iter()
                .map(|(_, s)| s.get().map_or(0, |t| t.len()))
                .sum()
        };
        while runs.len() > MAX_RUNS || (runs.len() > 1 && bytes(&runs) > MAX_BYTES) {
            runs.pop_front();
        }
        if bytes(&runs) > MAX_BYTES {
            runs.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn one_download_per_run_shared_by_concurrent_jobs_and_bounded() {
        let sources = Arc::new(Sources::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let fetch = |calls: Arc<AtomicUsize>, run: i64| async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            Ok::<_, ()>(vec![u8::try_from(run).unwrap(); 10])
        };
        let mut joins = Vec::new();
        for _ in 0..5 {
            let (s, c) = (sources.clone(), calls.clone());
            joins.push(tokio::spawn(async move { s.get(1, || fetch(c, 1)).await }));
        }
        for j in joins {
            assert_eq!(*j.await.unwrap().unwrap(), vec![1; 10]);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "five jobs, one download");

        // A failed download is not kept: the next job tries again.
        let failed = sources.get(2, || async { Err::<Vec<u8>, _>("cut") }).await;
        assert!(failed.is_err());
        let tar = sources.get(2, || fetch(calls.clone(), 2)).await.unwrap();
        assert_eq!(tar[0], 2);

        // More runs than kept: the oldest goes, and is downloaded again when asked.
        for run in 3..=(3 + MAX_RUNS as i64) {
            sources
                .get(run, || fetch(calls.clone(), run))
                .await
                .unwrap();
        }
        let before = calls.load(Ordering::SeqCst);
        sources.get(1, || fetch(calls.clone(), 1)).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), before + 1);
    }
}
