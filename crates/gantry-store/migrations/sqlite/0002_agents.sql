-- Agents (issue 4): where each job may run, and the machines that run jobs. The
-- PostgreSQL migration (migrations/postgres/0002_agents.sql) makes the same change.

-- The labels a job's claimer must have (`runs_on` in the plan), as a canonical key:
-- sorted, deduplicated, joined by ','; '' when the job has no preference. Claims look up
-- queued jobs by key, so jobs of one route never wait behind older jobs of another.
ALTER TABLE jobs ADD COLUMN runs_on TEXT NOT NULL DEFAULT '';
-- Replaces jobs_queued: every claim now asks for the oldest queued jobs of given keys,
-- and counting queued jobs works from this index just as well.
DROP INDEX jobs_queued;
CREATE INDEX jobs_queued_route ON jobs (runs_on, id) WHERE status = 'queued';

CREATE TABLE agents (
    name          TEXT    PRIMARY KEY,
    version       TEXT    NOT NULL,
    -- JSON arrays of strings, sorted and deduplicated.
    labels        TEXT    NOT NULL,
    executors     TEXT    NOT NULL,
    capacity      INTEGER NOT NULL,
    -- The token that registered the name; another token may take the name over only
    -- once this one is revoked or expired.
    token_id      INTEGER NOT NULL REFERENCES api_tokens (id),
    registered_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    draining      INTEGER NOT NULL DEFAULT 0
);

-- Finishing a job asks whether its run still has waiting or unfinished jobs; this
-- answers without reading every job of a wide run.
CREATE INDEX jobs_unfinished ON jobs (run_id) WHERE status IN ('waiting', 'queued', 'running');
