-- Lets the merge find a shard's rows that arrived after its arrival watermark (a stream recreated under the same name
-- restarts its sequence numbers lower) without scanning the whole stand-in.
CREATE INDEX IF NOT EXISTS {{mv_name}}_arrival_idx
ON {{schema}}.{{mv_name}} (shard_id, approximate_arrival_timestamp);
