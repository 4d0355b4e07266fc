-- Erasure audit: one row per erase request, with what was removed where and when; never the subject in clear.
--   status  running -> erased (events, rejects and archive done; streams and the streaming view pending until their
--           *_clear_at) -> finished (the scheduled step ran after those times and found nothing left).
CREATE TABLE IF NOT EXISTS {{schema}}.erasure_requests (
  request_id                VARCHAR(64)   NOT NULL,
  subject_hash              VARCHAR(64)   NOT NULL,
  subject_paths             VARCHAR(1024) NOT NULL,
  status                    VARCHAR(16)   NOT NULL,
  requested_at              TIMESTAMP     NOT NULL,
  erased_at                 TIMESTAMP,
  events_deleted            BIGINT,
  rejects_deleted           BIGINT,
  archive_records_removed   BIGINT,
  archive_objects_rewritten BIGINT,
  archive_versions_deleted  BIGINT,
  streams_clear_at          TIMESTAMP,
  mv_clear_at               TIMESTAMP,
  finished_at               TIMESTAMP,
  finish_events_deleted     BIGINT,
  finish_rejects_deleted    BIGINT,
  finish_archive_removed    BIGINT
);
