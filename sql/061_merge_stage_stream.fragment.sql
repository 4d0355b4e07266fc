  -- Stream "{{stream_name}}": rows above the shard watermark, classified once.
  INSERT INTO merge_batch (stream_name, shard_id, sequence_number, seq_padded, partition_key,
                           approximate_arrival_timestamp, raw_bytes, raw, payload, reject_reason,
                           event_id, event_type, user_id, event_time)
  SELECT x.stream_name, x.shard_id, x.sequence_number, x.seq_padded, x.partition_key,
         x.approximate_arrival_timestamp, x.raw_bytes,
         CASE WHEN x.reject_reason IS NOT NULL THEN x.raw END,
         CASE WHEN x.reject_reason IS NULL THEN x.payload END,
         x.reject_reason,
         CASE WHEN x.reject_reason IS NULL THEN x.key_text END,
         CASE WHEN x.reject_reason IS NULL THEN x.event_type END,
         CASE WHEN x.reject_reason IS NULL THEN x.user_id END,
         COALESCE({{event_time_expr}}, x.approximate_arrival_timestamp)
  FROM (
    SELECT y.stream_name, y.shard_id, y.sequence_number, y.seq_padded, y.partition_key,
           y.approximate_arrival_timestamp, y.raw_bytes, y.raw, y.payload, y.key_text, y.event_type, y.user_id,
           y.event_time_text,
           CASE
             WHEN NOT y.is_utf8 THEN 'invalid_utf8'
             WHEN y.raw_bytes > {{max_record_bytes}} THEN 'too_large'
             WHEN y.payload IS NULL THEN 'invalid_json'
             WHEN y.payload_type <> 'object' THEN 'not_object'
             WHEN y.key_type IS NULL OR y.key_type = 'null' THEN 'missing_dedup_key'
             WHEN y.key_type NOT IN ('string', 'number') THEN 'invalid_dedup_key'
             WHEN TRIM(y.key_text) = '' THEN 'missing_dedup_key'
             WHEN LENGTH(y.key_text) > {{max_dedup_key_chars}} THEN 'invalid_dedup_key'
           END AS reject_reason
    FROM (
      SELECT '{{stream_name}}' AS stream_name,
             m.shard_id,
             m.sequence_number,
             LPAD(m.sequence_number, {{sequence_width}}, '0') AS seq_padded,
             m.partition_key,
             m.approximate_arrival_timestamp,
             m.raw_bytes,
             m.raw,
             m.is_utf8,
             m.payload,
             {{payload_type_expr}} AS payload_type,
             {{key_type_expr}} AS key_type,
             {{key_text_expr}} AS key_text,
             {{event_type_expr}} AS event_type,
             {{user_id_expr}} AS user_id,
             {{event_time_text_expr}} AS event_time_text
      FROM {{new_rows}}
    ) y
  ) x;
