-- Infrastructure as code in the server (issue 5): the latest check of each host, saved
-- plans and apply requests. The postgres migration (migrations/postgres/0003_infra.sql)
-- makes the same change. Reports and saved plans are JSON as TEXT: the store never
-- queries into them, and their secrets are masked before they get here.

-- One row per host: only its latest check (transitions are in the event log).
CREATE TABLE infra_host_checks (
    host        TEXT    PRIMARY KEY,
    checked_at  INTEGER  NOT NULL,
    -- in_sync | drifted | unreachable | error
    state       TEXT    NOT NULL,
    changes     INTEGER  NOT NULL,
    report      TEXT    NOT NULL
);

CREATE TABLE infra_plans (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at    INTEGER  NOT NULL,
    created_by    TEXT    NOT NULL,
    hosts_pattern TEXT,
    -- JSON array of host names.
    hosts         TEXT    NOT NULL,
    changes       INTEGER  NOT NULL,
    saved         TEXT    NOT NULL,
    report        TEXT    NOT NULL
);

CREATE TABLE infra_applies (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id       INTEGER  NOT NULL REFERENCES infra_plans (id),
    -- awaiting_approval | applying | applied | failed
    state         TEXT    NOT NULL,
    requested_by  TEXT    NOT NULL,
    requested_at  INTEGER  NOT NULL,
    approved_by   TEXT,
    approved_at   INTEGER,
    finished_at   INTEGER,
    report        TEXT
);
CREATE INDEX infra_applies_state ON infra_applies (state, id);
