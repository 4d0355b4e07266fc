  -- Stream "{{stream_name}}": this run's lower bounds, constants for the whole run. refresh_time is the MV's sort key,
  -- so the bound lets zone maps skip every block refreshed before the stream's high-water mark (minus the margin).
  SELECT INTO v_refresh_from_{{stream_index}}, v_errors_from_{{stream_index}}
         COALESCE(MAX(refresh_high_water), TIMESTAMP '1900-01-01 00:00:00') - INTERVAL '{{refresh_margin_minutes}} minutes',
         COALESCE(MAX(scan_error_high_water), TIMESTAMP '1900-01-01 00:00:00') - INTERVAL '{{refresh_margin_minutes}} minutes'
  FROM {{schema}}.merge_streams
  WHERE stream_name = '{{stream_name}}';

  -- Rows above the shard watermarks, classified once.
  INSERT INTO merge_batch (stream_name, shard_id, sequence_number, seq_padded, partition_key,
                           approximate_arrival_timestamp, refresh_time, raw_bytes, "raw", payload, record_hash,
                           reject_reason, event_id, event_type, user_id, event_time)
  SELECT x.stream_name, x.shard_id, x.sequence_number, x.seq_padded, x.partition_key,
         x.approximate_arrival_timestamp, x.refresh_time, x.raw_bytes, x."raw", x.payload,
         CASE WHEN x.reject_reason IS NOT NULL THEN {{record_hash_expr}} END,
         x.reject_reason,
         CASE WHEN x.reject_reason IS NULL THEN x.key_text END,
         CASE WHEN x.reject_reason IS NULL THEN x.event_type END,
         CASE WHEN x.reject_reason IS NULL THEN x.user_id END,
         COALESCE(x.parsed_time, x.approximate_arrival_timestamp)
  FROM (
    SELECT z.stream_name, z.shard_id, z.sequence_number, z.seq_padded, z.partition_key,
           z.approximate_arrival_timestamp, z.refresh_time, z.raw_bytes, z."raw", z.payload, z.key_text, z.event_type,
           z.user_id, z.parsed_time,
           CASE
             WHEN NOT z.is_utf8 THEN 'invalid_utf8'
             WHEN z.raw_bytes > {{max_record_bytes}} THEN 'too_large'
             WHEN z.payload IS NULL THEN 'invalid_json'
             WHEN z.payload_type <> 'object' THEN 'not_object'
             WHEN z.key_type IS NULL OR z.key_type = 'null' THEN 'missing_dedup_key'
             WHEN z.key_type NOT IN ('string', 'number') THEN 'invalid_dedup_key'
             WHEN TRIM(z.key_text) = '' THEN 'missing_dedup_key'
             WHEN LENGTH(z.key_text) > {{max_dedup_key_chars}} THEN 'invalid_dedup_key'
             WHEN z.parsed_time < z.approximate_arrival_timestamp - INTERVAL '{{event_time_max_past_days}} days'
               OR z.parsed_time > z.approximate_arrival_timestamp + INTERVAL '{{event_time_max_future_hours}} hours'
             THEN 'implausible_event_time'
           END AS reject_reason
    FROM (
      SELECT y.*, {{event_time_expr}} AS parsed_time
      FROM (
        SELECT '{{stream_name}}' AS stream_name,
               m.shard_id,
               m.sequence_number,
               LPAD(m.sequence_number, {{sequence_width}}, '0') AS seq_padded,
               m.partition_key,
               m.approximate_arrival_timestamp,
               m.refresh_time,
               m.raw_bytes,
               m."raw",
               m.is_utf8,
               m.payload,
               {{payload_type_expr}} AS payload_type,
               {{key_type_expr}} AS key_type,
               {{key_text_expr}} AS key_text,
               {{event_type_expr}} AS event_type,
               {{user_id_expr}} AS user_id,
               {{event_time_text_expr}} AS event_time_text
        FROM {{new_rows}}
      ) y{{subquery_fence}}
    ) z
  ) x;

  -- Records streaming ingestion skipped (their bytes never reached the MV), one row per position.
  INSERT INTO merge_skipped (stream_name, shard_id, sequence_number, arrival, error, logged_at)
  SELECT '{{stream_name}}', TRIM(e.partition_id), TRIM(e.position),
         MIN(COALESCE(e.stream_timestamp, e.record_time)),
         MIN(LEFT(COALESCE(CAST(e.error_code AS VARCHAR(16)), '-') || ' ' || COALESCE(TRIM(e.error_reason), ''), 512)),
         MAX(e.record_time)
  FROM {{scan_errors_table}} e
  WHERE TRIM(e.mv_name) = '{{mv_name}}'
    AND TRIM(e.stream_name) = '{{physical_stream_name}}'
    AND e.record_time >= v_errors_from_{{stream_index}}
  GROUP BY TRIM(e.partition_id), TRIM(e.position);

  -- What streaming ingestion itself counted as skipped since the previous run (for the merge function's metric).
  SELECT INTO v_count COALESCE(SUM(s.skipped_rows), 0)
  FROM {{scan_states_table}} s
  WHERE TRIM(s.mv_name) = '{{mv_name}}'
    AND TRIM(s.stream_name) = '{{physical_stream_name}}'
    AND s.record_time > v_previous_run
    AND s.record_time <= v_now;
  v_skipped_reported := v_skipped_reported + v_count;
