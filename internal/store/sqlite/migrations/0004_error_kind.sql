-- What kind of failure ended a call (rate_limited, server_error, timeout,
-- malformed, rejected, network, other), so reports can say what went
-- wrong without parsing messages. Empty for calls that succeeded.
ALTER TABLE results ADD COLUMN error_kind TEXT NOT NULL DEFAULT '';
