-- The merge: new MV rows (above each shard's watermark) -> events (first arrival per id) or rejects (with reason).
-- Everything, including the watermark, happens in the caller's single transaction. The new rows are read once,
-- into merge_batch, and every later step (inserts and the watermark) works from that snapshot: rows that an MV
-- refresh commits while the merge runs stay above the watermark and are merged by the next run.
CREATE OR REPLACE PROCEDURE {{schema}}.merge_events()
LANGUAGE plpgsql
AS $$
DECLARE
  v_now      TIMESTAMP;
  v_min_time TIMESTAMP;
  v_max_time TIMESTAMP;
  v_new      BIGINT;
  v_rejected BIGINT;
  v_inserted BIGINT;
  v_probe    BIGINT;
BEGIN
  -- One merge at a time: a second caller waits here (Postgres) or fails with a serialization error (Redshift).
  LOCK TABLE {{schema}}.merge_state;
{{session_check}}{{refresh_statistics}}
  v_now := {{now_utc}};

  DROP TABLE IF EXISTS merge_batch;
  CREATE TEMP TABLE merge_batch (
    stream_name                   VARCHAR(128),
    shard_id                      VARCHAR(128),
    sequence_number               VARCHAR(128),
    seq_padded                    VARCHAR({{sequence_width}}),
    partition_key                 VARCHAR(1024),
    approximate_arrival_timestamp TIMESTAMP,
    raw_bytes                     INTEGER,
    raw                           {{raw_type}},
    payload                       {{payload_type}},
    reject_reason                 VARCHAR(64),
    event_id                      VARCHAR(1024),
    event_type                    VARCHAR(1024),
    user_id                       VARCHAR(1024),
    event_time                    TIMESTAMP
  ){{batch_table_attributes}};

{{stage_statements}}{{batch_statistics}}

  SELECT INTO v_min_time, v_max_time MIN(event_time), MAX(event_time)
  FROM merge_batch WHERE reject_reason IS NULL;

  -- First arrival wins within the batch; a row is new only if no event with its id exists within the window.
  INSERT INTO {{schema}}.events (event_id, stream_name, event_type, user_id, event_time, received_at, source_region,
                                 shard_id, sequence_number, partition_key, payload, merged_at)
  SELECT w.event_id, w.stream_name, w.event_type, w.user_id, w.event_time, w.approximate_arrival_timestamp,
         '{{region}}', w.shard_id, w.sequence_number, w.partition_key, w.payload, v_now
  FROM (
    SELECT b.event_id, b.stream_name, b.event_type, b.user_id, b.event_time, b.approximate_arrival_timestamp,
           b.shard_id, b.sequence_number, b.partition_key, b.payload,
           ROW_NUMBER() OVER (PARTITION BY b.stream_name, b.event_id
                              ORDER BY b.approximate_arrival_timestamp, b.shard_id, b.seq_padded) AS arrival_rank
    FROM merge_batch b
    WHERE b.reject_reason IS NULL
  ) w
  LEFT JOIN {{schema}}.events e
    ON  e.stream_name = w.stream_name
    AND e.event_id = w.event_id
    AND e.event_time >= w.event_time - INTERVAL '{{dedup_window_days}} days'
    AND e.event_time <= w.event_time + INTERVAL '{{dedup_window_days}} days'
    AND e.event_time >= v_min_time - INTERVAL '{{dedup_window_days}} days'
    AND e.event_time <= v_max_time + INTERVAL '{{dedup_window_days}} days'
  WHERE w.arrival_rank = 1
    AND e.event_id IS NULL;
  GET DIAGNOSTICS v_inserted := ROW_COUNT;

  INSERT INTO {{schema}}.rejects (stream_name, shard_id, sequence_number, partition_key,
                                  approximate_arrival_timestamp, source_region, reason, raw_bytes, raw, rejected_at)
  SELECT stream_name, shard_id, sequence_number, partition_key, approximate_arrival_timestamp, '{{region}}',
         reject_reason, raw_bytes, raw, v_now
  FROM merge_batch
  WHERE reject_reason IS NOT NULL;
  GET DIAGNOSTICS v_rejected := ROW_COUNT;

  -- Advance each shard's watermark to the highest position read into this batch (never from the MV itself).
  UPDATE {{schema}}.merge_state
  SET last_sequence_number = t.max_seq,
      last_arrival_timestamp = t.max_arrival,
      updated_at = v_now
  FROM (
    SELECT stream_name, shard_id, MAX(seq_padded) AS max_seq, MAX(approximate_arrival_timestamp) AS max_arrival
    FROM merge_batch
    GROUP BY stream_name, shard_id
  ) t
  WHERE merge_state.stream_name = t.stream_name
    AND merge_state.shard_id = t.shard_id
    AND t.max_seq > merge_state.last_sequence_number;

  INSERT INTO {{schema}}.merge_state (stream_name, shard_id, last_sequence_number, last_arrival_timestamp, updated_at)
  SELECT b.stream_name, b.shard_id, MAX(b.seq_padded), MAX(b.approximate_arrival_timestamp), v_now
  FROM merge_batch b
  LEFT JOIN {{schema}}.merge_state s
    ON s.stream_name = b.stream_name AND s.shard_id = b.shard_id
  WHERE s.shard_id IS NULL
  GROUP BY b.stream_name, b.shard_id;

  SELECT INTO v_new COUNT(*) FROM merge_batch;
  INSERT INTO {{schema}}.merge_runs (merged_at, new_rows, inserted, duplicates, rejected)
  VALUES (v_now, v_new, v_inserted, v_new - v_inserted - v_rejected, v_rejected);

  DROP TABLE merge_batch;
  RAISE INFO 'merge_events: % new rows, % inserted, % duplicates, % rejected',
    v_new, v_inserted, v_new - v_inserted - v_rejected, v_rejected;
END;
$$;
