/**
 * The erasure's scheduled step and the archive sweep against the local stand-ins (PGlite warehouse, local S3 with a
 * clock, so that objects can be written at chosen times): a run stopped by its deadline resumes without recreating
 * the streaming views again; late objects are selected by LastModified, not by the hour in their key; noncurrent
 * versions are searched (also a listed latest replaced before it is read, and a version read before its object was
 * deleted); a concurrent rewrite cannot bring erased records back; a request due mid-sweep waits for the next batch.
 */
import { PGlite } from '@electric-sql/pglite';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ArchiveRecord, recordBytes } from '../../lambda/archive/format';
import { erase, ErasureTargets, ErasureWarehouse, finishErasures } from '../../lambda/archive/erase';
import { ArchiveStore, S3ArchiveStore, decodeArchiveObject, encodeArchiveObject } from '../../lambda/archive/store';
import { DEFAULT_SUBJECT_PATHS } from '../../lambda/archive/subject';
import { PostgresWarehouse } from '../../lib/sql/postgres';
import { createArchiveBucket } from '../../local/archive';
import { localErasureWarehouse } from '../../local/erase';
import { LocalS3 } from '../../local/s3';
import { EraseWorld, everyVersionText, startEraseWorld } from './erase-world';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-01T10:00:00Z');
const STREAM = 'redstream-test-events';

let db: PGlite;
let wh: PostgresWarehouse;
let s3: LocalS3;
let s3Now = T0;
let client: S3Client;
let store: S3ArchiveStore;
let seq = 0;
let bucketNo = 0;

const rec = (o: Record<string, unknown>, partitionKey = 'p'): ArchiveRecord => ({
  stream: STREAM,
  region: 'us-east-1',
  shardId: 'shardId-000000000000',
  sequenceNumber: String(10n ** 30n + BigInt(++seq)),
  subsequenceNumber: 0,
  partitionKey,
  approximateArrivalTimestampMs: T0,
  data: Buffer.from(JSON.stringify(o)).toString('base64'),
});

/** Counts the streaming views' recreations. */
let recreations = 0;
function warehouse(now: number): ErasureWarehouse {
  const inner = localErasureWarehouse({ name: 'us-east-1', db, schema: 'wh', streamingViews: [wh.mvTable('events')], retentionMs: 24 * HOUR, clock: () => now });
  return {
    ...inner,
    async clearStreamingViews() {
      recreations++;
      return inner.clearStreamingViews();
    },
  };
}

function targets(now: number, bucket: string, s = store as ArchiveStore): ErasureTargets {
  return {
    warehouses: [warehouse(now)],
    archives: [{ region: 'us-east-1', bucket, prefixes: ['events/', 'errors/'] }],
    store: s,
    streams: [{ name: STREAM, retentionHours: 24 }],
    archiveDelayMs: 20 * 60_000,
  };
}

async function newBucket(): Promise<string> {
  const bucket = `erase-finish-${++bucketNo}`;
  await createArchiveBucket(client, bucket);
  await db.exec(`DELETE FROM wh.erasure_requests; DELETE FROM wh.suppressed_subjects;`);
  return bucket;
}

let world: EraseWorld;
beforeAll(async () => {
  world = await startEraseWorld(STREAM, () => s3Now);
  ({ db, wh, s3, client, store } = world);
});
afterAll(() => world.stop());

test('a finish run stopped after recreating the views does not recreate them again; the next run resumes the archive sweep where it stopped', async () => {
  const bucket = await newBucket();
  s3Now = T0 - 2 * HOUR;
  await erase({ subject: 'user-1', paths: DEFAULT_SUBJECT_PATHS }, targets(T0, bucket), { clock: () => T0 });
  // Two late deliveries after the request, in two keys.
  s3Now = T0 + 10 * 60_000;
  await store.put(bucket, 'events/2026/12/01/10/late-a.gz', await encodeArchiveObject([rec({ userId: 'user-1' }), rec({ userId: 'user-2' })]), 'application/x-ndjson');
  await store.put(bucket, 'events/2026/12/01/10/late-b.gz', await encodeArchiveObject([rec({ userId: 'user-1' }), rec({ userId: 'user-3' })]), 'application/x-ndjson');

  const later = T0 + 50 * HOUR;
  recreations = 0;
  // A deadline reached once the views are recreated and one object is read.
  const reads: string[] = [];
  const counting: ArchiveStore = Object.assign(Object.create(store) as S3ArchiveStore, {
    get: async (b: string, k: string, v?: string) => {
      reads.push(k);
      return store.get(b, k, v);
    },
  });
  const first = await finishErasures(targets(later, bucket, counting), DEFAULT_SUBJECT_PATHS, { clock: () => later, remainingMs: () => (recreations > 0 && reads.length > 0 ? 0 : 60_000) });
  expect(first.complete).toBe(false);
  expect(first.finished).toEqual([]);
  expect(recreations).toBe(1);
  const audit = (await db.query<{ status: string; views: Date | null; through: string | null }>('SELECT status, views_recreated_at AS views, archive_swept_through AS through FROM wh.erasure_requests')).rows;
  expect(audit).toEqual([{ status: 'erased', views: expect.any(Date), through: 'us-east-1:events/2026/12/01/@events/2026/12/01/10/late-a.gz' }]);

  const second = await finishErasures(targets(later + HOUR, bucket, counting), DEFAULT_SUBJECT_PATHS, { clock: () => later + HOUR });
  expect(second.complete).toBe(true);
  expect(second.finished).toHaveLength(1);
  expect(second.streamingViewsRecreated).toBe(0);
  expect(recreations).toBe(1);
  // late-a.gz was swept by the first run: the second read only late-b.gz.
  expect(reads.filter((k) => k.endsWith('late-a.gz'))).toHaveLength(1);
  expect(await everyVersionText(store, bucket)).not.toContain('"user-1"');
  expect((await db.query<{ status: string; removed: string }>('SELECT status, finish_archive_removed::text AS removed FROM wh.erasure_requests')).rows).toEqual([{ status: 'finished', removed: '2' }]);
});

test('a run that dies inside a day prefix (not at its deadline) saved its progress every few keys: the next run resumes from there', async () => {
  const bucket = await newBucket();
  s3Now = T0 - HOUR;
  await erase({ subject: 'user-1', paths: DEFAULT_SUBJECT_PATHS }, targets(T0, bucket), { clock: () => T0 });
  s3Now = T0 + 10 * 60_000;
  const keys = ['a', 'b', 'c', 'd', 'e'].map((k) => `events/2026/12/01/10/late-${k}.gz`);
  for (const key of keys) await store.put(bucket, key, await encodeArchiveObject([rec({ userId: 'user-1' }), rec({ userId: 'user-2' })]), 'application/x-ndjson');

  const later = T0 + 50 * HOUR;
  const reads: string[] = [];
  let dieAt: string | undefined = keys[3];
  const dying: ArchiveStore = Object.assign(Object.create(store) as S3ArchiveStore, {
    get: async (b: string, k: string, v?: string) => {
      if (k === dieAt) throw new Error('Runtime exited with error: signal: killed');
      reads.push(k);
      return store.get(b, k, v);
    },
  });
  await expect(finishErasures(targets(later, bucket, dying), DEFAULT_SUBJECT_PATHS, { clock: () => later, saveEveryKeys: 2 })).rejects.toThrow('killed');
  // Saved after the second key; the third was swept but not saved.
  const through = (await db.query<{ through: string }>('SELECT archive_swept_through AS through FROM wh.erasure_requests')).rows[0].through;
  expect(through).toBe(`us-east-1:events/2026/12/01/@${keys[1]}`);

  dieAt = undefined;
  reads.length = 0;
  const next = await finishErasures(targets(later + HOUR, bucket, dying), DEFAULT_SUBJECT_PATHS, { clock: () => later + HOUR, saveEveryKeys: 2 });
  expect(next.finished).toHaveLength(1);
  // Resumed after the second key: neither of the first two is read again.
  expect(reads.filter((k) => k === keys[0] || k === keys[1])).toEqual([]);
  expect(reads).toContain(keys[4]);
  expect(await everyVersionText(store, bucket)).not.toContain('"user-1"');
  expect((await everyVersionText(store, bucket)).match(/"user-2"/g)).toHaveLength(5);
});

test('the scheduled step selects late objects by LastModified: an object keyed hours before the request but written after it is swept; objects written before are not read', async () => {
  const bucket = await newBucket();
  s3Now = T0 - 3 * HOUR;
  await store.put(bucket, 'events/2026/12/01/07/before.gz', await encodeArchiveObject([rec({ userId: 'user-2' })]), 'application/x-ndjson');
  s3Now = T0 - HOUR;
  await erase({ subject: 'user-1', paths: DEFAULT_SUBJECT_PATHS }, targets(T0, bucket), { clock: () => T0 });
  // Its oldest record reached Firehose at 08:xx (a Kinesis backlog); delivered (written) at 10:40, after the request at 10:00.
  s3Now = T0 + 40 * 60_000;
  await store.put(bucket, 'events/2026/12/01/08/late.gz', await encodeArchiveObject([rec({ userId: 'user-1' }), rec({ userId: 'user-2' })]), 'application/x-ndjson');

  const later = T0 + 50 * HOUR;
  const done = await finishErasures(targets(later, bucket), DEFAULT_SUBJECT_PATHS, { clock: () => later });
  expect(done.finished).toHaveLength(1);
  expect(done.archive).toMatchObject({ objectsScanned: 1, recordsRemoved: 1, objectsRewritten: 1, versionsDeleted: 1 });
  expect(await everyVersionText(store, bucket)).not.toContain('"user-1"');
});

test('noncurrent versions are searched: one the lifecycle expiration left behind is deleted, by the erasure and by the scheduled step; so is a record whose partition key is the subject', async () => {
  const bucket = await newBucket();
  s3Now = T0 - HOUR;
  await store.put(bucket, 'events/2026/12/01/09/expired.gz', await encodeArchiveObject([rec({ userId: 'user-1' }), rec({ userId: 'user-2' })]), 'application/x-ndjson');
  // Lifecycle expiration of a current version in a versioned bucket: a delete marker; the data stays a noncurrent version.
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'events/2026/12/01/09/expired.gz' }));
  await store.put(bucket, 'events/2026/12/01/09/keyed.gz', await encodeArchiveObject([rec({ note: 'no subject field' }, 'user-1'), rec({ userId: 'user-2' }, 'user-2')]), 'application/x-ndjson');
  const report = await erase({ subject: 'user-1', paths: DEFAULT_SUBJECT_PATHS }, targets(T0, bucket), { clock: () => T0 });
  expect(report.archive).toMatchObject({ recordsRemoved: 2, objectsRewritten: 1, versionsDeleted: 2 });
  // Two records: the expired object's (its only copy is the noncurrent version) and the one keyed by the subject.
  expect(await everyVersionText(store, bucket)).not.toContain('user-1');

  // A late object expired before the step runs: only a noncurrent version holds the subject.
  s3Now = T0 + 10 * 60_000;
  await store.put(bucket, 'events/2026/12/01/10/late.gz', await encodeArchiveObject([rec({ anonymousId: 'user-1' })]), 'application/x-ndjson');
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'events/2026/12/01/10/late.gz' }));
  const later = T0 + 50 * HOUR;
  const done = await finishErasures(targets(later, bucket), DEFAULT_SUBJECT_PATHS, { clock: () => later });
  expect(done.archive).toMatchObject({ recordsRemoved: 1, versionsDeleted: 1 });
  expect(await everyVersionText(store, bucket)).not.toContain('user-1');
});

test('a concurrent rewrite of the same object (another erase between our read and our write) does not bring the erased records back', async () => {
  const bucket = await newBucket();
  const key = 'events/2026/12/01/10/shared.gz';
  const other = rec({ userId: 'user-9' });
  await store.put(bucket, key, await encodeArchiveObject([rec({ userId: 'user-1' }), other, rec({ userId: 'user-3' })]), 'application/x-ndjson');
  // The other erase (of user-9) read the same version and writes its rewrite just before ours.
  let raced = false;
  const racing: ArchiveStore = Object.assign(Object.create(store) as S3ArchiveStore, {
    put: async (b: string, k: string, body: Buffer, type: string, cls?: string, ifMatch?: string) => {
      if (!raced) {
        raced = true;
        const current = await store.get(b, k);
        const kept = (await decodeArchiveObject(current.body, k)).filter((r) => r.sequenceNumber !== other.sequenceNumber);
        await store.put(b, k, await encodeArchiveObject(kept), type, cls, current.etag);
      }
      return store.put(b, k, body, type, cls, ifMatch);
    },
  });
  await erase({ subject: 'user-1', paths: DEFAULT_SUBJECT_PATHS }, targets(T0, bucket, racing), { clock: () => T0 });
  expect(raced).toBe(true);
  const current = (await decodeArchiveObject((await store.get(bucket, key)).body, key)).map((r) => recordBytes(r).toString('utf8'));
  expect(current).toEqual([JSON.stringify({ userId: 'user-3' })]);
  // Neither subject is left in any version: ours rewrote the other erase's version, and deleted both versions read.
  const all = await everyVersionText(store, bucket);
  expect(all).not.toContain('"user-1"');
});

test('a request due while an archive sweep is in progress waits for the next batch: the sweep continues from its cursor, so each batch finishes', async () => {
  const bucket = await newBucket();
  s3Now = T0 - 2 * HOUR;
  await erase({ subject: 'user-1', paths: DEFAULT_SUBJECT_PATHS }, targets(T0, bucket), { clock: () => T0 });
  s3Now = T0 + 10 * 60_000;
  await store.put(bucket, 'events/2026/12/01/10/late-a.gz', await encodeArchiveObject([rec({ userId: 'user-1' }), rec({ userId: 'user-8' })]), 'application/x-ndjson');
  await store.put(bucket, 'events/2026/12/01/10/late-b.gz', await encodeArchiveObject([rec({ userId: 'user-1' }), rec({ userId: 'user-8' })]), 'application/x-ndjson');
  // A second erasure three hours later: due three hours after the first.
  s3Now = T0 + 2 * HOUR;
  await erase({ subject: 'user-2', paths: DEFAULT_SUBJECT_PATHS }, targets(T0 + 3 * HOUR, bucket), { clock: () => T0 + 3 * HOUR });
  s3Now = T0 + 4 * HOUR;
  await store.put(bucket, 'events/2026/12/01/14/late-c.gz', await encodeArchiveObject([rec({ userId: 'user-2' }), rec({ userId: 'user-8' })]), 'application/x-ndjson');

  const reads: string[] = [];
  const counting: ArchiveStore = Object.assign(Object.create(store) as S3ArchiveStore, {
    get: async (b: string, k: string, v?: string) => {
      reads.push(k);
      return store.get(b, k, v);
    },
  });
  const audit = async (): Promise<Array<{ status: string; through: string | null }>> =>
    (await db.query<{ status: string; through: string | null }>('SELECT status, archive_swept_through AS through FROM wh.erasure_requests ORDER BY requested_at')).rows;

  // Run 1: only the first is due; it stops after one object.
  const run1 = T0 + 50 * HOUR;
  const first = await finishErasures(targets(run1, bucket, counting), DEFAULT_SUBJECT_PATHS, { clock: () => run1, remainingMs: () => (reads.length > 0 ? 0 : 60_000) });
  expect(first.complete).toBe(false);
  expect(await audit()).toEqual([
    { status: 'erased', through: 'us-east-1:events/2026/12/01/@events/2026/12/01/10/late-a.gz' },
    { status: 'erased', through: null },
  ]);

  // Run 2: both are due; the first's batch continues after late-a (not from the start), the second waits.
  const run2 = T0 + 52 * HOUR;
  const second = await finishErasures(targets(run2, bucket, counting), DEFAULT_SUBJECT_PATHS, { clock: () => run2 });
  expect(reads.filter((k) => k.endsWith('late-a.gz'))).toHaveLength(1);
  expect(second.finished).toHaveLength(1);
  expect(second.complete).toBe(false);
  expect((await audit()).map((r) => r.status)).toEqual(['finished', 'erased']);
  expect((await audit())[1].through).toBeNull();

  // Run 3: the second, as a batch of its own.
  const run3 = T0 + 53 * HOUR;
  const third = await finishErasures(targets(run3, bucket, counting), DEFAULT_SUBJECT_PATHS, { clock: () => run3 });
  expect(third.complete).toBe(true);
  expect(third.finished).toHaveLength(1);
  expect((await audit()).map((r) => r.status)).toEqual(['finished', 'finished']);
  const left = await everyVersionText(store, bucket);
  expect(left).not.toContain('"user-1"');
  expect(left).not.toContain('"user-2"');
  expect(left).toContain('"user-8"');
});

test('an object deleted between our read and our conditional write: the version read, which holds the records, is deleted all the same (its other records kept in a noncurrent copy)', async () => {
  const bucket = await newBucket();
  const key = 'events/2026/12/01/10/deleted.gz';
  await store.put(bucket, key, await encodeArchiveObject([rec({ userId: 'user-1' }), rec({ userId: 'user-3' })]), 'application/x-ndjson');
  // Someone deletes the object (a delete marker: the version we read becomes noncurrent) just before our If-Match write.
  let deleted = false;
  const racing: ArchiveStore = Object.assign(Object.create(store) as S3ArchiveStore, {
    put: async (b: string, k: string, body: Buffer, type: string, cls?: string, ifMatch?: string) => {
      if (!deleted && ifMatch !== undefined) {
        deleted = true;
        await client.send(new DeleteObjectCommand({ Bucket: b, Key: k }));
      }
      return store.put(b, k, body, type, cls, ifMatch);
    },
  });
  const report = await erase({ subject: 'user-1', paths: DEFAULT_SUBJECT_PATHS }, targets(T0, bucket, racing), { clock: () => T0 });
  expect(deleted).toBe(true);
  expect(report.archive).toMatchObject({ versionsDeleted: 1, versionsRewritten: 1 });
  expect(await everyVersionText(store, bucket)).not.toContain('"user-1"');
  // The object is deleted, so its other record is nowhere else: kept in a noncurrent copy, the key still deleted.
  expect(await keyState(bucket, key)).toEqual({ latestIsDeleteMarker: true, versions: [{ text: JSON.stringify({ userId: 'user-3' }), storageClass: 'STANDARD', contentType: 'application/x-ndjson' }] });
});

test('a latest version in the listing replaced before it is read is searched as a noncurrent version, not skipped', async () => {
  const bucket = await newBucket();
  const key = 'events/2026/12/01/10/replaced.gz';
  await store.put(bucket, key, await encodeArchiveObject([rec({ userId: 'user-1' }), rec({ userId: 'user-3' })]), 'application/x-ndjson');
  // A new version (without the subject) written after the listing: the listed "latest" is noncurrent when read.
  let replaced = false;
  const racing: ArchiveStore = Object.assign(Object.create(store) as S3ArchiveStore, {
    listPrefixVersions: async (b: string, p: string) => {
      const listed = await store.listPrefixVersions(b, p);
      if (!replaced && listed.some((v) => v.key === key)) {
        replaced = true;
        await store.put(b, key, await encodeArchiveObject([rec({ userId: 'user-3' })]), 'application/x-ndjson');
      }
      return listed;
    },
  });
  await erase({ subject: 'user-1', paths: DEFAULT_SUBJECT_PATHS }, targets(T0, bucket, racing), { clock: () => T0 });
  expect(replaced).toBe(true);
  const all = await everyVersionText(store, bucket);
  expect(all).not.toContain('"user-1"');
  expect(all).toContain('"user-3"');
});

test('the archive sweep waits a day of Firehose S3 retries after the streams\' retention: a delivery retried until then is swept; the views are recreated at the retention', async () => {
  const bucket = await newBucket();
  s3Now = T0 - HOUR;
  await erase({ subject: 'user-1', paths: DEFAULT_SUBJECT_PATHS }, targets(T0, bucket), { clock: () => T0 });
  recreations = 0;
  const viewsDue = T0 + 26 * HOUR;
  const first = await finishErasures(targets(viewsDue, bucket), DEFAULT_SUBJECT_PATHS, { clock: () => viewsDue });
  expect(recreations).toBe(1);
  expect(first.finished).toEqual([]);
  expect(first.complete).toBe(true);
  expect(first.waiting).toEqual([expect.objectContaining({ dueAt: '2026-12-03T10:20:00.000Z' })]);
  // A record read just before the streams' retention ended, its S3 delivery retried for 20 hours.
  s3Now = T0 + 44 * HOUR;
  await store.put(bucket, 'events/2026/12/02/09/retried.gz', await encodeArchiveObject([rec({ userId: 'user-1' }), rec({ userId: 'user-2' })]), 'application/x-ndjson');

  const later = T0 + 49 * HOUR;
  const done = await finishErasures(targets(later, bucket), DEFAULT_SUBJECT_PATHS, { clock: () => later });
  expect(done.finished).toHaveLength(1);
  expect(recreations).toBe(1);
  expect(done.archive).toMatchObject({ recordsRemoved: 1 });
  const left = await everyVersionText(store, bucket);
  expect(left).not.toContain('"user-1"');
  expect(left).toContain('"user-2"');
});

test('a streaming view dropped behind the step\'s back (a run that ended between its DROP and CREATE) is created again by the next run, with nothing due; the merge works again', async () => {
  const bucket = await newBucket();
  const table = wh.mvTable('events');
  await db.exec(`DROP TABLE ${table}`);
  await expect(wh.merge()).rejects.toThrow(/stream_events/);

  const run = await finishErasures(targets(T0, bucket), DEFAULT_SUBJECT_PATHS, { clock: () => T0 });
  expect(run).toMatchObject({ streamingViewsRestored: 1, streamingViewsRecreated: 0, finished: [], waiting: [], complete: true });
  // Created as the setup creates it: the trigger derives the payload, and the merge reads the new rows.
  const data = Buffer.from(JSON.stringify({ messageId: 'after-restore', userId: 'user-9', timestamp: '2026-12-01T10:00:00Z' }));
  await wh.append('events', [{ shardId: 'shardId-000000000000', sequenceNumber: String(10n ** 60n), partitionKey: 'p', approximateArrivalTimestamp: new Date(T0), data }]);
  expect(await wh.merge()).toMatchObject({ newRows: 1, inserted: 1 });
  expect((await db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM wh.events WHERE event_id = 'after-restore'`)).rows).toEqual([{ n: 1 }]);
  expect((await db.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = 'wh' AND tablename = 'stream_events' ORDER BY 1`)).rows.map((r) => r.indexname)).toEqual([
    'stream_events_arrival_idx',
    'stream_events_position_idx',
  ]);
  expect((await finishErasures(targets(T0, bucket), DEFAULT_SUBJECT_PATHS, { clock: () => T0 })).streamingViewsRestored).toBe(0);
});

/** The versions (not delete markers) of one key, decoded, and whether its latest entry is a delete marker. */
async function keyState(bucket: string, key: string): Promise<{ latestIsDeleteMarker: boolean; versions: Array<{ text: string; storageClass: string; contentType: string | undefined }> }> {
  const listed = (await store.listPrefixVersions(bucket, key)).filter((v) => v.key === key);
  const versions: Array<{ text: string; storageClass: string; contentType: string | undefined }> = [];
  for (const v of listed.filter((x) => !x.deleteMarker)) {
    const o = await store.get(bucket, key, v.versionId);
    const records = o.body.length === 0 ? [] : await decodeArchiveObject(o.body, key);
    versions.push({ text: records.map((r) => recordBytes(r).toString('utf8')).join('\n'), storageClass: o.storageClass ?? 'STANDARD', contentType: o.contentType });
  }
  return { latestIsDeleteMarker: listed.find((v) => v.isLatest)?.deleteMarker === true, versions };
}

async function getError(bucket: string, key: string): Promise<string | undefined> {
  try {
    await store.get(bucket, key);
    return undefined;
  } catch (err) {
    return (err as Error).name;
  }
}

test('an expired object (a delete marker current) whose old version holds the subject and others: a dry run counts and changes nothing; the erasure keeps the others in a noncurrent copy (same class and type) and the key expired; a version of only the subject is deleted without a copy', async () => {
  const bucket = await newBucket();
  const mixed = 'events/2026/12/01/09/mixed.gz';
  const only = 'events/2026/12/01/09/only.gz';
  s3Now = T0 - 2 * HOUR;
  await store.put(bucket, mixed, await encodeArchiveObject([rec({ userId: 'user-1' }), rec({ userId: 'user-2' }), rec({ anonymousId: 'user-3' })]), 'application/x-ndjson');
  await store.put(bucket, only, await encodeArchiveObject([rec({ userId: 'user-1' })]), 'application/x-ndjson');
  // In cold storage before it expired: the copy must stay there.
  s3.transition(bucket, mixed, 'GLACIER_IR');
  s3Now = T0 - HOUR;
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: mixed }));
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: only }));
  const before = s3.stats(bucket);

  const dry = await erase({ subject: 'user-1', paths: DEFAULT_SUBJECT_PATHS, dryRun: true }, targets(T0, bucket), { clock: () => T0 });
  expect(dry.archive).toMatchObject({ objectsScanned: 2, versionsRewritten: 1, versionsDeleted: 2, objectsRewritten: 0, objectsDeleted: 0, byStorageClass: { GLACIER_IR: 1 } });
  expect(s3.stats(bucket)).toEqual(before);

  s3Now = T0;
  const report = await erase({ subject: 'user-1', paths: DEFAULT_SUBJECT_PATHS }, targets(T0, bucket), { clock: () => T0 });
  expect(report.archive).toMatchObject({ versionsRewritten: 1, versionsDeleted: 2, byStorageClass: { GLACIER_IR: 1 } });
  expect(await everyVersionText(store, bucket)).not.toContain('"user-1"');
  const m = await keyState(bucket, mixed);
  expect(m.latestIsDeleteMarker).toBe(true);
  expect(m.versions).toEqual([{ text: [JSON.stringify({ userId: 'user-2' }), JSON.stringify({ anonymousId: 'user-3' })].join('\n'), storageClass: 'GLACIER_IR', contentType: 'application/x-ndjson' }]);
  expect(await getError(bucket, mixed)).toBe('NoSuchKey');
  // Only the subject's records: deleted, no copy written.
  expect(await keyState(bucket, only)).toEqual({ latestIsDeleteMarker: true, versions: [] });
  expect(await getError(bucket, only)).toBe('NoSuchKey');
});

test('the scheduled step: a late object expired before it runs keeps the other subjects\' records in a noncurrent copy, and stays expired', async () => {
  const bucket = await newBucket();
  s3Now = T0 - HOUR;
  await erase({ subject: 'user-1', paths: DEFAULT_SUBJECT_PATHS }, targets(T0, bucket), { clock: () => T0 });
  const key = 'events/2026/12/01/10/late-expired.gz';
  s3Now = T0 + 10 * 60_000;
  await store.put(bucket, key, await encodeArchiveObject([rec({ userId: 'user-1' }), rec({ userId: 'user-2' })]), 'application/x-ndjson');
  s3Now = T0 + 20 * 60_000;
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));

  s3Now = T0 + 50 * HOUR;
  const later = T0 + 50 * HOUR;
  const done = await finishErasures(targets(later, bucket), DEFAULT_SUBJECT_PATHS, { clock: () => later });
  expect(done.finished).toHaveLength(1);
  expect(done.archive).toMatchObject({ versionsRewritten: 1, versionsDeleted: 1 });
  expect(await everyVersionText(store, bucket)).not.toContain('"user-1"');
  expect(await keyState(bucket, key)).toEqual({ latestIsDeleteMarker: true, versions: [{ text: JSON.stringify({ userId: 'user-2' }), storageClass: 'STANDARD', contentType: 'application/x-ndjson' }] });
  expect(await getError(bucket, key)).toBe('NoSuchKey');
});

test('a crash after the copy is written back, before its delete marker: the copy is briefly current; the next sweep recognises it, hides it and deletes the old version (no second copy)', async () => {
  const bucket = await newBucket();
  const key = 'events/2026/12/01/09/crash.gz';
  s3Now = T0 - HOUR;
  await store.put(bucket, key, await encodeArchiveObject([rec({ userId: 'user-1' }), rec({ userId: 'user-2' })]), 'application/x-ndjson');
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  const crashing: ArchiveStore = Object.assign(Object.create(store) as S3ArchiveStore, {
    deleteObject: async () => {
      throw new Error('crash');
    },
  });
  await expect(erase({ subject: 'user-1', paths: DEFAULT_SUBJECT_PATHS }, targets(T0, bucket, crashing), { clock: () => T0 })).rejects.toThrow('crash');
  // The subject is still in the old version, which the next sweep searches; the copy without it is current.
  expect(await everyVersionText(store, bucket)).toContain('"user-1"');
  expect((await keyState(bucket, key)).latestIsDeleteMarker).toBe(false);

  const again = await erase({ subject: 'user-1', paths: DEFAULT_SUBJECT_PATHS }, targets(T0, bucket), { clock: () => T0 });
  expect(again.archive).toMatchObject({ versionsRewritten: 0, versionsDeleted: 1 });
  expect(await everyVersionText(store, bucket)).not.toContain('"user-1"');
  expect(await keyState(bucket, key)).toEqual({ latestIsDeleteMarker: true, versions: [{ text: JSON.stringify({ userId: 'user-2' }), storageClass: 'STANDARD', contentType: 'application/x-ndjson' }] });
  expect(await getError(bucket, key)).toBe('NoSuchKey');
});

/** Neither of the two concurrent erasures' subjects is left in any version of the bucket. */
async function expectNeitherSubjectLeft(bucket: string): Promise<void> {
  const all = await everyVersionText(store, bucket);
  expect(all).not.toContain('"user-1"');
  expect(all).not.toContain('"user-2"');
}

describe('concurrent erasures on an expired key (a version holding both subjects under a delete marker)', () => {
  const KEY = 'events/2026/12/01/09/shared-expired.gz';

  /** An expired key whose only version holds user-1, user-2 and user-3; returns that version's id. */
  async function expiredShared(bucket: string): Promise<string> {
    s3Now = T0 - HOUR;
    await store.put(bucket, KEY, await encodeArchiveObject([rec({ userId: 'user-1' }), rec({ userId: 'user-2' }), rec({ anonymousId: 'user-3' })]), 'application/x-ndjson');
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: KEY }));
    return (await store.listVersions(bucket, KEY)).find((v) => !v.deleteMarker)!.versionId;
  }

  type StoreMethod = keyof ArchiveStore;
  /**
   * A store that runs `fn` once, just before (or, with `after`, just after) the first call of `method` whose arguments
   * satisfy `when`: another erasure's calls placed exactly between two calls of this one.
   */
  function hooked(method: StoreMethod, when: (args: unknown[]) => boolean, fn: () => Promise<unknown>, after = false): ArchiveStore & { fired: () => boolean } {
    let fired = false;
    // The store's methods have different signatures; each call is passed through unchanged.
    const real = store[method] as unknown as (...args: unknown[]) => Promise<unknown>;
    return Object.assign(Object.create(store) as S3ArchiveStore, {
      fired: () => fired,
      [method]: async (...args: unknown[]) => {
        const now = !fired && when(args);
        if (now && !after) {
          fired = true;
          await fn();
        }
        const out = await real.apply(store, args);
        if (now && after) {
          fired = true;
          await fn();
        }
        return out;
      },
    });
  }

  /**
   * A store whose first call of `method` matching `when` waits until `release()`; `reached` settles when it is there.
   * With it, erasure A is held between two calls while erasure B runs (A's promise is raced, so a failure shows).
   */
  function gated(method: StoreMethod, when: (args: unknown[]) => boolean): { store: ArchiveStore; reached: Promise<void>; release: () => void } {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let arrive!: () => void;
    const reached = new Promise<void>((r) => (arrive = r));
    let fired = false;
    const real = store[method] as unknown as (...args: unknown[]) => Promise<unknown>;
    const s = Object.assign(Object.create(store) as S3ArchiveStore, {
      [method]: async (...args: unknown[]) => {
        if (!fired && when(args)) {
          fired = true;
          arrive();
          await released;
        }
        return real.apply(store, args);
      },
    });
    return { store: s, reached, release };
  }

  const eraseOf = (subject: string, bucket: string, s: ArchiveStore = store) => erase({ subject, paths: DEFAULT_SUBJECT_PATHS }, targets(T0, bucket, s), { clock: () => T0 });
  const user3Only = { text: JSON.stringify({ anonymousId: 'user-3' }), storageClass: 'STANDARD', contentType: 'application/x-ndjson' };

  test('a copy another erasure wrote and has not hidden yet is not taken for a crash leftover: it still holds this erasure\'s subject, which is removed from it', async () => {
    const bucket = await newBucket();
    await expiredShared(bucket);
    // B (user-2) lists the key while it has no current object, and reads the old version; A (user-1) then writes its
    // copy back (without user-1, so with user-2) and is held before its delete marker while B looks at the key again.
    const a = gated('deleteObject', ([, k, ifMatch]) => k === KEY && ifMatch !== undefined);
    let aRun: Promise<unknown> | undefined;
    const b = hooked(
      'get',
      ([, k, versionId]) => k === KEY && versionId === undefined,
      async () => {
        aRun = eraseOf('user-1', bucket, a.store);
        await Promise.race([a.reached, aRun.then(() => Promise.reject(new Error('A finished without reaching its delete marker')))]);
      },
    );
    await eraseOf('user-2', bucket, b);
    expect(b.fired()).toBe(true);
    a.release();
    await aRun;
    await expectNeitherSubjectLeft(bucket);
    expect(await keyState(bucket, KEY)).toEqual({ latestIsDeleteMarker: true, versions: [user3Only] });
    expect(await getError(bucket, KEY)).toBe('NoSuchKey');
  });

  test('a copy written back from a version a concurrent erasure has handled meanwhile (its copy hidden, the version deleted) is undone, and that erasure\'s copy is filtered', async () => {
    const bucket = await newBucket();
    const v = await expiredShared(bucket);
    // B (user-2) reads the old version; A (user-1) then runs to the end: its copy (with user-2) hidden, the version
    // deleted. B finds no current object and writes its copy (with user-1) back.
    let aReport: Awaited<ReturnType<typeof erase>> | undefined;
    const b = hooked('get', ([, k, versionId]) => k === KEY && versionId === v, async () => (aReport = await eraseOf('user-1', bucket)), true);
    const bReport = await eraseOf('user-2', bucket, b);
    expect(b.fired()).toBe(true);
    expect(aReport?.archive).toMatchObject({ versionsRewritten: 1, recordsRemoved: 1 });
    // B's own copy undone; A's copy rewritten without user-2.
    expect(bReport.archive).toMatchObject({ versionsRewritten: 1, recordsRemoved: 1 });
    await expectNeitherSubjectLeft(bucket);
    expect(await keyState(bucket, KEY)).toEqual({ latestIsDeleteMarker: true, versions: [user3Only] });
  });

  test('a copy written back while the version still exists, which a concurrent erasure deletes next: that erasure lists the key again and filters the copy', async () => {
    const bucket = await newBucket();
    const v = await expiredShared(bucket);
    // A (user-1) has written and hidden its copy; just before it deletes the old version, B (user-2) runs to the end:
    // it filters A's copy and writes back its own copy of the old version (with user-1), which still exists.
    const a = hooked('deleteVersion', ([, k, versionId]) => k === KEY && versionId === v, () => eraseOf('user-2', bucket));
    await eraseOf('user-1', bucket, a);
    expect(a.fired()).toBe(true);
    await expectNeitherSubjectLeft(bucket);
    // Two copies of user-3 (one from each erasure's copy), both noncurrent under the key's delete marker.
    expect(await keyState(bucket, KEY)).toEqual({ latestIsDeleteMarker: true, versions: [user3Only, user3Only] });
  });

  test('a 409 ConditionalRequestConflict on the delete marker over a copy is no proof it is hidden: the current object is read again and the copy hidden', async () => {
    const bucket = await newBucket();
    await expiredShared(bucket);
    s3.failNext({ method: 'DELETE', bucket, key: KEY, header: 'if-match' }, { status: 409, code: 'ConditionalRequestConflict', message: 'A conflicting operation occurred.' });
    await eraseOf('user-1', bucket);
    expect(await getError(bucket, KEY)).toBe('NoSuchKey');
    expect((await keyState(bucket, KEY)).latestIsDeleteMarker).toBe(true);
    expect(await everyVersionText(store, bucket)).not.toContain('"user-1"');
  });

  test('a crash-leftover copy (current) swept by another erasure stays a copy: rewritten with its metadata and hidden, the key expired, the old version deleted; a dry run counts the same', async () => {
    const bucket = await newBucket();
    await expiredShared(bucket);
    const crashing: ArchiveStore = Object.assign(Object.create(store) as S3ArchiveStore, {
      deleteObject: async () => {
        throw new Error('crash');
      },
    });
    await expect(eraseOf('user-1', bucket, crashing)).rejects.toThrow('crash');
    expect(await getError(bucket, KEY)).toBeUndefined();

    const dry = await erase({ subject: 'user-2', paths: DEFAULT_SUBJECT_PATHS, dryRun: true }, targets(T0, bucket), { clock: () => T0 });
    const report = await eraseOf('user-2', bucket);
    const expected = { objectsScanned: 2, recordsRemoved: 1, objectsRewritten: 1, objectsDeleted: 0, versionsRewritten: 0, versionsDeleted: 2 };
    expect(dry.archive).toMatchObject(expected);
    expect(report.archive).toMatchObject(expected);
    expect(await getError(bucket, KEY)).toBe('NoSuchKey');
    await expectNeitherSubjectLeft(bucket);
    expect(await keyState(bucket, KEY)).toEqual({ latestIsDeleteMarker: true, versions: [user3Only] });
  });

  test('records removed from an expired version count once when the copy\'s conditional write is retried (a 409 ConditionalRequestConflict)', async () => {
    const bucket = await newBucket();
    await expiredShared(bucket);
    s3.failNext({ method: 'PUT', bucket, key: KEY, header: 'if-none-match' }, { status: 409, code: 'ConditionalRequestConflict', message: 'A conflicting operation occurred.' });
    const report = await eraseOf('user-1', bucket);
    expect(report.archive).toMatchObject({ recordsRemoved: 1, versionsRewritten: 1, versionsDeleted: 1 });
    expect(await keyState(bucket, KEY)).toEqual({
      latestIsDeleteMarker: true,
      versions: [{ text: [JSON.stringify({ userId: 'user-2' }), JSON.stringify({ anonymousId: 'user-3' })].join('\n'), storageClass: 'STANDARD', contentType: 'application/x-ndjson' }],
    });
  });
  test('a version deleted by a concurrent erasure after this one listed the prefix (a stale listing): the key is listed again, and that erasure\'s copy, which holds this one\'s subject, is filtered', async () => {
    const bucket = await newBucket();
    await expiredShared(bucket);
    // A (user-1) lists the day's prefix; B (user-2) then runs to the end (its copy, holding user-1, hidden; the version
    // deleted); A reaches the key with a listing that names only the deleted version.
    const a = hooked('listPrefixVersions', ([, p]) => p === 'events/', () => eraseOf('user-2', bucket), true);
    await eraseOf('user-1', bucket, a);
    expect(a.fired()).toBe(true);
    await expectNeitherSubjectLeft(bucket);
    expect(await keyState(bucket, KEY)).toEqual({ latestIsDeleteMarker: true, versions: [user3Only] });
    expect(await getError(bucket, KEY)).toBe('NoSuchKey');
  });
});
