/**
 * A warehouse bootstrapped before a column was added to erasure_requests (sql/071) gets it from the bootstrap's
 * migration (sql/073, 074): 071's CREATE TABLE IF NOT EXISTS alone leaves the old table as it was. Run in PGlite with
 * the Postgres rendering; the Redshift rendering differs only in the catalog view it reads.
 */
import { PGlite } from '@electric-sql/pglite';
import { renderSql, WarehouseSqlParams } from '../../lib/sql/render';

let db: PGlite;

beforeAll(async () => {
  db = new PGlite();
  await db.waitReady;
});

afterAll(async () => {
  await db.close();
});

const params = (schema: string): WarehouseSqlParams => ({
  schema,
  region: 'us-east-1',
  streams: [{ name: 'events', physicalName: 'redstream-test-events' }],
});

/** erasure_requests as the first release of 071 created it, before the finishing step's phase columns. */
const OLD_SHAPE = (schema: string): string => `
CREATE SCHEMA ${schema};
CREATE TABLE ${schema}.erasure_requests (
  request_id VARCHAR(64) NOT NULL, subject_hash VARCHAR(64) NOT NULL, subject_paths VARCHAR(1024) NOT NULL,
  status VARCHAR(16) NOT NULL, requested_at TIMESTAMP NOT NULL, erased_at TIMESTAMP, events_deleted BIGINT,
  rejects_deleted BIGINT, archive_records_removed BIGINT, archive_objects_rewritten BIGINT,
  archive_versions_deleted BIGINT, streams_clear_at TIMESTAMP, mv_clear_at TIMESTAMP, finished_at TIMESTAMP,
  finish_events_deleted BIGINT, finish_rejects_deleted BIGINT, finish_archive_removed BIGINT
);
INSERT INTO ${schema}.erasure_requests (request_id, subject_hash, subject_paths, status, requested_at)
VALUES ('r1', '${'a'.repeat(64)}', 'userId', 'erased', '2026-11-01 00:00:00');`;

async function columns(schema: string): Promise<Array<{ column_name: string; data_type: string; character_maximum_length: number | null }>> {
  const r = await db.query<{ column_name: string; data_type: string; character_maximum_length: number | null }>(
    `SELECT column_name, data_type, character_maximum_length FROM information_schema.columns
     WHERE table_schema = $1 AND table_name = 'erasure_requests' ORDER BY column_name`,
    [schema],
  );
  return r.rows;
}

async function bootstrap(schema: string): Promise<void> {
  for (const s of renderSql(params(schema), { dialect: 'postgres' })) await db.exec(s.sql);
}

test('the bootstrap adds the missing columns to an old erasure_requests, keeps its rows, and a second run changes nothing', async () => {
  await db.exec(OLD_SHAPE('old_wh'));
  const before = (await columns('old_wh')).map((c) => c.column_name);
  expect(before).not.toContain('views_recreated_at');
  expect(before).not.toContain('archive_swept_through');
  expect(before).not.toContain('archive_swept_at');

  await bootstrap('old_wh');
  await bootstrap('fresh_wh');
  const migrated = await columns('old_wh');
  // Every column a fresh bootstrap creates, with the same type: the migration covers all of 071.
  expect(migrated).toEqual(await columns('fresh_wh'));
  expect(migrated.map((c) => c.column_name)).toEqual(expect.arrayContaining(['views_recreated_at', 'archive_swept_through', 'archive_swept_at']));

  await bootstrap('old_wh');
  expect(await columns('old_wh')).toEqual(migrated);
  const rows = await db.query<{ request_id: string; views_recreated_at: unknown; archive_swept_through: unknown }>(
    'SELECT request_id, views_recreated_at, archive_swept_through FROM old_wh.erasure_requests',
  );
  expect(rows.rows).toEqual([{ request_id: 'r1', views_recreated_at: null, archive_swept_through: null }]);
});

test('the Redshift rendering checks svv_columns and adds one column per ALTER TABLE', () => {
  const statements = renderSql({ ...params('redstream'), streamingRoleArn: 'arn:aws:iam::111111111111:role/s' }, { dialect: 'redshift' });
  const procedure = statements.find((s) => s.id === '073_erasure_requests_columns.sql')?.sql ?? '';
  expect(procedure).toContain('FROM svv_columns');
  expect(procedure).not.toContain('information_schema');
  const adds = [...procedure.matchAll(/ALTER TABLE redstream\.erasure_requests ADD COLUMN (\w+)/g)].map((m) => m[1]);
  expect(adds).toEqual(['views_recreated_at', 'archive_swept_through', 'archive_swept_at']);
  expect(procedure).not.toMatch(/ADD COLUMN IF NOT EXISTS/i);
  expect(statements.map((s) => s.id).slice(-2)).toEqual(['073_erasure_requests_columns.sql', '074_erasure_requests_migrate.sql']);
});
