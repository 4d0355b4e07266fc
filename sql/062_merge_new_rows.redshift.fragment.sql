{{schema}}.{{mv_name}} m
        LEFT JOIN {{schema}}.merge_state s
          ON s.stream_name = '{{stream_name}}' AND s.shard_id = m.shard_id
        WHERE m.refresh_time >= v_refresh_from_{{stream_index}}
          AND (s.shard_id IS NULL
               OR LPAD(m.sequence_number, {{sequence_width}}, '0') > s.last_sequence_number
               OR m.approximate_arrival_timestamp > s.last_arrival_timestamp)
