-- One row per distinct bad record: every record the merge could not turn into an event, and every record streaming
-- ingestion skipped. A record is identified by (stream, partition key, bytes): copies of it (producer retries,
-- failover replays, reconciles) add to `copies` and move the last position; the first position stays.
-- reason is one of: invalid_utf8, too_large, invalid_json, not_object, missing_dedup_key, invalid_dedup_key,
-- implausible_event_time, ingestion_skipped (see sql/README.md).
--   raw      the record's bytes, only where they could not be parsed (as in the streaming MV);
--   payload  the parsed record, where it parsed (not_object, missing/invalid dedup key, implausible event time);
--   error    for ingestion_skipped: streaming ingestion's error code and reason (its bytes never reached the MV;
--            such a record is identified by its position, and partition_key is empty).
CREATE TABLE IF NOT EXISTS {{schema}}.rejects (
  stream_name                   VARCHAR(128)  NOT NULL,
  partition_key                 VARCHAR(1024) NOT NULL,
  reason                        VARCHAR(64)   NOT NULL,
  raw_bytes                     INTEGER       NOT NULL,
  "raw"                           {{raw_type}},
  payload                       {{payload_type}},
  record_hash                   BIGINT,
  error                         VARCHAR(512),
  copies                        BIGINT        NOT NULL,
  shard_id                      VARCHAR(128)  NOT NULL,
  sequence_number               VARCHAR(128)  NOT NULL,
  approximate_arrival_timestamp TIMESTAMP     NOT NULL,
  last_shard_id                 VARCHAR(128)  NOT NULL,
  last_sequence_number          VARCHAR(128)  NOT NULL,
  last_arrival_timestamp        TIMESTAMP     NOT NULL,
  source_region                 VARCHAR(32)   NOT NULL,
  rejected_at                   TIMESTAMP     NOT NULL,
  updated_at                    TIMESTAMP     NOT NULL
){{rejects_table_attributes}};
