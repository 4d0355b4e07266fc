CREATE INDEX IF NOT EXISTS events_time_idx ON {{schema}}.events (event_time);
