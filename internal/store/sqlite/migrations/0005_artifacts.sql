-- Files every machine sharing the store must reach: a queued tuning job's
-- checkpoints and the tuned model. Content is split into parts so no row
-- holds more than a few MiB; an artifact always has at least one part
-- (empty for an empty file). updated_at is in microseconds since the epoch.
CREATE TABLE artifacts (
    name TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    parts INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE artifact_parts (
    name TEXT NOT NULL REFERENCES artifacts (name) ON DELETE CASCADE,
    part INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (name, part)
);
