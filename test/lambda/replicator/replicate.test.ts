/**
 * The core with in-memory collaborators: outcomes that are awkward to force through emulators deterministically
 * (our checkpoint write losing a race, the deadline before the first call, the deadline during backoff).
 */
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
  /**
   * Batches of 3 records are full; the interval (60 s) never elapses on this clock. The store is conditional like the
   * DynamoDB adapter (`stale` when the stored checkpoint is beyond the item), per shard, and records every write.
   */
  function intervalDeps(over: Parameters<typeof deps>[0] = {}) {
    const { d, calls } = deps(over);
    const stored = new Map<string, CheckpointItem>();
    const written: CheckpointItem[] = [];
    const withStore: ReplicatorDeps = {
      ...d,
      settings: { ...d.settings, checkpointIntervalMs: 60_000, batchSize: 3 },
      checkpoints: {
        get: async (_stream, sortKey) => stored.get(sortKey),
        advance: async (item) => {
          const before = stored.get(item.shardId);
          if (before && BigInt(before.sequenceNumber) > BigInt(item.sequenceNumber)) return 'stale';
          written.push(item);
          stored.set(item.shardId, item);
          return 'written';
        },
      },
    };
    const table = (shard = 'shardId-000000000000') => stored.get(`us-east-1/${shard}`);
    return { d: withStore, calls, written, table };
  }
  const records = kinesisEvent(Array.from({ length: 9 }, (_, i) => ({ partitionKey: ['a', 'b', 'c'][i % 3] }))).Records;
  const batches = [0, 1, 2].map((b) => records.slice(3 * b, 3 * b + 3));
  const seq = (i: number) => records[i].kinesis.sequenceNumber;
  const sentTo = (calls: readonly PutRecordsRequest[]) => calls.flatMap((c) => c.entries.map((e) => Buffer.from(e.data).toString('base64')));
  const dataOf = (i: number) => records[i].kinesis.data;

  test('a deferred checkpoint is kept nowhere: the table stays behind, never ahead, until the next write of the shard', async () => {
    const { d, written, table } = intervalDeps();
    const outcomes: Array<[string, string | undefined]> = [];
    for (const b of batches.slice(0, 2)) {
      const { results } = await replicateEvent({ Records: b }, lambdaContext(60_000), d);
      outcomes.push([results[0].checkpoint, results[0].checkpointReason]);
    }
    expect(outcomes).toEqual([
      ['written', 'first-checkpoint'],
      ['deferred', 'deferred'],
    ]);
    expect(table()?.sequenceNumber).toBe(seq(2));

    // The next batch is partial (the shard caught up): written, past everything the deferred batch replicated.
    const { results } = await replicateEvent({ Records: batches[2].slice(0, 2) }, lambdaContext(60_000), d);
    expect(results[0]).toMatchObject({ checkpoint: 'written', checkpointReason: 'partial-batch' });
    expect(written.map((w) => w.sequenceNumber)).toEqual([seq(2), seq(7)]);
  });

  test('a held batch (a failure returned) after a deferred one writes nothing: the table stays behind', async () => {
    const { d, written, table } = intervalDeps();
    await replicateEvent({ Records: batches[0] }, lambdaContext(60_000), d);
    await replicateEvent({ Records: batches[1] }, lambdaContext(60_000), d);
    const towardUs: ActiveRegionItem = { ...active, activeRegion: 'us-west-2', state: 'DRAINING', targetRegion: 'us-east-1', epoch: 2, switchId: 'sw' };
    const held = await replicateEvent({ Records: batches[2] }, lambdaContext(60_000), { ...d, activeRegions: { tableName: 'active', get: async () => towardUs } });
    expect(held.batchItemFailures).toEqual([{ itemIdentifier: seq(6) }]);
    expect(held.results[0]).toMatchObject({ checkpoint: 'unchanged' });
    expect(written).toHaveLength(1);
    expect(table()?.sequenceNumber).toBe(seq(2));
  });

  test('a full batch that stops (failure returned) is written, with what reached the target beyond the stop', async () => {
    // Defect 1 of the review: a second writer (another environment flushing a deferred checkpoint) could make this
    // write come back stale or overwrite it without its replicatedAfter. Now the stopped batch is the shard's only
    // writer: its replicatedAfter is stored and the redelivered batch skips what it names.
    let throttleB = false;
    const { d, calls, written, table } = intervalDeps({
      answer: (r) => r.entries.map((e): EntryResult => (throttleB && e.partitionKey === 'b' ? { ok: false, errorCode: 'ProvisionedThroughputExceededException' } : { ok: true })),
    });
    await replicateEvent({ Records: batches[0] }, lambdaContext(60_000), d);
    await replicateEvent({ Records: batches[1] }, lambdaContext(60_000), d); // deferred
    expect(table()?.sequenceNumber).toBe(seq(2));

    // Batch 3 (records 6 a, 7 b, 8 c): key b throttled until the deadline, so 6 and 8 reach the target, 7 does not.
    throttleB = true;
    const stopped = await replicateEvent({ Records: batches[2] }, lambdaContext(6_500), d);
    expect(stopped.batchItemFailures).toEqual([{ itemIdentifier: seq(7) }]);
    expect(stopped.results[0]).toMatchObject({ checkpoint: 'written', checkpointReason: 'stopped', stopReason: 'deadline' });
    expect(table()).toMatchObject({ sequenceNumber: seq(6), replicatedAfter: { 'us-west-2': [seq(8)] } });

    // Another shard's invocation meanwhile writes only its own checkpoint.
    const other = kinesisEvent([{ partitionKey: 'x' }], { shardId: 'shardId-000000000001' });
    await replicateEvent(other, lambdaContext(60_000), d);
    expect(table()).toMatchObject({ sequenceNumber: seq(6), replicatedAfter: { 'us-west-2': [seq(8)] } });

    // Redelivered from record 7: only 7 is sent; 8 is skipped as already held by the target.
    throttleB = false;
    calls.length = 0;
    const again = await replicateEvent({ Records: batches[2].slice(1) }, lambdaContext(60_000), d);
    expect(again.batchItemFailures).toEqual([]);
    expect(sentTo(calls)).toEqual([dataOf(7)]);
    expect(table()?.sequenceNumber).toBe(seq(8));
    expect(table()?.replicatedAfter).toBeUndefined();
    const ofShard0 = written.filter((w) => w.sourceShardId === 'shardId-000000000000');
    expect(ofShard0.map((w) => w.sequenceNumber)).toEqual([seq(2), seq(6), seq(8)]);
  });

  test('a non-retryable error on a full batch: progress is written before the error is thrown', async () => {
    const same = kinesisEvent(Array.from({ length: 6 }, () => ({ partitionKey: 'a' }))).Records;
    let n = 0;
    const { d, table } = intervalDeps();
    const failing: ReplicatorDeps = {
      ...d,
      writer: {
        putRecords: async (r) => {
          // Strict order: one record of key a per call. The 5th call (record 4) is refused for good.
          if (++n === 5) throw Object.assign(new Error('no'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
          return r.entries.map(() => ({ ok: true }));
        },
      },
    };
    await replicateEvent({ Records: same.slice(0, 3) }, lambdaContext(60_000), failing);
    await expect(replicateEvent({ Records: same.slice(3, 6) }, lambdaContext(60_000), failing)).rejects.toThrow(/AccessDeniedException/);
    expect(table()?.sequenceNumber).toBe(same[3].kinesis.sequenceNumber);
  });

  test('without an interval every invocation writes, as before', async () => {
    const { d, written } = intervalDeps();
    const every: ReplicatorDeps = { ...d, settings: { ...d.settings, checkpointIntervalMs: 0 } };
    for (const b of batches) await replicateEvent({ Records: b }, lambdaContext(60_000), every);
    expect(written.map((w) => w.sequenceNumber)).toEqual([seq(2), seq(5), seq(8)]);
  });
});
