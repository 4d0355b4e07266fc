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
