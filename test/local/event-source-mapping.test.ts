import * as path from 'node:path';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { createStreams, localKinesisClient, RunningService, startKinesis, startKinesisRegionRouter, KinesisRegionRouter } from '../../local/emulators';
import { EventSourceMapping, EventSourceMappingProps, KinesisBatchInfo, startEventSourceMapping } from '../../local/event-source-mapping';
import { inProcessFunction, LocalFunction, startWorkerFunction } from '../../local/local-function';
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
  router.setRegionDown(REGION, false);
});

afterAll(async () => {
  client.destroy();
  await router.stop();
  await kinesalite.stop();
});

/** A stream with `count` records; keys cycle over `keys`, data is `<key>:<n>`. */
async function streamWith(count: number, shards = 1, keys = 5): Promise<string> {
  const name = uniqueName('esm');
  await createStreams(client, [{ name, shards }]);
  await putRecords(
    client,
    name,
    Array.from({ length: count }, (_, i) => ({ partitionKey: `k${i % keys}`, data: `k${i % keys}:${i}` })),
  );
  return name;
}

async function start(props: Omit<EventSourceMappingProps, 'kinesis' | 'region'>): Promise<EventSourceMapping> {
  const m = await startEventSourceMapping({ kinesis: client, region: REGION, idlePollMs: 20, retryBackoffMs: { min: 1, max: 10 }, ...props });
  mappings.push(m);
  return m;
}

const payload = (r: KinesisStreamRecord): string => Buffer.from(r.kinesis.data, 'base64').toString('utf8');

/** Records each invocation's batch; `respond` decides the answer. */
function recorder(respond: (event: KinesisStreamEvent, call: number) => unknown = () => undefined): { fn: LocalFunction; batches: KinesisStreamRecord[][] } {
  const batches: KinesisStreamRecord[][] = [];
  const fn = inProcessFunction(async (event: KinesisStreamEvent) => {
    batches.push(event.Records);
    return respond(event, batches.length);
  });
  return { fn, batches };
}

test('delivers every record once, per shard in order, in batches of at most batchSize, shaped as Lambda does', async () => {
  const stream = await streamWith(120, 3, 12);
  const { fn, batches } = recorder();
  const m = await start({ streamName: stream, target: fn, batchSize: 7 });
  const since = Date.now();
  await m.waitUntilCaughtUp(since);

  const all = batches.flat();
  expect(all).toHaveLength(120);
  expect(new Set(all.map(payload)).size).toBe(120);
  expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(7);
  for (const batch of batches) expect(new Set(batch.map((r) => r.eventID.split(':')[0])).size).toBe(1);
  const byShard = new Map<string, bigint[]>();
  for (const r of all) {
    const [shard, seq] = r.eventID.split(':');
    expect(seq).toBe(r.kinesis.sequenceNumber);
    byShard.set(shard, [...(byShard.get(shard) ?? []), BigInt(seq)]);
  }
  expect(byShard.size).toBeGreaterThan(1);
  for (const seqs of byShard.values()) expect(seqs).toEqual([...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));

  const first = all[0];
  expect(first).toMatchObject({
    eventSource: 'aws:kinesis',
    eventName: 'aws:kinesis:record',
    eventVersion: '1.0',
    awsRegion: REGION,
    eventSourceARN: `arn:aws:kinesis:${REGION}:000000000000:stream/${stream}`,
    kinesis: { kinesisSchemaVersion: '1.0', partitionKey: payload(first).split(':')[0] },
  });
  expect(first.kinesis.approximateArrivalTimestamp).toBeGreaterThan(1e9);
  expect(first.kinesis.approximateArrivalTimestamp).toBeLessThan(1e11);
});

test('a partial batch response resumes from the lowest reported record and does not redeliver the ones before it', async () => {
  const stream = await streamWith(20);
  const { fn, batches } = recorder((event, call) =>
    call === 1 ? { batchItemFailures: [{ itemIdentifier: event.Records[9].kinesis.sequenceNumber }, { itemIdentifier: event.Records[6].kinesis.sequenceNumber }] } : { batchItemFailures: [] },
  );
  const m = await start({ streamName: stream, target: fn, batchSize: 10, reportBatchItemFailures: true });
  await m.waitUntilCaughtUp(Date.now());

  expect(batches[0].map(payload)).toEqual(Array.from({ length: 10 }, (_, i) => `k${i % 5}:${i}`));
  expect(payload(batches[1][0])).toBe('k1:6');
  const delivered = batches.slice(1).flat().map(payload);
  expect(delivered).toEqual(Array.from({ length: 14 }, (_, i) => `k${(i + 6) % 5}:${i + 6}`));
  expect(m.status()[0]).toMatchObject({ recordsDone: 20, recordsDiscarded: 0, failedInvocations: 1 });
});

test('without ReportBatchItemFailures a partial response counts as success', async () => {
  const stream = await streamWith(10);
  const { fn, batches } = recorder((event) => ({ batchItemFailures: [{ itemIdentifier: event.Records[3].kinesis.sequenceNumber }] }));
  const m = await start({ streamName: stream, target: fn, batchSize: 10 });
  await m.waitUntilCaughtUp(Date.now());
  expect(batches).toHaveLength(1);
});

test('a failing batch is retried retryAttempts times, then its metadata goes to onFailure and the mapping moves on', async () => {
  const stream = await streamWith(12);
  const failures: KinesisBatchInfo[] = [];
  const { fn, batches } = recorder((event) => {
    if (payload(event.Records[0]) === 'k0:0') throw new Error('poison');
    return undefined;
  });
  const m = await start({ streamName: stream, target: fn, batchSize: 5, retryAttempts: 2, onFailure: (info) => void failures.push(info) });
  await m.waitUntilCaughtUp(Date.now());

  expect(batches.slice(0, 3).map((b) => b.map(payload))).toEqual(Array(3).fill(['k0:0', 'k1:1', 'k2:2', 'k3:3', 'k4:4']));
  expect(batches.slice(3).flat().map(payload)).toEqual(['k0:5', 'k1:6', 'k2:7', 'k3:8', 'k4:9', 'k0:10', 'k1:11']);
  expect(failures).toEqual([
    expect.objectContaining({
      requestContext: expect.objectContaining({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 }),
      responseContext: { functionError: 'Error: poison' },
      KinesisBatchInfo: expect.objectContaining({
        shardId: 'shardId-000000000000',
        startSequenceNumber: batches[0][0].kinesis.sequenceNumber,
        endSequenceNumber: batches[0][4].kinesis.sequenceNumber,
        batchSize: 5,
      }),
    }),
  ]);
  expect(m.status()[0]).toMatchObject({ recordsDone: 7, recordsDiscarded: 5 });
});

test('an identifier that is not in the batch fails the whole batch', async () => {
  const stream = await streamWith(4);
  const { fn, batches } = recorder((_event, call) => (call === 1 ? { batchItemFailures: [{ itemIdentifier: '1' }] } : undefined));
  const m = await start({ streamName: stream, target: fn, batchSize: 10, reportBatchItemFailures: true });
  await m.waitUntilCaughtUp(Date.now());
  expect(batches.map((b) => b.length)).toEqual([4, 4]);
});

test('the batching window gathers records until the batch is full; a shard never has two invocations at once', async () => {
  const stream = await streamWith(25, 2, 10);
  let now = 1_000_000; // a frozen clock: the window never elapses on its own
  let inFlight = 0;
  let maxInFlightPerShard = 0;
  const perShard = new Map<string, number>();
  const { fn, batches } = recorder(async (event) => {
    const shard = event.Records[0].eventID.split(':')[0];
    perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
    inFlight++;
    maxInFlightPerShard = Math.max(maxInFlightPerShard, ...perShard.values());
    await new Promise((r) => setTimeout(r, 10));
    perShard.set(shard, (perShard.get(shard) ?? 0) - 1);
    inFlight--;
  });
  const m = await start({ streamName: stream, target: fn, batchSize: 5, maxBatchingWindowMs: 60_000, clock: () => now });

  const pendingTotal = (): number => m.status().reduce((n, s) => n + s.pending, 0);
  await eventually(() => inFlight === 0 && m.status().every((s) => s.pending < 5) && pendingTotal() + batches.flat().length === 25, 'full batches');
  const fullBatches = batches.length;
  expect(batches.every((b) => b.length === 5)).toBe(true);

  now += 60_000; // the window elapses: the remainders are delivered
  await m.waitUntilCaughtUp(0);
  expect(batches.flat()).toHaveLength(25);
  expect(batches.slice(fullBatches).every((b) => b.length < 5)).toBe(true);
  expect(maxInFlightPerShard).toBe(1);
  expect(inFlight).toBe(0);
});

test('a Region outage pauses reading; the mapping resumes where it was', async () => {
  const stream = await streamWith(10);
  const { fn, batches } = recorder();
  const m = await start({ streamName: stream, target: fn, batchSize: 100 });
  await m.waitUntilCaughtUp(Date.now());

  router.setRegionDown(REGION, true);
  await eventually(() => m.status()[0].readError !== undefined, 'a read error');
  expect(m.status()[0].readError).toMatch(/down/);
  router.setRegionDown(REGION, false);
  await putRecords(client, stream, [{ partitionKey: 'k', data: 'after' }]);
  await m.waitUntilCaughtUp(Date.now());
  expect(batches.flat().map(payload)).toEqual([...Array.from({ length: 10 }, (_, i) => `k${i % 5}:${i}`), 'after']);
});

test('handlers in worker threads get the records and their answers are honoured', async () => {
  const stream = await streamWith(6);
  const fn = await startWorkerFunction({
    entry: path.join(__dirname, 'fixtures', 'fail-first-handler.ts'),
    functionName: 'fail-first',
    region: REGION,
    environment: {},
  });
  try {
    const answers: unknown[] = [];
    const m = await start({ streamName: stream, target: fn, batchSize: 6, reportBatchItemFailures: true, onInvocation: (o) => answers.push(o.result) });
    await m.waitUntilCaughtUp(Date.now());
    expect(answers).toEqual([
      { kind: 'returned', response: { batchItemFailures: [{ itemIdentifier: expect.any(String) }] } },
      { kind: 'returned', response: { batchItemFailures: [] } },
    ]);
    expect(m.status()[0]).toMatchObject({ recordsDone: 6, invocations: 2 });
  } finally {
    await Promise.all(mappings.splice(0).map((mm) => mm.stop()));
    await fn.close();
  }
});

describe('never giving up, throttles and disabling (what fencing and long outages rely on)', () => {
  test('retryAttempts -1 and maxRecordAgeMs -1 retry a failing batch for ever: nothing is discarded', async () => {
    const stream = await streamWith(5);
    const failures: KinesisBatchInfo[] = [];
    const { fn, batches } = recorder((_event, call) => {
      if (call <= 40) throw new Error('target Region down');
      return undefined;
    });
    const m = await start({ streamName: stream, target: fn, batchSize: 5, retryAttempts: -1, maxRecordAgeMs: -1, onFailure: (info) => void failures.push(info) });
    await m.waitUntilCaughtUp(Date.now());
    expect(batches).toHaveLength(41);
    expect(failures).toEqual([]);
    expect(m.status()[0]).toMatchObject({ recordsDone: 5, recordsDiscarded: 0 });
    expect(m).toMatchObject({ retryAttempts: -1, maxRecordAgeMs: -1 });
  });

  test.each([
    ['retryAttempts', { retryAttempts: -2 }, /retryAttempts must be a whole number between -1 and 10000 \(got -2\)/],
    ['maxRecordAgeMs', { maxRecordAgeMs: 0 }, /maxRecordAgeMs must be a whole number between 1 and 604800000 \(got 0\)/],
  ])('rejects %s out of range', async (_name, props, message) => {
    const { fn } = recorder();
    await expect(start({ streamName: 'never-created', target: fn, ...props })).rejects.toThrow(message);
  });

  test('a throttled function (reserved concurrency 0) gets no invocation and spends no retry attempt; records are held, then delivered', async () => {
    const stream = await streamWith(6);
    let throttled = true;
    const failures: KinesisBatchInfo[] = [];
    const { fn, batches } = recorder();
    const m = await start({
      streamName: stream,
      target: fn,
      batchSize: 10,
      retryAttempts: 0,
      concurrency: { tryAcquire: () => (throttled ? undefined : () => undefined) },
      onFailure: (info) => void failures.push(info),
    });
    await eventually(() => m.status()[0].throttles >= 5, 'throttles');
    expect(batches).toHaveLength(0);
    expect(m.status()[0]).toMatchObject({ pending: 6, invocations: 0, recordsDiscarded: 0 });

    throttled = false;
    await m.waitUntilCaughtUp(Date.now());
    expect(batches.flat()).toHaveLength(6);
    expect(failures).toEqual([]);
  });

  test('a throttle lasting past the maximum record age discards the batch (RecordAgeExceeded), as Lambda does', async () => {
    const stream = await streamWith(3);
    const failures: KinesisBatchInfo[] = [];
    const { fn, batches } = recorder();
    let now = Date.now();
    const m = await start({
      streamName: stream,
      target: fn,
      batchSize: 10,
      maxRecordAgeMs: 60_000,
      clock: () => now,
      concurrency: { tryAcquire: () => undefined },
      onFailure: (info) => void failures.push(info),
    });
    await eventually(() => m.status()[0].throttles >= 1, 'a throttle');
    now += 120_000;
    await eventually(() => failures.length === 1, 'a discarded batch');
    expect(batches).toHaveLength(0);
    expect(failures[0].requestContext).toMatchObject({ condition: 'RecordAgeExceeded', approximateInvokeCount: 0 });
  });

  test('a disabled mapping starts no invocation (the one in flight finishes) and resumes where it was when enabled', async () => {
    const stream = await streamWith(4);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { fn, batches } = recorder(async (_event, call) => {
      if (call === 1) await gate;
      return undefined;
    });
    const m = await start({ streamName: stream, target: fn, batchSize: 2, stateTransitionMs: 10 });
    await eventually(() => m.inFlight() === 1, 'the first invocation');

    m.setEnabled(false);
    expect(m.state()).toBe('Disabling');
    await eventually(() => m.state() === 'Disabled', 'Disabled');
    expect(m.inFlight()).toBe(1); // "Disabled" promises nothing about an invocation in flight
    release();
    await eventually(() => m.inFlight() === 0, 'the invocation in flight to finish');
    await putRecords(client, stream, [{ partitionKey: 'k', data: 'while disabled' }]);
    await new Promise((r) => setTimeout(r, 200));
    expect(batches).toHaveLength(1);
    expect(m.status()[0]).toMatchObject({ recordsDone: 2 });

    m.setEnabled(true);
    await eventually(() => m.state() === 'Enabled', 'Enabled');
    await m.waitUntilCaughtUp(Date.now());
    expect(batches.flat().map(payload)).toEqual(['k0:0', 'k1:1', 'k2:2', 'k3:3', 'while disabled']);
  });
});
