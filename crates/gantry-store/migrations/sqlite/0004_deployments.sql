-- Deployments in the server (issue 6): one row per deploy or rollback the server ran,
-- with its per-host progress and its record, and the progress lines in order. The
-- postgres migration (migrations/postgres/0004_deployments.sql) makes the same change.
-- JSON as TEXT: the store never queries into it. Deploys run by `gantry deploy` on a
-- laptop are not here (their record is the command's output); the event log has the
-- server's.

CREATE TABLE deployments (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    service          TEXT    NOT NULL,
    environment      TEXT    NOT NULL,
    version          TEXT    NOT NULL,
    -- deploy | rollback
    kind             TEXT    NOT NULL,
    -- waiting_approval | running | succeeded | failed | rolled_back
    state            TEXT    NOT NULL,
    -- api | ui | pipeline | auto
    trigger          TEXT    NOT NULL,
    triggered_by     TEXT    NOT NULL,
    project          TEXT,
    run_id           INTEGER,
    commit_sha       TEXT,
    previous_version TEXT,
    previous_commit  TEXT,
    -- JSON array of {sha, author, subject}, newest first.
    changelog        TEXT    NOT NULL,
    -- JSON object: host -> {phase, at}.
    hosts            TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    -- gantry-deploy's DeploymentReport, once finished.
    report           TEXT
);
CREATE INDEX deployments_env ON deployments (environment, service, id);
CREATE INDEX deployments_state ON deployments (state, id);

CREATE TABLE deployment_lines (
    deployment_id INTEGER NOT NULL REFERENCES deployments (id),
    seq           INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    host          TEXT,
    line          TEXT    NOT NULL,
    PRIMARY KEY (deployment_id, seq)
);
