-- One row per event: the first arrival of each (stream_name, event_id) within the dedup window.
-- Redshift: DISTKEY(event_id) co-locates the merge's anti-join with the new batch (also distributed on event_id),
-- so the events table is never redistributed; COMPOUND SORTKEY(event_time, event_id) serves time-range queries
-- and lets the merge's event_time bounds prune blocks through zone maps.
CREATE TABLE IF NOT EXISTS {{schema}}.events (
  event_id        VARCHAR(1024) NOT NULL,
  stream_name     VARCHAR(128)  NOT NULL,
  event_type      VARCHAR(1024),
  user_id         VARCHAR(1024),
  event_time      TIMESTAMP     NOT NULL,
  received_at     TIMESTAMP     NOT NULL,
  source_region   VARCHAR(32)   NOT NULL,
  shard_id        VARCHAR(128)  NOT NULL,
  sequence_number VARCHAR(128)  NOT NULL,
  partition_key   VARCHAR(1024) NOT NULL,
  payload         {{payload_type}},
  merged_at       TIMESTAMP     NOT NULL
){{events_table_attributes}};
