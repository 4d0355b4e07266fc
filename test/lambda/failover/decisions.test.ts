import {
  assessFailback,
  assessReplicas,
  DrainContext,
  inFlightWaitMs,
  lowWaterMark,
  planActivation,
  planConcurrencyMove,
  planDrain,
  resumeTimestamp,
  ShardListing,
  SwitchIntent,
} from '../../../lambda/failover/decisions';
import { activeItem, checkpoint, drainingItem, PRIMARY, STANDBY, STREAM } from './factories';

const REGIONS = [PRIMARY, STANDBY];
const ctx: DrainContext = { regions: REGIONS, now: 1_000_000, switchId: 'mine', staleAfterMs: 300_000 };
const toStandby: SwitchIntent = { targetRegion: STANDBY, reason: 'drill', force: false };
const listed = (...shardIds: string[]): ShardListing => ({ ok: true, shardIds });
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

describe('low-water mark and resume timestamp', () => {
  const all = { uncheckpointedShards: [], coverage: 'all-shards' };
  test.each([
    ['minimum over the source Region\'s shards', [checkpoint(PRIMARY, 's0', 5_000), checkpoint(PRIMARY, 's1', 3_000), checkpoint(STANDBY, 's0', 1_000)], 0, listed('s0', 's1'), { timestamp: 3_000, basis: 'checkpoints', shards: 2, ...all }],
    ['a shard idle since before the activation counts from the activation', [checkpoint(PRIMARY, 's0', 5_000), checkpoint(PRIMARY, 's1', 100)], 2_000, listed('s0', 's1'), { timestamp: 2_000, basis: 'checkpoints', shards: 2, ...all }],
    ['no checkpoint: the activation time', [checkpoint(STANDBY, 's0', 9_000)], 4_000, listed('s0'), { timestamp: 4_000, basis: 'activation', shards: 0, uncheckpointedShards: ['s0'], coverage: 'all-shards' }],
    ['a listed shard without a checkpoint lowers the mark to the activation time and is named', [checkpoint(PRIMARY, 's0', 5_000), checkpoint(PRIMARY, 's1', 3_000)], 2_000, listed('s1', 's2', 's0'), { timestamp: 2_000, basis: 'activation', shards: 2, uncheckpointedShards: ['s2'], coverage: 'all-shards' }],
    ['another Region\'s checkpoint of the same shard id does not count', [checkpoint(PRIMARY, 's0', 5_000), checkpoint(STANDBY, 's1', 9_000)], 2_000, listed('s0', 's1'), { timestamp: 2_000, basis: 'activation', shards: 1, uncheckpointedShards: ['s1'], coverage: 'all-shards' }],
    ['a checkpointed shard that is no longer listed (closed before the activation) still counts', [checkpoint(PRIMARY, 's0', 5_000), checkpoint(PRIMARY, 'parent', 3_000)], 2_000, listed('s0'), { timestamp: 3_000, basis: 'checkpoints', shards: 2, ...all }],
    ['every listed shard has a checkpoint, an empty listing', [checkpoint(PRIMARY, 's0', 5_000)], 2_000, listed(), { timestamp: 5_000, basis: 'checkpoints', shards: 1, ...all }],
  ])('%s', (_name, cps, activatedAt, shards, expected) => {
    expect(lowWaterMark(cps, PRIMARY, activatedAt, shards)).toEqual(expected);
  });

  test.each([
    ['with checkpoints', [checkpoint(PRIMARY, 's0', 5_000), checkpoint(PRIMARY, 's1', 3_000)], 2_000, { timestamp: 3_000, basis: 'checkpoints', shards: 2 },
      /^the shards of us-east-1 could not be listed \(ServiceUnavailable: us-east-1 is down\), so the resume timestamp covers only the 2 shard\(s\) with a checkpoint; .* If in doubt, re-send from 1970-01-01T00:00:02\.000Z \(when us-east-1 became active\) minus the safety margin$/],
    ['without a checkpoint', [], 2_000, { timestamp: 2_000, basis: 'activation', shards: 0 }, /covers only the 0 shard\(s\) with a checkpoint/],
    ['active since the state was seeded', [checkpoint(PRIMARY, 's0', 5_000)], 0, { timestamp: 5_000, basis: 'checkpoints', shards: 1 }, /re-send from the oldest record still held \(us-east-1 has been active since the state was seeded\)$/],
  ])('shards not listed (%s): the mark of the checkpoints as before, flagged with a warning naming the fallback', (_name, cps, activatedAt, expected, warning) => {
    const mark = lowWaterMark(cps, PRIMARY, activatedAt, unlisted());
    expect(mark).toEqual({ ...expected, uncheckpointedShards: [], coverage: 'checkpointed-only', warning: expect.stringMatching(warning) });
  });

  test.each([
    [10_000, 3_000, 7_000],
    [10_000, 0, 10_000],
    [2_000, 60_000, 0],
  ])('mark %d minus margin %d → %d', (mark, margin, expected) => {
    expect(resumeTimestamp({ timestamp: mark, basis: 'checkpoints', shards: 1, uncheckpointedShards: [], coverage: 'all-shards' }, margin)).toBe(expected);
  });

  test('the in-flight wait is the replicator timeout plus the cache TTL plus a margin', () => {
    expect(inFlightWaitMs(120_000, 5_000)).toBe(126_000);
    expect(inFlightWaitMs(120_000, 5_000, 0)).toBe(125_000);
  });
});

describe('assessFailback', () => {
  const active = activeItem({ activeRegion: STANDBY, epoch: 3, activatedAt: 10_000 });
  test.each([
    ['every shard past the switch and under the lag threshold', [checkpoint(STANDBY, 's0', 20_000, { updatedAt: 21_000 }), checkpoint(STANDBY, 's1', 15_000, { updatedAt: 15_100 })], listed('s0', 's1'), true, []],
    ['a shard has not replicated past the switch', [checkpoint(STANDBY, 's0', 20_000), checkpoint(STANDBY, 's1', 9_999)], listed('s0', 's1'), false, [/shard us-west-2\/s1 has not replicated past the switch/]],
    ['a shard lags above the threshold', [checkpoint(STANDBY, 's0', 20_000, { updatedAt: 90_001 })], listed('s0'), false, [/lags 70\.0 s, above the 60\.0 s/]],
    ['no checkpoint from the active Region', [checkpoint(PRIMARY, 's0', 20_000)], listed('s0'), false, [/no replication checkpoint from us-west-2/]],
    ['a listed shard without a checkpoint', [checkpoint(STANDBY, 's0', 20_000), checkpoint(PRIMARY, 's2', 20_000)], listed('s0', 's2'), false,
      [/^shard us-west-2\/s2 has no replication checkpoint: it has not replicated a record since the switch$/]],
    ['the shards cannot be listed', [checkpoint(STANDBY, 's0', 20_000)], unlisted('ServiceUnavailable: us-west-2 is down'), false,
      [/^the shards of us-west-2 could not be listed \(ServiceUnavailable: us-west-2 is down\), so a shard without a checkpoint cannot be ruled out; retry when Kinesis in us-west-2 answers$/]],
    ['the shards cannot be listed and no checkpoint', [], unlisted(), false, [/could not be listed/, /no replication checkpoint from us-west-2/]],
  ])('%s', (_name, cps, shards, caughtUp, reasons) => {
    const a = assessFailback(active, cps, 60_000, shards);
    expect(a.caughtUp).toBe(caughtUp);
    expect(a.reasons).toHaveLength(reasons.length);
    reasons.forEach((r, i) => expect(a.reasons[i]).toMatch(r));
  });

  test('names the shards without a checkpoint', () => {
    expect(assessFailback(active, [checkpoint(STANDBY, 's1', 20_000)], 60_000, listed('s3', 's1', 's2')).uncheckpointedShards).toEqual(['s2', 's3']);
  });

  test('a switch under way is not caught up', () => {
    expect(assessFailback(drainingItem(), [], 60_000, listed())).toMatchObject({ caughtUp: false, reasons: [expect.stringMatching(/switch is under way/)] });
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
