  -- Postgres only: fresh planner statistics on {{table}}. Without them (a table never analyzed: embedded Postgres
  -- such as PGlite has no autovacuum) the planner falls back on default selectivities and may probe the dedup
  -- lookup through events_time_idx, walking every event in the window for each new row: a merge whose cost grows
  -- with the table. Same rule as autovacuum (analyze after about 10 % growth), measured in pages so that it does
  -- not depend on when the statistics collector flushes. Only the columns the merge looks up: cheap, and a column
  -- list leaves autovacuum's own full analyze due where there is one.
  IF EXISTS (
    SELECT 1 FROM pg_class c
    WHERE c.oid = '{{table}}'::regclass
      AND pg_relation_size(c.oid) / current_setting('block_size')::BIGINT > c.relpages + c.relpages / 10
  ) THEN
    ANALYZE {{table}} ({{columns}});
  END IF;
