-- The merge: new MV rows -> events (first arrival per id) or rejects (one row per distinct bad record, with the
-- number of copies seen), and the records streaming ingestion skipped (SYS_STREAM_SCAN_ERRORS) -> rejects.
-- Everything, including the watermarks, happens in the caller's single transaction. The new rows are read once,
-- into merge_batch, and every later step (inserts and watermarks) works from that snapshot: rows that an MV refresh
-- commits while the merge runs are above the watermarks and are merged by the next run.
-- Which rows are new: per stream, a constant lower bound on refresh_time, the MV's sort key (the stream's
-- high-water mark in merge_streams minus {{refresh_margin_minutes}} minutes), so a run reads the rows refreshed since
-- the last run, not the whole view; then the exact per-shard test of merge_state (sequence number above the shard's
-- watermark, or arrival after it), which decides.
-- Redshift PL/pgSQL: RAISE takes simple variables only, so every reported value is computed into one first.
CREATE OR REPLACE PROCEDURE {{schema}}.merge_events()
LANGUAGE plpgsql
AS $$
DECLARE
  v_now              TIMESTAMP;
  v_previous_run     TIMESTAMP;
  v_min_time         TIMESTAMP;
  v_max_time         TIMESTAMP;
  v_new              BIGINT;
  v_rejected         BIGINT;
  v_inserted         BIGINT;
  v_duplicates       BIGINT;
  v_skipped          BIGINT;
  v_skipped_reported BIGINT;
  v_count            BIGINT;
  v_probe            BIGINT;
{{stream_variables}}
BEGIN
  -- One merge at a time: a second caller waits here until the first one's transaction ends (LOCK TABLE waits, in
  -- Redshift as in Postgres; it does not fail). The merge function's reserved concurrency of one keeps scheduled
  -- invocations from piling up behind a long merge.
  LOCK TABLE {{schema}}.merge_state;
{{session_check}}{{refresh_statistics}}
  v_now := {{now_utc}};
  v_skipped_reported := 0;
  SELECT INTO v_previous_run COALESCE(MAX(merged_at), TIMESTAMP '1900-01-01 00:00:00') FROM {{schema}}.merge_runs;

  DROP TABLE IF EXISTS merge_batch;
  CREATE TEMP TABLE merge_batch (
    stream_name                   VARCHAR(128),
    shard_id                      VARCHAR(128),
    sequence_number               VARCHAR(128),
    seq_padded                    VARCHAR({{sequence_width}}),
    partition_key                 VARCHAR(1024),
    approximate_arrival_timestamp TIMESTAMP,
    refresh_time                  TIMESTAMP,
    raw_bytes                     INTEGER,
    "raw"                           {{raw_type}},
    payload                       {{payload_type}},
    record_hash                   BIGINT,
    reject_reason                 VARCHAR(64),
    event_id                      VARCHAR(1024),
    event_type                    VARCHAR(1024),
    user_id                       VARCHAR(1024),
    event_time                    TIMESTAMP
  ){{batch_table_attributes}};

  DROP TABLE IF EXISTS merge_skipped;
  CREATE TEMP TABLE merge_skipped (
    stream_name     VARCHAR(128),
    shard_id        VARCHAR(128),
    sequence_number VARCHAR(128),
    arrival         TIMESTAMP,
    error           VARCHAR(512),
    logged_at       TIMESTAMP
  );

{{stage_statements}}{{batch_statistics}}

{{suppress_subjects}}

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

  -- Rejects: the copies of one bad record in this batch become one group (first and last position, count) ...
  DROP TABLE IF EXISTS merge_reject_copies;
  CREATE TEMP TABLE merge_reject_copies AS
  SELECT b.stream_name, b.partition_key, b.reject_reason, b.raw_bytes, b.record_hash, b."raw", b.payload,
         b.shard_id, b.sequence_number, b.approximate_arrival_timestamp,
         ROW_NUMBER() OVER (PARTITION BY b.stream_name, b.partition_key, b.reject_reason, b.raw_bytes, b.record_hash
                            ORDER BY b.approximate_arrival_timestamp, b.shard_id, b.seq_padded) AS first_rank,
         ROW_NUMBER() OVER (PARTITION BY b.stream_name, b.partition_key, b.reject_reason, b.raw_bytes, b.record_hash
                            ORDER BY b.approximate_arrival_timestamp DESC, b.shard_id DESC, b.seq_padded DESC) AS last_rank,
         COUNT(*) OVER (PARTITION BY b.stream_name, b.partition_key, b.reject_reason, b.raw_bytes, b.record_hash) AS seen_copies
  FROM merge_batch b
  WHERE b.reject_reason IS NOT NULL;

  DROP TABLE IF EXISTS merge_reject_groups;
  CREATE TEMP TABLE merge_reject_groups AS
  SELECT f.stream_name, f.partition_key, f.reject_reason, f.raw_bytes, f.record_hash, f."raw", f.payload, f.seen_copies,
         f.shard_id, f.sequence_number, f.approximate_arrival_timestamp,
         l.shard_id AS seen_last_shard_id, l.sequence_number AS seen_last_sequence_number,
         l.approximate_arrival_timestamp AS seen_last_arrival
  FROM merge_reject_copies f
  JOIN merge_reject_copies l
    ON  l.stream_name = f.stream_name
    AND l.partition_key = f.partition_key
    AND l.reject_reason = f.reject_reason
    AND l.raw_bytes = f.raw_bytes
    AND l.record_hash = f.record_hash
    AND l.last_rank = 1
  WHERE f.first_rank = 1;

  -- ... a record already rejected by an earlier run only counts the new copies (the hash narrows, the bytes decide) ...
  UPDATE {{schema}}.rejects
  SET copies = copies + g.seen_copies,
      last_shard_id = CASE WHEN g.seen_last_arrival >= last_arrival_timestamp THEN g.seen_last_shard_id ELSE last_shard_id END,
      last_sequence_number = CASE WHEN g.seen_last_arrival >= last_arrival_timestamp THEN g.seen_last_sequence_number ELSE last_sequence_number END,
      last_arrival_timestamp = CASE WHEN g.seen_last_arrival >= last_arrival_timestamp THEN g.seen_last_arrival ELSE last_arrival_timestamp END,
      updated_at = v_now
  FROM merge_reject_groups g
  WHERE rejects.stream_name = g.stream_name
    AND rejects.partition_key = g.partition_key
    AND rejects.reason = g.reject_reason
    AND rejects.raw_bytes = g.raw_bytes
    AND rejects.record_hash = g.record_hash
    AND {{same_record_in_rejects}};

  -- ... and a new one is inserted once.
  INSERT INTO {{schema}}.rejects (stream_name, partition_key, reason, raw_bytes, "raw", payload, record_hash, error, copies,
                                  shard_id, sequence_number, approximate_arrival_timestamp,
                                  last_shard_id, last_sequence_number, last_arrival_timestamp,
                                  source_region, rejected_at, updated_at)
  SELECT g.stream_name, g.partition_key, g.reject_reason, g.raw_bytes, g."raw", g.payload, g.record_hash, NULL, g.seen_copies,
         g.shard_id, g.sequence_number, g.approximate_arrival_timestamp,
         g.seen_last_shard_id, g.seen_last_sequence_number, g.seen_last_arrival,
         '{{region}}', v_now, v_now
  FROM merge_reject_groups g
  LEFT JOIN {{schema}}.rejects r
    ON  r.stream_name = g.stream_name
    AND r.partition_key = g.partition_key
    AND r.reason = g.reject_reason
    AND r.raw_bytes = g.raw_bytes
    AND r.record_hash = g.record_hash
    AND {{same_record_in_r}}
  WHERE r.stream_name IS NULL;

  -- Records streaming ingestion skipped: one reject per position, with its error.
  INSERT INTO {{schema}}.rejects (stream_name, partition_key, reason, raw_bytes, "raw", payload, record_hash, error, copies,
                                  shard_id, sequence_number, approximate_arrival_timestamp,
                                  last_shard_id, last_sequence_number, last_arrival_timestamp,
                                  source_region, rejected_at, updated_at)
  SELECT k.stream_name, '', 'ingestion_skipped', 0, NULL, NULL, NULL, k.error, 1,
         k.shard_id, k.sequence_number, k.arrival, k.shard_id, k.sequence_number, k.arrival,
         '{{region}}', v_now, v_now
  FROM merge_skipped k
  LEFT JOIN {{schema}}.rejects r
    ON  r.stream_name = k.stream_name
    AND r.reason = 'ingestion_skipped'
    AND r.shard_id = k.shard_id
    AND r.sequence_number = k.sequence_number
  WHERE r.stream_name IS NULL;
  GET DIAGNOSTICS v_skipped := ROW_COUNT;

  -- Advance each shard's watermarks to the highest position read into this batch (never from the MV itself).
  UPDATE {{schema}}.merge_state
  SET last_sequence_number = GREATEST(last_sequence_number, t.max_seq),
      last_arrival_timestamp = GREATEST(last_arrival_timestamp, t.max_arrival),
      updated_at = v_now
  FROM (
    SELECT stream_name, shard_id, MAX(seq_padded) AS max_seq, MAX(approximate_arrival_timestamp) AS max_arrival
    FROM merge_batch
    GROUP BY stream_name, shard_id
  ) t
  WHERE merge_state.stream_name = t.stream_name
    AND merge_state.shard_id = t.shard_id;

  INSERT INTO {{schema}}.merge_state (stream_name, shard_id, last_sequence_number, last_arrival_timestamp, updated_at)
  SELECT b.stream_name, b.shard_id, MAX(b.seq_padded), MAX(b.approximate_arrival_timestamp), v_now
  FROM merge_batch b
  LEFT JOIN {{schema}}.merge_state s
    ON s.stream_name = b.stream_name AND s.shard_id = b.shard_id
  WHERE s.shard_id IS NULL
  GROUP BY b.stream_name, b.shard_id;

  -- Advance each stream's high-water marks (the next run's read bounds) to what this run read.
  DROP TABLE IF EXISTS merge_stream_marks;
  CREATE TEMP TABLE merge_stream_marks AS
  SELECT u.stream_name, MAX(u.refresh_mark) AS refresh_mark, MAX(u.error_mark) AS error_mark
  FROM (
    SELECT stream_name, MAX(refresh_time) AS refresh_mark, CAST(NULL AS TIMESTAMP) AS error_mark
    FROM merge_batch GROUP BY stream_name
    UNION ALL
    SELECT stream_name, CAST(NULL AS TIMESTAMP) AS refresh_mark, MAX(logged_at) AS error_mark
    FROM merge_skipped GROUP BY stream_name
  ) u
  GROUP BY u.stream_name;

  UPDATE {{schema}}.merge_streams
  SET refresh_high_water = GREATEST(refresh_high_water, k.refresh_mark),
      scan_error_high_water = GREATEST(scan_error_high_water, k.error_mark),
      updated_at = v_now
  FROM merge_stream_marks k
  WHERE merge_streams.stream_name = k.stream_name;

  INSERT INTO {{schema}}.merge_streams (stream_name, refresh_high_water, scan_error_high_water, updated_at)
  SELECT k.stream_name, k.refresh_mark, k.error_mark, v_now
  FROM merge_stream_marks k
  LEFT JOIN {{schema}}.merge_streams s ON s.stream_name = k.stream_name
  WHERE s.stream_name IS NULL;

  SELECT INTO v_new COUNT(*) FROM merge_batch;
  SELECT INTO v_rejected COUNT(*) FROM merge_batch WHERE reject_reason IS NOT NULL;
  v_duplicates := v_new - v_inserted - v_rejected;
  INSERT INTO {{schema}}.merge_runs (merged_at, new_rows, inserted, duplicates, rejected, skipped, skipped_reported)
  VALUES (v_now, v_new, v_inserted, v_duplicates, v_rejected, v_skipped, v_skipped_reported);

  DROP TABLE merge_batch;
  DROP TABLE merge_skipped;
  DROP TABLE merge_reject_copies;
  DROP TABLE merge_reject_groups;
  DROP TABLE merge_stream_marks;
  RAISE INFO 'merge_events: % new rows, % inserted, % duplicates, % rejected, % skipped by streaming ingestion',
    v_new, v_inserted, v_duplicates, v_rejected, v_skipped;
END;
$$;
