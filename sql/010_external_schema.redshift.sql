-- Streaming ingestion source: the Kinesis streams of this Region, read with the streaming-ingestion role.
CREATE EXTERNAL SCHEMA IF NOT EXISTS {{external_schema}}
FROM KINESIS
IAM_ROLE '{{streaming_role_arn}}';
