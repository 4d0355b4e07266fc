  -- Erasure: new rows of a suppressed subject (sql/070) never reach events. A replay or a re-send after an erasure
  -- is dropped here. Rows dropped at the end of a shard are read again by the next run (the watermark comes from the
  -- batch) and dropped again, until a later row of that shard moves the watermark past them.
  DELETE FROM merge_batch
  WHERE payload IS NOT NULL
    AND ({{subject_hash_match}});
