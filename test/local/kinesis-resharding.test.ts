import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { createStreams, KinesisRegionRouter, localKinesisClient, RunningService, startKinesis, startKinesisRegionRouter } from '../../local/emulators';
import { EventSourceMapping, EventSourceMappingProps, startEventSourceMapping } from '../../local/event-source-mapping';
import { inProcessFunction } from '../../local/local-function';
import { listShards } from '../../local/shard-reader';
import { eventually, putRecords, uniqueName } from './helpers';

const REGION = 'us-west-2';
let kinesalite: RunningService;
let router: KinesisRegionRouter;
let client: KinesisClient;
const mappings: EventSourceMapping[] = [];

beforeAll(async () => {
  kinesalite = await startKinesis(REGION);
  router = await startKinesisRegionRouter({ regions: { [REGION]: kinesalite.endpoint } });
  client = localKinesisClient(router.endpoint, REGION);
});

afterEach(async () => {
  await Promise.all(mappings.splice(0).map((m) => m.stop()));
});

afterAll(async () => {
  client.destroy();
  await router.stop();
  await kinesalite.stop();
});

const payload = (r: KinesisStreamRecord): string => Buffer.from(r.kinesis.data, 'base64').toString('utf8');
const keyed = (prefix: string, count: number, keys: number) =>
  Array.from({ length: count }, (_, i) => ({ partitionKey: `k${i % keys}`, data: `k${i % keys}:${prefix}${i}` }));

async function start(props: Omit<EventSourceMappingProps, 'kinesis' | 'region'>): Promise<EventSourceMapping> {
  const m = await startEventSourceMapping({ kinesis: client, region: REGION, idlePollMs: 20, retryBackoffMs: { min: 1, max: 10 }, shardDiscoveryMs: 50, ...props });
  mappings.push(m);
  return m;
}

describe('kinesalite after a split (what the failover relies on instead of ShardFilter)', () => {
  test('ListShards returns the closed parent with its EndingSequenceNumber and the children with ParentShardId; ShardFilter is ignored', async () => {
    const stream = uniqueName('split');
    await createStreams(client, [{ name: stream, shards: 1 }]);
    await putRecords(client, stream, keyed('p', 5, 3));
    const split = await router.splitShard(REGION, stream, 'shardId-000000000000');
    await putRecords(client, stream, keyed('c', 5, 3));

    // AT_LATEST asks for open shards only; kinesalite returns every shard anyway.
    const out = await client.send(new ListShardsCommand({ StreamName: stream, ShardFilter: { Type: 'AT_LATEST' } }));
    const shards = out.Shards ?? [];
    expect(shards.map((s) => s.ShardId)).toEqual(['shardId-000000000000', ...split.childShardIds]);
    const [parent, ...children] = shards;
    expect(parent.ParentShardId).toBeUndefined();
    expect(parent.SequenceNumberRange?.EndingSequenceNumber).toMatch(/^\d+$/);
    for (const child of children) {
      expect(child.ParentShardId).toBe('shardId-000000000000');
      expect(child.SequenceNumberRange?.EndingSequenceNumber).toBeUndefined();
      expect(BigInt(child.SequenceNumberRange?.StartingSequenceNumber ?? '0')).toBeGreaterThan(BigInt(parent.SequenceNumberRange?.EndingSequenceNumber ?? '0'));
    }
    // The children's hash key ranges cover the parent's, split at the middle.
    expect(BigInt(children[0].HashKeyRange?.EndingHashKey ?? '') + 1n).toBe(BigInt(children[1].HashKeyRange?.StartingHashKey ?? ''));
    expect(await listShards(client, stream)).toEqual([
      { shardId: 'shardId-000000000000', parentShardIds: [], endingSequenceNumber: parent.SequenceNumberRange?.EndingSequenceNumber },
      { shardId: split.childShardIds[0], parentShardIds: ['shardId-000000000000'], endingSequenceNumber: undefined },
      { shardId: split.childShardIds[1], parentShardIds: ['shardId-000000000000'], endingSequenceNumber: undefined },
    ]);
  });

  test('reading a closed parent ends (no NextShardIterator); records written after the split carry no future arrival time', async () => {
    const stream = uniqueName('split');
    await createStreams(client, [{ name: stream, shards: 1 }]);
    await putRecords(client, stream, keyed('p', 3, 3));
    const split = await router.splitShard(REGION, stream, 'shardId-000000000000');
    await putRecords(client, stream, keyed('c', 20, 10));
    const writtenBy = Date.now();

    let iterator = (await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    const parentRecords: string[] = [];
    for (let i = 0; iterator && i < 10; i++) {
      const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
      parentRecords.push(...(out.Records ?? []).map((r) => Buffer.from(r.Data ?? new Uint8Array()).toString()));
      iterator = out.NextShardIterator;
    }
    expect(iterator).toBeUndefined();
    expect(parentRecords).toEqual(['k0:p0', 'k1:p1', 'k2:p2']);

    for (const child of split.childShardIds) {
      const it = (await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: child, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
      const out = await client.send(new GetRecordsCommand({ ShardIterator: it }));
      for (const r of out.Records ?? []) expect(r.ApproximateArrivalTimestamp?.getTime()).toBeLessThanOrEqual(writtenBy);
    }
  });
});

describe('the local event source mapping follows splits', () => {
  test('a parent is read to its end before its children; children found while running; every record once, per key in order', async () => {
    const stream = uniqueName('split');
    await createStreams(client, [{ name: stream, shards: 1 }]);
    await putRecords(client, stream, keyed('p', 30, 6));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batches: Array<{ shard: string; records: string[] }> = [];
    const fn = inProcessFunction(async (event: KinesisStreamEvent) => {
      await gate; // the parent's first batch waits until the split is done and the children hold records
      batches.push({ shard: event.Records[0].eventID.split(':')[0], records: event.Records.map(payload) });
    });
    const m = await start({ streamName: stream, target: fn, batchSize: 10 });

    const split = await router.splitShard(REGION, stream, 'shardId-000000000000');
    await putRecords(client, stream, keyed('c', 30, 6));
    release();
    await m.waitUntilCaughtUp(Date.now());

    const shardsInOrder = batches.map((b) => b.shard);
    const lastParent = shardsInOrder.lastIndexOf('shardId-000000000000');
    const firstChild = shardsInOrder.findIndex((s) => s !== 'shardId-000000000000');
    expect(lastParent).toBeLessThan(firstChild);
    expect(new Set(shardsInOrder.slice(firstChild))).toEqual(new Set(split.childShardIds));
    const all = batches.flatMap((b) => b.records);
    expect(all).toHaveLength(60);
    expect(new Set(all).size).toBe(60);
    for (let k = 0; k < 6; k++) {
      const mine = all.filter((r) => r.startsWith(`k${k}:`));
      const expected = [...keyed('p', 30, 6), ...keyed('c', 30, 6)].filter((r) => r.partitionKey === `k${k}`).map((r) => r.data);
      expect(mine).toEqual(expected);
    }
    const status = m.status();
    expect(status.find((s) => s.shardId === 'shardId-000000000000')).toMatchObject({ ended: true, recordsDone: 30 });
    for (const child of split.childShardIds) expect(status.find((s) => s.shardId === child)).toMatchObject({ parentShardIds: ['shardId-000000000000'], ended: false });
  });
});

test('with LATEST, a child found after the start is read from its first record (nothing written to it is skipped)', async () => {
  const stream = uniqueName('split');
  await createStreams(client, [{ name: stream, shards: 1 }]);
  await putRecords(client, stream, [{ partitionKey: 'old', data: 'before the mapping' }]);
  const delivered: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const fn = inProcessFunction(async (event: KinesisStreamEvent) => {
    await gate; // the parent is not done (so its children are not looked for) until the children hold records
    delivered.push(...event.Records.map(payload));
  });
  // Shards are listed only when one ends (or a wait asks), so the children hold records before they are found.
  const m = await start({ streamName: stream, target: fn, batchSize: 10, startingPosition: 'LATEST', shardDiscoveryMs: 3_600_000 });
  await eventually(() => m.status()[0].idleSinceMs !== undefined, 'the first read at LATEST');

  await putRecords(client, stream, [{ partitionKey: 'k', data: 'parent' }]);
  await router.splitShard(REGION, stream, 'shardId-000000000000');
  const children = keyed('c', 12, 6);
  await putRecords(client, stream, children);
  await eventually(() => m.inFlight() === 1, 'the parent\'s batch in flight');
  release();
  await m.waitUntilCaughtUp(Date.now());

  expect(delivered[0]).toBe('parent');
  expect(delivered.slice(1).sort()).toEqual(children.map((c) => c.data).sort());
});
