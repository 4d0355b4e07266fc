/**
 * The checkpoint interval against the local emulators (kinesalite per Region behind the Region router, DynamoDB
 * Local): the handler module is loaded as Lambda loads it, with `CHECKPOINT_INTERVAL_MS` long enough (60 s) that it
 * never elapses during a test, and `MAPPING_BATCH_SIZE` 10, so a 10-record batch is full and a shorter one is not.
 * What the table holds is read back after each invocation: a deferred checkpoint leaves it where it was (nothing keeps
 * it anywhere else), and the shard's next write takes the table past it.
 */
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type * as ReplicatorModule from '../../../lambda/replicator/index';
import { fullLambdaContext, readStream, toEventRecords } from '../../helpers/kinesis-events';
import { startReplicatorWorld, withEnv, type ReplicatorWorld } from '../../helpers/replicator-world';

type Handler = (event: KinesisStreamEvent, context: Context) => Promise<KinesisStreamBatchResponse>;

const EAST = 'us-east-1';
const WEST = 'us-west-2';
const SHARD = 'shardId-000000000000';
const BATCH = 10;
let throttled = false;
/** While set, the first PutRecords call to us-west-2 passes and every later one is throttled (nothing written). */
let passOneCall = false;
let passedCalls = 0;

let world: ReplicatorWorld;
const savedEnv = { ...process.env };
let stdout: string[] = [];

async function loadHandler(intervalMs = 60_000): Promise<Handler> {
  let handler: Handler | undefined;
  const env = world.env(EAST, [WEST], { ACTIVE_REGION_CACHE_TTL_MS: '0', CHECKPOINT_INTERVAL_MS: String(intervalMs), MAPPING_BATCH_SIZE: String(BATCH) });
  await withEnv(env, async () => {
    jest.isolateModules(() => {
      // A fresh module instance: a fresh execution environment.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      handler = (require('../../../lambda/replicator/index') as typeof ReplicatorModule).handler;
    });
  });
  return handler!;
}

/** The stream's records in us-east-1 as Lambda events of `BATCH` records (the last one possibly shorter). */
async function batchesOf(stream: string): Promise<KinesisStreamEvent[]> {
  const records = await toEventRecords(world.kinesis(EAST), stream, EAST, await readStream(world.kinesis(EAST), stream));
  const out: KinesisStreamEvent[] = [];
  for (let i = 0; i < records.length; i += BATCH) out.push({ Records: records.slice(i, i + BATCH) });
  return out;
}

function lastSeq(event: KinesisStreamEvent): string {
  return event.Records[event.Records.length - 1].kinesis.sequenceNumber;
}

function logged(): Array<Record<string, unknown>> {
  return stdout.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message !== undefined);
}

async function newStream(name: string, records: number): Promise<void> {
  await world.createStream(name, { [EAST]: 1, [WEST]: 1 });
  await world.setActive({ streamName: name, activeRegion: EAST, state: 'ACTIVE', epoch: 1, activatedAt: Date.now() - 60_000 });
  await world.putRecords(
    EAST,
    name,
    Array.from({ length: records }, (_, i) => ({ partitionKey: `user-${i % 4}`, data: JSON.stringify({ messageId: `${name}-${i}` }) })),
  );
}

beforeAll(async () => {
  world = await startReplicatorWorld([EAST, WEST], {
    // While set, every PutRecords to us-west-2 is throttled as a whole (nothing written), until the deadline stops the batch.
    fault: (req) => {
      if (req.action !== 'PutRecords' || req.region !== WEST) return { kind: 'pass' };
      if (passOneCall && passedCalls++ === 0) return { kind: 'pass' };
      return throttled || passOneCall
        ? { kind: 'error', status: 400, errorType: 'ProvisionedThroughputExceededException', message: 'injected: rate exceeded' }
        : { kind: 'pass' };
    },
  });
  const { AWS_REGION: _r, TARGET_REGIONS: _t, ...common } = world.env(EAST, [WEST]);
  Object.assign(process.env, common);
});

afterAll(async () => {
  process.env = savedEnv;
  await world?.stop();
});

beforeEach(() => {
  throttled = false;
  passOneCall = false;
  passedCalls = 0;
  stdout = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(...String(chunk).split('\n').filter((l) => l.length > 0));
    return true;
  });
});

afterEach(() => jest.restoreAllMocks());

describe('checkpoint interval (local emulators)', () => {
  test('full batches within the interval: one write; the partial batch that ends the run is written', async () => {
    const stream = 'redstream-test-interval-full';
    await newStream(stream, 3 * BATCH + 4);
    const handler = await loadHandler();
    const [b1, b2, b3, b4] = await batchesOf(stream);

    // The shard's first checkpoint is written, whatever the interval.
    expect(await handler(b1, fullLambdaContext() as Context)).toEqual({ batchItemFailures: [] });
    const first = await world.checkpoint(stream, EAST, SHARD);
    expect(first?.sequenceNumber).toBe(lastSeq(b1));

    // Two more full batches within the interval: replicated, the table not written.
    for (const b of [b2, b3]) expect(await handler(b, fullLambdaContext() as Context)).toEqual({ batchItemFailures: [] });
    expect(await world.checkpoint(stream, EAST, SHARD)).toEqual(first);
    expect(await readStream(world.kinesis(WEST), stream)).toHaveLength(3 * BATCH);
    expect(logged().filter((l) => l.message === 'batch done').map((l) => [l.checkpoint, l.checkpointReason])).toEqual([
      ['written', 'first-checkpoint'],
      ['deferred', 'deferred'],
      ['deferred', 'deferred'],
    ]);

    // A partial batch: the shard has caught up, so the checkpoint is written, up to its last record.
    expect(await handler(b4, fullLambdaContext() as Context)).toEqual({ batchItemFailures: [] });
    expect(b4.Records).toHaveLength(4);
    expect(await world.checkpoint(stream, EAST, SHARD)).toMatchObject({ sequenceNumber: lastSeq(b4) });
    expect(await readStream(world.kinesis(WEST), stream)).toHaveLength(3 * BATCH + 4);
  });

  test('returns a failure → the checkpoint is written, from the table with what this batch replicated', async () => {
    const stream = 'redstream-test-interval-failure';
    await newStream(stream, 3 * BATCH);
    const handler = await loadHandler();
    const [b1, b2, b3] = await batchesOf(stream);
    await handler(b1, fullLambdaContext() as Context);
    expect(await handler(b2, fullLambdaContext() as Context)).toEqual({ batchItemFailures: [] });
    expect((await world.checkpoint(stream, EAST, SHARD))?.sequenceNumber).toBe(lastSeq(b1)); // b2 deferred

    // Batch 3 (4 keys, strict order: one record per key per call): the first call (its records 0–3) passes, then the
    // target throttles every call until the deadline (3 s after the 5 s safety margin).
    passOneCall = true;
    const response = await handler(b3, fullLambdaContext(8_000) as Context);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: b3.Records[4].kinesis.sequenceNumber }] });
    // Written although the batch was full and the interval has not elapsed: the end of what batch 3 replicated.
    expect(await world.checkpoint(stream, EAST, SHARD)).toMatchObject({ sequenceNumber: b3.Records[3].kinesis.sequenceNumber });

    // Redelivered from record 4 once the target accepts writes again: completes (a partial batch: written), nothing
    // sent twice.
    passOneCall = false;
    expect(await handler({ Records: b3.Records.slice(4) }, fullLambdaContext() as Context)).toEqual({ batchItemFailures: [] });
    expect(await world.checkpoint(stream, EAST, SHARD)).toMatchObject({ sequenceNumber: lastSeq(b3) });
    const copied = (await readStream(world.kinesis(WEST), stream)).map((r) => r.data);
    expect(copied).toHaveLength(3 * BATCH);
    expect(new Set(copied).size).toBe(3 * BATCH);
  });

  test('a stop that replicated nothing leaves the table where it was (behind the deferred batch, never ahead)', async () => {
    const stream = 'redstream-test-interval-nothing';
    await newStream(stream, 3 * BATCH);
    const handler = await loadHandler();
    const [b1, b2, b3] = await batchesOf(stream);
    await handler(b1, fullLambdaContext() as Context);
    await handler(b2, fullLambdaContext() as Context); // deferred
    throttled = true;
    expect(await handler(b3, fullLambdaContext(8_000) as Context)).toEqual({ batchItemFailures: [{ itemIdentifier: b3.Records[0].kinesis.sequenceNumber }] });
    expect((await world.checkpoint(stream, EAST, SHARD))?.sequenceNumber).toBe(lastSeq(b1));
    throttled = false;
    expect(await handler(b3, fullLambdaContext() as Context)).toEqual({ batchItemFailures: [] });
    expect(await readStream(world.kinesis(WEST), stream)).toHaveLength(3 * BATCH);
  });

  test('when forwarding stops (the stream drains away from this Region), a deferred checkpoint stays behind', async () => {
    const stream = 'redstream-test-interval-drain';
    await newStream(stream, 2 * BATCH);
    const handler = await loadHandler();
    const [b1, b2] = await batchesOf(stream);
    await handler(b1, fullLambdaContext() as Context);
    await handler(b2, fullLambdaContext() as Context);
    expect((await world.checkpoint(stream, EAST, SHARD))?.sequenceNumber).toBe(lastSeq(b1)); // b2 deferred

    await world.setActive({ streamName: stream, activeRegion: EAST, state: 'DRAINING', epoch: 2, activatedAt: Date.now() - 60_000, targetRegion: WEST });
    await world.putRecords(EAST, stream, [{ partitionKey: 'user-0', data: 'written while draining' }]);
    const [, , b3] = await batchesOf(stream);

    expect(await handler(b3, fullLambdaContext() as Context)).toEqual({ batchItemFailures: [] });
    // Not forwarded; the failover's low-water mark still starts from batch 1's end (early: more re-sends, no loss).
    expect(await readStream(world.kinesis(WEST), stream)).toHaveLength(2 * BATCH);
    expect((await world.checkpoint(stream, EAST, SHARD))?.sequenceNumber).toBe(lastSeq(b1));
  });

  test('a fresh execution environment writes the first full batch it sees only when the stored checkpoint is an interval old', async () => {
    const stream = 'redstream-test-interval-fresh';
    await newStream(stream, 2 * BATCH);
    const [b1, b2] = await batchesOf(stream);
    await (await loadHandler())(b1, fullLambdaContext() as Context);
    // Another environment takes the shard's next full batch: the stored checkpoint is seconds old, so it defers too
    // (the interval is timed by the table's updatedAt, not by the environment).
    const other = await loadHandler();
    await other(b2, fullLambdaContext() as Context);
    expect((await world.checkpoint(stream, EAST, SHARD))?.sequenceNumber).toBe(lastSeq(b1));
    expect(await readStream(world.kinesis(WEST), stream)).toHaveLength(2 * BATCH);
  });

  test('interval 0: every invocation writes, full batches included', async () => {
    const stream = 'redstream-test-interval-off';
    await newStream(stream, 3 * BATCH);
    const handler = await loadHandler(0);
    const seen: string[] = [];
    for (const b of await batchesOf(stream)) {
      expect(await handler(b, fullLambdaContext() as Context)).toEqual({ batchItemFailures: [] });
      seen.push((await world.checkpoint(stream, EAST, SHARD))?.sequenceNumber ?? '-');
    }
    const batches = await batchesOf(stream);
    expect(seen).toEqual(batches.map(lastSeq));
    expect(logged().filter((l) => l.message === 'batch done').map((l) => l.checkpointReason)).toEqual(['every-invocation', 'every-invocation', 'every-invocation']);
  });
});
