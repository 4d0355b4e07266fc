-- Per stream, the high-water marks the merge bounds its reads with: the latest refresh_time merged from the stream's
-- MV (its sort key) and the latest record_time of the ingestion errors turned into rejects. Each run reads from the
-- mark minus {{refresh_margin_minutes}} minutes (a constant per run, so zone maps skip the older blocks); the exact
-- per-shard test in merge_state decides which of those rows are new.
CREATE TABLE IF NOT EXISTS {{schema}}.merge_streams (
  stream_name           VARCHAR(128) NOT NULL,
  refresh_high_water    TIMESTAMP,
  scan_error_high_water TIMESTAMP,
  updated_at            TIMESTAMP    NOT NULL
);
