  -- Postgres only: temporary tables are never analyzed automatically; without statistics the planner takes the
  -- batch for a handful of rows. Only the columns later steps join, group or filter on.
  ANALYZE merge_batch (stream_name, shard_id, event_id, event_time, reject_reason);
