import {
  assessFailback,
  assessReplicas,
  DrainContext,
  inFlightWaitMs,
  lowWaterMark,
  planActivation,
  planConcurrencyMove,
  planDrain,
  probeStart,
  resumeTimestamp,
  ShardListing,
  ShardProbe,
  SwitchIntent,
} from '../../../lambda/failover/decisions';
import { activeItem, checkpoint, drainingItem, PRIMARY, STANDBY, STREAM } from './factories';

const REGIONS = [PRIMARY, STANDBY];
const ctx: DrainContext = { regions: REGIONS, now: 1_000_000, switchId: 'mine', staleAfterMs: 300_000 };
const toStandby: SwitchIntent = { targetRegion: STANDBY, reason: 'drill', force: false };
const listed = (...shardIds: string[]): ShardListing => ({ ok: true, shards: shardIds.map((shardId) => ({ shardId, closed: shardId.startsWith('parent') })) });
/** Probe results: shard → arrival of its oldest unreplicated record, null for none, 'x' for a failed read. */
const probed = (m: Record<string, number | null | 'x'>): Map<string, ShardProbe> =>
  new Map(
    Object.entries(m).map(([id, v]): [string, ShardProbe] => [
      id,
      v === 'x' ? { ok: false, error: 'ReadTimeout' } : v === null ? { ok: true } : { ok: true, first: { sequenceNumber: `seq-${v}`, arrivalMs: v } },
    ]),
  );
const unlisted = (error = 'ServiceUnavailable: us-east-1 is down'): ShardListing => ({ ok: false, error });

describe('planDrain', () => {
  test('ACTIVE in the old Region: drains with epoch + 1, the target and this switch id, fenced on the read epoch', () => {
    const plan = planDrain(activeItem({ epoch: 7 }), toStandby, ctx);
    expect(plan).toMatchObject({
      kind: 'drain',
      takeover: false,
      fence: { epoch: 7, state: 'ACTIVE', activeRegion: PRIMARY },
      next: { streamName: STREAM, state: 'DRAINING', epoch: 8, activeRegion: PRIMARY, previousRegion: PRIMARY, targetRegion: STANDBY, switchId: 'mine', reason: 'drill', updatedAt: 1_000_000 },
    });
  });

  test.each([
    ['already active in the target', activeItem({ activeRegion: STANDBY, epoch: 3 }), toStandby, 'noop', /already active in us-west-2 \(epoch 3\)/],
    ['already active in the target, whatever was expected', activeItem({ activeRegion: STANDBY }), { ...toStandby, expectedRegion: PRIMARY }, 'noop', /already active/],
    ['no item', undefined, toStandby, 'refuse', /state stack seeds/],
    ['unknown target', activeItem(), { ...toStandby, targetRegion: 'eu-west-1' }, 'refuse', /eu-west-1 is not a Region/],
    ['unknown expected Region', activeItem(), { ...toStandby, expectedRegion: 'eu-west-1' }, 'refuse', /expected Region eu-west-1 is not a Region/],
  ])('%s → %s', (_name, current, intent, kind, message) => {
    const plan = planDrain(current, intent, ctx);
    expect(plan.kind).toBe(kind);
    expect('message' in plan ? plan.message : '').toMatch(message);
  });

  test('refuses when the expected Region is not the active one', () => {
    const plan = planDrain(activeItem({ activeRegion: PRIMARY }), { targetRegion: STANDBY, expectedRegion: 'us-west-1', reason: '', force: false }, { ...ctx, regions: [...REGIONS, 'us-west-1'] });
    expect(plan).toMatchObject({ kind: 'refuse', message: expect.stringMatching(/expected us-west-1 to be active, but us-east-1 is/) });
  });

  test.each([
    ['a fresh switch to the same target', drainingItem({ updatedAt: ctx.now - 1000 }), toStandby, 'conflict', false],
    ['a fresh switch to another target', drainingItem({ updatedAt: ctx.now - 1000, targetRegion: 'us-west-1' }), toStandby, 'conflict', false],
    ['a stale switch to the same target', drainingItem({ updatedAt: ctx.now - 300_000 }), toStandby, 'drain', true],
    ['a fresh switch to the same target, forced', drainingItem({ updatedAt: ctx.now - 1000 }), { ...toStandby, force: true }, 'drain', true],
    ['a stale switch to another target', drainingItem({ updatedAt: 0, targetRegion: 'us-west-1' }), toStandby, 'conflict', false],
    ['a switch to another target, forced', drainingItem({ targetRegion: 'us-west-1' }), { ...toStandby, force: true }, 'drain', true],
  ])('DRAINING by %s → %s', (_name, current, intent, kind, takeover) => {
    const plan = planDrain(current, intent, { ...ctx, regions: [...REGIONS, 'us-west-1'] });
    expect(plan.kind).toBe(kind);
    if (plan.kind === 'drain') {
      expect(plan.takeover).toBe(takeover);
      // The takeover is fenced on the other switch's epoch and id, and increments the epoch again.
      expect(plan.fence).toEqual({ epoch: 2, state: 'DRAINING', activeRegion: PRIMARY, switchId: 'other' });
      expect(plan.next).toMatchObject({ state: 'DRAINING', epoch: 3, switchId: 'mine', targetRegion: STANDBY, previousRegion: PRIMARY, activeRegion: PRIMARY });
    }
  });
});

describe('planActivation', () => {
  test('activates the target with epoch + 1, T and the resume timestamp, fenced on the drain', () => {
    const drained = drainingItem({ epoch: 8, switchId: 'mine', activatedAt: 5, reason: 'drill' });
    const { next, fence } = planActivation(drained, 2_000, 1_500);
    expect(fence).toEqual({ epoch: 8, state: 'DRAINING', activeRegion: PRIMARY, switchId: 'mine' });
    expect(next).toEqual({
      streamName: STREAM, activeRegion: STANDBY, state: 'ACTIVE', epoch: 9, activatedAt: 2_000, previousRegion: PRIMARY,
      switchId: 'mine', reason: 'drill', resumeTimestamp: 1_500, updatedAt: 2_000,
    });
  });

  test('rejects an item that is not a drain', () => {
    expect(() => planActivation(activeItem(), 1, 1)).toThrow(/DRAINING item/);
  });
});

describe('assessReplicas', () => {
  const mine = drainingItem({ epoch: 2, switchId: 'mine' });
  test.each([
    ['every replica shows the drain', [mine, mine], { converged: true, superseded: false, pending: [] }],
    ['the old Region\'s replica still shows the old item', [activeItem(), mine], { converged: false, superseded: false, pending: [PRIMARY] }],
    ['the coordinator shows another switch at the same epoch', [mine, drainingItem({ epoch: 2, switchId: 'other' })], { converged: false, superseded: true }],
    ['the coordinator shows a later epoch', [mine, drainingItem({ epoch: 3, switchId: 'other' })], { converged: false, superseded: true }],
    ['another Region transiently shows another switch', [drainingItem({ epoch: 2, switchId: 'other' }), mine], { converged: false, superseded: false, pending: [PRIMARY] }],
  ])('%s', (_name, [primaryItem, standbyItem], expected) => {
    const a = assessReplicas([{ region: PRIMARY, item: primaryItem }, { region: STANDBY, item: standbyItem }], mine, STANDBY);
    expect(a).toMatchObject(expected);
  });

  test('an unreachable Region is pending and reported', () => {
    const a = assessReplicas([{ region: PRIMARY, error: 'ECONNREFUSED' }, { region: STANDBY, item: mine }], mine, STANDBY);
    expect(a).toEqual({ converged: false, superseded: false, pending: [PRIMARY], unreachable: [{ region: PRIMARY, error: 'ECONNREFUSED' }] });
  });
});

describe('low-water mark (invariant 6: the shards that can still hold unreplicated records)', () => {
  const OBSERVED = 100_000;
  const mark = (cps: ReturnType<typeof checkpoint>[], activatedAt: number, shards: ShardListing, probes: Map<string, ShardProbe>, retentionMs?: number) =>
    lowWaterMark({ checkpoints: cps, sourceRegion: PRIMARY, activatedAt, shards, probes, observedAt: OBSERVED, retentionMs });
  test.each([
    ['the oldest unreplicated record over the probed shards', [checkpoint(PRIMARY, 's0', 5_000), checkpoint(PRIMARY, 's1', 3_000)], 0, listed('s0', 's1'), probed({ s0: 7_000, s1: 9_000 }),
      { timestamp: 7_000, basis: 'unreplicated-record', pendingShards: ['s0', 's1'], uncheckpointedShards: [], unprobedShards: [] }],
    ['nothing unreplicated: the observation time, never later', [checkpoint(PRIMARY, 's0', 5_000)], 0, listed('s0'), probed({ s0: null }),
      { timestamp: OBSERVED, basis: 'observed', pendingShards: [], uncheckpointedShards: [], unprobedShards: [] }],
    ['defect 4: a closed parent whose checkpoint reached its end does not drag the mark back', [checkpoint(PRIMARY, 's1', 90_000), checkpoint(PRIMARY, 'parent-0', 10)], 0, listed('parent-0', 's1'), probed({ 'parent-0': null, s1: 95_000 }),
      { timestamp: 95_000, basis: 'unreplicated-record', pendingShards: ['s1'], uncheckpointedShards: [], unprobedShards: [] }],
    ['a closed parent with unreplicated records still counts', [checkpoint(PRIMARY, 's1', 90_000), checkpoint(PRIMARY, 'parent-0', 10)], 0, listed('parent-0', 's1'), probed({ 'parent-0': 20, s1: 95_000 }),
      { timestamp: 20, basis: 'unreplicated-record', pendingShards: ['parent-0', 's1'], uncheckpointedShards: [], unprobedShards: [] }],
    ['a checkpoint of a shard the stream no longer holds (expired) does not count', [checkpoint(PRIMARY, 's0', 50_000), checkpoint(PRIMARY, 'gone', 1)], 0, listed('s0'), probed({ s0: null }),
      { timestamp: OBSERVED, basis: 'observed', pendingShards: [], uncheckpointedShards: [], unprobedShards: [] }],
    ['a shard that could not be probed counts from its checkpoint', [checkpoint(PRIMARY, 's0', 5_000), checkpoint(PRIMARY, 's1', 3_000)], 0, listed('s0', 's1'), probed({ s0: 7_000, s1: 'x' }),
      { timestamp: 3_000, basis: 'checkpoint', pendingShards: ['s0'], uncheckpointedShards: [], unprobedShards: ['s1'] }],
    ['an unprobed shard without a checkpoint of this tenure counts from the activation', [checkpoint(PRIMARY, 's0', 5_000), checkpoint(PRIMARY, 's1', 100)], 2_000, listed('s0', 's1'), probed({ s0: 7_000 }),
      { timestamp: 2_000, basis: 'activation', pendingShards: ['s0'], uncheckpointedShards: ['s1'], unprobedShards: ['s1'] }],
    ['another Region\'s checkpoint of the same shard id does not count', [checkpoint(STANDBY, 's0', 9_000)], 4_000, listed('s0'), probed({ s0: 'x' }),
      { timestamp: 4_000, basis: 'activation', pendingShards: [], uncheckpointedShards: ['s0'], unprobedShards: ['s0'] }],
  ])('%s', (_name, cps, activatedAt, shards, probes, expected) => {
    const m = mark(cps, activatedAt, shards, probes);
    expect(m).toEqual({ ...expected, shards: shards.ok ? shards.shards.length : 0, coverage: 'all-shards' });
  });

  test.each([
    ['with checkpoints', [checkpoint(PRIMARY, 's0', 5_000), checkpoint(PRIMARY, 's1', 3_000)], 2_000, { timestamp: 3_000, basis: 'checkpoint', shards: 2 },
      /^the shards of us-east-1 could not be listed \(ServiceUnavailable: us-east-1 is down\), so the resume timestamp covers only the 2 shard\(s\) with a checkpoint; .* If in doubt, re-send from 1970-01-01T00:00:02\.000Z \(when us-east-1 became active\) minus the safety margin$/],
    ['without a checkpoint', [], 2_000, { timestamp: 2_000, basis: 'activation', shards: 0 }, /covers only the 0 shard\(s\) with a checkpoint/],
    ['active since the state was seeded', [checkpoint(PRIMARY, 's0', 5_000)], 0, { timestamp: 5_000, basis: 'checkpoint', shards: 1 }, /re-send from the oldest record still held \(us-east-1 has been active since the state was seeded\)$/],
  ])('shards not listed (%s): the checkpoints, flagged with a warning naming the fallback', (_name, cps, activatedAt, expected, warning) => {
    const m = mark(cps, activatedAt, unlisted(), new Map());
    expect(m).toMatchObject({ ...expected, pendingShards: [], uncheckpointedShards: [], coverage: 'checkpointed-only', warning: expect.stringMatching(warning) });
  });

  test('defect 4, shards not listed: a checkpoint older than the retention (a parent closed weeks ago) counts from the retention horizon, not weeks back', () => {
    const now = 30 * 86_400_000;
    const weeksAgo = now - 20 * 86_400_000;
    const m = lowWaterMark({ checkpoints: [checkpoint(PRIMARY, 's1', now - 5_000), checkpoint(PRIMARY, 'parent-0', weeksAgo)], sourceRegion: PRIMARY, activatedAt: 0, shards: unlisted(), probes: new Map(), observedAt: now, retentionMs: 86_400_000 });
    // Clamped, not dropped (a stuck shard holds unreplicated records from the horizon on): never later than the truth.
    expect(m).toMatchObject({ timestamp: now - 86_400_000, shards: 2 });
  });

  test('a probe starts after the checkpoint of this tenure, else at the activation time', () => {
    expect(probeStart(checkpoint(PRIMARY, 's0', 5_000, { sequenceNumber: '42' }), 1_000)).toEqual({ afterSequenceNumber: '42' });
    expect(probeStart(checkpoint(PRIMARY, 's0', 500, { sequenceNumber: '42' }), 1_000)).toEqual({ atTimestampMs: 1_000 });
    expect(probeStart(undefined, 1_000)).toEqual({ atTimestampMs: 1_000 });
  });

  test.each([
    [10_000, 3_000, 7_000],
    [10_000, 0, 10_000],
    [2_000, 60_000, 0],
  ])('mark %d minus margin %d → %d', (t, margin, expected) => {
    expect(resumeTimestamp({ timestamp: t, basis: 'checkpoint', shards: 1, pendingShards: [], uncheckpointedShards: [], unprobedShards: [], coverage: 'all-shards' }, margin)).toBe(expected);
  });

  test('the in-flight wait is the replicator timeout plus the cache TTL plus a margin', () => {
    expect(inFlightWaitMs(120_000, 5_000)).toBe(126_000);
    expect(inFlightWaitMs(120_000, 5_000, 0)).toBe(125_000);
  });
});

describe('assessFailback: current lag (defect 5)', () => {
  const active = activeItem({ activeRegion: STANDBY, epoch: 3, activatedAt: 10_000 });
  const NOW = 100_000;
  test.each([
    ['every shard caught up (nothing unreplicated)', listed('s0', 's1'), probed({ s0: null, s1: null }), true, []],
    ['the oldest unreplicated record is recent', listed('s0'), probed({ s0: NOW - 2_000 }), true, []],
    ['defect 5: a stuck shard with a backlog fails, whatever its last checkpoint write measured', listed('s0', 's1'), probed({ s0: null, s1: NOW - 61 * 60_000 }), false, [/^shard us-west-2\/s1 lags 3660\.0 s .*above the 60\.0 s failback threshold$/]],
    ['a shard that could not be read refuses', listed('s0'), probed({ s0: 'x' }), false, [/^shard us-west-2\/s0 could not be read \(ReadTimeout\)/]],
    ['a listed shard that was not probed refuses', listed('s0', 's1'), probed({ s0: null }), false, [/^shard us-west-2\/s1 could not be read \(not probed\)/]],
    ['the shards cannot be listed', unlisted('ServiceUnavailable: us-west-2 is down'), new Map(), false,
      [/^the shards of us-west-2 could not be listed \(ServiceUnavailable: us-west-2 is down\), so its replication cannot be shown to have caught up; retry when Kinesis in us-west-2 answers$/]],
  ])('%s', (_name, shards, probes, caughtUp, reasons) => {
    // The last checkpoint says 0.1 s of lag: the guard must not trust it.
    const a = assessFailback(active, [checkpoint(STANDBY, 's0', 20_000, { updatedAt: 20_100 })], 60_000, shards, probes, NOW);
    expect(a.caughtUp).toBe(caughtUp);
    expect(a.reasons).toHaveLength(reasons.length);
    reasons.forEach((r, i) => expect(a.reasons[i]).toMatch(r));
  });

  test('reports the highest current lag and names shards without a checkpoint of this tenure', () => {
    const a = assessFailback(active, [checkpoint(STANDBY, 's1', 20_000)], 60_000, listed('s3', 's1', 's2'), probed({ s1: NOW - 5_000, s2: null, s3: NOW - 1_000 }), NOW);
    expect(a).toMatchObject({ caughtUp: true, maxLagMs: 5_000, uncheckpointedShards: ['s2', 's3'] });
  });

  test('a switch under way is not caught up', () => {
    expect(assessFailback(drainingItem(), [], 60_000, listed(), new Map(), NOW)).toMatchObject({ caughtUp: false, reasons: [expect.stringMatching(/switch is under way/)] });
  });
});

describe('planConcurrencyMove', () => {
  test('every stream active in the new Region: reserve there, 0 elsewhere', () => {
    const plan = planConcurrencyMove(new Map([['a', STANDBY], ['b', STANDBY]]), REGIONS, STANDBY, 'fn', 10);
    expect(plan).toEqual({ moves: [{ region: PRIMARY, functionName: 'fn', reservedConcurrency: 0 }, { region: STANDBY, functionName: 'fn', reservedConcurrency: 10 }] });
  });

  test('a stream still active elsewhere: nothing moves', () => {
    const plan = planConcurrencyMove(new Map([['a', STANDBY], ['b', PRIMARY], ['c', undefined]]), REGIONS, STANDBY, 'fn', 10);
    expect(plan).toEqual({ moves: [], skipped: 'reserved concurrency not moved: b, c not active in us-west-2' });
  });
});
