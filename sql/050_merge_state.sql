-- The merge watermark: per (stream, shard), the highest sequence number merged so far, zero-padded to
-- {{sequence_width}} digits so that text comparison equals numeric comparison. Advanced in the merge's transaction.
CREATE TABLE IF NOT EXISTS {{schema}}.merge_state (
  stream_name            VARCHAR(128) NOT NULL,
  shard_id               VARCHAR(128) NOT NULL,
  last_sequence_number   VARCHAR({{sequence_width}}) NOT NULL,
  last_arrival_timestamp TIMESTAMP    NOT NULL,
  updated_at             TIMESTAMP    NOT NULL
);
