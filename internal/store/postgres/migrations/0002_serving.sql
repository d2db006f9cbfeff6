-- What the gateway keeps: deployments (every version), traces of served
-- calls, reviews of traces and gateway keys; the same tables as the SQLite
-- store. A record's full content is a JSON document; the columns beside it
-- are what queries filter and order by.

CREATE TABLE deployments (
    name       text COLLATE "C" NOT NULL,
    version    bigint           NOT NULL,
    created_at timestamptz      NOT NULL,
    body       json             NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE traces (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    deployment text COLLATE "C" NOT NULL,
    shadow     boolean          NOT NULL,
    failed     boolean          NOT NULL,
    created_at timestamptz      NOT NULL,
    body       json             NOT NULL,
    scores     json
);

CREATE INDEX traces_by_deployment ON traces (deployment, created_at DESC, id DESC);
CREATE INDEX traces_by_created ON traces (created_at DESC, id DESC);

CREATE TABLE feedback (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    trace_id   text COLLATE "C" NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
    created_at timestamptz      NOT NULL,
    body       json             NOT NULL
);

CREATE INDEX feedback_by_trace ON feedback (trace_id, created_at, id);

CREATE TABLE api_keys (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    hash       text COLLATE "C" NOT NULL UNIQUE,
    created_at timestamptz      NOT NULL,
    revoked_at timestamptz,
    body       json             NOT NULL
);
