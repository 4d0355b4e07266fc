/**
 * The deployed scheduled step (lambda/erasure-finish/run.ts, wired by its handler) in an environment whose warehouse
 * is in the primary Region only: one run finishes an erasure in both Regions' archives, each bucket reached through
 * its own Region's store, and a run whose deployed bucket names no longer match the Regions' SSM parameters (or a
 * Region that does not answer) stops before sweeping any archive. Against the local S3 and a PGlite warehouse.
 */
import { PGlite } from '@electric-sql/pglite';
import { S3Client } from '@aws-sdk/client-s3';
import { erase } from '../../lambda/archive/erase';
import { ArchiveRecord } from '../../lambda/archive/format';
import { ArchiveStore, S3ArchiveStore, encodeArchiveObject } from '../../lambda/archive/store';
import { DEFAULT_SUBJECT_PATHS } from '../../lambda/archive/subject';
import { parseErasureFinishEnv } from '../../lambda/erasure-finish/env';
import { ArchiveBucketMismatchError, runErasureFinish } from '../../lambda/erasure-finish/run';
import { renderStreamingViews } from '../../lib/sql/render';
import { PostgresWarehouse } from '../../lib/sql/postgres';
import { createArchiveBucket } from '../../local/archive';
import { localErasureWarehouse } from '../../local/erase';
import { EraseWorld, everyVersionText, startEraseWorld } from './erase-world';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-01T10:00:00Z');
const STREAM = 'redstream-dev-events';
const PARAMETER = '/redstream/dev/archive-bucket-name';

let db: PGlite;
let wh: PostgresWarehouse;
let s3Now = T0;
let client: S3Client;
let store: S3ArchiveStore;
let seq = 0;
let run = 0;

const rec = (o: Record<string, unknown>, region: string): ArchiveRecord => ({
  stream: STREAM,
  region,
  shardId: 'shardId-000000000000',
  sequenceNumber: String(10n ** 30n + BigInt(++seq)),
  subsequenceNumber: 0,
  partitionKey: 'p',
  approximateArrivalTimestampMs: T0,
  data: Buffer.from(JSON.stringify(o)).toString('base64'),
});

/** The step's environment as lib/erasure-finish.ts sets it for the primary of an environment with a standby without warehouse. */
function finishEnv(primaryBucket: string, standbyBucket: string) {
  return parseErasureFinishEnv({
    AWS_REGION: 'us-east-1',
    WORKGROUP_NAME: 'redstream-dev',
    DATABASE_NAME: 'redstream',
    POLL_INTERVAL_MS: '1000',
    SCHEMA: 'wh',
    SUBJECT_PATHS: DEFAULT_SUBJECT_PATHS.join(','),
    STREAMS: JSON.stringify([{ name: STREAM, retentionHours: 24 }]),
    STREAMING_VIEWS: JSON.stringify(renderStreamingViews({ region: 'us-east-1', streams: [{ name: 'events', physicalName: STREAM }] })),
    ARCHIVE_BUCKET: primaryBucket,
    ARCHIVE_BUCKET_PARAMETER: PARAMETER,
    OTHER_ARCHIVES: JSON.stringify([{ region: 'us-west-2', bucket: standbyBucket }]),
    ARCHIVE_PREFIXES: JSON.stringify(['events/', 'errors/']),
    ARCHIVE_DELAY_MS: String(20 * 60_000),
  });
}

/** Two Regions' buckets, an erasure of user-1 at T0 in both, and late deliveries into both after it. */
async function erasedWithLateDeliveries(): Promise<{ primary: string; standby: string }> {
  run++;
  const primary = `archive-use1-${run}`;
  const standby = `archive-usw2-${run}`;
  for (const b of [primary, standby]) await createArchiveBucket(client, b);
  await db.exec('DELETE FROM wh.erasure_requests; DELETE FROM wh.suppressed_subjects;');
  s3Now = T0 - HOUR;
  const targets = {
    warehouses: [localErasureWarehouse({ name: 'us-east-1', db, schema: 'wh', streamingViews: [wh.mvTable('events')], retentionMs: 24 * HOUR, clock: () => T0 })],
    archives: [
      { region: 'us-east-1', bucket: primary, prefixes: ['events/', 'errors/'] },
      { region: 'us-west-2', bucket: standby, prefixes: ['events/', 'errors/'] },
    ],
    store,
    streams: [{ name: STREAM, retentionHours: 24 }],
    archiveDelayMs: 20 * 60_000,
  };
  await erase({ subject: 'user-1', paths: DEFAULT_SUBJECT_PATHS }, targets, { clock: () => T0 });
  // Firehose delivers records read before the erasure after it, in both Regions (the standby's copy of the stream too).
  s3Now = T0 + 15 * 60_000;
  for (const [bucket, region] of [[primary, 'us-east-1'], [standby, 'us-west-2']]) {
    await store.put(bucket, 'events/2026/12/01/10/late.gz', await encodeArchiveObject([rec({ userId: 'user-1', n: 1 }, region), rec({ userId: 'user-2', n: 2 }, region)]), 'application/x-ndjson');
  }
  return { primary, standby };
}

let world: EraseWorld;
beforeAll(async () => {
  world = await startEraseWorld(STREAM, () => s3Now);
  ({ db, wh, client, store } = world);
});
afterAll(() => world.stop());

const due = T0 + 50 * HOUR;
const status = async (): Promise<string[]> => (await db.query<{ status: string }>('SELECT status FROM wh.erasure_requests')).rows.map((r) => r.status);

test('the primary\'s step finishes an erasure in the standby Region\'s archive too, each bucket through its own Region', async () => {
  const { primary, standby } = await erasedWithLateDeliveries();
  const regionOfCall = new Map<string, Set<string>>();
  const storeFor = (region: string): ArchiveStore =>
    new Proxy(store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (bucket: string, ...rest: unknown[]) => {
          regionOfCall.set(bucket, new Set([...(regionOfCall.get(bucket) ?? []), region]));
          return (value as (...a: unknown[]) => unknown).call(target, bucket, ...rest);
        };
      },
    });
  const parameters = new Map([
    ['us-east-1', primary],
    ['us-west-2', standby],
  ]);
  const report = await runErasureFinish(finishEnv(primary, standby), {
    warehouse: localErasureWarehouse({ name: 'us-east-1', db, schema: 'wh', streamingViews: [wh.mvTable('events')], retentionMs: 24 * HOUR, clock: () => due }),
    storeFor,
    parameterValue: async (region, name) => (name === PARAMETER ? parameters.get(region) : undefined),
    clock: () => due,
  });
  expect(report.finished).toHaveLength(1);
  expect(report.archive.recordsRemoved).toBe(2);
  expect(await status()).toEqual(['finished']);
  for (const bucket of [primary, standby]) {
    const text = await everyVersionText(store, bucket);
    expect(text).not.toContain('"user-1"');
    expect(text).toContain('"user-2"');
  }
  expect(regionOfCall.get(primary)).toEqual(new Set(['us-east-1']));
  expect(regionOfCall.get(standby)).toEqual(new Set(['us-west-2']));
});

test('a bucket that is no longer the one its Region\'s parameter names, a missing parameter, or a Region that does not answer: the run stops before sweeping any archive, and says the fix; the views are still recreated', async () => {
  const { primary, standby } = await erasedWithLateDeliveries();
  const before = { primary: await everyVersionText(store, primary), standby: await everyVersionText(store, standby) };
  const attempt = (parameterValue: (region: string) => Promise<string | undefined>) =>
    runErasureFinish(finishEnv(primary, standby), {
      warehouse: localErasureWarehouse({ name: 'us-east-1', db, schema: 'wh', streamingViews: [wh.mvTable('events')], retentionMs: 24 * HOUR, clock: () => due }),
      storeFor: () => store,
      parameterValue: async (region) => parameterValue(region),
      clock: () => due,
    });
  await expect(attempt(async (r) => (r === 'us-west-2' ? 'archive-usw2-replaced' : primary))).rejects.toThrow(
    new RegExp(`us-west-2: the archive bucket is now archive-usw2-replaced \\(SSM parameter ${PARAMETER}\\), but this step was deployed with ${standby}; fix: redeploy this Warehouse stack with -c redstream:refreshArchiveBucketLookup=`),
  );
  await expect(attempt(async (r) => (r === 'us-west-2' ? undefined : primary))).rejects.toThrow(/us-west-2: SSM parameter \/redstream\/dev\/archive-bucket-name does not exist; fix: deploy that Region's Region stack/);
  await expect(
    attempt(async (r) => {
      if (r === 'us-west-2') throw Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' });
      return primary;
    }),
  ).rejects.toThrow(ArchiveBucketMismatchError);
  expect(await status()).toEqual(['erased']);
  // The views' recreation needs no archive: it happened before the check stopped the run (once, not per attempt).
  expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM wh.erasure_requests WHERE views_recreated_at IS NOT NULL')).rows).toEqual([{ n: 1 }]);
  expect(await everyVersionText(store, primary)).toBe(before.primary);
  expect(await everyVersionText(store, standby)).toBe(before.standby);
  expect(before.standby).toContain('"user-1"');
});

test('the environment: OTHER_ARCHIVES must list other Regions, once each; the parameter must be an SSM name', () => {
  const base = finishEnv('a', 'b');
  expect(base.otherArchives).toEqual([{ region: 'us-west-2', bucket: 'b' }]);
  const raw = (over: Record<string, string | undefined>) => () =>
    parseErasureFinishEnv({
      AWS_REGION: 'us-east-1',
      WORKGROUP_NAME: 'w',
      DATABASE_NAME: 'd',
      SCHEMA: 'wh',
      SUBJECT_PATHS: 'userId',
      STREAMS: JSON.stringify([{ name: STREAM, retentionHours: 24 }]),
      STREAMING_VIEWS: JSON.stringify(renderStreamingViews({ region: 'us-east-1', streams: [{ name: 'events', physicalName: STREAM }] })),
      ARCHIVE_BUCKET: 'a',
      ARCHIVE_BUCKET_PARAMETER: PARAMETER,
      ARCHIVE_PREFIXES: '["events/"]',
      ARCHIVE_DELAY_MS: '1',
      ...over,
    });
  expect(raw({})().otherArchives).toEqual([]);
  expect(raw({ OTHER_ARCHIVES: '[{"region":"us-east-1","bucket":"x"}]' })).toThrow(/OTHER_ARCHIVES.*one per Region other than us-east-1/);
  expect(raw({ OTHER_ARCHIVES: '[{"region":"us-west-2","bucket":"x"},{"region":"us-west-2","bucket":"y"}]' })).toThrow(/OTHER_ARCHIVES/);
  expect(raw({ OTHER_ARCHIVES: '{"region":"us-west-2"}' })).toThrow(/OTHER_ARCHIVES/);
  expect(raw({ ARCHIVE_BUCKET_PARAMETER: 'no-slash' })).toThrow(/ARCHIVE_BUCKET_PARAMETER.*SSM parameter name/);
  expect(raw({ ARCHIVE_BUCKET_PARAMETER: undefined })).toThrow(/ARCHIVE_BUCKET_PARAMETER/);
});
