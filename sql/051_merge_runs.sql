-- One row per merge run: how many new rows it read and where they went. skipped: records streaming ingestion
-- skipped that this run turned into rejects (SYS_STREAM_SCAN_ERRORS); skipped_reported: the rows streaming ingestion
-- reported skipped since the previous run (SYS_STREAM_SCAN_STATES). The merge function emits both as metrics.
CREATE TABLE IF NOT EXISTS {{schema}}.merge_runs (
  merged_at        TIMESTAMP NOT NULL,
  new_rows         BIGINT    NOT NULL,
  inserted         BIGINT    NOT NULL,
  duplicates       BIGINT    NOT NULL,
  rejected         BIGINT    NOT NULL,
  skipped          BIGINT    NOT NULL,
  skipped_reported BIGINT    NOT NULL
);
