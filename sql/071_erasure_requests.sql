-- Erasure audit: one row per erase request, with what was removed where and when; never the subject in clear.
--   status  running -> erased (events, rejects and archive done; streams and the streaming view pending until their
--           *_clear_at) -> finished (the scheduled step ran after those times and found nothing left).
--   The scheduled step's phases (lambda/archive/erase.ts finishErasures), so that a run stopped by its deadline resumes
--   and never recreates the streaming views twice for the same request:
--   views_recreated_at     when the streaming views were recreated for this request (once);
--   archive_swept_through  the last archive unit (`<region>:<prefix>`, or `…@<key>` part-way) swept for objects
--                          written since the request; archive_swept_at when every unit was.
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
  views_recreated_at        TIMESTAMP,
  archive_swept_through     VARCHAR(1024),
  archive_swept_at          TIMESTAMP,
  finished_at               TIMESTAMP,
  finish_events_deleted     BIGINT,
  finish_rejects_deleted    BIGINT,
  finish_archive_removed    BIGINT
);
