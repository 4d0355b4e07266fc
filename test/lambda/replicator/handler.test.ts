/**
 * The replicator handler against real local emulators: kinesalite per Region behind the Region router, DynamoDB
 * Local for the state tables. The handler module is loaded as Lambda would load it, with its environment.
 */
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type * as ReplicatorModule from '../../../lambda/replicator/index';
import { fullLambdaContext, readStream, toEventRecords } from '../../helpers/kinesis-events';
import { payloadsByKey, startReplicatorWorld, withEnv, type ReplicatorWorld } from '../../helpers/replicator-world';

type Handler = (event: KinesisStreamEvent, context: Context) => Promise<KinesisStreamBatchResponse>;

const EAST = 'us-east-1';
const WEST = 'us-west-2';
const EU = 'eu-west-1';
const STREAM = 'redstream-test-events';

let world: ReplicatorWorld;
let eastHandler: Handler;
let westHandler: Handler;
const savedEnv = { ...process.env };
let stdout: string[] = [];

async function loadHandler(ownRegion: string, targets: string[]): Promise<Handler> {
  let handler: Handler | undefined;
  await withEnv(world.env(ownRegion, targets, { ACTIVE_REGION_CACHE_TTL_MS: '0' }), async () => {
    jest.isolateModules(() => {
      // A fresh module instance per Region, as each Lambda function has its own (env parsed at module scope).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      handler = (require('../../../lambda/replicator/index') as typeof ReplicatorModule).handler;
    });
  });
  return handler!;
}

async function eventFor(region: string, streamName: string): Promise<KinesisStreamEvent> {
  const records = await readStream(world.kinesis(region), streamName);
  return { Records: await toEventRecords(world.kinesis(region), streamName, region, records) };
}

function emf(metric: string): Array<Record<string, unknown>> {
  return stdout
    .filter((l) => l.includes('"_aws"') && l.includes(`"${metric}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

beforeAll(async () => {
  world = await startReplicatorWorld([EAST, WEST, EU]);
  // Shared by every handler instance; AWS_REGION and TARGET_REGIONS are set per instance by loadHandler.
  const { AWS_REGION: _r, TARGET_REGIONS: _t, ...common } = world.env(EAST, [WEST]);
  Object.assign(process.env, common);
  eastHandler = await loadHandler(EAST, [WEST, EU]);
  westHandler = await loadHandler(WEST, [EAST]);
  await world.createStream(STREAM, { [EAST]: 1, [WEST]: 2, [EU]: 2 });
});

afterAll(async () => {
  process.env = savedEnv;
  await world?.stop();
});

beforeEach(() => {
  stdout = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(...String(chunk).split('\n').filter((l) => l.length > 0));
    return true;
  });
});

afterEach(() => jest.restoreAllMocks());

describe('replicator handler (local emulators)', () => {
  const source = Array.from({ length: 300 }, (_, i) => ({ partitionKey: `user-${i % 20}`, data: JSON.stringify({ messageId: `m-${i}`, n: i }) }));
  let activatedAt: number;

  test('a batch replicates completely, in per-key order, to every target Region, and is checkpointed', async () => {
    activatedAt = Date.now() - 60_000;
    await world.setActive({ streamName: STREAM, activeRegion: EAST, state: 'ACTIVE', epoch: 1, activatedAt });
    await world.putRecords(EAST, STREAM, source);
    const event = await eventFor(EAST, STREAM);
    expect(event.Records).toHaveLength(300);

    const response = await eastHandler(event, fullLambdaContext() as Context);

    expect(response).toEqual({ batchItemFailures: [] });
    const expected = payloadsByKey(source);
    for (const target of [WEST, EU]) {
      const copied = await readStream(world.kinesis(target), STREAM);
      expect(copied).toHaveLength(300);
      expect(payloadsByKey(copied)).toEqual(expected);
    }
    const last = event.Records[299].kinesis;
    const cp = await world.checkpoint(STREAM, EAST, 'shardId-000000000000');
    expect(cp).toMatchObject({
      streamName: STREAM,
      shardId: `${EAST}/shardId-000000000000`,
      sourceRegion: EAST,
      sourceShardId: 'shardId-000000000000',
      sequenceNumber: last.sequenceNumber,
      sequenceNumberPadded: last.sequenceNumber.padStart(128, '0'),
      approximateArrivalTimestamp: Math.round(last.approximateArrivalTimestamp * 1000),
    });
    expect(cp?.replicatedAfter).toBeUndefined();
    // Strict order over 20 keys with 15 records each: 15 calls per target is the floor.
    const [metrics] = emf('RecordsReplicated');
    expect(metrics).toMatchObject({ stream: STREAM, region: EAST, service: 'replicator', RecordsReplicated: 300, PutRecordsCalls: 30, RetriedEntries: 0 });
    expect(metrics.BytesReplicated).toBe(source.reduce((n, r) => n + Buffer.byteLength(r.data), 0));
    expect(metrics.ReplicationLagSeconds).toEqual(expect.any(Number));
    const log = stdout.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'batch done');
    expect(log).toMatchObject({ stream: STREAM, shard: 'shardId-000000000000', firstSequenceNumber: event.Records[0].kinesis.sequenceNumber, lastSequenceNumber: last.sequenceNumber });
  });

  test('a redelivered batch adds nothing to the targets', async () => {
    const event = await eventFor(EAST, STREAM);

    const response = await eastHandler(event, fullLambdaContext() as Context);

    expect(response).toEqual({ batchItemFailures: [] });
    for (const target of [WEST, EU]) expect(await readStream(world.kinesis(target), STREAM)).toHaveLength(300);
    expect(emf('RecordsBelowCheckpoint')[0]).toMatchObject({ RecordsBelowCheckpoint: 300, RecordsReplicated: 0, PutRecordsCalls: 0 });
  });

  test.each([
    { name: 'the standby Region (another Region is active)', item: { activeRegion: WEST, state: 'ACTIVE' as const } },
    { name: 'a Region whose stream is draining', item: { activeRegion: EAST, state: 'DRAINING' as const } },
  ])('$name replicates nothing and does not checkpoint', async ({ item }) => {
    const stream = `redstream-test-guard-${item.state.toLowerCase()}`;
    await world.createStream(stream, { [EAST]: 1, [WEST]: 1, [EU]: 1 });
    await world.setActive({ streamName: stream, epoch: 2, activatedAt: 0, ...item });
    await world.putRecords(EAST, stream, source.slice(0, 20));

    const response = await eastHandler(await eventFor(EAST, stream), fullLambdaContext() as Context);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await readStream(world.kinesis(WEST), stream)).toHaveLength(0);
    expect(await readStream(world.kinesis(EU), stream)).toHaveLength(0);
    expect(await world.checkpoint(stream, EAST, 'shardId-000000000000')).toBeUndefined();
    expect(emf('RecordsNotForwarded')[0]).toMatchObject({ RecordsNotForwarded: 20, RecordsReplicated: 0 });
  });

  test('after a switch, records that arrived as replicas are not forwarded back; new ones are', async () => {
    // The first test left 300 replicas in us-west-2. Fence the old Region, then activate us-west-2 at T.
    await world.setActive({ streamName: STREAM, activeRegion: EAST, state: 'DRAINING', epoch: 2, activatedAt });
    await new Promise((r) => setTimeout(r, 5)); // arrival times are milliseconds: make T later than every replica
    const T = Date.now();
    await world.setActive({ streamName: STREAM, activeRegion: WEST, state: 'ACTIVE', epoch: 3, activatedAt: T });
    const replicas = await eventFor(WEST, STREAM);
    expect(replicas.Records).toHaveLength(300);

    expect(await westHandler(replicas, fullLambdaContext() as Context)).toEqual({ batchItemFailures: [] });
    expect(await readStream(world.kinesis(EAST), STREAM)).toHaveLength(300); // only the originals

    await world.putRecords(WEST, STREAM, [{ partitionKey: 'user-1', data: 'written in us-west-2 after T' }]);
    expect(await westHandler(await eventFor(WEST, STREAM), fullLambdaContext() as Context)).toEqual({ batchItemFailures: [] });
    const east = await readStream(world.kinesis(EAST), STREAM);
    expect(east).toHaveLength(301);
    expect(east[300]).toMatchObject({ partitionKey: 'user-1', data: 'written in us-west-2 after T' });
    // …and the east replicator, no longer active, does not send it back.
    expect(await eastHandler(await eventFor(EAST, STREAM), fullLambdaContext() as Context)).toEqual({ batchItemFailures: [] });
    expect(await readStream(world.kinesis(WEST), STREAM)).toHaveLength(301);
  });

  test('a missing active-Region item fails the invocation and says who seeds it', async () => {
    const stream = 'redstream-test-unseeded';
    await world.createStream(stream, { [EAST]: 1 });
    await world.putRecords(EAST, stream, [{ partitionKey: 'a', data: 'x' }]);

    await expect(eastHandler(await eventFor(EAST, stream), fullLambdaContext() as Context)).rejects.toThrow(
      /no active-Region item for stream redstream-test-unseeded in table redstream-test-active-region: the state stack seeds/,
    );
  });

  test('a missing target stream is a non-retryable error: the invocation fails, and the retry sends only what is missing', async () => {
    const stream = 'redstream-test-no-target';
    await world.createStream(stream, { [EAST]: 1, [WEST]: 1 }); // no eu-west-1 stream yet
    await world.setActive({ streamName: stream, activeRegion: EAST, state: 'ACTIVE', epoch: 1, activatedAt: 0 });
    await world.putRecords(EAST, stream, [{ partitionKey: 'a', data: 'x' }]);
    const event = await eventFor(EAST, stream);
    const seq = event.Records[0].kinesis.sequenceNumber;

    await expect(eastHandler(event, fullLambdaContext() as Context)).rejects.toThrow(/eu-west-1: ResourceNotFoundException/);
    expect(emf('IncompleteBatches')[0]).toMatchObject({ IncompleteBatches: 1 });
    // The checkpoint is anchored just before the batch and remembers that us-west-2 already has the record.
    expect(await world.checkpoint(stream, EAST, 'shardId-000000000000')).toMatchObject({
      sequenceNumber: (BigInt(seq) - 1n).toString(),
      replicatedAfter: { [WEST]: [seq] },
    });

    await world.createStream(stream, { [EU]: 1 });
    expect(await eastHandler(event, fullLambdaContext() as Context)).toEqual({ batchItemFailures: [] });
    expect(await readStream(world.kinesis(WEST), stream)).toHaveLength(1); // not sent twice
    expect(await readStream(world.kinesis(EU), stream)).toHaveLength(1);
    const cp = await world.checkpoint(stream, EAST, 'shardId-000000000000');
    expect(cp?.sequenceNumber).toBe(seq);
    expect(cp?.replicatedAfter).toBeUndefined();
  });
});
