/** The failover service against DynamoDB Local: fencing, races, idempotency, failback guard, stalls, takeover. */
import * as api from '../../../lambda/failover/api';
import { ActiveRegionStore, ReservedConcurrencyControl, ResultPublisher } from '../../../lambda/failover/ports';
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
  test('drains, waits for the replicas and in-flight forwarding, then activates the target with T and the resume timestamp', async () => {
    const t0 = clock.now;
    await state.putCheckpoint(checkpoint(PRIMARY, 'shardId-000000000000', t0 - 30_000));
    await state.putCheckpoint(checkpoint(PRIMARY, 'shardId-000000000001', t0 - 10_000));
    await state.putCheckpoint(checkpoint(STANDBY, 'shardId-000000000000', t0 - 90_000)); // other direction: ignored

    const shards = new FakeShards().set(PRIMARY, STREAM, ['shardId-000000000000', 'shardId-000000000001']);
    const result = await failover(settings, { targetRegion: STANDBY, streams: [STREAM], reason: 'drill' }, depsFor(state, clock, { newSwitchId: () => 's1', shards }));

    expect(result).toMatchObject({ ok: true, action: 'failover', targetRegion: STANDBY, switchId: 's1', warnings: [] });
    // The old Region's shards are listed after the in-flight wait, since its activation.
    expect(shards.calls).toEqual([{ region: PRIMARY, streamName: STREAM, since: 0 }]);
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
        resumeTimestamp: t0 - 30_000 - 60_000,
        lowWaterMark: { timestamp: t0 - 30_000, basis: 'checkpoints', shards: 2, uncheckpointedShards: [], coverage: 'all-shards' },
      }),
    ]);
    expect(await state.activeRegions.read(PRIMARY, STREAM)).toEqual({
      streamName: STREAM, activeRegion: STANDBY, state: 'ACTIVE', epoch: 3, activatedAt: T, previousRegion: PRIMARY,
      switchId: 's1', reason: 'drill', resumeTimestamp: t0 - 90_000, updatedAt: T,
    });
    // Streams not asked for are untouched.
    expect(await state.activeRegions.read(PRIMARY, OTHER)).toMatchObject({ activeRegion: PRIMARY, state: 'ACTIVE', epoch: 1 });
  });

  test('a shard of the old Region without a checkpoint moves the resume timestamp to the old activation time and is named', async () => {
    const t0 = clock.now;
    const oldActivation = t0 - 3_600_000;
    await state.putActive(activeItem({ streamName: STREAM, activatedAt: oldActivation }));
    await state.putCheckpoint(checkpoint(PRIMARY, 'shardId-000000000000', t0 - 30_000));
    // shardId-000000000002: a child of a split that has not replicated anything yet.
    const shards = new FakeShards().set(PRIMARY, STREAM, ['shardId-000000000000', 'shardId-000000000002']);

    const result = await failover(settings, { targetRegion: STANDBY, streams: [STREAM] }, depsFor(state, clock, { shards }));

    expect(result.warnings).toEqual([]);
    expect(result.streams[0]).toMatchObject({
      outcome: 'switched',
      resumeTimestamp: oldActivation - 60_000,
      lowWaterMark: { timestamp: oldActivation, basis: 'activation', shards: 1, uncheckpointedShards: ['shardId-000000000002'], coverage: 'all-shards' },
    });
    expect(await state.activeRegions.read(STANDBY, STREAM)).toMatchObject({ activeRegion: STANDBY, resumeTimestamp: oldActivation - 60_000 });
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
      lowWaterMark: { timestamp: t0 - 30_000, basis: 'checkpoints', shards: 1, coverage: 'checkpointed-only' },
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
    await state.putCheckpoint(checkpoint(PRIMARY, 'shardId-000000000000', clock.now - 5_000));
    const result = await failover(settings, { targetRegion: STANDBY, dryRun: true }, depsFor(state, clock));
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

  test('forced, a switch goes on without an unreachable replica and says so', async () => {
    const flaky: ActiveRegionStore = {
      read: (region, stream) => (region === PRIMARY ? Promise.reject(new Error('down')) : state.activeRegions.read(region, stream)),
      replace: (region, next, fence) => state.activeRegions.replace(region, next, fence),
    };
    const result = await failover(settings, { targetRegion: STANDBY, streams: [STREAM], force: true }, depsFor(state, clock, { activeRegions: flaky }));
    expect(result.streams[0]).toMatchObject({ outcome: 'switched', unverifiedRegions: [PRIMARY] });
    expect(result.warnings).toEqual([`${STREAM}: replicas in ${PRIMARY} were not verified (forced)`]);
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
  test('refused while reverse replication lags, allowed after it caught up', async () => {
    const failed = await failover(settings, { targetRegion: STANDBY }, depsFor(state, clock));
    const T = failed.streams[0].activatedAt!;
    // Reverse replication from the standby: one stream past the switch, the other not yet.
    await state.putCheckpoint(checkpoint(STANDBY, 'shardId-000000000000', T + 1_000, { streamName: STREAM, shardId: `${STANDBY}/shardId-000000000000`, updatedAt: T + 2_000 }));
    await state.putCheckpoint(checkpoint(STANDBY, 'shardId-000000000000', T - 1_000, { streamName: OTHER, shardId: `${STANDBY}/shardId-000000000000` }));

    const refused = await failback(settings, {}, depsFor(state, clock));
    expect(refused.ok).toBe(false);
    expect(refused.targetRegion).toBe(PRIMARY);
    expect(refused.streams.map((s) => s.outcome)).toEqual(['refused', 'refused']);
    expect(refused.streams[0].message).toMatch(/not moved: failback is all or nothing and redstream-dev-telemetry has not caught up/);
    expect(refused.streams[1].message).toMatch(/failback refused: shard us-west-2\/shardId-000000000000 has not replicated past the switch/);
    expect(await state.activeRegions.read(PRIMARY, OTHER)).toMatchObject({ activeRegion: STANDBY, epoch: 3 });

    // Lagging above the threshold is refused too.
    await state.putCheckpoint(checkpoint(STANDBY, 'shardId-000000000000', T + 5_000, { streamName: OTHER, shardId: `${STANDBY}/shardId-000000000000`, updatedAt: T + 95_000 }));
    const lagging = await failback(settings, {}, depsFor(state, clock));
    expect(lagging.streams[1].message).toMatch(/lags 90\.0 s, above the 60\.0 s failback threshold/);

    await state.putCheckpoint(checkpoint(STANDBY, 'shardId-000000000000', T + 100_000, { streamName: OTHER, shardId: `${STANDBY}/shardId-000000000000`, updatedAt: T + 101_000 }));
    const back = await failback(settings, { reason: 'primary healthy again' }, depsFor(state, clock));
    expect(back.ok).toBe(true);
    expect(back.streams.map((s) => [s.outcome, s.epoch])).toEqual([['switched', 5], ['switched', 5]]);
    expect(back.streams[0].failback).toMatchObject({ caughtUp: true });
    // The resume timestamp of a failback comes from the standby's (reverse) checkpoints.
    expect(back.streams[0].resumeTimestamp).toBe(T + 1_000 - 60_000);
    expect(await state.activeRegions.read(PRIMARY, STREAM)).toMatchObject({ state: 'ACTIVE', activeRegion: PRIMARY, previousRegion: STANDBY, epoch: 5 });
  });

  test('refused while a shard of the active Region has no checkpoint, or its shards cannot be listed; forced, it goes', async () => {
    const failed = await failover(settings, { targetRegion: STANDBY }, depsFor(state, clock));
    const T = failed.streams[0].activatedAt!;
    for (const streamName of [STREAM, OTHER]) {
      await state.putCheckpoint(checkpoint(STANDBY, 'shardId-000000000000', T + 1_000, { streamName, shardId: `${STANDBY}/shardId-000000000000`, updatedAt: T + 2_000 }));
    }
    const shards = new FakeShards()
      .set(STANDBY, STREAM, ['shardId-000000000000', 'shardId-000000000001'])
      .set(STANDBY, OTHER, ['shardId-000000000000']);

    const refused = await failback(settings, {}, depsFor(state, clock, { shards }));
    expect(refused.streams.map((s) => s.outcome)).toEqual(['refused', 'refused']);
    expect(refused.streams[0].message).toBe(
      'failback refused: shard us-west-2/shardId-000000000001 has no replication checkpoint: it has not replicated a record since the switch; ' +
        'wait for reverse replication to catch up, or use --force',
    );
    expect(refused.streams[0].failback).toMatchObject({ caughtUp: false, uncheckpointedShards: ['shardId-000000000001'] });
    expect(shards.calls).toContainEqual({ region: STANDBY, streamName: STREAM, since: T });

    shards.set(STANDBY, STREAM, ['shardId-000000000000']);
    shards.down.add(STANDBY);
    const unlisted = await failback(settings, {}, depsFor(state, clock, { shards }));
    expect(unlisted.ok).toBe(false);
    expect(unlisted.streams[0].message).toMatch(/^failback refused: the shards of us-west-2 could not be listed \(ServiceUnavailable: us-west-2 is down\), so a shard without a checkpoint cannot be ruled out/);
    expect(await state.activeRegions.read(PRIMARY, STREAM)).toMatchObject({ activeRegion: STANDBY, epoch: 3 });

    const forced = await failback(settings, { force: true }, depsFor(state, clock, { shards }));
    expect(forced.streams.map((s) => s.outcome)).toEqual(['switched', 'switched']);
    expect(forced.warnings[0]).toBe(`failback forced although reverse replication has not caught up for ${STREAM}, ${OTHER}`);
  });

  test('forced, a failback skips the guard and says so', async () => {
    await failover(settings, { targetRegion: STANDBY }, depsFor(state, clock));
    const back = await failback(settings, { force: true }, depsFor(state, clock));
    expect(back.ok).toBe(true);
    expect(back.warnings).toEqual([`failback forced although reverse replication has not caught up for ${STREAM}, ${OTHER}`]);
  });

  test('failback when already in the primary is a no-op', async () => {
    const result = await failback(settings, {}, depsFor(state, clock));
    expect(result.streams.map((s) => s.outcome)).toEqual(['noop', 'noop']);
  });
});

describe('status', () => {
  test('reports the item, every replica, per-shard checkpoints, the low-water mark and the lag', async () => {
    await state.putCheckpoint(checkpoint(PRIMARY, 'shardId-000000000001', clock.now - 4_000, { updatedAt: clock.now - 1_000 }));
    await state.putCheckpoint(checkpoint(PRIMARY, 'shardId-000000000000', clock.now - 9_000, { updatedAt: clock.now - 8_500 }));
    const report = await status(settings, { streams: [STREAM] }, depsFor(state, clock));
    expect(report).toMatchObject({ environment: 'dev', readRegion: PRIMARY, generatedAt: clock.now });
    const s = report.streams[0];
    expect(s).toMatchObject({
      streamName: STREAM,
      item: { activeRegion: PRIMARY, state: 'ACTIVE', epoch: 1 },
      replicasAgree: true,
      replicas: [{ region: PRIMARY, epoch: 1, state: 'ACTIVE' }, { region: STANDBY, epoch: 1 }],
      lowWaterMark: { timestamp: clock.now - 9_000, basis: 'checkpoints', shards: 2, uncheckpointedShards: [], coverage: 'all-shards' },
      resumeTimestamp: clock.now - 69_000,
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
