-- Postgres stand-in for Redshift's SYS_STREAM_SCAN_ERRORS (the columns the merge reads): records streaming ingestion
-- skipped, e.g. records larger than it takes. The local loader writes here what it does not append to an MV stand-in.
CREATE TABLE IF NOT EXISTS {{schema}}.sys_stream_scan_errors (
  external_schema_name CHAR(128)    NOT NULL,
  stream_name          CHAR(255)    NOT NULL,
  mv_name              CHAR(128)    NOT NULL,
  record_time          TIMESTAMP    NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  stream_timestamp     TIMESTAMP,
  partition_id         CHAR(128)    NOT NULL,
  position             CHAR(128)    NOT NULL,
  error_code           INTEGER,
  error_reason         CHAR(128)
);
