-- Derives the MV's computed columns from raw (Postgres stand-in only); raw is kept only where payload is NULL.
CREATE OR REPLACE FUNCTION {{schema}}.stream_mv_derive() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  v_text TEXT;
BEGIN
  NEW.raw_bytes := octet_length(NEW."raw");
  NEW.payload := NULL;
  BEGIN
    v_text := convert_from(NEW."raw", 'UTF8');
    NEW.is_utf8 := TRUE;
  EXCEPTION WHEN OTHERS THEN
    NEW.is_utf8 := FALSE;
  END;
  IF NEW.is_utf8 AND NEW.raw_bytes <= {{max_record_bytes}} THEN
    BEGIN
      NEW.payload := v_text::jsonb;
    EXCEPTION WHEN OTHERS THEN
      NEW.payload := NULL;
    END;
  END IF;
  IF NEW.payload IS NOT NULL THEN
    NEW."raw" := NULL;
  END IF;
  RETURN NEW;
END;
$$;
