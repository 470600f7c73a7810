//! Routing queued jobs to claimers. A job's `runs_on` labels are stored as one canonical
//! key (sorted, deduplicated, joined by ','; '' for none), indexed with the job id for
//! queued jobs. A claim first finds the queue's distinct keys (one index probe each, however
//! many jobs wait), keeps those its `Route` accepts, and then takes the oldest jobs of just
//! those keys: a claimer never scans past older jobs it may not run.

use crate::db::{Backend, Result, Sql, Tx};
use crate::error::StoreError;
use crate::model::Route;

/// Joins the labels of a key. Labels never contain it: pipelines and agents allow only
/// lowercase letters, digits, '-', '_', '.' and ':', and `runs_on_key` checks again.
const SEP: char = ',';

/// A claim statement reads at most this many keys (see `keys_to_claim`).
const MAX_KEYS_PER_CLAIM: usize = 16;

/// The stored key of a job's `runs_on` labels.
pub(crate) fn runs_on_key(job: &str, labels: &[String]) -> Result<String> {
    if let Some(bad) = labels.iter().find(|l| l.is_empty() || l.contains(SEP)) {
        return Err(StoreError::Invalid(format!(
            "job '{job}': runs_on label '{bad}' must be non-empty and must not contain '{SEP}'"
        )));
    }
    let mut sorted: Vec<&str> = labels.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    Ok(sorted.join(","))
}

/// The labels of a stored key.
pub(crate) fn key_labels(key: &str) -> Vec<String> {
    if key.is_empty() {
        Vec::new()
    } else {
        key.split(SEP).map(str::to_string).collect()
    }
}

fn accepts_key(route: &Route, key: &str) -> bool {
    if key.is_empty() {
        route.unlabeled
    } else {
        key.split(SEP).all(|l| route.labels.iter().any(|r| r == l))
    }
}

// The queue's distinct keys with the id of each one's oldest queued job: a loose index scan
// over jobs_queued_route, jumping from key to key instead of reading every queued job.
// SQLite has no LATERAL, so it takes the next key and its oldest job in two probes.
const HEADS_SQLITE: &str = "WITH RECURSIVE k(key) AS ( \
       SELECT (SELECT runs_on FROM jobs WHERE status = 'queued' ORDER BY runs_on LIMIT 1) \
       UNION ALL \
       SELECT (SELECT runs_on FROM jobs WHERE status = 'queued' AND runs_on > k.key ORDER BY runs_on LIMIT 1) \
       FROM k WHERE k.key IS NOT NULL) \
     SELECT key, (SELECT id FROM jobs WHERE status = 'queued' AND runs_on = k.key ORDER BY id LIMIT 1) AS oldest \
     FROM k WHERE key IS NOT NULL";

const HEADS_POSTGRES: &str = "WITH RECURSIVE k AS ( \
       (SELECT runs_on AS key, id AS oldest FROM jobs WHERE status = 'queued' ORDER BY runs_on, id LIMIT 1) \
       UNION ALL \
       SELECT n.key, n.oldest FROM k CROSS JOIN LATERAL ( \
         SELECT runs_on AS key, id AS oldest FROM jobs WHERE status = 'queued' AND runs_on > k.key \
         ORDER BY runs_on, id LIMIT 1) n) \
     SELECT key, oldest FROM k";

/// The keys a claim of up to `limit` jobs for `route` reads, oldest head first; empty when
/// no queued job matches.
///
/// Only the `limit` keys with the oldest heads can hold any of the `limit` oldest matching
/// jobs (a job behind `limit` older heads is not among them), so reading just those is
/// exact; `MAX_KEYS_PER_CLAIM` bounds the statement when a large claim matches many keys.
pub(crate) async fn keys_to_claim(tx: &mut Tx, route: &Route, limit: usize) -> Result<Vec<String>> {
    if route.labels.is_empty() {
        // Only unlabeled jobs can match (the server's own pool): nothing to look up.
        return Ok(if route.unlabeled {
            vec![String::new()]
        } else {
            Vec::new()
        });
    }
    let sql = match tx.backend() {
        Backend::Sqlite => HEADS_SQLITE,
        Backend::Postgres => HEADS_POSTGRES,
    };
    let mut heads = Vec::new();
    for row in tx.fetch_all(Sql::new(sql)).await? {
        let key = row.text("key")?;
        // A key whose last job another claimer took between the two probes has no head.
        if let Some(oldest) = row.opt_i64("oldest")?
            && accepts_key(route, &key)
        {
            heads.push((oldest, key));
        }
    }
    heads.sort_unstable();
    heads.truncate(limit.clamp(1, MAX_KEYS_PER_CLAIM));
    Ok(heads.into_iter().map(|(_, key)| key).collect())
}

/// The statement that moves the oldest queued jobs of `keys` (at most `limit`) to running
/// for `owner`, returning them. `keys` must not be empty.
///
/// Each key is read as a range (`>= k AND <= k`) ordered by (runs_on, id), not as `= k`
/// ordered by id: with `=`, PostgreSQL's planner may walk the primary key in id order and
/// filter, which reads every older job of other keys — the head-of-line blocking this
/// module exists to avoid. The range matches only jobs_queued_route's order.
pub(crate) fn claim_sql(
    backend: Backend,
    keys: &[String],
    owner: &str,
    lease_until: i64,
    now: i64,
    limit: i64,
) -> Sql {
    let arm = |i: usize, pg: bool| {
        let p = format!("${}", i + 5);
        format!(
            "SELECT j.id FROM jobs j{} WHERE j.status = 'queued' AND j.runs_on >= {p} AND j.runs_on <= {p} \
             ORDER BY j.runs_on, j.id LIMIT $4{}",
            if pg {
                " JOIN runs r ON r.id = j.run_id"
            } else {
                ""
            },
            if pg {
                " FOR UPDATE OF j, r SKIP LOCKED"
            } else {
                ""
            },
        )
    };
    let text = match backend {
        // One writer at a time: reading and updating in one statement is enough.
        Backend::Sqlite => {
            let arms: Vec<String> = (0..keys.len())
                .map(|i| format!("SELECT id FROM ({})", arm(i, false)))
                .collect();
            format!(
                "UPDATE jobs SET status = 'running', owner = $1, fencing_token = fencing_token + 1, \
                 lease_expires_at = $2, started_at = $3 \
                 WHERE id IN ({} ORDER BY id LIMIT $4) \
                 RETURNING id, run_id, plan_index, job_key, name, attempt, fencing_token",
                arms.join(" UNION ALL ")
            )
        }
        // Each key's candidates are locked with SKIP LOCKED, so concurrent claimers take
        // different jobs and never wait. The run row is locked too (the lock order every
        // other change uses is run, then jobs); a job whose run another transaction is
        // changing is skipped until the next claim. Rows locked but not picked are
        // released at commit.
        Backend::Postgres => {
            let ctes: Vec<String> = (0..keys.len())
                .map(|i| format!("c{i} AS ({})", arm(i, true)))
                .collect();
            let union: Vec<String> = (0..keys.len())
                .map(|i| format!("SELECT id FROM c{i}"))
                .collect();
            format!(
                "WITH {}, picked AS ({} ORDER BY id LIMIT $4) \
                 UPDATE jobs SET status = 'running', owner = $1, fencing_token = jobs.fencing_token + 1, \
                 lease_expires_at = $2, started_at = $3 \
                 FROM picked WHERE jobs.id = picked.id AND jobs.status = 'queued' \
                 RETURNING jobs.id, jobs.run_id, jobs.plan_index, jobs.job_key, jobs.name, jobs.attempt, \
                 jobs.fencing_token",
                ctes.join(", "),
                union.join(" UNION ALL ")
            )
        }
    };
    keys.iter().fold(
        Sql::assembled(text)
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .bind(limit),
        |sql, key| sql.bind(key.as_str()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keys_are_canonical_and_round_trip() {
        let key = runs_on_key("j", &strings(&["linux", "gpu", "linux"])).ok();
        assert_eq!(key.as_deref(), Some("gpu,linux"));
        assert_eq!(key_labels("gpu,linux"), strings(&["gpu", "linux"]));
        assert_eq!(runs_on_key("j", &[]).ok().as_deref(), Some(""));
        assert!(key_labels("").is_empty());
        assert!(runs_on_key("j", &strings(&["a,b"])).is_err());
        assert!(runs_on_key("j", &strings(&[""])).is_err());
    }

    #[test]
    fn keys_match_routes() {
        let route = Route {
            labels: strings(&["gpu", "linux", "x86"]),
            unlabeled: false,
        };
        assert!(accepts_key(&route, "gpu,linux"));
        assert!(!accepts_key(&route, "arm,linux"));
        assert!(!accepts_key(&route, ""));
        assert!(accepts_key(&Route::unlabeled(), ""));
    }

    #[test]
    fn claim_statement_numbers_one_placeholder_per_key() {
        let keys = strings(&["", "linux"]);
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let sql = claim_sql(backend, &keys, "agent:a", 2, 1, 5);
            let text = format!("{sql:?}");
            assert!(text.contains("j.runs_on <= $6"), "{text}");
            assert!(!text.contains("$7"), "{text}");
        }
    }
}
