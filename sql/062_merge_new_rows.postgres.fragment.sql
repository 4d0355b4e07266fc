(
          -- The same rows as in Redshift (refreshed since the run's bound; above the shard's sequence watermark or
          -- arrived after its arrival watermark; every row of a shard not seen yet), found through the stand-in's
          -- indexes instead of a scan: the shards are enumerated with a loose index scan, then each shard is read from
          -- its watermarks on.
          WITH RECURSIVE shards AS (
            (SELECT t.shard_id FROM {{schema}}.{{mv_name}} t ORDER BY t.shard_id LIMIT 1)
            UNION ALL
            SELECT (SELECT t.shard_id FROM {{schema}}.{{mv_name}} t WHERE t.shard_id > shards.shard_id ORDER BY t.shard_id LIMIT 1)
            FROM shards
            WHERE shards.shard_id IS NOT NULL
          )
          SELECT n.*
          FROM shards
          CROSS JOIN LATERAL (
            SELECT COALESCE(s.last_sequence_number, '') AS seq_mark,
                   COALESCE(s.last_arrival_timestamp, TIMESTAMP '1900-01-01 00:00:00') AS arrival_mark
            FROM (SELECT 1) one
            LEFT JOIN {{schema}}.merge_state s ON s.stream_name = '{{stream_name}}' AND s.shard_id = shards.shard_id
          ) w
          CROSS JOIN LATERAL (
            SELECT r.* FROM {{schema}}.{{mv_name}} r
            WHERE r.shard_id = shards.shard_id
              AND LPAD(r.sequence_number, {{sequence_width}}, '0') > w.seq_mark
            UNION ALL
            SELECT r.* FROM {{schema}}.{{mv_name}} r
            WHERE r.shard_id = shards.shard_id
              AND r.approximate_arrival_timestamp > w.arrival_mark
              AND LPAD(r.sequence_number, {{sequence_width}}, '0') <= w.seq_mark
          ) n
          WHERE shards.shard_id IS NOT NULL
            AND n.refresh_time >= v_refresh_from_{{stream_index}}
        ) m
