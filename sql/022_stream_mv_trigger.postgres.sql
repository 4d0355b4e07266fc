-- Attaches the derive trigger to the stand-in of stream "{{stream_name}}".
CREATE OR REPLACE TRIGGER {{mv_name}}_derive
BEFORE INSERT ON {{schema}}.{{mv_name}}
FOR EACH ROW EXECUTE FUNCTION {{schema}}.stream_mv_derive();
