-- Streaming MV for stream "{{stream_name}}" (one per stream). It never fails on bad input:
--   * every record is kept with its stream position and its raw bytes (raw, raw_bytes);
--   * is_utf8 tells whether the bytes are valid UTF-8;
--   * payload is the parsed JSON (SUPER) only when the record is at most {{max_record_bytes}} bytes and parses;
--     otherwise NULL, and the merge rejects the row with a reason.
-- The size guard keeps JSON_PARSE away from records whose strings could exceed the SUPER string limit.
CREATE MATERIALIZED VIEW {{schema}}.{{mv_name}} AUTO REFRESH YES AS
SELECT approximate_arrival_timestamp,
       partition_key,
       shard_id,
       sequence_number,
       refresh_time,
       kinesis_data AS raw,
       OCTET_LENGTH(kinesis_data) AS raw_bytes,
       IS_UTF8(kinesis_data) AS is_utf8,
       CASE
         WHEN OCTET_LENGTH(kinesis_data) <= {{max_record_bytes}} AND CAN_JSON_PARSE(kinesis_data)
         THEN JSON_PARSE(kinesis_data)
       END AS payload
FROM {{external_schema}}."{{physical_stream_name}}";
