import {
  advancesCheckpoint,
  batchProgress,
  checkpointWriteDecision,
  isAtOrBelow,
  MAX_REPLICATED_AFTER,
  nextReplicatedAfter,
  sameReplicatedAfter,
  type CheckpointWriteInput,
  type RecordOutcome,
} from '../../../lambda/replicator/checkpoint';
import { toShardBatches } from '../../../lambda/replicator/records';
import { kinesisEvent } from '../../helpers/kinesis-events';

describe('sequence comparison is numeric', () => {
  test.each([
    { seq: '9', checkpoint: '10', below: true }, // as strings '9' > '10'
    { seq: '10', checkpoint: '9', below: false },
    { seq: '10', checkpoint: '10', below: true },
    { seq: '49590338271490256608559692538361571095921575989136588898', checkpoint: '49590338271490256608559692538361571095921575989136588899', below: true },
    { seq: '100000000000000000000000000000000000000000000000000000000', checkpoint: '99999999999999999999999999999999999999999999999999999999', below: false },
    { seq: '1', checkpoint: undefined, below: false },
  ])('isAtOrBelow($seq, $checkpoint) = $below', ({ seq, checkpoint, below }) => {
    expect(isAtOrBelow(seq, checkpoint)).toBe(below);
  });

  test.each([
    { stored: undefined, next: '5', advances: true },
    { stored: '9', next: '10', advances: true },
    { stored: '10', next: '9', advances: false },
    { stored: '10', next: '10', advances: false },
  ])('advancesCheckpoint($stored → $next) = $advances', ({ stored, next, advances }) => {
    expect(advancesCheckpoint(stored, next)).toBe(advances);
  });
});

describe('batchProgress', () => {
  const records = toShardBatches(kinesisEvent(Array.from({ length: 5 }, () => ({ partitionKey: 'k' }))).Records)[0].records;
  const R: RecordOutcome = 'replicated';
  const P: RecordOutcome = 'pending';
  const B: RecordOutcome = 'below-checkpoint';
  const N: RecordOutcome = 'not-forwarded';
  test.each([
    { name: 'all replicated', outcomes: [R, R, R, R, R], checkpoint: 4, firstPending: undefined },
    { name: 'first pending', outcomes: [P, R, R, R, R], checkpoint: undefined, firstPending: 0 },
    { name: 'gap in the middle', outcomes: [R, R, P, R, R], checkpoint: 1, firstPending: 2 },
    { name: 'redelivered head, then new', outcomes: [B, B, R, R, P], checkpoint: 3, firstPending: 4 },
    { name: 'nothing forwarded', outcomes: [N, N, N, N, N], checkpoint: undefined, firstPending: undefined },
    { name: 'not-forwarded tail does not move the checkpoint', outcomes: [R, R, N, N, N], checkpoint: 1, firstPending: undefined },
    { name: 'not-forwarded head, replicated tail', outcomes: [N, N, R, R, R], checkpoint: 4, firstPending: undefined },
    { name: 'all below checkpoint', outcomes: [B, B, B, B, B], checkpoint: undefined, firstPending: undefined },
  ])('$name', ({ outcomes, checkpoint, firstPending }) => {
    const p = batchProgress(records, outcomes);
    expect(p.checkpoint?.index).toBe(checkpoint);
    expect(p.firstPending?.index).toBe(firstPending);
  });

  test('outcomes must match records', () => {
    expect(() => batchProgress(records, [R])).toThrow('5 records but 1 outcomes');
  });
});

describe('replicatedAfter', () => {
  test('keeps, per Region, what is above the checkpoint, ascending and once', () => {
    const next = nextReplicatedAfter(
      ['us-west-2', 'eu-west-1'],
      10n,
      { 'us-west-2': ['12', '9'], 'ap-south-1': ['50'] },
      new Map([
        ['us-west-2', [15n, 12n, 11n, 10n]],
        ['eu-west-1', [3n]],
      ]),
    );
    expect(next).toEqual({ 'us-west-2': ['11', '12', '15'] });
  });

  test('keeps the smallest entries when over the limit (a prefix stays closed under key order)', () => {
    const many = Array.from({ length: 10 }, (_, i) => BigInt(100 - i));
    expect(nextReplicatedAfter(['a-b-1', 'c-d-2'], 0n, undefined, new Map([['a-b-1', many]]), 8)['a-b-1']).toEqual(['91', '92', '93', '94']);
    expect(MAX_REPLICATED_AFTER).toBeGreaterThan(0);
  });

  type RA = Record<string, string[]> | undefined;
  test.each<{ a: RA; b: RA; same: boolean }>([
    { a: undefined, b: {}, same: true },
    { a: { x: [] }, b: undefined, same: true },
    { a: { x: ['1'] }, b: { x: ['1'] }, same: true },
    { a: { x: ['1'] }, b: { x: ['1', '2'] }, same: false },
    { a: { x: ['1'] }, b: { y: ['1'] }, same: false },
  ])('sameReplicatedAfter($a, $b) = $same', ({ a, b, same }) => {
    expect(sameReplicatedAfter(a, b)).toBe(same);
  });
});

describe('checkpointWriteDecision (checkpoint interval)', () => {
  // A full, complete batch of a tenure that has a checkpoint, written 400 ms ago: the one case that may defer.
  const deferrable: CheckpointWriteInput = {
    intervalMs: 1_000,
    stopped: false,
    records: 500,
    batchSize: 500,
    stored: { updatedAt: 99_600, approximateArrivalTimestamp: 99_000 },
    activatedAtMs: 50_000,
    now: 100_000,
  };

  test('a full, complete batch within the interval defers', () => {
    expect(checkpointWriteDecision(deferrable)).toEqual({ write: false, reason: 'deferred' });
  });

  test.each<{ name: string; patch: Partial<CheckpointWriteInput>; reason: string }>([
    { name: 'no interval: every invocation writes', patch: { intervalMs: 0 }, reason: 'every-invocation' },
    { name: 'returns a failure (stopped mid-batch)', patch: { stopped: true }, reason: 'stopped' },
    { name: 'stopped, even a full batch long before the interval ends', patch: { stopped: true, now: 99_601 }, reason: 'stopped' },
    { name: 'the shard has no checkpoint yet', patch: { stored: undefined }, reason: 'first-checkpoint' },
    { name: 'the stored checkpoint is of an earlier tenure', patch: { activatedAtMs: 99_001 }, reason: 'new-tenure' },
    { name: 'a partial batch (the shard has caught up)', patch: { records: 499 }, reason: 'partial-batch' },
    { name: 'a single-record batch', patch: { records: 1 }, reason: 'partial-batch' },
    { name: 'the batch size is unknown: no batch counts as full', patch: { batchSize: undefined }, reason: 'partial-batch' },
    { name: 'exactly one interval since the stored write', patch: { now: 100_600 }, reason: 'interval-elapsed' },
    { name: 'long after the stored write', patch: { now: 3_600_000 }, reason: 'interval-elapsed' },
    { name: 'a stored write an interval "in the future" (a skewed clock) does not pin it', patch: { now: 98_600 }, reason: 'interval-elapsed' },
  ])('writes: $name', ({ patch, reason }) => {
    expect(checkpointWriteDecision({ ...deferrable, ...patch })).toEqual({ write: true, reason });
  });

  test('full batches every 500 ms at a 1 s interval: at most one write per second', () => {
    let stored = { updatedAt: 0, approximateArrivalTimestamp: 0 };
    const writes: number[] = [];
    for (let now = 500; now <= 60_000; now += 500) {
      const d = checkpointWriteDecision({ ...deferrable, stored, activatedAtMs: 0, now });
      if (d.write) {
        writes.push(now);
        stored = { updatedAt: now, approximateArrivalTimestamp: now - 100 };
      }
    }
    expect(writes).toHaveLength(60);
    expect(writes.slice(1).every((t, i) => t - writes[i] >= 1_000)).toBe(true);
  });
});
