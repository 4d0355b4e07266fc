-- Bookkeeping for the deployment custom resource: the definition hash of each materialized view it created.
-- Materialized views have no CREATE OR REPLACE, so the runner compares hashes to decide skip / create / recreate.
CREATE TABLE IF NOT EXISTS {{schema}}.deployed_objects (
  object_name     VARCHAR(256) NOT NULL,
  definition_hash VARCHAR(64)  NOT NULL,
  applied_at      TIMESTAMP    NOT NULL
);
