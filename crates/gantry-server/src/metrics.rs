//! The server's Prometheus metrics: gauges read from the store when `/metrics` is
//! scraped (queue depth, runs by status, agents online), and histograms observed as
//! things happen (finished jobs' durations, HTTP request latencies).

use std::time::Duration;

use gantry_store::{JobId, RunStatus};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::ServerState;

/// The content type of [`Metrics::render`]'s output: the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

/// One HTTP series: the route is the matched template (`/api/v1/runs/{id}`), never the
/// raw path, so the number of series stays bounded.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    /// `2xx`, `4xx`, …
    pub status: String,
}

fn job_buckets() -> Histogram {
    // 1 s to about 2¼ hours.
    Histogram::new(exponential_buckets(1.0, 2.0, 14))
}

fn http_buckets() -> Histogram {
    // 5 ms to about 10 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

pub struct Metrics {
    registry: Registry,
    queue_depth: Gauge,
    runs: Family<StatusLabel, Gauge>,
    agents_online: Gauge,
    job_duration: Family<StatusLabel, Histogram, fn() -> Histogram>,
    http: Family<HttpLabels, Histogram, fn() -> Histogram>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("gantry");
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Jobs waiting for a runner (queued, not yet claimed)",
            queue_depth.clone(),
        );
        let runs = Family::<StatusLabel, Gauge>::default();
        registry.register("runs", "Runs in the store, by status", runs.clone());
        let agents_online = Gauge::default();
        registry.register(
            "agents_online",
            "Agents seen within three agent leases",
            agents_online.clone(),
        );
        let job_duration: Family<StatusLabel, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(job_buckets);
        registry.register(
            "job_duration_seconds",
            "Durations of finished jobs that started, by final status",
            job_duration.clone(),
        );
        let http: Family<HttpLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(http_buckets);
        registry.register(
            "http_request_duration_seconds",
            "Time to a response's headers, by method, route template and status class",
            http.clone(),
        );
        Metrics {
            registry,
            queue_depth,
            runs,
            agents_online,
            job_duration,
            http,
        }
    }
}

impl Metrics {
    pub fn observe_http(&self, labels: HttpLabels, took: Duration) {
        self.http.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// Reads the store's current counts into the gauges and encodes every metric.
    pub async fn render(&self, state: &ServerState) -> Result<String, gantry_store::StoreError> {
        let depth = state.store.queue_depth().await?;
        self.queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
        // Every status appears, so a status whose runs all moved on reads 0, not stale.
        for status in RunStatus::ALL {
            self.runs
                .get_or_create(&StatusLabel {
                    status: status.as_str().into(),
                })
                .set(0);
        }
        for (status, n) in state.store.runs_by_status().await? {
            self.runs
                .get_or_create(&StatusLabel {
                    status: status.as_str().into(),
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let window = jiff::SignedDuration::try_from(state.agents.settings().lease * 3)
            .unwrap_or(jiff::SignedDuration::MAX);
        let now = jiff::Timestamp::now();
        let online = state
            .store
            .list_agents()
            .await?
            .iter()
            .filter(|a| now.duration_since(a.last_seen_at) <= window)
            .count();
        self.agents_online
            .set(i64::try_from(online).unwrap_or(i64::MAX));
        let mut out = String::new();
        // The registry holds no metric whose encoding can fail.
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry);
        Ok(out)
    }
}

/// Observes a finished job's duration (from its stored start and end), for the
/// server's pool and agents alike. Jobs settled without starting are not observed.
pub(crate) async fn job_finished(state: &ServerState, job: JobId) {
    let Ok(Some(job)) = state.store.get_job(job).await else {
        return;
    };
    if let (Some(start), Some(end)) = (job.started_at, job.finished_at) {
        let seconds = end.duration_since(start).as_secs_f64().max(0.0);
        state
            .metrics
            .job_duration
            .get_or_create(&StatusLabel {
                status: job.status.as_str().into(),
            })
            .observe(seconds);
    }
}
