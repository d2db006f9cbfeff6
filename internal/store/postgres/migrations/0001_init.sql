-- Runs, their per-call results and the provider response cache; the same
-- tables as the SQLite store, in PostgreSQL's types. Unqualified names land
-- in the store's schema: the connection's search_path is set to it.
-- IDs use COLLATE "C" so that keys and ORDER BY compare bytes, as Go and
-- SQLite do, whatever the database's locale.

CREATE TABLE runs (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    lab             text             NOT NULL,
    dataset         text             NOT NULL,
    candidates      json             NOT NULL, -- json, not jsonb: keeps embedded schemas byte for byte
    cases           bigint           NOT NULL,
    repeats         bigint           NOT NULL,
    status          text             NOT NULL,
    created_at      timestamptz      NOT NULL,
    updated_at      timestamptz      NOT NULL,
    primary_scorer  text             NOT NULL,
    scorers         json             NOT NULL,
    config_checksum text             NOT NULL
);

-- Runs are listed newest first.
CREATE INDEX runs_by_created ON runs (created_at DESC, id DESC);

CREATE TABLE results (
    run_id       text COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    candidate_id text COLLATE "C" NOT NULL,
    case_id      text COLLATE "C" NOT NULL,
    repeat       bigint           NOT NULL,
    output       text             NOT NULL,
    answer       text             NOT NULL,
    scores       jsonb,                     -- scorer name -> lab.Score; NULL when none
    pass         boolean          NOT NULL,
    latency_ms   double precision NOT NULL,
    tokens_in    bigint           NOT NULL,
    tokens_out   bigint           NOT NULL,
    cost         double precision NOT NULL,
    cached       boolean          NOT NULL,
    error        text             NOT NULL,
    attempts     bigint           NOT NULL,
    created_at   timestamptz      NOT NULL,
    -- The key is also the order Results returns.
    PRIMARY KEY (run_id, candidate_id, case_id, repeat)
);

CREATE TABLE cache (
    key        text        NOT NULL PRIMARY KEY,
    response   json        NOT NULL, -- provider.Response
    created_at timestamptz NOT NULL
);
