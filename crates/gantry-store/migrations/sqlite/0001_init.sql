-- Gantry's schema for SQLite. Times are UTC milliseconds since the Unix epoch (INTEGER);
-- JSON values are TEXT; booleans are 0/1. The PostgreSQL schema has the same tables and
-- columns (migrations/postgres/0001_init.sql): change both together.

-- Run numbers are per project + pipeline; this row is the counter, bumped atomically by an
-- upsert so concurrent enqueues never share a number.
CREATE TABLE run_numbers (
    project     TEXT    NOT NULL,
    pipeline    TEXT    NOT NULL,
    last_number INTEGER NOT NULL,
    PRIMARY KEY (project, pipeline)
);

CREATE TABLE runs (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    project            TEXT    NOT NULL,
    pipeline           TEXT    NOT NULL,
    number             INTEGER NOT NULL,
    status             TEXT    NOT NULL
        CHECK (status IN ('queued', 'running', 'success', 'failure', 'cancelled')),
    trigger_kind       TEXT    NOT NULL,
    git_sha            TEXT    NOT NULL,
    git_branch         TEXT,
    git_tag            TEXT,
    git_message        TEXT    NOT NULL,
    git_author         TEXT    NOT NULL,
    inputs             TEXT    NOT NULL,
    concurrency_group  TEXT,
    cancel_in_progress INTEGER NOT NULL DEFAULT 0,
    -- Held behind an older unfinished run of its concurrency group (no cancel_in_progress).
    held               INTEGER NOT NULL DEFAULT 0,
    cancel_requested   INTEGER NOT NULL DEFAULT 0,
    reason             TEXT,
    rerun_of           INTEGER REFERENCES runs (id),
    actor              TEXT,
    created_at         INTEGER NOT NULL,
    started_at         INTEGER,
    finished_at        INTEGER,
    -- Last, so reading the other columns never touches the plan's overflow pages.
    plan               TEXT    NOT NULL,
    UNIQUE (project, pipeline, number)
);
-- list_runs filters by project, project + pipeline or status, newest first.
CREATE INDEX runs_project_id ON runs (project, id);
CREATE INDEX runs_project_pipeline_id ON runs (project, pipeline, id);
CREATE INDEX runs_status_id ON runs (status, id);
CREATE INDEX runs_concurrency ON runs (project, concurrency_group, id)
    WHERE concurrency_group IS NOT NULL;

CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id            INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    plan_index        INTEGER NOT NULL,
    job_key           TEXT    NOT NULL,
    job_id            TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    -- JSON array of plan indices this job waits for.
    needs             TEXT    NOT NULL,
    status            TEXT    NOT NULL
        CHECK (status IN ('waiting', 'queued', 'running', 'success', 'failure', 'cancelled', 'skipped')),
    attempt           INTEGER NOT NULL DEFAULT 1,
    max_retry         INTEGER NOT NULL DEFAULT 0,
    continue_on_error INTEGER NOT NULL DEFAULT 0,
    reason            TEXT,
    outputs           TEXT    NOT NULL DEFAULT '{}',
    owner             TEXT,
    fencing_token     INTEGER NOT NULL DEFAULT 0,
    lease_expires_at  INTEGER,
    queued_at         INTEGER,
    started_at        INTEGER,
    finished_at       INTEGER,
    UNIQUE (run_id, plan_index)
);
-- The claim scans queued jobs oldest first; the partial index holds only those.
CREATE INDEX jobs_queued ON jobs (id) WHERE status = 'queued';
-- Lease expiry and restart recovery look at running jobs only.
CREATE INDEX jobs_running_lease ON jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX jobs_running_owner ON jobs (owner) WHERE status = 'running';

CREATE TABLE steps (
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    step_index  INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    result      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    exit_code   INTEGER,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (job_id, step_index)
);

-- The append-only event log. No foreign keys: events outlive the rows they mention
-- (runs may be pruned; the audit log and DORA metrics must not be).
CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    project TEXT,
    run_id  INTEGER,
    job_id  INTEGER,
    actor   TEXT,
    data    TEXT    NOT NULL
);
CREATE INDEX events_run ON events (run_id, id) WHERE run_id IS NOT NULL;
CREATE INDEX events_project ON events (project, id) WHERE project IS NOT NULL;
CREATE INDEX events_kind ON events (kind, id);

CREATE TABLE webhook_deliveries (
    forge       TEXT    NOT NULL,
    delivery_id TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (forge, delivery_id)
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    -- SHA-256 (hex) of the token; the token itself is never stored.
    hash         TEXT    NOT NULL UNIQUE,
    -- The first characters of the token, to tell tokens apart in listings.
    prefix       TEXT    NOT NULL,
    role         TEXT    NOT NULL,
    created_by   TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    -- argon2id PHC string.
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    -- SHA-256 (hex) of the session cookie's value.
    id_hash    TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
