/**
 * The failover service: runs the fenced switch protocol of `decisions.ts` over the ports of `ports.ts`. Shared by the
 * failover Lambda handler, the operator CLI and the local demo. Clock, sleep and switch ids are injected.
 *
 * Every write of a switch goes to the coordinator Region's replica, which is the target Region's (the old active
 * Region may be the one that is down). Reads that decide (current item, checkpoints) are strongly consistent reads
 * of that same replica; checkpoints read there can only be older than the source Region's, which moves the resume
 * timestamp earlier (more re-sent duplicates, never a gap) and makes the failback guard stricter.
 *
 * Times: the caller's clock is corrected by the offset of the target Region's endpoint clock (TrustedClock), and the
 * activation time T is the lower bound of that corrected clock, read after the slow part of the switch (probing the old
 * Region), immediately before the activation write: it errs early (a few echoed replicas), never late (skipped writes).
 * Records that reach the target between T and the write are held by its replicator (it sees the switch toward it)
 * and forwarded once the activation is written.
 */
import { randomUUID } from 'node:crypto';
import { ActiveRegionItem, CheckpointItem, ReplicatorFenceRecord } from '../shared/state-tables';
import {
  assessFailback,
  assessReplicas,
  ConcurrencyMove,
  DrainPlan,
  FailbackAssessment,
  inFlightWaitMs,
  LowWaterMark,
  lowWaterMark,
  planActivation,
  planConcurrencyMove,
  planDrain,
  probeStart,
  resumeTimestamp,
  ShardListing,
  ShardProbe,
  ShardProgress,
  shardProgress,
} from './decisions';
import { InvalidRequestError } from './errors';
import { ActiveRegionStore, CheckpointStore, Clock, ReplicatorFence, ReservedConcurrencyControl, ResultPublisher, ShardInspector, Sleep, TrustedClock } from './ports';

/** What the service needs to know about the environment. Build it with `settingsFromConfig` (lib/ops/settings.ts). */
export interface FailoverSettings {
  /** Environment name, e.g. `dev`. */
  readonly environment: string;
  /** Every Region of the environment, primary first. */
  readonly regions: readonly string[];
  /** Region failback returns to. */
  readonly primaryRegion: string;
  /** Physical names of every stream of the environment (the default set of a switch). */
  readonly streams: readonly string[];
  /** Replicator function timeout: the longest a forwarding invocation can still be running. */
  readonly replicatorTimeoutMs: number;
  /** How long a replicator may cache the active-Region item. */
  readonly activeRegionCacheTtlMs: number;
  /** How long to wait for every replica to show a drain before stalling (or, forced, going on). */
  readonly propagationTimeoutMs: number;
  /** Pause between replica polls. */
  readonly pollIntervalMs: number;
  /** Subtracted from the low-water mark to give the resume timestamp. */
  readonly resumeSafetyMarginMs: number;
  /** Failback is refused while a reverse-replication shard lags more than this. */
  readonly failbackMaxLagMs: number;
  /** When set, a completed switch of every stream moves the replicators' reserved concurrency. @default - not moved */
  readonly replicatorConcurrency?: { readonly functionName: string; readonly reservedConcurrency: number | undefined };
  /** The replicator function's name (the same in every Region): what a forced switch fences. */
  readonly replicatorFunctionName: string;
  /**
   * The largest clock error assumed when the target Region's clock cannot be read: the activation time is then the
   * caller's clock minus this. @default 30 s
   */
  readonly maxClockSkewMs?: number;
  /** Retention per stream (physical name), for the low-water mark when a Region's shards cannot be listed. @default - none */
  readonly streamRetentionMs?: Readonly<Record<string, number>>;
}

/** {@link FailoverSettings.maxClockSkewMs}'s default. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 30_000;

export interface FailoverDeps {
  readonly activeRegions: ActiveRegionStore;
  readonly checkpoints: CheckpointStore;
  /**
   * The streams' shards per Region, listed and probed for the oldest unreplicated record: the low-water mark and the
   * failback guard. When it fails, a failover goes on with a conservative mark and a warning, a failback is refused.
   */
  readonly shards: ShardInspector;
  /** The target Region's endpoint clock. @default - none: the caller's clock minus maxClockSkewMs, with a warning */
  readonly trustedClock?: TrustedClock;
  /** Out-of-band fencing for forced switches. @default - none: a forced switch that must fence refuses */
  readonly fence?: ReplicatorFence;
  /** Needed only when settings.replicatorConcurrency is set. */
  readonly concurrency?: ReservedConcurrencyControl;
  /** Where results are published. @default - not published */
  readonly publisher?: ResultPublisher;
  readonly clock: Clock;
  readonly sleep: Sleep;
  /** @default crypto.randomUUID */
  readonly newSwitchId?: () => string;
  /** Progress lines while the switch runs (the CLI prints them on stderr). @default - none */
  readonly onProgress?: (line: string) => void;
}

export interface SwitchOptions {
  /** Region to activate. Required for failover; failback defaults to the primary Region. */
  readonly targetRegion?: string;
  /** Physical stream names. @default - every stream of the environment */
  readonly streams?: readonly string[];
  /** Region the caller believes is active; the switch is refused if another is. @default - whichever is active */
  readonly expectedRegion?: string;
  /** Recorded in the item and the published result. */
  readonly reason?: string;
  /**
   * Failover: take over or redirect a switch under way; go on when some replica cannot be verified, after fencing the
   * replicators of those Regions out of band (refused when a fence fails). Failback: also skip the catch-up guard.
   * @default false
   */
  readonly force?: boolean;
  /** Plan and report, write nothing. @default false */
  readonly dryRun?: boolean;
}

export type StreamOutcome =
  /** This request switched the stream. */
  | 'switched'
  /** Already active in the target: nothing changed. */
  | 'noop'
  /** Dry run: this request would switch the stream. */
  | 'would-switch'
  /** The request does not fit the state (or the failback guard); nothing changed. */
  | 'refused'
  /** Another switch won the race or is under way; this one changed nothing further. */
  | 'conflict'
  /** Drained, but not every replica could be verified in time: left DRAINING; re-run to finish. */
  | 'stalled';

export interface StreamSwitchResult {
  readonly streamName: string;
  readonly outcome: StreamOutcome;
  readonly message: string;
  /** Region active before the switch. */
  readonly fromRegion?: string;
  /** Epoch before and after (the item as this request last saw or wrote it). */
  readonly epochBefore?: number;
  readonly epoch?: number;
  /** Activation time T of the target, epoch ms (switched). */
  readonly activatedAt?: number;
  /** Where producers and AT_TIMESTAMP consumers resume, epoch ms (switched, would-switch: an estimate). */
  readonly resumeTimestamp?: number;
  readonly lowWaterMark?: LowWaterMark;
  /** Failback only: the catch-up check of the reverse replication. */
  readonly failback?: FailbackAssessment;
  /** Regions whose replica did not show the drain (stalled, or forced through). */
  readonly unverifiedRegions?: string[];
  /** Regions whose replicator this switch fenced out of band (forced through unverified replicas). */
  readonly fencedRegions?: string[];
}

export interface SwitchResult {
  readonly action: 'failover' | 'failback';
  readonly environment: string;
  readonly targetRegion: string;
  readonly switchId: string;
  readonly reason: string;
  readonly dryRun: boolean;
  readonly forced: boolean;
  /** Every stream switched, was already there, or (dry run) would switch. */
  readonly ok: boolean;
  readonly streams: StreamSwitchResult[];
  readonly concurrencyMoves: ConcurrencyMove[];
  readonly warnings: string[];
  /** The caller's clock offset from the target Region's endpoint clock as measured (corrected), when it could be read. */
  readonly clockOffsetMs?: number;
  readonly startedAt: number;
  readonly finishedAt: number;
}

const OK_OUTCOMES: readonly StreamOutcome[] = ['switched', 'noop', 'would-switch'];

/** A DRAINING item is considered abandoned after the whole protocol could have run twice. */
export function staleAfterMs(settings: FailoverSettings): number {
  return settings.propagationTimeoutMs + inFlightWaitMs(settings.replicatorTimeoutMs, settings.activeRegionCacheTtlMs) + 60_000;
}

function resolveStreams(settings: FailoverSettings, streams: readonly string[] | undefined): string[] {
  if (streams === undefined || streams.length === 0) return [...settings.streams];
  for (const s of streams) {
    if (!settings.streams.includes(s)) {
      throw new InvalidRequestError('streams', `unknown stream ${JSON.stringify(s)}; streams of ${settings.environment}: ${settings.streams.join(', ')}`);
    }
  }
  return [...new Set(streams)];
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** A Region's shards and, per shard, what a probe from its checkpoint (or the activation time) found. */
export interface ShardObservation {
  readonly listing: ShardListing;
  readonly probes: ReadonlyMap<string, ShardProbe>;
  /** When the probes started (corrected clock). */
  readonly observedAt: number;
}

/** Lists `region`'s shards of `streamName` and probes each; failures are values, not errors. */
export async function observeShards(
  inspector: ShardInspector,
  region: string,
  streamName: string,
  activatedAt: number,
  checkpoints: readonly CheckpointItem[],
  observedAt: number,
): Promise<ShardObservation> {
  let listing: ShardListing;
  try {
    listing = { ok: true, shards: await inspector.list(region, streamName) };
  } catch (err) {
    return { listing: { ok: false, error: errorText(err) }, probes: new Map(), observedAt };
  }
  const own = new Map(checkpoints.filter((c) => c.sourceRegion === region).map((c) => [c.sourceShardId, c]));
  const probes = new Map<string, ShardProbe>();
  await Promise.all(
    listing.shards.map(async (shard) => {
      try {
        const first = await inspector.firstRecord(region, streamName, shard.shardId, probeStart(own.get(shard.shardId), activatedAt));
        probes.set(shard.shardId, first === undefined ? { ok: true } : { ok: true, first });
      } catch (err) {
        probes.set(shard.shardId, { ok: false, error: errorText(err) });
      }
    }),
  );
  return { listing, probes, observedAt };
}

/** The caller's clock corrected by the target Region's endpoint clock, and the activation time's lower bound. */
interface CorrectedClock {
  now(): number;
  /** A time no later than the endpoint clock's now. */
  earliestNow(): number;
  readonly offsetMs?: number;
}

async function correctedClock(deps: FailoverDeps, settings: FailoverSettings, region: string, warnings: string[]): Promise<CorrectedClock> {
  const maxSkew = settings.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  if (deps.trustedClock === undefined) {
    warnings.push(`no trusted clock: the activation time is this machine's clock minus ${Math.round(maxSkew / 1000)} s`);
    return { now: deps.clock, earliestNow: () => deps.clock() - maxSkew };
  }
  try {
    const { offsetLowMs, offsetHighMs } = await deps.trustedClock.measure(region);
    const mid = Math.round((offsetLowMs + offsetHighMs) / 2);
    if (Math.abs(mid) > 1_000) {
      warnings.push(`this machine's clock is ${(Math.abs(mid) / 1000).toFixed(1)} s ${mid > 0 ? 'behind' : 'ahead of'} ${region}'s AWS clock; times are corrected`);
    }
    return { now: () => deps.clock() + mid, earliestNow: () => deps.clock() + offsetLowMs, offsetMs: mid };
  } catch (err) {
    warnings.push(`the clock of ${region} could not be read (${errorText(err)}): the activation time is this machine's clock minus ${Math.round(maxSkew / 1000)} s`);
    return { now: deps.clock, earliestNow: () => deps.clock() - maxSkew };
  }
}

function requireRegion(settings: FailoverSettings, field: string, region: string | undefined): void {
  if (region !== undefined && !settings.regions.includes(region)) {
    throw new InvalidRequestError(field, `${JSON.stringify(region)} is not a Region of ${settings.environment} (${settings.regions.join(', ')})`);
  }
}

/** Fails the given streams over to `options.targetRegion` with the fenced switch protocol. */
export async function failover(settings: FailoverSettings, options: SwitchOptions, deps: FailoverDeps): Promise<SwitchResult> {
  if (options.targetRegion === undefined) throw new InvalidRequestError('targetRegion', 'is required for a failover');
  return runSwitch('failover', settings, { ...options, targetRegion: options.targetRegion }, deps);
}

/**
 * Fails back to the primary Region (or `options.targetRegion`): the same switch, refused for every stream unless
 * each stream's reverse replication has caught up (or `force`).
 */
export async function failback(settings: FailoverSettings, options: SwitchOptions, deps: FailoverDeps): Promise<SwitchResult> {
  return runSwitch('failback', settings, { ...options, targetRegion: options.targetRegion ?? settings.primaryRegion }, deps);
}

interface Drained {
  readonly item: ActiveRegionItem;
  readonly before: ActiveRegionItem;
}

async function runSwitch(
  action: 'failover' | 'failback',
  settings: FailoverSettings,
  options: SwitchOptions & { targetRegion: string },
  deps: FailoverDeps,
): Promise<SwitchResult> {
  requireRegion(settings, 'targetRegion', options.targetRegion);
  requireRegion(settings, 'expectedRegion', options.expectedRegion);
  const streams = resolveStreams(settings, options.streams);
  const target = options.targetRegion;
  const coordinator = target;
  const switchId = (deps.newSwitchId ?? randomUUID)();
  const reason = options.reason ?? `${action} to ${target}`;
  const force = options.force ?? false;
  const dryRun = options.dryRun ?? false;
  const progress = deps.onProgress ?? (() => undefined);
  const results = new Map<string, StreamSwitchResult>();
  const warnings: string[] = [];
  const clk = await correctedClock(deps, settings, target, warnings);
  const startedAt = clk.now();

  const currents = new Map<string, ActiveRegionItem | undefined>();
  await Promise.all(streams.map(async (s) => currents.set(s, await deps.activeRegions.read(coordinator, s))));

  const plans = new Map<string, DrainPlan>();
  for (const s of streams) {
    plans.set(s, planDrain(currents.get(s), { targetRegion: target, expectedRegion: options.expectedRegion, reason, force }, {
      regions: settings.regions,
      now: clk.now(),
      switchId,
      staleAfterMs: staleAfterMs(settings),
    }));
  }

  // Failback guard: all or nothing.
  const guards = new Map<string, FailbackAssessment>();
  if (action === 'failback') {
    for (const s of streams) {
      const plan = plans.get(s)!;
      if (plan.kind !== 'drain' || plan.takeover) continue;
      const cps = await deps.checkpoints.list(coordinator, s);
      const seen = await observeShards(deps.shards, plan.current.activeRegion, s, plan.current.activatedAt, cps, clk.now());
      guards.set(s, assessFailback(plan.current, cps, settings.failbackMaxLagMs, seen.listing, seen.probes, clk.now()));
    }
    const behind = [...guards].filter(([, g]) => !g.caughtUp).map(([s]) => s);
    if (behind.length > 0 && force) {
      warnings.push(`failback forced although reverse replication has not caught up for ${behind.join(', ')}`);
    } else if (behind.length > 0) {
      for (const s of streams) {
        const plan = plans.get(s)!;
        const g = guards.get(s);
        if (plan.kind !== 'drain') {
          results.set(s, fromPlan(s, plan));
        } else {
          results.set(s, {
            streamName: s,
            outcome: 'refused',
            fromRegion: plan.current.activeRegion,
            epochBefore: plan.current.epoch,
            epoch: plan.current.epoch,
            failback: g,
            message:
              g && !g.caughtUp
                ? `failback refused: ${g.reasons.join('; ')}; wait for reverse replication to catch up, or use --force`
                : `not moved: failback is all or nothing and ${behind.join(', ')} has not caught up`,
          });
        }
      }
      return finish();
    }
  }

  // Plans that do not drain are final. A no-op read from the target's replica is checked against the other replicas
  // first: after a forced switch through a partitioned replica, the target's replica may still say it is active
  // while another Region's (newer epoch) says otherwise.
  const toDrain: Array<{ stream: string; plan: Extract<DrainPlan, { kind: 'drain' }> }> = [];
  for (const s of streams) {
    const plan = plans.get(s)!;
    if (plan.kind === 'drain') toDrain.push({ stream: s, plan });
    else if (plan.kind === 'noop' && !force) results.set(s, await confirmNoop(s, plan));
    else results.set(s, fromPlan(s, plan));
  }

  if (dryRun) {
    for (const { stream, plan } of toDrain) {
      const mark = await markOf(stream, plan.next.previousRegion!, plan.current.activatedAt);
      results.set(stream, {
        streamName: stream,
        outcome: 'would-switch',
        fromRegion: plan.next.previousRegion,
        epochBefore: plan.current.epoch,
        epoch: plan.current.epoch,
        lowWaterMark: mark,
        resumeTimestamp: resumeTimestamp(mark, settings.resumeSafetyMarginMs),
        failback: guards.get(stream),
        message:
          `would drain (epoch ${plan.current.epoch} → ${plan.next.epoch}${plan.takeover ? ', taking over the switch under way' : ''}), ` +
          `wait for ${settings.regions.length} replicas plus ${Math.round(inFlightWaitMs(settings.replicatorTimeoutMs, settings.activeRegionCacheTtlMs) / 1000)} s, ` +
          `then activate ${target} (epoch ${plan.next.epoch + 1}); resume estimate from the current checkpoints`,
      });
    }
    return finish();
  }

  // Step 1: drain.
  const drained = new Map<string, Drained>();
  /** Fences this switch set per stream (forced through unverified replicas). */
  const newFences = new Map<string, ReplicatorFenceRecord[]>();
  const fencedThisSwitch = new Map<string, ReplicatorFenceRecord>();
  await Promise.all(
    toDrain.map(async ({ stream, plan }) => {
      if (await deps.activeRegions.replace(coordinator, plan.next, plan.fence)) {
        drained.set(stream, { item: plan.next, before: plan.current });
        progress(`${stream}: draining (epoch ${plan.next.epoch}, switch ${switchId})`);
      } else {
        results.set(stream, await lostRace(stream, plan.current));
      }
    }),
  );

  // Step 2a: wait until every Region's replica shows the drain.
  const waitStart = clk.now();
  const unverified = new Map<string, string[]>();
  let open = [...drained.keys()];
  for (;;) {
    const stillOpen: string[] = [];
    for (const stream of open) {
      const d = drained.get(stream)!;
      const observations = await Promise.all(
        settings.regions.map(async (region) => {
          try {
            return { region, item: await deps.activeRegions.read(region, stream) };
          } catch (err) {
            return { region, error: errorText(err) };
          }
        }),
      );
      const a = assessReplicas(observations, d.item, coordinator);
      if (a.superseded) {
        drained.delete(stream);
        results.set(stream, await lostRace(stream, d.before, 'superseded by another switch while waiting for the replicas'));
      } else if (!a.converged) {
        stillOpen.push(stream);
        unverified.set(stream, a.pending);
      } else {
        unverified.delete(stream);
      }
    }
    open = stillOpen;
    if (open.length === 0) break;
    if (clk.now() - waitStart >= settings.propagationTimeoutMs) {
      for (const stream of open) {
        const regions = unverified.get(stream) ?? [];
        if (force) {
          const fenced = await fenceUnverified(stream, regions);
          if (fenced === undefined) continue;
          newFences.set(stream, fenced);
          warnings.push(`${stream}: replicas in ${regions.join(', ')} were not verified (forced); their replicators are fenced (reserved concurrency 0)`);
        } else {
          const d = drained.get(stream)!;
          drained.delete(stream);
          results.set(stream, {
            streamName: stream,
            outcome: 'stalled',
            fromRegion: d.before.activeRegion,
            epochBefore: d.before.epoch,
            epoch: d.item.epoch,
            unverifiedRegions: regions,
            message:
              `drained, but the replicas in ${regions.join(', ')} did not show it within ${Math.round(settings.propagationTimeoutMs / 1000)} s; ` +
              `the stream stays DRAINING (nobody forwards); once those replicas are reachable, re-run the same command after ${Math.ceil(staleAfterMs(settings) / 1000)} s ` +
              '(when this switch counts as abandoned), or re-run it now with --force to take it over and go on without them',
          });
        }
      }
      break;
    }
    progress(`waiting for the replicas of ${open.join(', ')} in ${[...new Set(open.flatMap((s) => unverified.get(s) ?? []))].join(', ')}`);
    await deps.sleep(settings.pollIntervalMs);
  }

  // Step 2b: let in-flight forwarding end.
  if (drained.size > 0) {
    const waitMs = inFlightWaitMs(settings.replicatorTimeoutMs, settings.activeRegionCacheTtlMs);
    progress(`every replica shows the drain; waiting ${Math.round(waitMs / 1000)} s for in-flight forwarding to end`);
    await deps.sleep(waitMs);
  }

  // Step 3: activate. The slow part first (listing and probing the old Region, which may hang while it is down), then
  // T from the corrected clock's lower bound, read immediately before the write.
  const marks = new Map<string, LowWaterMark>();
  await Promise.all([...drained].map(async ([stream, d]) => marks.set(stream, await markOf(stream, d.item.previousRegion!, d.item.activatedAt))));
  const lifted: Array<{ stream: string; record: ReplicatorFenceRecord }> = [];
  // Measured again now: minutes have passed since the switch began (a clock stepped or a laptop suspended meanwhile
  // would make T late).
  const activationClock = drained.size > 0 ? await correctedClock(deps, settings, target, []) : clk;
  await Promise.all(
    [...drained].map(async ([stream, d]) => {
      const mark = marks.get(stream)!;
      const resume = resumeTimestamp(mark, settings.resumeSafetyMarginMs);
      const fences = [...(d.item.fences ?? []), ...(newFences.get(stream) ?? [])];
      const keep = fences.filter((f) => f.region !== target);
      const activatedAt = activationClock.earliestNow();
      const { next, fence } = planActivation(d.item, activatedAt, resume, keep, clk.now());
      if (!(await deps.activeRegions.replace(coordinator, next, fence))) {
        results.set(stream, await lostRace(stream, d.before, 'superseded by another switch before activation'));
        return;
      }
      for (const f of fences) if (f.region === target) lifted.push({ stream, record: f });
      progress(`${stream}: active in ${target} (epoch ${next.epoch}), resume from ${new Date(resume).toISOString()}`);
      results.set(stream, {
        streamName: stream,
        outcome: 'switched',
        fromRegion: d.before.activeRegion,
        epochBefore: d.before.epoch,
        epoch: next.epoch,
        activatedAt,
        resumeTimestamp: resume,
        lowWaterMark: mark,
        failback: guards.get(stream),
        unverifiedRegions: unverified.get(stream),
        ...(newFences.has(stream) ? { fencedRegions: newFences.get(stream)!.map((f) => f.region) } : {}),
        message: `switched from ${d.before.activeRegion} to ${target} (epoch ${d.before.epoch} → ${next.epoch})`,
      });
    }),
  );
  // The target's own replicator may have been fenced by an earlier forced switch away from it: lift that fence now that
  // the target's replica says it is active (one lift per function, whichever stream recorded it).
  const liftedFunctions = new Set<string>();
  for (const { record } of lifted) {
    const key = `${record.region}/${record.functionName}`;
    if (liftedFunctions.has(key)) continue;
    liftedFunctions.add(key);
    if (!deps.fence) {
      warnings.push(`the replicator ${record.functionName} in ${record.region} is still fenced (reserved concurrency 0): no Lambda client to lift it`);
      continue;
    }
    try {
      await deps.fence.unfence(record.region, record.functionName, record.previousReservedConcurrency);
      progress(`replicator in ${record.region}: fence lifted (reserved concurrency ${record.previousReservedConcurrency ?? 'unreserved'})`);
    } catch (err) {
      warnings.push(
        `the replicator ${record.functionName} in ${record.region} is still fenced (reserved concurrency 0): ${errorText(err)}; lift it with ` +
          (record.previousReservedConcurrency === undefined
            ? `aws lambda delete-function-concurrency --region ${record.region} --function-name ${record.functionName}`
            : `aws lambda put-function-concurrency --region ${record.region} --function-name ${record.functionName} --reserved-concurrent-executions ${record.previousReservedConcurrency}`),
      );
    }
  }

  const switched = [...results.values()].some((r) => r.outcome === 'switched');
  const concurrencyMoves: ConcurrencyMove[] = [];
  if (switched && settings.replicatorConcurrency) {
    await moveConcurrency(concurrencyMoves);
  }
  const result = finish(concurrencyMoves);
  if (switched && deps.publisher) {
    try {
      await deps.publisher.publish(`Redstream ${settings.environment} ${action} to ${target}`, result);
    } catch (err) {
      result.warnings.push(`result not published: ${String(err)}`);
    }
  }
  return result;

  async function moveConcurrency(done: ConcurrencyMove[]): Promise<void> {
    const rc = settings.replicatorConcurrency!;
    if (!deps.concurrency) {
      warnings.push('reserved concurrency not moved: no Lambda client was given');
      return;
    }
    const active = new Map<string, string | undefined>();
    for (const s of settings.streams) {
      const item = await deps.activeRegions.read(coordinator, s);
      active.set(s, item?.state === 'ACTIVE' ? item.activeRegion : undefined);
    }
    const plan = planConcurrencyMove(active, settings.regions, target, rc.functionName, rc.reservedConcurrency);
    if (plan.skipped) warnings.push(plan.skipped);
    for (const move of plan.moves) {
      try {
        await deps.concurrency.set(move.region, move.functionName, move.reservedConcurrency);
        done.push(move);
        progress(`replicator in ${move.region}: reserved concurrency ${move.reservedConcurrency ?? 'unreserved'}`);
      } catch (err) {
        warnings.push(`reserved concurrency of ${move.functionName} in ${move.region} not set to ${move.reservedConcurrency ?? 'unreserved'}: ${String(err)}`);
      }
    }
  }

  /** A no-op stands only if no readable replica shows a newer epoch (the target's replica may be behind). */
  async function confirmNoop(stream: string, plan: Extract<DrainPlan, { kind: 'noop' }>): Promise<StreamSwitchResult> {
    for (const region of settings.regions) {
      if (region === coordinator) continue;
      let other: ActiveRegionItem | undefined;
      try {
        other = await deps.activeRegions.read(region, stream);
      } catch {
        continue; // an unreachable replica cannot contradict; a partitioned one is caught once it answers
      }
      if (other !== undefined && other.epoch > plan.current.epoch) {
        return {
          streamName: stream,
          outcome: 'refused',
          fromRegion: other.activeRegion,
          epochBefore: plan.current.epoch,
          epoch: plan.current.epoch,
          message:
            `${coordinator}'s replica says ${plan.current.activeRegion} is active (epoch ${plan.current.epoch}), but ${region}'s shows epoch ${other.epoch} ` +
            `(${other.state} in ${other.activeRegion}): ${coordinator}'s replica is behind. Wait until \`status\` shows the replicas agree and re-run, or use --force`,
        };
      }
    }
    return fromPlan(stream, plan);
  }

  /** The low-water mark of `stream`'s replication from `source`; a coverage warning goes to the result's warnings. */
  async function markOf(stream: string, source: string, activatedAt: number): Promise<LowWaterMark> {
    const cps = await deps.checkpoints.list(coordinator, stream);
    const seen = await observeShards(deps.shards, source, stream, activatedAt, cps, clk.now());
    const mark = lowWaterMark({
      checkpoints: cps,
      sourceRegion: source,
      activatedAt,
      shards: seen.listing,
      probes: seen.probes,
      observedAt: seen.observedAt,
      retentionMs: settings.streamRetentionMs?.[stream],
    });
    if (mark.warning !== undefined) warnings.push(`${stream}: ${mark.warning}`);
    if (mark.unprobedShards.length > 0 && mark.coverage === 'all-shards') {
      warnings.push(`${stream}: shards ${mark.unprobedShards.join(', ')} of ${source} could not be read; they count from their checkpoint or the activation time`);
    }
    return mark;
  }

  /**
   * A forced switch through replicas it cannot see: fences the replicator of every such Region (except the target) out
   * of band. On failure the stream is refused and stays DRAINING (nobody forwards, nothing is lost: the target holds).
   */
  async function fenceUnverified(stream: string, regions: readonly string[]): Promise<ReplicatorFenceRecord[] | undefined> {
    const d = drained.get(stream)!;
    const toFence = regions.filter((r) => r !== target);
    const done: ReplicatorFenceRecord[] = [];
    const functionName = settings.replicatorFunctionName;
    for (const region of toFence) {
      const already = (d.item.fences ?? []).find((f) => f.region === region);
      if (already) continue;
      // One fence per Region's function for the whole switch: a second stream would read the 0 this switch set and
      // record it as the reservation to restore.
      const sameSwitch = fencedThisSwitch.get(region);
      if (sameSwitch) {
        done.push(sameSwitch);
        continue;
      }
      try {
        if (!deps.fence) throw new Error('no Lambda client was given to fence with');
        const { previousReservedConcurrency } = await deps.fence.fence(region, functionName);
        const record: ReplicatorFenceRecord = { region, functionName, fencedAt: clk.now(), switchId, ...(previousReservedConcurrency === undefined ? {} : { previousReservedConcurrency }) };
        fencedThisSwitch.set(region, record);
        done.push(record);
        progress(`${stream}: replicator in ${region} fenced (reserved concurrency 0)`);
      } catch (err) {
        drained.delete(stream);
        results.set(stream, {
          streamName: stream,
          outcome: 'refused',
          fromRegion: d.before.activeRegion,
          epochBefore: d.before.epoch,
          epoch: d.item.epoch,
          unverifiedRegions: [...regions],
          message:
            `forced switch refused: the replica in ${region} cannot be seen and its replicator could not be fenced (${errorText(err)}); ` +
            `activating now could let two Regions forward. The stream stays DRAINING (nobody forwards; ${target} holds what arrives). ` +
            `Fence it by other means (aws lambda put-function-concurrency --region ${region} --function-name ${functionName} --reserved-concurrent-executions 0) ` +
            `and re-run, or wait until the replica in ${region} is reachable and re-run without --force`,
        });
        return undefined;
      }
    }
    return done;
  }

  async function lostRace(stream: string, before: ActiveRegionItem, why = 'another switch changed the item first'): Promise<StreamSwitchResult> {
    const now = await deps.activeRegions.read(coordinator, stream);
    const where = now ? `now ${now.state} in ${now.activeRegion}${now.targetRegion ? ` → ${now.targetRegion}` : ''} (epoch ${now.epoch}, switch ${now.switchId ?? '-'})` : 'item gone';
    return {
      streamName: stream,
      outcome: now?.state === 'ACTIVE' && now.activeRegion === target ? 'noop' : 'conflict',
      fromRegion: before.activeRegion,
      epochBefore: before.epoch,
      epoch: now?.epoch,
      message: `lost the race: ${why}; ${where}`,
    };
  }

  function finish(concurrencyMoves: ConcurrencyMove[] = []): SwitchResult {
    const ordered = streams.map((s) => results.get(s)!);
    return {
      action,
      environment: settings.environment,
      targetRegion: target,
      switchId,
      reason,
      dryRun,
      forced: force,
      ok: ordered.every((r) => OK_OUTCOMES.includes(r.outcome)),
      streams: ordered,
      concurrencyMoves,
      warnings,
      ...(clk.offsetMs === undefined ? {} : { clockOffsetMs: clk.offsetMs }),
      startedAt,
      finishedAt: clk.now(),
    };
  }
}

function fromPlan(stream: string, plan: Exclude<DrainPlan, { kind: 'drain' }>): StreamSwitchResult {
  return {
    streamName: stream,
    outcome: plan.kind === 'noop' ? 'noop' : plan.kind === 'conflict' ? 'conflict' : 'refused',
    fromRegion: plan.current?.activeRegion,
    epochBefore: plan.current?.epoch,
    epoch: plan.current?.epoch,
    message: plan.message,
  };
}

/** One Region's view of a stream's active-Region item. */
export interface ReplicaView {
  readonly region: string;
  readonly state?: string;
  readonly activeRegion?: string;
  readonly epoch?: number;
  readonly error?: string;
}

export interface StreamStatus {
  readonly streamName: string;
  /** The item in the read Region's replica. */
  readonly item?: ActiveRegionItem;
  /** Every Region's replica. */
  readonly replicas: ReplicaView[];
  /** Every readable replica shows the same epoch. */
  readonly replicasAgree: boolean;
  readonly checkpoints: ShardProgress[];
  /** Low-water mark of the active Region's replication. */
  readonly lowWaterMark?: LowWaterMark;
  /** Resume timestamp if the stream failed over now. */
  readonly resumeTimestamp?: number;
  /**
   * Current lag of the active Region's replication: the age of the oldest record it has not passed, over its shards
   * (0 when none is pending); undefined when its shards could not all be read.
   */
  readonly maxLagMs?: number;
  /** When not active in the primary Region: whether a failback would pass its guard now. */
  readonly failback?: FailbackAssessment;
}

export interface StatusReport {
  readonly environment: string;
  readonly primaryRegion: string;
  readonly regions: readonly string[];
  /** Replica the item and checkpoints were read from (the first reachable Region, primary first). */
  readonly readRegion: string;
  readonly generatedAt: number;
  readonly streams: StreamStatus[];
}

/** The state of every (or the given) stream: active Region, epoch, replicas, per-shard checkpoints, lag. */
export async function status(
  settings: FailoverSettings,
  options: { streams?: readonly string[]; readRegion?: string },
  deps: Pick<FailoverDeps, 'activeRegions' | 'checkpoints' | 'shards' | 'clock' | 'trustedClock'>,
): Promise<StatusReport> {
  requireRegion(settings, 'readRegion', options.readRegion);
  const streams = resolveStreams(settings, options.streams);
  let offset = 0;
  if (deps.trustedClock) {
    try {
      const m = await deps.trustedClock.measure(options.readRegion ?? settings.primaryRegion);
      offset = Math.round((m.offsetLowMs + m.offsetHighMs) / 2);
    } catch {
      // Status still reports with the caller's clock; lag figures are then as good as that clock.
    }
  }
  const now = deps.clock() + offset;
  const candidates = options.readRegion ? [options.readRegion] : [...settings.regions];
  let lastError: unknown;
  for (const readRegion of candidates) {
    try {
      const out: StreamStatus[] = [];
      for (const streamName of streams) out.push(await streamStatus(streamName, readRegion));
      return { environment: settings.environment, primaryRegion: settings.primaryRegion, regions: settings.regions, readRegion, generatedAt: now, streams: out };
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;

  async function streamStatus(streamName: string, readRegion: string): Promise<StreamStatus> {
    const item = await deps.activeRegions.read(readRegion, streamName);
    const cps = await deps.checkpoints.list(readRegion, streamName);
    const replicas = await Promise.all(
      settings.regions.map(async (region): Promise<ReplicaView> => {
        try {
          const r = region === readRegion ? item : await deps.activeRegions.read(region, streamName);
          return { region, state: r?.state, activeRegion: r?.activeRegion, epoch: r?.epoch };
        } catch (err) {
          return { region, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
        }
      }),
    );
    const epochs = new Set(replicas.filter((r) => r.error === undefined).map((r) => r.epoch));
    const checkpoints = cps.map((c) => shardProgress(c, now)).sort((a, b) => a.shardId.localeCompare(b.shardId));
    if (item === undefined) return { streamName, replicas, replicasAgree: epochs.size <= 1, checkpoints };
    // While DRAINING, activeRegion is still the Region the stream is switching away from.
    const source = item.activeRegion;
    const seen = await observeShards(deps.shards, source, streamName, item.activatedAt, cps, now);
    const mark = lowWaterMark({
      checkpoints: cps,
      sourceRegion: source,
      activatedAt: item.activatedAt,
      shards: seen.listing,
      probes: seen.probes,
      observedAt: now,
      retentionMs: settings.streamRetentionMs?.[streamName],
    });
    const probed = seen.listing.ok && [...seen.probes.values()].length === seen.listing.shards.length && [...seen.probes.values()].every((p) => p.ok);
    const lags = [...seen.probes.values()].map((p) => (p.ok && p.first ? Math.max(0, now - p.first.arrivalMs) : 0));
    return {
      streamName,
      item,
      replicas,
      replicasAgree: epochs.size <= 1,
      checkpoints,
      lowWaterMark: mark,
      resumeTimestamp: resumeTimestamp(mark, settings.resumeSafetyMarginMs),
      maxLagMs: probed ? Math.max(0, ...lags) : undefined,
      failback: item.activeRegion !== settings.primaryRegion ? assessFailback(item, cps, settings.failbackMaxLagMs, seen.listing, seen.probes, now) : undefined,
    };
  }
}
