-- Columns added to erasure_requests (071) after its first release. 071's CREATE TABLE IF NOT EXISTS does nothing on a
-- warehouse bootstrapped before them, so this procedure adds each one missing. Redshift's ALTER TABLE ADD COLUMN has
-- no IF NOT EXISTS and adds one column per statement: the catalog ({{columns_catalog}}) decides, and a second run
-- adds nothing. 074 calls it on every bootstrap. A column added to 071 later gets its block here too.
CREATE OR REPLACE PROCEDURE {{schema}}.migrate_erasure_requests()
LANGUAGE plpgsql
AS $$
DECLARE
  v_found INTEGER;
BEGIN
  SELECT INTO v_found COUNT(*) FROM {{columns_catalog}}
  WHERE table_schema = '{{schema}}' AND table_name = 'erasure_requests' AND column_name = 'views_recreated_at';
  IF v_found = 0 THEN
    EXECUTE 'ALTER TABLE {{schema}}.erasure_requests ADD COLUMN views_recreated_at TIMESTAMP';
  END IF;
  SELECT INTO v_found COUNT(*) FROM {{columns_catalog}}
  WHERE table_schema = '{{schema}}' AND table_name = 'erasure_requests' AND column_name = 'archive_swept_through';
  IF v_found = 0 THEN
    EXECUTE 'ALTER TABLE {{schema}}.erasure_requests ADD COLUMN archive_swept_through VARCHAR(1024)';
  END IF;
  SELECT INTO v_found COUNT(*) FROM {{columns_catalog}}
  WHERE table_schema = '{{schema}}' AND table_name = 'erasure_requests' AND column_name = 'archive_swept_at';
  IF v_found = 0 THEN
    EXECUTE 'ALTER TABLE {{schema}}.erasure_requests ADD COLUMN archive_swept_at TIMESTAMP';
  END IF;
END;
$$;
