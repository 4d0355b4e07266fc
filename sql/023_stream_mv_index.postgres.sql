-- Lets the merge find a shard's rows above its sequence watermark without scanning the whole stand-in.
CREATE INDEX IF NOT EXISTS {{mv_name}}_position_idx
ON {{schema}}.{{mv_name}} (shard_id, (LPAD(sequence_number, {{sequence_width}}, '0')));
