-- The knowledge chunks a retrieval candidate put into each call's prompt,
-- best first, so reports can show them beside the answer.
-- JSON array of chunk ids; NULL for calls without retrieval.
ALTER TABLE results ADD COLUMN retrieved TEXT;
