-- What the gateway keeps: deployments (every version), traces of served
-- calls, reviews of traces and gateway keys. A record's full content is a
-- JSON document; the columns beside it are what queries filter and order by.

CREATE TABLE deployments (
    name       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    body       TEXT    NOT NULL, -- JSON lab.Deployment
    PRIMARY KEY (name, version)
) STRICT;

CREATE TABLE traces (
    id         TEXT    NOT NULL PRIMARY KEY,
    deployment TEXT    NOT NULL,
    shadow     INTEGER NOT NULL, -- 0 or 1
    failed     INTEGER NOT NULL, -- 0 or 1: the call ended in an error
    created_at INTEGER NOT NULL,
    body       TEXT    NOT NULL, -- JSON lab.Trace without scores
    scores     TEXT              -- JSON object scorer name -> lab.Score; NULL until scored
) STRICT;

CREATE INDEX traces_by_deployment ON traces (deployment, created_at DESC, id DESC);
CREATE INDEX traces_by_created ON traces (created_at DESC, id DESC);

CREATE TABLE feedback (
    id         TEXT    NOT NULL PRIMARY KEY,
    trace_id   TEXT    NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    body       TEXT    NOT NULL -- JSON lab.Feedback
) STRICT;

CREATE INDEX feedback_by_trace ON feedback (trace_id, created_at, id);

CREATE TABLE api_keys (
    id         TEXT    NOT NULL PRIMARY KEY,
    hash       TEXT    NOT NULL UNIQUE, -- hex SHA-256 of the secret
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,                 -- NULL while the key works
    body       TEXT    NOT NULL         -- JSON lab.APIKey (no hash, no secret)
) STRICT;
