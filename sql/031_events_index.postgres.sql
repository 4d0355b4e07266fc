-- Postgres has no distribution or sort keys; an index gives the merge's dedup lookup the same "touch only
-- candidate rows" cost, and time-range queries a path as well.
CREATE INDEX IF NOT EXISTS events_dedup_idx ON {{schema}}.events (stream_name, event_id, event_time);
