-- Every record the merge could not turn into an event: raw bytes, stream position, reason, time.
-- reason is one of: invalid_utf8, too_large, invalid_json, not_object, missing_dedup_key, invalid_dedup_key.
CREATE TABLE IF NOT EXISTS {{schema}}.rejects (
  stream_name                   VARCHAR(128)  NOT NULL,
  shard_id                      VARCHAR(128)  NOT NULL,
  sequence_number               VARCHAR(128)  NOT NULL,
  partition_key                 VARCHAR(1024) NOT NULL,
  approximate_arrival_timestamp TIMESTAMP     NOT NULL,
  source_region                 VARCHAR(32)   NOT NULL,
  reason                        VARCHAR(64)   NOT NULL,
  raw_bytes                     INTEGER       NOT NULL,
  raw                           {{raw_type}},
  rejected_at                   TIMESTAMP     NOT NULL
){{rejects_table_attributes}};
