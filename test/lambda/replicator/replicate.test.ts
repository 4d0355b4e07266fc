/**
 * The core with in-memory collaborators: outcomes that are awkward to force through emulators deterministically
 * (our checkpoint write losing a race, the deadline before the first call, the deadline during backoff).
 */
import { CheckpointMemory } from '../../../lambda/replicator/checkpoint';
import { replicateEvent, type ReplicatorDeps, type PutRecordsRequest } from '../../../lambda/replicator/replicate';
import type { EntryResult } from '../../../lambda/replicator/planner';
import type { ActiveRegionItem, CheckpointItem } from '../../../lambda/shared/state-tables';
import { kinesisEvent, lambdaContext } from '../../helpers/kinesis-events';

const active: ActiveRegionItem = { streamName: 'redstream-test-events', activeRegion: 'us-east-1', state: 'ACTIVE', epoch: 1, activatedAt: 0, updatedAt: 0 };

function deps(over: { answer?: (r: PutRecordsRequest) => EntryResult[]; advance?: (item: CheckpointItem) => 'written' | 'stale' } = {}) {
  let now = 1_000_000;
  const calls: PutRecordsRequest[] = [];
  const written: CheckpointItem[] = [];
  const d: ReplicatorDeps = {
    settings: {
      ownRegion: 'us-east-1',
      targetRegions: ['us-west-2'],
      relaxedStreams: new Set(),
      maxRequestBytes: 5 * 1024 * 1024,
      maxAttempts: 10,
      backoff: { baseDelayMs: 1_000, maxDelayMs: 1_000 },
      callTimeoutMs: 10_000,
      safetyMarginMs: 5_000,
    },
    writer: {
      putRecords: async (r) => {
        calls.push(r);
        now += 40;
        return over.answer ? over.answer(r) : r.entries.map(() => ({ ok: true }));
      },
    },
    checkpoints: {
      get: async () => undefined,
      advance: async (item) => {
        written.push(item);
        return over.advance ? over.advance(item) : 'written';
      },
    },
    activeRegions: { tableName: 'active', get: async () => active },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    random: () => 0.999,
  };
  return { d, calls, written };
}

const event = kinesisEvent([{ partitionKey: 'a' }, { partitionKey: 'b' }, { partitionKey: 'a' }]);

test('losing the checkpoint race to a newer checkpoint is not an error', async () => {
  const { d, written } = deps({ advance: () => 'stale' });
  const { batchItemFailures, results } = await replicateEvent(event, lambdaContext(60_000), d);
  expect(batchItemFailures).toEqual([]);
  expect(results[0].checkpoint).toBe('stale');
  expect(written).toHaveLength(1);
});

test('no time left: nothing is sent and the first record is reported', async () => {
  const { d, calls, written } = deps();
  const { batchItemFailures, results } = await replicateEvent(event, lambdaContext(5_000), d);
  expect(calls).toHaveLength(0);
  expect(written).toHaveLength(0);
  expect(batchItemFailures).toEqual([{ itemIdentifier: event.Records[0].kinesis.sequenceNumber }]);
  expect(results[0].stopReason).toBe('deadline');
});

test('the deadline during backoff stops the batch: what succeeded is checkpointed, the first failed record is reported', async () => {
  // Record 1 (key b) always throttled; backoff (≈ 1 s) does not fit in the 1.5 s left after the margin.
  const { d, written } = deps({
    answer: (r) => r.entries.map((e): EntryResult => (e.partitionKey === 'b' ? { ok: false, errorCode: 'ProvisionedThroughputExceededException' } : { ok: true })),
  });
  const { batchItemFailures, results } = await replicateEvent(event, lambdaContext(6_500), d);
  expect(batchItemFailures).toEqual([{ itemIdentifier: event.Records[1].kinesis.sequenceNumber }]);
  expect(results[0].stopReason).toBe('deadline');
  expect(written[0]).toMatchObject({
    sequenceNumber: event.Records[0].kinesis.sequenceNumber,
    replicatedAfter: { 'us-west-2': [event.Records[2].kinesis.sequenceNumber] },
  });
});

test('a record that reached every target after the first unreplicated one counts as replicated once, when its prefix is done', async () => {
  // Invocation 1: key b is throttled until the deadline, so record 2 (key a) reaches the target beyond the stop.
  // Invocation 2 (redelivered from record 1): everything succeeds; record 2 is skipped as already held.
  let throttleB = true;
  const { d } = deps({
    answer: (r) => r.entries.map((e): EntryResult => (throttleB && e.partitionKey === 'b' ? { ok: false, errorCode: 'ProvisionedThroughputExceededException' } : { ok: true })),
  });
  let stored: CheckpointItem | undefined;
  const withStore: ReplicatorDeps = {
    ...d,
    checkpoints: {
      get: async () => stored,
      advance: async (item) => {
        stored = item;
        return 'written';
      },
    },
  };

  const first = await replicateEvent(event, lambdaContext(6_500), withStore);
  expect(first.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1].kinesis.sequenceNumber }]);
  throttleB = false;
  const second = await replicateEvent({ Records: event.Records.slice(1) }, lambdaContext(60_000), withStore);
  expect(second.batchItemFailures).toEqual([]);

  // Nothing after the first unreplicated record counts as done: each record is counted once over both invocations.
  const results = [...first.results, ...second.results];
  expect(results.map((r) => r.replicated)).toEqual([1, 2]);
  expect(results.reduce((n, r) => n + r.bytesReplicated, 0)).toBe(event.Records.reduce((n, r) => n + Buffer.from(r.kinesis.data, 'base64').byteLength, 0));
});

describe('hold rather than skip (issue 9, defect 2)', () => {
  const draining: ActiveRegionItem = { ...active, activeRegion: 'us-west-2', state: 'DRAINING', targetRegion: 'us-east-1', epoch: 2, switchId: 'sw' };

  test('a switch toward this Region under way: the batch is held (first record reported), nothing sent or checkpointed', async () => {
    const { d, calls, written } = deps();
    const slept: number[] = [];
    const held: ReplicatorDeps = { ...d, settings: { ...d.settings, holdDelayMs: 700 }, activeRegions: { tableName: 'active', get: async () => draining }, sleep: async (ms) => void slept.push(ms) };
    const { batchItemFailures, results } = await replicateEvent(event, lambdaContext(60_000), held);
    expect(batchItemFailures).toEqual([{ itemIdentifier: event.Records[0].kinesis.sequenceNumber }]);
    expect(results[0]).toMatchObject({ held: 3, notForwarded: 0, stopReason: 'held', checkpoint: 'unchanged' });
    expect(calls).toHaveLength(0);
    expect(written).toHaveLength(0);
    expect(slept).toEqual([700]);
  });

  test('a cached item that says another Region is active is re-read before anything is skipped', async () => {
    const { d, calls } = deps();
    let freshReads = 0;
    const stale: ActiveRegionItem = { ...active, activeRegion: 'us-west-2', epoch: 1 };
    const now: ActiveRegionItem = { ...active, epoch: 3, activatedAt: 0 };
    const source = { tableName: 'active', get: async () => stale, getFresh: async () => (freshReads++, now) };
    const { batchItemFailures, results } = await replicateEvent(event, lambdaContext(60_000), { ...d, activeRegions: source });
    expect(freshReads).toBe(1);
    expect(batchItemFailures).toEqual([]);
    expect(results[0].replicated).toBe(3);
    expect(calls.length).toBeGreaterThan(0);
  });

  test('a fresh read that says another Region is active skips the batch without a checkpoint', async () => {
    const { d, calls, written } = deps();
    const elsewhere: ActiveRegionItem = { ...active, activeRegion: 'us-west-2' };
    const { batchItemFailures, results } = await replicateEvent(event, lambdaContext(60_000), { ...d, activeRegions: { tableName: 'active', get: async () => elsewhere, getFresh: async () => elsewhere } });
    expect(batchItemFailures).toEqual([]);
    expect(results[0]).toMatchObject({ notForwarded: 3, held: 0, checkpoint: 'unchanged' });
    expect(calls).toHaveLength(0);
    expect(written).toHaveLength(0);
  });
});

describe('checkpoint interval (in-memory collaborators)', () => {
  // Batches of 3 records are full; the interval (60 s) never elapses on this clock.
  function intervalDeps() {
    const { d, calls, written } = deps();
    let stored: CheckpointItem | undefined;
    const memory = new CheckpointMemory();
    const withStore: ReplicatorDeps = {
      ...d,
      settings: { ...d.settings, checkpointIntervalMs: 60_000, batchSize: 3 },
      checkpointMemory: memory,
      checkpoints: {
        get: async () => stored,
        advance: async (item) => {
          written.push(item);
          stored = item;
          return 'written';
        },
      },
    };
    return { d: withStore, calls, written };
  }
  const batches = [0, 1, 2].map((b) =>
    kinesisEvent(Array.from({ length: 9 }, (_, i) => ({ partitionKey: ['a', 'b', 'c'][i % 3] }))).Records.slice(3 * b, 3 * b + 3),
  );

  test('an invocation that throws writes the checkpoint it deferred before the error propagates', async () => {
    const { d, written } = intervalDeps();
    await replicateEvent({ Records: batches[0] }, lambdaContext(60_000), d);
    await replicateEvent({ Records: batches[1] }, lambdaContext(60_000), d);
    expect(written.map((w) => w.sequenceNumber)).toEqual([batches[0][2].kinesis.sequenceNumber]);

    const missing: ReplicatorDeps = { ...d, activeRegions: { tableName: 'active', get: async () => undefined } };
    await expect(replicateEvent({ Records: batches[2] }, lambdaContext(60_000), missing)).rejects.toThrow(/no active-Region item/);
    expect(written.map((w) => w.sequenceNumber)).toEqual([batches[0][2].kinesis.sequenceNumber, batches[1][2].kinesis.sequenceNumber]);
  });

  test('a held batch (a failure returned) writes the deferred checkpoint', async () => {
    const { d, written } = intervalDeps();
    await replicateEvent({ Records: batches[0] }, lambdaContext(60_000), d);
    await replicateEvent({ Records: batches[1] }, lambdaContext(60_000), d);
    const towardUs: ActiveRegionItem = { ...active, activeRegion: 'us-west-2', state: 'DRAINING', targetRegion: 'us-east-1', epoch: 2, switchId: 'sw' };
    const held = await replicateEvent({ Records: batches[2] }, lambdaContext(60_000), { ...d, activeRegions: { tableName: 'active', get: async () => towardUs } });
    expect(held.batchItemFailures).toEqual([{ itemIdentifier: batches[2][0].kinesis.sequenceNumber }]);
    expect(held.results[0]).toMatchObject({ checkpoint: 'written', checkpointReason: 'flush' });
    expect(written.map((w) => w.sequenceNumber)).toEqual([batches[0][2].kinesis.sequenceNumber, batches[1][2].kinesis.sequenceNumber]);
  });

  test("another shard's invocation in this environment writes a deferred checkpoint once it is an interval old", async () => {
    const { d, written } = intervalDeps();
    let now = 1_000_000;
    const clocked: ReplicatorDeps = { ...d, now: () => now };
    await replicateEvent({ Records: batches[0] }, lambdaContext(60_000), clocked);
    await replicateEvent({ Records: batches[1] }, lambdaContext(60_000), clocked); // deferred: shard 0 then goes idle
    const other = kinesisEvent([{ partitionKey: 'x' }], { shardId: 'shardId-000000000001' });
    const ofShard = (shard: string) => written.filter((w) => w.sourceShardId === shard).map((w) => w.sequenceNumber);

    now += 30_000; // half an interval: shard 0's deferred checkpoint stays deferred
    await replicateEvent(other, lambdaContext(60_000), clocked);
    expect(ofShard('shardId-000000000000')).toEqual([batches[0][2].kinesis.sequenceNumber]);

    now += 30_000; // an interval since it was deferred
    await replicateEvent(other, lambdaContext(60_000), clocked);
    expect(ofShard('shardId-000000000000')).toEqual([batches[0][2].kinesis.sequenceNumber, batches[1][2].kinesis.sequenceNumber]);
  });

  test('without an interval every invocation writes, as before', async () => {
    const { d, written } = intervalDeps();
    const every: ReplicatorDeps = { ...d, settings: { ...d.settings, checkpointIntervalMs: 0 } };
    for (const b of batches) await replicateEvent({ Records: b }, lambdaContext(60_000), every);
    expect(written).toHaveLength(3);
  });
});
