-- One row per merge run: how many new rows it read and where they went.
CREATE TABLE IF NOT EXISTS {{schema}}.merge_runs (
  merged_at   TIMESTAMP NOT NULL,
  new_rows    BIGINT    NOT NULL,
  inserted    BIGINT    NOT NULL,
  duplicates  BIGINT    NOT NULL,
  rejected    BIGINT    NOT NULL
);
