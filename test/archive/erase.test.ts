/**
 * Erasure against the local stand-ins: the warehouse SQL in PGlite (the real merge, with its suppression step), the
 * archive in the local S3 (versioned), the erase runner unchanged.
 */
import { gzipSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { S3Client } from '@aws-sdk/client-s3';
import { ArchiveRecord, recordBytes } from '../../lambda/archive/format';
import { erase, ErasureTargets, finishErasures } from '../../lambda/archive/erase';
import { S3ArchiveStore, decodeArchiveObject, encodeArchiveObject } from '../../lambda/archive/store';
import { DEFAULT_SUBJECT_PATHS, subjectHash } from '../../lambda/archive/subject';
import { MvRecord, PostgresWarehouse, setupPostgresWarehouse } from '../../lib/sql/postgres';
import { createArchiveBucket } from '../../local/archive';
import { LOCAL_CREDENTIALS } from '../../local/emulators';
import { localErasureWarehouse } from '../../local/erase';
import { LocalS3, startLocalS3 } from '../../local/s3';

const SUBJECT = 'user-1';
const BUCKET = 'redstream-test-archive-us-east-1';
const T0 = Date.parse('2026-12-01T10:00:00Z');
const HOUR = 3_600_000;

let db: PGlite;
let wh: PostgresWarehouse;
let s3: LocalS3;
let client: S3Client;
let store: S3ArchiveStore;
let seqNo = 0;

interface Rec {
  readonly partitionKey: string;
  readonly data: Buffer;
}
const json = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));
/** The data set: the subject by userId and by anonymousId, a near-miss id, malformed and binary records. */
const RECORDS: Rec[] = [
  { partitionKey: 'p1', data: json({ messageId: 'a1', userId: SUBJECT, type: 'track', timestamp: '2026-12-01T10:00:00Z' }) },
  { partitionKey: 'p2', data: json({ messageId: 'a2', anonymousId: SUBJECT, type: 'page', timestamp: '2026-12-01T10:00:01Z' }) },
  { partitionKey: 'p3', data: json({ messageId: 'b1', userId: 'user-12', type: 'track', timestamp: '2026-12-01T10:00:02Z' }) },
  { partitionKey: 'p4', data: json({ messageId: 'b2', userId: 'user-2', anonymousId: 'anon-9', note: 'user-1 is my friend', timestamp: '2026-12-01T10:00:03Z' }) },
  { partitionKey: 'p1', data: Buffer.from(`{"messageId":"a3","userId":"${SUBJECT}", broken`) }, // malformed, names the subject
  { partitionKey: 'p5', data: Buffer.from('{"messageId":"b3","userId":"user-12", broken') }, // malformed, another subject
  { partitionKey: 'p6', data: Buffer.from([0xff, 0xfe, 0x00, 0x01]) }, // binary
  { partitionKey: 'p1', data: json({ userId: SUBJECT, type: 'identify' }) }, // no messageId: a reject with a payload
];

const nextSeq = (): string => (10n ** 55n + BigInt(++seqNo)).toString();

function toArchive(recs: Rec[], base: number): ArchiveRecord[] {
  return recs.map((r, i) => ({
    stream: 'redstream-test-events',
    region: 'us-east-1',
    shardId: 'shardId-000000000000',
    sequenceNumber: nextSeq(),
    subsequenceNumber: 0,
    partitionKey: r.partitionKey,
    approximateArrivalTimestampMs: base + i,
    data: r.data.toString('base64'),
  }));
}
const toMv = (a: ArchiveRecord[]): MvRecord[] =>
  a.map((r) => ({ shardId: r.shardId, sequenceNumber: r.sequenceNumber, partitionKey: r.partitionKey, approximateArrivalTimestamp: new Date(r.approximateArrivalTimestampMs), data: recordBytes(r) }));

function targets(now: () => number): ErasureTargets {
  return {
    warehouses: [localErasureWarehouse({ name: 'us-east-1', db, schema: 'wh', streamingViews: [wh.mvTable('events')], retentionMs: 24 * HOUR, clock: now })],
    archives: [{ region: 'us-east-1', bucket: BUCKET, prefixes: ['events/', 'errors/'] }],
    store,
    streams: [{ name: 'redstream-test-events', retentionHours: 24 }],
    archiveDelayMs: 20 * 60_000,
  };
}

async function ids(): Promise<string[]> {
  return (await db.query<{ event_id: string }>('SELECT event_id FROM wh.events ORDER BY event_id')).rows.map((r) => r.event_id);
}
async function archivedRecords(): Promise<ArchiveRecord[]> {
  const out: ArchiveRecord[] = [];
  for (const key of await store.listKeys(BUCKET, 'events/')) out.push(...(await decodeArchiveObject((await store.get(BUCKET, key)).body, key)));
  return out;
}

beforeAll(async () => {
  db = new PGlite();
  await db.waitReady;
  wh = await setupPostgresWarehouse(db, { schema: 'wh', region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-test-events' }] });
  s3 = await startLocalS3();
  client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
  store = new S3ArchiveStore(client);
  await createArchiveBucket(client, BUCKET);

  const first = toArchive(RECORDS, T0);
  await wh.append('events', toMv(first));
  await wh.merge();
  // Two objects (one per half), and one object written twice so that it has an older version too.
  await store.put(BUCKET, 'events/2026/12/01/10/a.gz', await encodeArchiveObject(first.slice(0, 4)), 'application/x-ndjson');
  await store.put(BUCKET, 'events/2026/12/01/10/a.gz', await encodeArchiveObject(first.slice(0, 4)), 'application/x-ndjson');
  await store.put(BUCKET, 'events/2026/12/01/10/b.gz', await encodeArchiveObject(first.slice(4)), 'application/x-ndjson');
  await store.put(BUCKET, 'events/2026/12/01/10/c.gz', await encodeArchiveObject(first.slice(2, 4)), 'application/x-ndjson'); // holds no subject record
  const errorDoc = { attemptsMade: 1, arrivalTimestamp: T0, errorCode: 'Lambda.FunctionError', rawData: json({ userId: SUBJECT, big: true }).toString('base64') };
  await store.put(BUCKET, 'errors/events/processing-failed/2026/12/01/10/e.gz', gzipSync(`${JSON.stringify(errorDoc)}\n`), 'application/octet-stream');
});
afterAll(async () => {
  client.destroy();
  await s3.stop();
  await db.close();
});

test('a dry run counts and changes nothing; the erasure removes the subject from events, rejects and archive (old versions too) and keeps everyone else', async () => {
  expect(await ids()).toEqual(['a1', 'a2', 'b1', 'b2']);
  const rejectsBefore = (await db.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM wh.rejects')).rows[0].n;
  expect(rejectsBefore).toBe(4);
  const clock = () => T0 + HOUR;
  // b.gz has reached the lifecycle's cold storage (coldStorageAfterDays): its rewrite is counted apart.
  s3.transition(BUCKET, 'events/2026/12/01/10/b.gz', 'GLACIER_IR');

  const dry = await erase({ subject: SUBJECT, paths: DEFAULT_SUBJECT_PATHS, dryRun: true }, targets(clock), { clock });
  expect(dry.warehouses).toEqual([{ name: 'us-east-1', eventsDeleted: 2, rejectsDeleted: 2 }]);
  // A dry run counts what the erasure would do: 2 objects rewritten, 1 emptied, 4 versions deleted (a.gz's older one too).
  expect(dry.archive).toMatchObject({ recordsRemoved: 5, objectsRewritten: 2, objectsDeleted: 1, versionsDeleted: 4, byStorageClass: { STANDARD: 2, GLACIER_IR: 1 } });
  expect(await ids()).toEqual(['a1', 'a2', 'b1', 'b2']);
  expect(s3.stats(BUCKET).versions).toBe(5);

  const report = await erase({ subject: SUBJECT, paths: DEFAULT_SUBJECT_PATHS }, targets(clock), { clock });
  expect(report.subjectHash).toBe(subjectHash(SUBJECT));
  expect(report.warehouses).toEqual([{ name: 'us-east-1', eventsDeleted: 2, rejectsDeleted: 2 }]);
  // a1, a2 (a.gz); the malformed and the payload reject (b.gz); the error document.
  expect(report.archive).toMatchObject({ recordsRemoved: 5, objectsRewritten: 2, objectsDeleted: 1, versionsDeleted: 4, byStorageClass: { STANDARD: 2, GLACIER_IR: 1 } });
  // The rewrite stays in the class the object was in (not back in STANDARD for another coldStorageAfterDays).
  expect((await store.get(BUCKET, 'events/2026/12/01/10/b.gz')).storageClass).toBe('GLACIER_IR');
  expect((await store.get(BUCKET, 'events/2026/12/01/10/a.gz')).storageClass).toBe('STANDARD');
  expect(report.pending.map((p) => p.clearAt)).toEqual(['2026-12-02T11:00:00.000Z', '2026-12-02T12:00:00.000Z', '2026-12-03T11:20:00.000Z']);
  // The archive: the streams' retention, a day of Firehose's S3 delivery retries and the archive delay (20 min).

  expect(await ids()).toEqual(['b1', 'b2']);
  const rejects = (await db.query<{ raw: Uint8Array | null; payload: unknown }>('SELECT raw, payload FROM wh.rejects')).rows;
  expect(rejects).toHaveLength(2);
  for (const r of rejects) expect(Buffer.concat([r.raw ? Buffer.from(r.raw) : Buffer.alloc(0), Buffer.from(JSON.stringify(r.payload ?? null))]).toString('latin1')).not.toContain(`"${SUBJECT}"`);
  const left = await archivedRecords();
  expect(left.map((r) => recordBytes(r).toString('latin1')).filter((t) => t.includes(`"${SUBJECT}"`))).toEqual([]);
  expect(left).toHaveLength(6); // 3 others in a/b + the 2 records of c.gz + binary
  // One version per remaining object: the old versions that held the subject are gone; c.gz was not touched.
  expect(s3.stats(BUCKET)).toMatchObject({ objects: 3, versions: 3 });
  expect(await store.listKeys(BUCKET, 'errors/')).toEqual([]);

  // The audit row: hash and counts, never the subject.
  const audit = (await db.query<Record<string, unknown>>('SELECT * FROM wh.erasure_requests')).rows;
  expect(audit).toHaveLength(1);
  expect(audit[0]).toMatchObject({ request_id: report.requestId, subject_hash: subjectHash(SUBJECT), status: 'erased', events_deleted: 2, rejects_deleted: 2, archive_records_removed: 5 });
  expect(JSON.stringify(audit)).not.toContain(SUBJECT);
  const suppressed = (await db.query<Record<string, unknown>>('SELECT * FROM wh.suppressed_subjects')).rows;
  expect(JSON.stringify(suppressed)).not.toContain(SUBJECT);
});

test('a replay (or re-send) after the erasure does not bring the rows back; other new events still merge', async () => {
  const replayed = toArchive([...RECORDS, { partitionKey: 'p9', data: json({ messageId: 'c1', userId: 'user-3' }) }], T0 + 2 * HOUR);
  await wh.append('events', toMv(replayed));
  const run = await wh.merge();
  expect(await ids()).toEqual(['b1', 'b2', 'c1']);
  expect(run.inserted).toBe(1);
  // The merge moved past the dropped rows: the next run reads nothing new.
  expect((await wh.merge()).newRows).toBe(0);
});

test('the scheduled step waits until the streams have expired the records, then clears the streaming view and marks the request finished', async () => {
  const early = await finishErasures(targets(() => T0 + 2 * HOUR), DEFAULT_SUBJECT_PATHS, { clock: () => T0 + 2 * HOUR });
  expect(early.finished).toEqual([]);
  expect(early.waiting).toHaveLength(1);

  // The views are due an hour after the streams' retention; the archive sweep (and so the request) a day later.
  const viewsDue = T0 + 30 * HOUR;
  const views = await finishErasures(targets(() => viewsDue), DEFAULT_SUBJECT_PATHS, { clock: () => viewsDue });
  expect(views.finished).toEqual([]);
  expect(views.streamingViewRowsDeleted).toBeGreaterThan(0);
  expect(views.waiting).toEqual([expect.objectContaining({ dueAt: '2026-12-03T11:20:00.000Z' })]);
  expect((await db.query<{ status: string }>('SELECT status FROM wh.erasure_requests')).rows).toEqual([{ status: 'erased' }]);

  const later = T0 + 50 * HOUR;
  const done = await finishErasures(targets(() => later), DEFAULT_SUBJECT_PATHS, { clock: () => later });
  expect(done.finished).toHaveLength(1);
  expect(done.streamingViewsRecreated).toBe(0);
  const mvLeft = (await db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${wh.mvTable('events')}`)).rows[0].n;
  expect(mvLeft).toBe(0);
  const status = (await db.query<{ status: string }>('SELECT status FROM wh.erasure_requests')).rows;
  expect(status).toEqual([{ status: 'finished' }]);
});
