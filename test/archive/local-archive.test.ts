import { S3ArchiveStore, decodeArchiveObject } from '../../lambda/archive/store';
import { recordBytes } from '../../lambda/archive/format';
import { localArchiveBucket, startLocalArchive } from '../../local/archive';
import { putRecords } from '../local/helpers';
import { ArchiveWorld, startArchiveWorld } from './world';

const REGIONS = ['us-east-1', 'us-west-2'];
let world: ArchiveWorld;

beforeAll(async () => {
  world = await startArchiveWorld(REGIONS, [{ name: 'redstream-test-events', shards: 3 }]);
});
afterAll(async () => {
  await world.stop();
});

test('every record of every Region is archived once, with its partition key, position and exact bytes, under hourly prefixes', async () => {
  const records = Array.from({ length: 600 }, (_, i) => ({
    partitionKey: `user-${i % 37}`,
    data:
      i % 50 === 0
        ? Uint8Array.from([0xff, 0x00, i % 256, 0x0a]) // binary with a newline byte
        : i % 30 === 0
          ? Buffer.from(`{"messageId":"m-${i}", broken`)
          : Buffer.from(JSON.stringify({ messageId: `m-${i}`, userId: `user-${i % 37}` })),
  }));
  await putRecords(world.kinesis('us-east-1'), 'redstream-test-events', records);
  await putRecords(world.kinesis('us-west-2'), 'redstream-test-events', records.slice(0, 10));

  const archive = await startLocalArchive({
    regions: REGIONS,
    streams: [{ name: 'events', physicalName: 'redstream-test-events' }],
    kinesis: (r) => world.kinesis(r),
    s3: world.s3Client,
    bucketFor: (r) => localArchiveBucket('test', r),
    bufferIntervalMs: 100_000, // flushes only by size and at the end
    bufferBytes: 8 * 1024,
    idlePollMs: 10,
  });
  await archive.waitUntilCaughtUp(Date.now());
  await archive.stop();

  const store = new S3ArchiveStore(world.s3Client);
  for (const [region, expected] of [['us-east-1', records], ['us-west-2', records.slice(0, 10)]] as const) {
    const bucket = localArchiveBucket('test', region);
    const keys = await store.listKeys(bucket, 'events/');
    expect(keys.length).toBeGreaterThan(region === 'us-east-1' ? 1 : 0);
    for (const k of keys) expect(k).toMatch(/^events\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/redstream-test-events-archive-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}\.gz$/);
    const archived = [];
    for (const k of keys) archived.push(...(await decodeArchiveObject((await store.get(bucket, k)).body, k)));
    expect(archived).toHaveLength(expected.length);
    expect(new Set(archived.map((r) => `${r.shardId}/${r.sequenceNumber}`)).size).toBe(expected.length);
    // Every record produced is there, as a multiset of (partition key, bytes).
    const key = (pk: string, b: Uint8Array): string => `${pk}:${Buffer.from(b).toString('base64')}`;
    expect(archived.map((r) => key(r.partitionKey, recordBytes(r))).sort()).toEqual(expected.map((r) => key(r.partitionKey, r.data)).sort());
    expect(archived.every((r) => r.stream === 'redstream-test-events' && r.region === region)).toBe(true);
    expect(await store.listKeys(bucket, 'errors/')).toEqual([]);
  }
  expect(archive.totals.records).toBe(610);
  expect(archive.totals.failedRecords).toBe(0);
});
