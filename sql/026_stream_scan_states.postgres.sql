-- Postgres stand-in for Redshift's SYS_STREAM_SCAN_STATES (the columns the merge reads): per ingestion batch, the
-- records scanned and skipped. The local loader writes one row per read batch.
CREATE TABLE IF NOT EXISTS {{schema}}.sys_stream_scan_states (
  external_schema_name CHAR(128)    NOT NULL,
  stream_name          CHAR(255)    NOT NULL,
  mv_name              CHAR(128)    NOT NULL,
  record_time          TIMESTAMP    NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  partition_id         CHAR(128)    NOT NULL,
  latest_position      CHAR(128),
  scanned_rows         BIGINT       NOT NULL,
  skipped_rows         BIGINT       NOT NULL,
  scanned_bytes        BIGINT       NOT NULL
);
