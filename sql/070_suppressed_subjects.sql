-- Erasure: the subjects whose records must never come back (a replay, a re-send or a recreated streaming view).
-- subject_hash is SHA-256 of the subject's value (UTF-8), lower-case hex; the subject itself is never stored.
-- The merge drops new rows whose subject paths ({{subject_paths}}) hash to a row here (sql/072 fragment).
CREATE TABLE IF NOT EXISTS {{schema}}.suppressed_subjects (
  subject_hash  VARCHAR(64) NOT NULL,
  request_id    VARCHAR(64) NOT NULL,
  suppressed_at TIMESTAMP   NOT NULL
);
