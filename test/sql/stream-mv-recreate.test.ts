/**
 * Recreating a streaming view (the erasure's last step, lambda/archive/streaming-views.ts) is safe for the merge: the
 * new view reads its stream again from the oldest record the stream still holds, with new refresh times, and the
 * merge's per-shard watermark must neither duplicate what it merged before nor lose what it had not merged yet.
 *
 * Checked by running the portable SQL in PGlite: one warehouse whose view is dropped and created again from the
 * rendered statements (020-024 for the stream) mid-stream and re-fed with the retained records, against a control
 * warehouse fed the same records once. What only a real workgroup can confirm (that a recreated Redshift streaming
 * view starts at the stream's trim horizon and stamps the re-read rows with a refresh_time of its first refresh) is in
 * sql/README.md's first-deploy checklist.
 */
import { PGlite } from '@electric-sql/pglite';
import { MvRecord, PostgresWarehouse, setupPostgresWarehouse } from '../../lib/sql/postgres';
import { mvName, renderSql, renderStreamingViews, STREAMING_INGESTION_MAX_RECORD_BYTES, WarehouseSqlParams } from '../../lib/sql/render';
import { recreateStatements } from '../../lambda/archive/streaming-views';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const SHARDS = ['shardId-000000000000', 'shardId-000000000001'];

let db: PGlite;
const params = (schema: string): WarehouseSqlParams => ({ schema, region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-test-events' }] });

/**
 * 30 records per shard: events, producer re-sends (same id, new position), malformed and keyless records, and a record
 * too large for streaming ingestion (skipped and logged in the scan-error stand-in, as a recreated view logs it again).
 */
function stream(): MvRecord[] {
  const out: MvRecord[] = [];
  SHARDS.forEach((shardId, s) => {
    for (let i = 0; i < 30; i++) {
      const at = new Date(T0 + i * 60_000 + s);
      let data: string;
      if (i % 10 === 7) data = `{"messageId":"bad-${s}-${i}", broken`;
      else if (i % 10 === 8) data = JSON.stringify({ type: 'track', userId: `u${i}` }); // no messageId: a reject
      else if (i === 12) data = `{"messageId":"huge-${s}","pad":"${'x'.repeat(1_100_000)}"}`; // skipped by streaming ingestion, logged as a scan error
      else if (i % 10 === 9) data = JSON.stringify({ messageId: `m-${s}-${i - 5}`, type: 'track', userId: `u${i}`, timestamp: new Date(T0).toISOString() }); // a re-send
      else data = JSON.stringify({ messageId: `m-${s}-${i}`, type: 'track', userId: `u${i}`, timestamp: new Date(T0).toISOString() });
      out.push({ shardId, sequenceNumber: String(49_000_000_000n + BigInt(i)), partitionKey: `k${i % 4}`, approximateArrivalTimestamp: at, data: Buffer.from(data) });
    }
  });
  return out;
}
const refreshedAt = (records: MvRecord[], at: number): MvRecord[] => records.map((r) => ({ ...r, refreshTime: new Date(at) }));
const arrivedBefore = (minute: number) => (r: MvRecord) => r.approximateArrivalTimestamp.getTime() < T0 + minute * 60_000;

async function tables(schema: string): Promise<{ events: unknown[]; rejects: unknown[] }> {
  const events = (await db.query(`SELECT stream_name, event_id, shard_id, sequence_number, payload::text AS payload FROM ${schema}.events ORDER BY stream_name, event_id`)).rows;
  const rejects = (
    await db.query(
      `SELECT reason, shard_id, sequence_number, last_shard_id, last_sequence_number, copies, raw_bytes, encode("raw", 'hex') AS raw, payload::text AS payload FROM ${schema}.rejects ORDER BY shard_id, sequence_number, reason`,
    )
  ).rows;
  return { events, rejects };
}

/** Drops the stand-in view and creates it again from the same rendered statements the setup ran. */
async function recreateStandIn(schema: string): Promise<void> {
  await db.exec(`DROP TABLE ${schema}.${mvName('events')} CASCADE`);
  for (const s of renderSql(params(schema), { dialect: 'postgres' })) {
    if (/^02[0-4]_.*\.postgres\.sql:events$/.test(s.id)) await db.exec(s.sql);
  }
}

let control: PostgresWarehouse;
let recreated: PostgresWarehouse;

beforeAll(async () => {
  db = new PGlite();
  await db.waitReady;
  control = await setupPostgresWarehouse(db, params('control'));
  recreated = await setupPostgresWarehouse(db, params('recreated'));
});
afterAll(async () => {
  await db.close();
});

test('after a recreation the merge neither repeats what it merged nor loses what it had not merged: same events and rejects as without one', async () => {
  const all = stream();
  // Control: the records reach the view in two refreshes and are merged twice.
  await control.append('events', refreshedAt(all.filter(arrivedBefore(20)), T0 + 20 * 60_000));
  await control.merge();
  await control.append('events', refreshedAt(all.filter((r) => !arrivedBefore(20)(r)), T0 + 30 * 60_000));
  await control.merge();

  // Recreated: the first 20 minutes are merged; then 10 more minutes reach the view but are not merged yet, when the
  // view is dropped and created again. The stream still holds the records from minute 8 on (the rest has expired):
  // the new view reads them all again, at its first refresh.
  await recreated.append('events', refreshedAt(all.filter(arrivedBefore(20)), T0 + 20 * 60_000));
  const first = await recreated.merge();
  await recreated.append('events', refreshedAt(all.filter((r) => !arrivedBefore(20)(r)), T0 + 30 * 60_000));
  await recreateStandIn('recreated');
  expect((await db.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM recreated.stream_events')).rows[0].n).toBe(0);
  const retained = all.filter((r) => !arrivedBefore(8)(r));
  await recreated.append('events', refreshedAt(retained, T0 + 40 * 60_000));
  const after = await recreated.merge();

  expect(await tables('recreated')).toEqual(await tables('control'));
  // The run after the recreation read the retained rows and found only the ten minutes not merged before as new.
  // (Rows of the view: the records streaming ingestion skipped are not in it; they are rejects, compared above.)
  const inView = (rs: MvRecord[]): number => rs.filter((r) => r.data.byteLength <= STREAMING_INGESTION_MAX_RECORD_BYTES).length;
  expect(after.newRows).toBe(inView(all) - inView(all.filter(arrivedBefore(20))));
  expect(first.newRows + after.newRows).toBe(inView(all));
  const skipped = (await db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM recreated.rejects WHERE reason = 'ingestion_skipped'`)).rows[0].n;
  expect(skipped).toBe(2); // logged twice by ingestion (before and after the recreation), one reject each
  // And nothing is left for the next run.
  expect((await recreated.merge()).newRows).toBe(0);
});

test('the statements the scheduled step recreates a Redshift view with are the bootstrap\'s own, dropped first', () => {
  const [view] = renderStreamingViews({ region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-test-events' }] });
  const bootstrap = renderSql({ ...params('redstream'), streamingRoleArn: 'arn:aws:iam::111111111111:role/r' }, { dialect: 'redshift' }).find((s) => s.kind === 'materialized-view')!;
  const words = (sql: string): string => sql.split('\n').filter((l) => !l.trim().startsWith('--')).join(' ').replace(/\s+/g, ' ').trim().replace(/;$/, '');
  expect(view.sql).toBe(words(bootstrap.sql));
  expect(recreateStatements(view)).toEqual(['DROP MATERIALIZED VIEW IF EXISTS redstream.stream_events', view.sql]);
  expect(view.sql).toMatch(/^CREATE MATERIALIZED VIEW redstream\.stream_events SORTKEY \(refresh_time\) AUTO REFRESH YES AS SELECT /);
});
