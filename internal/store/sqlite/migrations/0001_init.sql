-- Runs, their per-call results and the provider response cache.
-- Times are INTEGER microseconds since the Unix epoch, UTC: they sort and
-- compare as numbers and keep the precision the store documents.
-- JSON columns hold TEXT written by encoding/json.

CREATE TABLE runs (
    id              TEXT    NOT NULL PRIMARY KEY,
    lab             TEXT    NOT NULL,
    dataset         TEXT    NOT NULL,
    candidates      TEXT    NOT NULL, -- JSON array of lab.Candidate
    cases           INTEGER NOT NULL,
    repeats         INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    primary_scorer  TEXT    NOT NULL,
    scorers         TEXT    NOT NULL, -- JSON array of scorer names
    config_checksum TEXT    NOT NULL
) STRICT;

-- Runs are listed newest first.
CREATE INDEX runs_by_created ON runs (created_at DESC, id DESC);

CREATE TABLE results (
    run_id       TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    candidate_id TEXT    NOT NULL,
    case_id      TEXT    NOT NULL,
    repeat       INTEGER NOT NULL,
    output       TEXT    NOT NULL,
    answer       TEXT    NOT NULL,
    scores       TEXT,             -- JSON object scorer name -> lab.Score; NULL when none
    pass         INTEGER NOT NULL, -- 0 or 1
    latency_ms   REAL    NOT NULL,
    tokens_in    INTEGER NOT NULL,
    tokens_out   INTEGER NOT NULL,
    cost         REAL    NOT NULL,
    cached       INTEGER NOT NULL, -- 0 or 1
    error        TEXT    NOT NULL,
    attempts     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    -- The key is also the order Results returns: BINARY collation compares
    -- bytes, as Go compares strings.
    PRIMARY KEY (run_id, candidate_id, case_id, repeat)
) STRICT;

CREATE TABLE cache (
    key        TEXT    NOT NULL PRIMARY KEY,
    response   TEXT    NOT NULL, -- JSON provider.Response
    created_at INTEGER NOT NULL
) STRICT;
