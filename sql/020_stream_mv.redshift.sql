-- Streaming MV for stream "{{stream_name}}" (one per stream). It never fails on bad input:
--   * every record is kept with its stream position, its refresh time and its size (raw_bytes);
--   * payload is the parsed JSON (SUPER) when the record is at most {{max_record_bytes}} bytes and parses;
--   * raw holds the record's bytes only where payload is NULL (the merge rejects those rows with a reason): the view
--     keeps every row it ever ingested, so a parsed record is not stored a second time as bytes.
-- SORTKEY (refresh_time): each merge reads only the rows refreshed since its per-stream high-water mark (minus a
-- margin), a constant bound on the sort key, so zone maps skip every older block of the view.
-- IS_UTF8 is not in the Redshift function reference; AWS uses it on kinesis_data in its own streaming-ingestion
-- example: https://aws.amazon.com/blogs/big-data/real-time-analytics-with-amazon-redshift-streaming-ingestion/
-- (first-deploy checklist in sql/README.md: confirm it on a new workgroup).
CREATE MATERIALIZED VIEW {{schema}}.{{mv_name}}
SORTKEY (refresh_time)
AUTO REFRESH YES AS
SELECT approximate_arrival_timestamp,
       partition_key,
       shard_id,
       sequence_number,
       refresh_time,
       OCTET_LENGTH(kinesis_data) AS raw_bytes,
       IS_UTF8(kinesis_data) AS is_utf8,
       CASE
         WHEN OCTET_LENGTH(kinesis_data) <= {{max_record_bytes}} AND CAN_JSON_PARSE(kinesis_data)
         THEN JSON_PARSE(kinesis_data)
       END AS payload,
       CASE
         WHEN OCTET_LENGTH(kinesis_data) <= {{max_record_bytes}} AND CAN_JSON_PARSE(kinesis_data)
         THEN NULL
         ELSE kinesis_data
       END AS "raw"
FROM {{external_schema}}."{{physical_stream_name}}";
