/** The failover service against DynamoDB Local: fencing, races, idempotency, failback guard, stalls, takeover. */
import * as api from '../../../lambda/failover/api';
import { ActiveRegionStore, ReplicatorFence, ReservedConcurrencyControl, ResultPublisher } from '../../../lambda/failover/ports';
import { failback, failover, FailoverSettings, staleAfterMs, status } from '../../../lambda/failover/service';
import { RunningService, startDynamoDb } from '../../../local/emulators';
import { activeItem, checkpoint, PRIMARY, STANDBY, STREAM } from './factories';
import { depsFor, FakeClock, FakeShards, LocalState, localState } from './local-state';

const OTHER = 'redstream-dev-telemetry';
const settings: FailoverSettings = {
  environment: 'dev',
  regions: [PRIMARY, STANDBY],
  primaryRegion: PRIMARY,
  streams: [STREAM, OTHER],
  replicatorTimeoutMs: 120_000,
  activeRegionCacheTtlMs: 5_000,
  propagationTimeoutMs: 10_000,
  pollIntervalMs: 1_000,
  resumeSafetyMarginMs: 60_000,
  failbackMaxLagMs: 60_000,
  replicatorFunctionName: 'redstream-dev-replicator',
};
const IN_FLIGHT_WAIT = 126_000;

let dynamo: RunningService;
let state: LocalState;
let clock: FakeClock;

beforeAll(async () => {
  dynamo = await startDynamoDb();
});
afterAll(async () => {
  await dynamo?.stop();
});

beforeEach(async () => {
  state = await localState(dynamo.endpoint);
  clock = new FakeClock();
  await state.putActive(activeItem({ streamName: STREAM }));
  await state.putActive(activeItem({ streamName: OTHER }));
});
afterEach(() => state.destroy());

describe('failover', () => {
  test('drains, waits for the replicas and in-flight forwarding, probes the old Region, then activates the target with T and the resume timestamp', async () => {
    const t0 = clock.now;
    await state.putCheckpoint(checkpoint(PRIMARY, 'shardId-000000000000', t0 - 30_000));
    await state.putCheckpoint(checkpoint(PRIMARY, 'shardId-000000000001', t0 - 10_000));
    await state.putCheckpoint(checkpoint(STANDBY, 'shardId-000000000000', t0 - 90_000)); // other direction: ignored

    // Shard 0 holds a record the old Region did not forward before the drain; shard 1 is caught up.
    const shards = new FakeShards()
      .set(PRIMARY, STREAM, ['shardId-000000000000', 'shardId-000000000001'])
      .pending(PRIMARY, STREAM, 'shardId-000000000000', { sequenceNumber: '7', arrivalMs: t0 - 29_000 });
    const result = await failover(settings, { targetRegion: STANDBY, streams: [STREAM], reason: 'drill' }, depsFor(state, clock, { newSwitchId: () => 's1', shards }));

    expect(result).toMatchObject({ ok: true, action: 'failover', targetRegion: STANDBY, switchId: 's1', warnings: [] });
    // The old Region's shards are listed and probed from their checkpoints after the in-flight wait.
    expect(shards.calls).toEqual([
      { region: PRIMARY, streamName: STREAM },
      { region: PRIMARY, streamName: STREAM, shardId: 'shardId-000000000000', from: { afterSequenceNumber: expect.any(String) } },
      { region: PRIMARY, streamName: STREAM, shardId: 'shardId-000000000001', from: { afterSequenceNumber: expect.any(String) } },
    ]);
    expect(clock.sleeps).toEqual([IN_FLIGHT_WAIT]);
    const T = t0 + IN_FLIGHT_WAIT;
    expect(result.streams).toEqual([
      expect.objectContaining({
        streamName: STREAM,
        outcome: 'switched',
        fromRegion: PRIMARY,
        epochBefore: 1,
        epoch: 3,
        activatedAt: T,
        resumeTimestamp: t0 - 29_000 - 60_000,
        lowWaterMark: { timestamp: t0 - 29_000, basis: 'unreplicated-record', shards: 2, pendingShards: ['shardId-000000000000'], uncheckpointedShards: [], unprobedShards: [], coverage: 'all-shards' },
      }),
    ]);
    expect(await state.activeRegions.read(PRIMARY, STREAM)).toEqual({
      streamName: STREAM, activeRegion: STANDBY, state: 'ACTIVE', epoch: 3, activatedAt: T, previousRegion: PRIMARY,
      switchId: 's1', reason: 'drill', resumeTimestamp: t0 - 89_000, updatedAt: T,
    });
    // Streams not asked for are untouched.
    expect(await state.activeRegions.read(PRIMARY, OTHER)).toMatchObject({ activeRegion: PRIMARY, state: 'ACTIVE', epoch: 1 });
  });

  test('defect 2c: the activation time comes from the target\'s endpoint clock, not the caller\'s (3 s fast), and errs early', async () => {
    const t0 = clock.now;
    // The caller's clock reads 3 s ahead of AWS; the Date header bounds the true offset to [-3.6 s, -2.9 s].
    const trustedClock = { measure: async () => ({ offsetLowMs: -3_600, offsetHighMs: -2_900 }) };
    const result = await failover(settings, { targetRegion: STANDBY, streams: [STREAM] }, depsFor(state, clock, { trustedClock }));
    expect(result.streams[0]).toMatchObject({ outcome: 'switched', activatedAt: t0 + IN_FLIGHT_WAIT - 3_600 });
    expect(result.clockOffsetMs).toBe(-3_250);
    expect(result.warnings).toEqual([`this machine's clock is 3.3 s ahead of ${STANDBY}'s AWS clock; times are corrected`]);
  });

  test('defect 2c: without a readable endpoint clock, T is the caller\'s clock minus the assumed maximum skew', async () => {
    const t0 = clock.now;
    const trustedClock = { measure: async () => Promise.reject(new Error('ECONNREFUSED')) };
    const result = await failover({ ...settings, maxClockSkewMs: 10_000 }, { targetRegion: STANDBY, streams: [STREAM] }, depsFor(state, clock, { trustedClock }));
    expect(result.streams[0]).toMatchObject({ outcome: 'switched', activatedAt: t0 + IN_FLIGHT_WAIT - 10_000 });
    expect(result.warnings).toEqual([`the clock of ${STANDBY} could not be read (Error: ECONNREFUSED): the activation time is this machine's clock minus 10 s`]);
  });

  test('defect 2a: T is read after the slow probe of the old Region, immediately before the activation write', async () => {
    const t0 = clock.now;
    const shards = new FakeShards().set(PRIMARY, STREAM, ['shardId-000000000000']);
    const slow = { ...shards, list: shards.list, firstRecord: async (...args: Parameters<FakeShards['firstRecord']>) => {
      clock.now += 6_000; // the old Region's control plane hangs 6 s
      return shards.firstRecord(...args);
    } };
    const result = await failover(settings, { targetRegion: STANDBY, streams: [STREAM] }, depsFor(state, clock, { shards: slow }));
    expect(result.streams[0]).toMatchObject({ outcome: 'switched', activatedAt: t0 + IN_FLIGHT_WAIT + 6_000 });
  });

  test('a shard of the old Region without a checkpoint is probed from the old activation time, and its oldest record sets the mark', async () => {
    const t0 = clock.now;
    const oldActivation = t0 - 3_600_000;
    await state.putActive(activeItem({ streamName: STREAM, activatedAt: oldActivation }));
    await state.putCheckpoint(checkpoint(PRIMARY, 'shardId-000000000000', t0 - 30_000));
    // shardId-000000000002: a child of a split that has not replicated anything yet.
    const shards = new FakeShards()
      .set(PRIMARY, STREAM, ['shardId-000000000000', 'shardId-000000000002'])
      .pending(PRIMARY, STREAM, 'shardId-000000000002', { sequenceNumber: '3', arrivalMs: t0 - 40_000 });

    const result = await failover(settings, { targetRegion: STANDBY, streams: [STREAM] }, depsFor(state, clock, { shards }));

    expect(result.warnings).toEqual([]);
    expect(shards.calls).toContainEqual({ region: PRIMARY, streamName: STREAM, shardId: 'shardId-000000000002', from: { atTimestampMs: oldActivation } });
    expect(result.streams[0]).toMatchObject({
      outcome: 'switched',
      resumeTimestamp: t0 - 40_000 - 60_000,
      lowWaterMark: { timestamp: t0 - 40_000, basis: 'unreplicated-record', shards: 2, pendingShards: ['shardId-000000000002'], uncheckpointedShards: ['shardId-000000000002'], coverage: 'all-shards' },
    });
  });

  test('the old Region\'s shards cannot be listed: the switch goes on, from the checkpoints, with a warning naming the fallback', async () => {
    const t0 = clock.now;
    await state.putActive(activeItem({ streamName: STREAM, activatedAt: t0 - 3_600_000 }));
    await state.putCheckpoint(checkpoint(PRIMARY, 'shardId-000000000000', t0 - 30_000));
    const shards = new FakeShards();
    shards.down.add(PRIMARY);

    const result = await failover(settings, { targetRegion: STANDBY, streams: [STREAM] }, depsFor(state, clock, { shards }));

    expect(result.ok).toBe(true);
    expect(result.streams[0]).toMatchObject({
      outcome: 'switched',
      resumeTimestamp: t0 - 90_000,
      lowWaterMark: { timestamp: t0 - 30_000, basis: 'checkpoint', shards: 1, coverage: 'checkpointed-only' },
    });
    expect(result.warnings).toEqual([
      `${STREAM}: the shards of us-east-1 could not be listed (ServiceUnavailable: us-east-1 is down), so the resume timestamp covers only the 1 shard(s) with a checkpoint; ` +
        `a shard without one may hold unreplicated records from before it. If in doubt, re-send from ${new Date(t0 - 3_600_000).toISOString()} (when us-east-1 became active) minus the safety margin`,
    ]);
  });

  test('a repeated failover is a no-op: nothing is written, nothing waits', async () => {
    await failover(settings, { targetRegion: STANDBY }, depsFor(state, clock));
    const before = await state.activeRegions.read(STANDBY, STREAM);
    clock.sleeps.length = 0;

    const again = await failover(settings, { targetRegion: STANDBY, expectedRegion: PRIMARY }, depsFor(state, clock));

    expect(again.ok).toBe(true);
    expect(again.streams.map((s) => s.outcome)).toEqual(['noop', 'noop']);
    expect(again.streams[0].message).toMatch(/already active in us-west-2 \(epoch 3\)/);
    expect(clock.sleeps).toEqual([]);
    expect(await state.activeRegions.read(STANDBY, STREAM)).toEqual(before);
  });

  test('racing failovers: exactly one wins, the others change nothing', async () => {
    // A barrier on the first read makes the race real: every racer reads ACTIVE (epoch 1) before anyone writes.
    const ids = ['a', 'b', 'c'];
    let release: () => void = () => undefined;
    const allRead = new Promise<void>((resolve) => (release = resolve));
    let reads = 0;
    const barrier: ActiveRegionStore = {
      read: async (region, stream) => {
        const item = await state.activeRegions.read(region, stream);
        if (reads < ids.length) {
          reads += 1;
          if (reads === ids.length) release();
          await allRead;
        }
        return item;
      },
      replace: (region, next, fence) => state.activeRegions.replace(region, next, fence),
    };
    const racers = await Promise.all(
      ids.map((id) => failover(settings, { targetRegion: STANDBY, streams: [STREAM], reason: id }, depsFor(state, clock, { activeRegions: barrier, newSwitchId: () => id }))),
    );

    const winners = racers.filter((r) => r.streams[0].outcome === 'switched');
    expect(winners).toHaveLength(1);
    for (const loser of racers.filter((r) => r !== winners[0])) {
      // A loser reports what it finds after losing: the winner still switching (conflict), or, if the winner has
      // already activated the same target, nothing left to do (noop). Which one depends on timing; both are right.
      const [s] = loser.streams;
      expect(s).toMatchObject({ epochBefore: 1, message: expect.stringMatching(/^lost the race: another switch changed the item first/) });
      expect(['conflict', 'noop']).toContain(s.outcome);
      expect(loser.ok).toBe(s.outcome === 'noop');
    }
    const item = await state.activeRegions.read(STANDBY, STREAM);
    expect(item).toMatchObject({ state: 'ACTIVE', activeRegion: STANDBY, epoch: 3, switchId: winners[0].switchId, reason: winners[0].reason });
  });

  test('refuses when another Region is active than expected, and writes nothing', async () => {
    const result = await failover(settings, { targetRegion: STANDBY, expectedRegion: STANDBY, streams: [STREAM] }, depsFor(state, clock));
    expect(result.ok).toBe(false);
    // already-active check comes first only for the target; expected=STANDBY but PRIMARY is active
    expect(result.streams[0]).toMatchObject({ outcome: 'refused', message: expect.stringMatching(/expected us-west-2 to be active, but us-east-1 is/) });
    expect(await state.activeRegions.read(PRIMARY, STREAM)).toMatchObject({ state: 'ACTIVE', epoch: 1 });
  });

  test('a dry run reports the plan and writes nothing', async () => {
    const shards = new FakeShards().set(PRIMARY, STREAM, ['shardId-000000000000']).pending(PRIMARY, STREAM, 'shardId-000000000000', { sequenceNumber: '9', arrivalMs: clock.now - 5_000 });
    const result = await failover(settings, { targetRegion: STANDBY, dryRun: true }, depsFor(state, clock, { shards }));
    expect(result).toMatchObject({ ok: true, dryRun: true });
    expect(result.streams[0]).toMatchObject({ outcome: 'would-switch', resumeTimestamp: clock.now - 65_000, epochBefore: 1 });
    expect(clock.sleeps).toEqual([]);
    expect(await state.activeRegions.read(PRIMARY, STREAM)).toMatchObject({ state: 'ACTIVE', activeRegion: PRIMARY, epoch: 1 });
  });

  test('a replica that cannot be verified stalls the switch in DRAINING; a re-run after the stale time takes it over and finishes', async () => {
    const down = new Set([PRIMARY]);
    const flaky: ActiveRegionStore = {
      read: (region, stream) => (down.has(region) ? Promise.reject(new Error(`${region} unreachable`)) : state.activeRegions.read(region, stream)),
      replace: (region, next, fence) => state.activeRegions.replace(region, next, fence),
    };
    const stalled = await failover(settings, { targetRegion: STANDBY, streams: [STREAM] }, depsFor(state, clock, { activeRegions: flaky, newSwitchId: () => 'first' }));
    expect(stalled.ok).toBe(false);
    expect(stalled.streams[0]).toMatchObject({ outcome: 'stalled', unverifiedRegions: [PRIMARY], epoch: 2 });
    expect(await state.activeRegions.read(STANDBY, STREAM)).toMatchObject({ state: 'DRAINING', epoch: 2, switchId: 'first', targetRegion: STANDBY });

    // Too early: the switch under way is not stale yet.
    const early = await failover(settings, { targetRegion: STANDBY, streams: [STREAM] }, depsFor(state, clock, { newSwitchId: () => 'second' }));
    expect(early.streams[0]).toMatchObject({ outcome: 'conflict', message: expect.stringMatching(/under way/) });

    down.clear();
    clock.now += staleAfterMs(settings);
    const finished = await failover(settings, { targetRegion: STANDBY, streams: [STREAM] }, depsFor(state, clock, { newSwitchId: () => 'second' }));
    expect(finished.streams[0]).toMatchObject({ outcome: 'switched', fromRegion: PRIMARY, epoch: 4 });
    expect(await state.activeRegions.read(STANDBY, STREAM)).toMatchObject({ state: 'ACTIVE', activeRegion: STANDBY, epoch: 4, switchId: 'second', previousRegion: PRIMARY });
  });

  test('defect 3: forced through an unreachable replica, the old Region\'s replicator is fenced out of band first, and the fence is lifted when that Region is activated again', async () => {
    const flaky: ActiveRegionStore = {
      read: (region, stream) => (region === PRIMARY ? Promise.reject(new Error('down')) : state.activeRegions.read(region, stream)),
      replace: (region, next, fence) => state.activeRegions.replace(region, next, fence),
    };
    const calls: string[] = [];
    const fence: ReplicatorFence = {
      fence: async (region, fn) => (calls.push(`fence ${region} ${fn}`), { previousReservedConcurrency: 5 }),
      unfence: async (region, fn, previous) => void calls.push(`unfence ${region} ${fn} ${previous}`),
    };
    const result = await failover(settings, { targetRegion: STANDBY, streams: [STREAM], force: true }, depsFor(state, clock, { activeRegions: flaky, fence, newSwitchId: () => 'forced' }));
    expect(result.streams[0]).toMatchObject({ outcome: 'switched', unverifiedRegions: [PRIMARY], fencedRegions: [PRIMARY] });
    expect(result.warnings).toEqual([`${STREAM}: replicas in ${PRIMARY} were not verified (forced); their replicators are fenced (reserved concurrency 0)`]);
    expect(calls).toEqual([`fence ${PRIMARY} redstream-dev-replicator`]);
    expect(await state.activeRegions.read(STANDBY, STREAM)).toMatchObject({
      state: 'ACTIVE', activeRegion: STANDBY, fences: [{ region: PRIMARY, functionName: 'redstream-dev-replicator', previousReservedConcurrency: 5, switchId: 'forced' }],
    });

    // Failback to the fenced Region: activated, then its fence lifted, and the record dropped from the item.
    const back = await failback(settings, { streams: [STREAM], force: true }, depsFor(state, clock, { fence }));
    expect(back.streams[0].outcome).toBe('switched');
    expect(calls).toEqual([`fence ${PRIMARY} redstream-dev-replicator`, `unfence ${PRIMARY} redstream-dev-replicator 5`]);
    expect((await state.activeRegions.read(PRIMARY, STREAM))?.fences).toBeUndefined();
  });

  test('a forced switch of several streams fences the function once and records its real reservation for each', async () => {
    const flaky: ActiveRegionStore = {
      read: (region, stream) => (region === PRIMARY ? Promise.reject(new Error('down')) : state.activeRegions.read(region, stream)),
      replace: (region, next, fence) => state.activeRegions.replace(region, next, fence),
    };
    let reservation: number | undefined = 5;
    const calls: string[] = [];
    const fence: ReplicatorFence = {
      fence: async (region) => {
        calls.push(`fence ${region}`);
        const previous = reservation;
        reservation = 0;
        return previous ? { previousReservedConcurrency: previous } : {};
      },
      unfence: async () => undefined,
    };
    const result = await failover(settings, { targetRegion: STANDBY, force: true }, depsFor(state, clock, { activeRegions: flaky, fence }));
    expect(result.streams.map((s) => s.outcome)).toEqual(['switched', 'switched']);
    expect(calls).toEqual([`fence ${PRIMARY}`]);
    for (const stream of [STREAM, OTHER]) {
      expect((await state.activeRegions.read(STANDBY, stream))?.fences).toEqual([expect.objectContaining({ region: PRIMARY, previousReservedConcurrency: 5 })]);
    }
  });

  test('defect 3: a forced switch that cannot fence the unseen Region refuses and leaves the stream DRAINING (nobody forwards)', async () => {
    const flaky: ActiveRegionStore = {
      read: (region, stream) => (region === PRIMARY ? Promise.reject(new Error('down')) : state.activeRegions.read(region, stream)),
      replace: (region, next, fence) => state.activeRegions.replace(region, next, fence),
    };
    const fence: ReplicatorFence = { fence: async () => Promise.reject(new Error('Lambda in us-east-1 unreachable')), unfence: async () => undefined };
    const result = await failover(settings, { targetRegion: STANDBY, streams: [STREAM], force: true }, depsFor(state, clock, { activeRegions: flaky, fence }));
    expect(result.ok).toBe(false);
    expect(result.streams[0]).toMatchObject({ outcome: 'refused', message: expect.stringMatching(/^forced switch refused: the replica in us-east-1 cannot be seen and its replicator could not be fenced \(Error: Lambda in us-east-1 unreachable\)/) });
    expect(await state.activeRegions.read(STANDBY, STREAM)).toMatchObject({ state: 'DRAINING', targetRegion: STANDBY });
  });

  test('a switch superseded while it waits can never activate', async () => {
    clock.onSleep = async (ms) => {
      if (ms !== IN_FLIGHT_WAIT || clock.onSleep === undefined) return;
      clock.onSleep = undefined;
      // Another operator redirects the switch (forced) while the first one waits for in-flight forwarding.
      const other = await failover({ ...settings, regions: [PRIMARY, STANDBY, 'us-west-1'] }, { targetRegion: 'us-west-1', streams: [STREAM], force: true }, depsFor(state, clock, { newSwitchId: () => 'redirect' }));
      expect(other.streams[0].outcome).toBe('switched');
    };
    const first = await failover(settings, { targetRegion: STANDBY, streams: [STREAM] }, depsFor(state, clock, { newSwitchId: () => 'first' }));
    expect(first.streams[0]).toMatchObject({ outcome: 'conflict', message: expect.stringMatching(/superseded by another switch before activation/) });
    expect(await state.activeRegions.read(STANDBY, STREAM)).toMatchObject({ state: 'ACTIVE', activeRegion: 'us-west-1', switchId: 'redirect', epoch: 4 });
  });

  test('moves reserved concurrency once every stream is active in the target, and publishes the result', async () => {
    const moves: Array<[string, string, number | undefined]> = [];
    const concurrency: ReservedConcurrencyControl = { set: async (r, f, n) => void moves.push([r, f, n]) };
    const published: Array<{ subject: string; message: unknown }> = [];
    const publisher: ResultPublisher = { publish: async (subject, message) => void published.push({ subject, message }) };
    const withMove = { ...settings, replicatorConcurrency: { functionName: 'redstream-dev-replicator', reservedConcurrency: 10 } };

    const partial = await failover(withMove, { targetRegion: STANDBY, streams: [STREAM] }, depsFor(state, clock, { concurrency, publisher }));
    expect(moves).toEqual([]);
    expect(partial.warnings).toEqual([`reserved concurrency not moved: ${OTHER} not active in ${STANDBY}`]);

    const all = await failover(withMove, { targetRegion: STANDBY }, depsFor(state, clock, { concurrency, publisher }));
    expect(moves).toEqual([
      [PRIMARY, 'redstream-dev-replicator', 0],
      [STANDBY, 'redstream-dev-replicator', 10],
    ]);
    expect(all.concurrencyMoves).toHaveLength(2);
    expect(published.map((p) => p.subject)).toEqual(['Redstream dev failover to us-west-2', 'Redstream dev failover to us-west-2']);
    expect(published[1].message).toMatchObject({ streams: [{ streamName: STREAM, outcome: 'noop' }, { streamName: OTHER, outcome: 'switched' }] });
  });

  test('an unknown stream or Region is an invalid request', async () => {
    await expect(failover(settings, { targetRegion: STANDBY, streams: ['nope'] }, depsFor(state, clock))).rejects.toThrow(/streams: unknown stream "nope"/);
    await expect(failover(settings, { targetRegion: 'eu-west-1' }, depsFor(state, clock))).rejects.toThrow(/targetRegion: "eu-west-1" is not a Region of dev/);
    await expect(failover(settings, {}, depsFor(state, clock))).rejects.toThrow(/targetRegion: is required/);
  });
});

describe('failback', () => {
  test('refused while reverse replication lags now (oldest unreplicated record), allowed after it caught up', async () => {
    const failed = await failover(settings, { targetRegion: STANDBY }, depsFor(state, clock));
    const T = failed.streams[0].activatedAt!;
    const shards = new FakeShards().set(STANDBY, STREAM, ['shardId-000000000000']).set(STANDBY, OTHER, ['shardId-000000000000']);
    // The telemetry stream's reverse replication is stuck: its oldest unreplicated record is 90 s old (defect 5: its
    // last checkpoint write measured 0.5 s of lag).
    await state.putCheckpoint(checkpoint(STANDBY, 'shardId-000000000000', T + 1_000, { streamName: OTHER, shardId: `${STANDBY}/shardId-000000000000`, updatedAt: T + 1_500 }));
    clock.now = T + 100_000;
    shards.pending(STANDBY, OTHER, 'shardId-000000000000', { sequenceNumber: '5', arrivalMs: clock.now - 90_000 });

    const refused = await failback(settings, {}, depsFor(state, clock, { shards }));
    expect(refused.ok).toBe(false);
    expect(refused.targetRegion).toBe(PRIMARY);
    expect(refused.streams.map((s) => s.outcome)).toEqual(['refused', 'refused']);
    expect(refused.streams[0].message).toMatch(/not moved: failback is all or nothing and redstream-dev-telemetry has not caught up/);
    expect(refused.streams[1].message).toMatch(/failback refused: shard us-west-2\/shardId-000000000000 lags 90\.0 s .*above the 60\.0 s failback threshold/);
    expect(await state.activeRegions.read(PRIMARY, OTHER)).toMatchObject({ activeRegion: STANDBY, epoch: 3 });

    // Caught up: the oldest unreplicated record is recent.
    const probedAt = clock.now;
    shards.pending(STANDBY, OTHER, 'shardId-000000000000', { sequenceNumber: '6', arrivalMs: probedAt - 500 });
    shards.pending(STANDBY, STREAM, 'shardId-000000000000', { sequenceNumber: '8', arrivalMs: probedAt - 800 });
    const back = await failback(settings, { reason: 'primary healthy again' }, depsFor(state, clock, { shards }));
    expect(back.ok).toBe(true);
    expect(back.streams.map((s) => [s.outcome, s.epoch])).toEqual([['switched', 5], ['switched', 5]]);
    expect(back.streams[0].failback).toMatchObject({ caughtUp: true, maxLagMs: 800 });
    // Defect 7: the failback's resume timestamp is the standby's oldest unreplicated record (minus the margin), not its
    // activation time: producers re-send what the standby did not forward, not the whole failover.
    expect(back.streams[0].resumeTimestamp).toBe(probedAt - 800 - 60_000);
    expect(await state.activeRegions.read(PRIMARY, STREAM)).toMatchObject({ state: 'ACTIVE', activeRegion: PRIMARY, previousRegion: STANDBY, epoch: 5 });
  });

  test('refused while a shard of the active Region cannot be read, or its shards cannot be listed; forced, it goes', async () => {
    await failover(settings, { targetRegion: STANDBY }, depsFor(state, clock));
    const shards = new FakeShards()
      .set(STANDBY, STREAM, ['shardId-000000000000', 'shardId-000000000001'])
      .set(STANDBY, OTHER, ['shardId-000000000000'])
      .pending(STANDBY, STREAM, 'shardId-000000000001', Object.assign(new Error('timed out'), { name: 'TimeoutError' }));

    const refused = await failback(settings, {}, depsFor(state, clock, { shards }));
    expect(refused.streams.map((s) => s.outcome)).toEqual(['refused', 'refused']);
    expect(refused.streams[0].message).toBe(
      'failback refused: shard us-west-2/shardId-000000000001 could not be read (TimeoutError: timed out); retry when Kinesis in us-west-2 answers; ' +
        'wait for reverse replication to catch up, or use --force',
    );

    shards.down.add(STANDBY);
    const unlisted = await failback(settings, {}, depsFor(state, clock, { shards }));
    expect(unlisted.ok).toBe(false);
    expect(unlisted.streams[0].message).toMatch(/^failback refused: the shards of us-west-2 could not be listed \(ServiceUnavailable: us-west-2 is down\), so its replication cannot be shown to have caught up/);
    expect(await state.activeRegions.read(PRIMARY, STREAM)).toMatchObject({ activeRegion: STANDBY, epoch: 3 });

    const forced = await failback(settings, { force: true }, depsFor(state, clock, { shards }));
    expect(forced.streams.map((s) => s.outcome)).toEqual(['switched', 'switched']);
    expect(forced.warnings[0]).toBe(`failback forced although reverse replication has not caught up for ${STREAM}, ${OTHER}`);
  });

  test('forced, a failback skips the guard and says so', async () => {
    await failover(settings, { targetRegion: STANDBY }, depsFor(state, clock));
    const shards = new FakeShards();
    shards.down.add(STANDBY);
    const back = await failback(settings, { force: true }, depsFor(state, clock, { shards }));
    expect(back.ok).toBe(true);
    expect(back.warnings[0]).toBe(`failback forced although reverse replication has not caught up for ${STREAM}, ${OTHER}`);
  });

  test('a failback whose target replica is behind (still shows it active) is refused, not a no-op', async () => {
    await failover(settings, { targetRegion: STANDBY, streams: [STREAM] }, depsFor(state, clock));
    // The primary's replica missed the switch (partitioned during a forced failover): it still says ACTIVE(primary, 1).
    const stale: ActiveRegionStore = {
      read: async (region, stream) => (region === PRIMARY ? activeItem({ streamName: stream }) : state.activeRegions.read(region, stream)),
      replace: (region, next, fence) => state.activeRegions.replace(region, next, fence),
    };
    const back = await failback(settings, { streams: [STREAM] }, depsFor(state, clock, { activeRegions: stale }));
    expect(back.ok).toBe(false);
    expect(back.streams[0]).toMatchObject({ outcome: 'refused', message: expect.stringMatching(/us-east-1's replica is behind/) });
  });

  test('failback when already in the primary is a no-op', async () => {
    const result = await failback(settings, {}, depsFor(state, clock));
    expect(result.streams.map((s) => s.outcome)).toEqual(['noop', 'noop']);
  });
});

describe('status', () => {
  test('reports the item, every replica, per-shard checkpoints, the low-water mark and the current lag', async () => {
    await state.putCheckpoint(checkpoint(PRIMARY, 'shardId-000000000001', clock.now - 4_000, { updatedAt: clock.now - 1_000 }));
    await state.putCheckpoint(checkpoint(PRIMARY, 'shardId-000000000000', clock.now - 9_000, { updatedAt: clock.now - 8_500 }));
    const shards = new FakeShards()
      .set(PRIMARY, STREAM, ['shardId-000000000000', 'shardId-000000000001'])
      .pending(PRIMARY, STREAM, 'shardId-000000000000', { sequenceNumber: '9', arrivalMs: clock.now - 3_000 });
    const report = await status(settings, { streams: [STREAM] }, depsFor(state, clock, { shards }));
    expect(report).toMatchObject({ environment: 'dev', readRegion: PRIMARY, generatedAt: clock.now });
    const s = report.streams[0];
    expect(s).toMatchObject({
      streamName: STREAM,
      item: { activeRegion: PRIMARY, state: 'ACTIVE', epoch: 1 },
      replicasAgree: true,
      replicas: [{ region: PRIMARY, epoch: 1, state: 'ACTIVE' }, { region: STANDBY, epoch: 1 }],
      lowWaterMark: { timestamp: clock.now - 3_000, basis: 'unreplicated-record', shards: 2, pendingShards: ['shardId-000000000000'], coverage: 'all-shards' },
      resumeTimestamp: clock.now - 63_000,
      maxLagMs: 3_000,
      failback: undefined,
    });
    expect(s.checkpoints.map((c) => [c.shardId, c.lagMs, c.ageMs])).toEqual([
      [`${PRIMARY}/shardId-000000000000`, 500, 9_000],
      [`${PRIMARY}/shardId-000000000001`, 3_000, 4_000],
    ]);
  });
});

describe('programmatic API (lambda/failover/api.ts)', () => {
  test('a drill: fail over, status, fail back after reverse replication', async () => {
    const shards = new FakeShards().set(STANDBY, STREAM, ['shardId-000000000000']).set(STANDBY, OTHER, ['shardId-000000000000']);
    const deps = api.dynamoDbFailoverDeps(state.tables, { clients: state.clients, shards, clock: clock.clock, sleep: clock.sleep });
    const out = await api.failover(settings, { targetRegion: STANDBY, expectedRegion: PRIMARY, reason: 'drill' }, deps);
    expect(out.streams.map((s) => s.outcome)).toEqual(['switched', 'switched']);
    const T = out.streams[0].activatedAt!;
    for (const streamName of [STREAM, OTHER]) {
      await state.putCheckpoint(checkpoint(STANDBY, 'shardId-000000000000', T + 10, { streamName, shardId: `${STANDBY}/shardId-000000000000` }));
    }
    expect((await api.status(settings, {}, deps)).streams.map((s) => s.failback?.caughtUp)).toEqual([true, true]);
    expect((await api.failback(settings, { reason: 'drill over' }, deps)).ok).toBe(true);
  });
});
