-- Postgres stand-in for the streaming MV of stream "{{stream_name}}": a plain table with the MV's columns.
-- A loader inserts (approximate_arrival_timestamp, partition_key, shard_id, sequence_number, raw[, refresh_time]);
-- the trigger below derives raw_bytes, is_utf8 and payload exactly as the Redshift MV does, and keeps raw only where
-- payload is NULL, as the MV does.
CREATE TABLE IF NOT EXISTS {{schema}}.{{mv_name}} (
  approximate_arrival_timestamp TIMESTAMP    NOT NULL,
  partition_key                 VARCHAR(256) NOT NULL,
  shard_id                      VARCHAR(128) NOT NULL,
  sequence_number               VARCHAR(128) NOT NULL,
  refresh_time                  TIMESTAMP    NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  "raw"                           BYTEA,
  raw_bytes                     INTEGER,
  is_utf8                       BOOLEAN,
  payload                       JSONB
);
