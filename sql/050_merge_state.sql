-- The exact merge watermark, per (stream, shard): the highest sequence number merged (zero-padded to
-- {{sequence_width}} digits so that text comparison equals numeric comparison) and the latest arrival time merged.
-- A row is new when its sequence number is above the first or its arrival time is after the second. Refreshes commit
-- a shard's records in sequence order, so the first test finds every new record of the stream the view reads; a
-- stream deleted and recreated under the same name restarts its sequence numbers lower, but each of its records
-- arrives after every record of the old stream, so the second test finds them: the pair identifies the stream's
-- incarnation as well as the position. Both only move forward, in the merge's transaction.
CREATE TABLE IF NOT EXISTS {{schema}}.merge_state (
  stream_name            VARCHAR(128) NOT NULL,
  shard_id               VARCHAR(128) NOT NULL,
  last_sequence_number   VARCHAR({{sequence_width}}) NOT NULL,
  last_arrival_timestamp TIMESTAMP    NOT NULL,
  updated_at             TIMESTAMP    NOT NULL
);
