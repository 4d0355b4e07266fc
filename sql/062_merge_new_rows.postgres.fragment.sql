(
        -- The same rows as in Redshift (above each shard's watermark; every row of a shard not seen yet), found
        -- through the stand-in's (shard_id, padded sequence number) index instead of a scan: the shards are
        -- enumerated with a loose index scan, then each shard is read from its watermark on.
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
          SELECT COALESCE((SELECT s.last_sequence_number FROM {{schema}}.merge_state s
                           WHERE s.stream_name = '{{stream_name}}' AND s.shard_id = shards.shard_id), '') AS watermark
        ) w
        CROSS JOIN LATERAL (
          SELECT r.* FROM {{schema}}.{{mv_name}} r
          WHERE r.shard_id = shards.shard_id
            AND LPAD(r.sequence_number, {{sequence_width}}, '0') > w.watermark
        ) n
        WHERE shards.shard_id IS NOT NULL
      ) m
