/**
 * Pure decisions of the fenced switch protocol (DESIGN.md "Failover"): no AWS I/O, no process.env, no clock.
 *
 * A switch of one stream from Region A to Region B:
 * 1. drain: conditional write ACTIVE(A, epoch e) → DRAINING(epoch e+1, targetRegion B, switchId s); nobody forwards;
 * 2. wait until every Region's replica shows (e+1, s), then the replicator's longest invocation plus its
 *    active-Region cache TTL, so no forwarding from A is still in flight;
 * 3. activate: conditional write DRAINING(e+1, s) → ACTIVE(B, e+2, activatedAt T, resumeTimestamp).
 * Every write expects the epoch (and, while draining, the switch id) it read, so of two racing switches exactly one
 * wins, and a superseded switch can never activate.
 */
import { ActiveRegionItem, ActiveRegionState, CheckpointItem } from '../shared/state-tables';

/** What a conditional write expects the stored item to be. */
export interface Fence {
  readonly epoch: number;
  readonly state: ActiveRegionState;
  readonly activeRegion: string;
  /** Expected switch id; undefined puts no condition on it. */
  readonly switchId?: string;
}

/** One stream's switch request. */
export interface SwitchIntent {
  /** Region to activate. */
  readonly targetRegion: string;
  /** Region the caller believes is active; undefined accepts whichever is. */
  readonly expectedRegion?: string;
  readonly reason: string;
  /** Take over or redirect a switch that is under way, even if it is not stale. */
  readonly force: boolean;
}

export interface DrainContext {
  /** Every Region of the environment. */
  readonly regions: readonly string[];
  readonly now: number;
  /** Id of the switch being planned. */
  readonly switchId: string;
  /** A DRAINING item older than this (since its last write) belongs to a switch that died; it may be taken over. */
  readonly staleAfterMs: number;
}

export type DrainPlan =
  /** The target is already active: nothing to do (a repeated request). */
  | { readonly kind: 'noop'; readonly current: ActiveRegionItem; readonly message: string }
  /** The request does not fit the current state (unknown Region, other Region active than expected, …). */
  | { readonly kind: 'refuse'; readonly current?: ActiveRegionItem; readonly message: string }
  /** Another switch is under way and not stale. */
  | { readonly kind: 'conflict'; readonly current: ActiveRegionItem; readonly message: string }
  /** Write `next` if the item still matches `fence`. `takeover` when an earlier switch's DRAINING item is replaced. */
  | { readonly kind: 'drain'; readonly current: ActiveRegionItem; readonly next: ActiveRegionItem; readonly fence: Fence; readonly takeover: boolean };

/** Decides step 1 for one stream. */
export function planDrain(current: ActiveRegionItem | undefined, intent: SwitchIntent, ctx: DrainContext): DrainPlan {
  if (!ctx.regions.includes(intent.targetRegion)) {
    return { kind: 'refuse', current, message: `target Region ${intent.targetRegion} is not a Region of this environment (${ctx.regions.join(', ')})` };
  }
  if (intent.expectedRegion !== undefined && !ctx.regions.includes(intent.expectedRegion)) {
    return { kind: 'refuse', current, message: `expected Region ${intent.expectedRegion} is not a Region of this environment (${ctx.regions.join(', ')})` };
  }
  if (current === undefined) {
    return { kind: 'refuse', message: 'no active-Region item: the state stack seeds one per stream; deploy it first' };
  }
  const draining = (from: ActiveRegionItem, fence: Fence, takeover: boolean): DrainPlan => ({
    kind: 'drain',
    current: from,
    fence,
    takeover,
    next: {
      streamName: from.streamName,
      activeRegion: from.activeRegion,
      state: 'DRAINING',
      epoch: from.epoch + 1,
      activatedAt: from.activatedAt,
      previousRegion: from.activeRegion,
      targetRegion: intent.targetRegion,
      switchId: ctx.switchId,
      reason: intent.reason,
      updatedAt: ctx.now,
    },
  });

  if (current.state === 'ACTIVE') {
    if (current.activeRegion === intent.targetRegion) {
      return { kind: 'noop', current, message: `already active in ${current.activeRegion} (epoch ${current.epoch}); nothing changed` };
    }
    if (intent.expectedRegion !== undefined && current.activeRegion !== intent.expectedRegion) {
      return {
        kind: 'refuse',
        current,
        message: `expected ${intent.expectedRegion} to be active, but ${current.activeRegion} is (epoch ${current.epoch}); run status and retry with the Region that is active`,
      };
    }
    return draining(current, { epoch: current.epoch, state: 'ACTIVE', activeRegion: current.activeRegion }, false);
  }

  // DRAINING: a switch is under way (or died half-way).
  if (intent.expectedRegion !== undefined && current.activeRegion !== intent.expectedRegion) {
    return {
      kind: 'refuse',
      current,
      message: `expected ${intent.expectedRegion} to be active, but a switch from ${current.activeRegion} is under way (epoch ${current.epoch})`,
    };
  }
  const ageMs = ctx.now - current.updatedAt;
  const stale = ageMs >= ctx.staleAfterMs;
  const fence: Fence = { epoch: current.epoch, state: 'DRAINING', activeRegion: current.activeRegion, switchId: current.switchId };
  if (current.targetRegion === intent.targetRegion && (stale || intent.force)) {
    return draining({ ...current, activeRegion: current.previousRegion ?? current.activeRegion }, fence, true);
  }
  if (current.targetRegion !== intent.targetRegion && intent.force) {
    return draining({ ...current, activeRegion: current.previousRegion ?? current.activeRegion }, fence, true);
  }
  const resumeIn = Math.max(0, Math.ceil((ctx.staleAfterMs - ageMs) / 1000));
  return {
    kind: 'conflict',
    current,
    message:
      `a switch to ${current.targetRegion ?? '?'} is under way (epoch ${current.epoch}, switch ${current.switchId ?? '?'}); ` +
      (current.targetRegion === intent.targetRegion
        ? `wait for it, or re-run in ${resumeIn} s to take it over if it has died, or use --force`
        : `wait for it to finish, or use --force to redirect it to ${intent.targetRegion}`),
  };
}

/** Step 3: the item that activates the target. `drained` is the DRAINING item this switch wrote. */
export function planActivation(drained: ActiveRegionItem, activatedAt: number, resumeTimestamp: number): { next: ActiveRegionItem; fence: Fence } {
  if (drained.state !== 'DRAINING' || drained.targetRegion === undefined || drained.switchId === undefined) {
    throw new Error(`planActivation needs a DRAINING item with a target and a switch id (got ${JSON.stringify(drained)})`);
  }
  return {
    fence: { epoch: drained.epoch, state: 'DRAINING', activeRegion: drained.activeRegion, switchId: drained.switchId },
    next: {
      streamName: drained.streamName,
      activeRegion: drained.targetRegion,
      state: 'ACTIVE',
      epoch: drained.epoch + 1,
      activatedAt,
      previousRegion: drained.previousRegion ?? drained.activeRegion,
      switchId: drained.switchId,
      reason: drained.reason,
      resumeTimestamp,
      updatedAt: activatedAt,
    },
  };
}

/** What one Region's replica of the active-Region table showed. */
export type ReplicaObservation =
  | { readonly region: string; readonly item: ActiveRegionItem | undefined }
  | { readonly region: string; readonly error: string };

export interface ReplicaAssessment {
  /** Every Region's replica shows this switch's DRAINING item. */
  readonly converged: boolean;
  /** The coordinator's replica shows another switch: this one was superseded and must stop. */
  readonly superseded: boolean;
  /** Regions whose replica does not show the switch yet. */
  readonly pending: string[];
  /** Regions whose replica could not be read, with the error. */
  readonly unreachable: Array<{ region: string; error: string }>;
}

/**
 * Step 2's check: has every replica seen the drain? Global tables resolve concurrent writes in different Regions by
 * last writer wins, and a switch always writes in its coordinator Region, so a switch whose own Region shows another
 * switch has lost; a switch that every replica shows has won (the winner's Region never shows the loser's write).
 */
export function assessReplicas(observations: readonly ReplicaObservation[], drained: ActiveRegionItem, coordinatorRegion: string): ReplicaAssessment {
  const pending: string[] = [];
  const unreachable: Array<{ region: string; error: string }> = [];
  let superseded = false;
  for (const o of observations) {
    if ('error' in o) {
      unreachable.push({ region: o.region, error: o.error });
      pending.push(o.region);
      continue;
    }
    const shows = o.item !== undefined && o.item.switchId === drained.switchId && o.item.epoch === drained.epoch;
    if (!shows) pending.push(o.region);
    if (o.region === coordinatorRegion && !shows && o.item !== undefined && o.item.epoch >= drained.epoch) superseded = true;
  }
  return { converged: pending.length === 0 && !superseded, superseded, pending, unreachable };
}

/** How long step 2 waits after every replica shows the drain: the longest invocation plus the cache TTL. */
export function inFlightWaitMs(replicatorTimeoutMs: number, activeRegionCacheTtlMs: number, marginMs = 1000): number {
  return replicatorTimeoutMs + activeRegionCacheTtlMs + marginMs;
}

/** Where a stream's low-water mark comes from. */
export type LowWaterMarkBasis = 'checkpoints' | 'activation';

/**
 * The shards of a stream in one Region that may hold records since a time, as the shard-listing port reported
 * them, or why they could not be listed (the Region is down, access denied, …).
 */
export type ShardListing = { readonly ok: true; readonly shardIds: readonly string[] } | { readonly ok: false; readonly error: string };

export interface LowWaterMark {
  /** Epoch milliseconds: every record of the source Region that arrived before it has been replicated. */
  readonly timestamp: number;
  /** `activation` when the mark is the source Region's activation time: no checkpoint, or a shard without one. */
  readonly basis: LowWaterMarkBasis;
  /** Shards of the source Region that have a checkpoint. */
  readonly shards: number;
  /**
   * Shards of the source Region that have no checkpoint (a new child shard after resharding, a shard the replicator
   * never completed an invocation on): each counts from the activation time, which is why the mark is that early.
   */
  readonly uncheckpointedShards: string[];
  /**
   * `checkpointed-only` when the source Region's shards could not be listed: a shard without a checkpoint is then
   * invisible, and the mark may be later than its oldest unreplicated record. `warning` says what to do.
   */
  readonly coverage: 'all-shards' | 'checkpointed-only';
  /** Set with `checkpointed-only`: one line for the operator, naming the fallback resume time. */
  readonly warning?: string;
}

/**
 * The low-water mark of a stream's replication from `sourceRegion`: the minimum over its shards of the last
 * replicated record's arrival time. A shard whose checkpoint predates the Region's activation has replicated nothing
 * since, so it counts from the activation time; so does every listed shard without a checkpoint; with no checkpoint
 * at all, the activation time is the mark. Counting from the activation time is conservative: earlier means more
 * re-sent duplicates, never a gap.
 * @param shards the source Region's shards (every shard open at or after `activatedAt`), or why they are unknown:
 *   then the mark covers the checkpointed shards only and says so in `warning`.
 */
export function lowWaterMark(checkpoints: readonly CheckpointItem[], sourceRegion: string, activatedAt: number, shards: ShardListing): LowWaterMark {
  const own = checkpoints.filter((c) => c.sourceRegion === sourceRegion);
  const checkpointed = new Set(own.map((c) => c.sourceShardId));
  const uncheckpointedShards = shards.ok ? [...new Set(shards.shardIds)].filter((id) => !checkpointed.has(id)).sort() : [];
  const coverage = shards.ok ? 'all-shards' : 'checkpointed-only';
  const warning = shards.ok
    ? undefined
    : `the shards of ${sourceRegion} could not be listed (${shards.error}), so the resume timestamp covers only the ${own.length} shard(s) ` +
      `with a checkpoint; a shard without one may hold unreplicated records from before it. If in doubt, re-send from ` +
      (activatedAt > 0
        ? `${iso(activatedAt)} (when ${sourceRegion} became active) minus the safety margin`
        : `the oldest record still held (${sourceRegion} has been active since the state was seeded)`);
  const base = { shards: own.length, uncheckpointedShards, coverage, ...(warning === undefined ? {} : { warning }) } as const;
  if (own.length === 0 || uncheckpointedShards.length > 0) return { timestamp: activatedAt, basis: 'activation', ...base };
  const timestamp = Math.min(...own.map((c) => Math.max(c.approximateArrivalTimestamp, activatedAt)));
  return { timestamp, basis: 'checkpoints', ...base };
}

/** Resume timestamp for producers and AT_TIMESTAMP consumers: low-water mark minus the safety margin, never below 0. */
export function resumeTimestamp(mark: LowWaterMark, safetyMarginMs: number): number {
  return Math.max(0, mark.timestamp - safetyMarginMs);
}

export interface ShardProgress {
  readonly shardId: string;
  readonly sourceRegion: string;
  readonly sequenceNumber: string;
  readonly approximateArrivalTimestamp: number;
  readonly updatedAt: number;
  /** Replication lag as last measured: checkpoint write time minus the record's arrival time. */
  readonly lagMs: number;
  /** Age of the last replicated record now. */
  readonly ageMs: number;
}

export function shardProgress(c: CheckpointItem, now: number): ShardProgress {
  return {
    shardId: c.shardId,
    sourceRegion: c.sourceRegion,
    sequenceNumber: c.sequenceNumber,
    approximateArrivalTimestamp: c.approximateArrivalTimestamp,
    updatedAt: c.updatedAt,
    lagMs: Math.max(0, c.updatedAt - c.approximateArrivalTimestamp),
    ageMs: Math.max(0, now - c.approximateArrivalTimestamp),
  };
}

export interface FailbackAssessment {
  readonly caughtUp: boolean;
  /** Why not, one line each; empty when caught up. */
  readonly reasons: string[];
  /** Highest shard lag of the active Region's replication, undefined without checkpoints. */
  readonly maxLagMs?: number;
  /** Shards of the active Region that have no checkpoint at all (each refuses the failback). */
  readonly uncheckpointedShards?: string[];
}

/**
 * Failback guard: the reverse replication (from the Region now active) must have caught up: every one of its shards
 * (every shard listed in `shards`, and every shard with a checkpoint) has replicated a record that arrived at or
 * after the activation (the switch), with a lag under the threshold. A shard without a checkpoint refuses, and so
 * does a listing that failed: a shard that cannot be seen cannot be shown to have caught up.
 */
export function assessFailback(active: ActiveRegionItem, checkpoints: readonly CheckpointItem[], maxAllowedLagMs: number, shards: ShardListing): FailbackAssessment {
  if (active.state !== 'ACTIVE') {
    return { caughtUp: false, reasons: [`a switch is under way (state ${active.state}, epoch ${active.epoch}); wait for it to finish`] };
  }
  const region = active.activeRegion;
  const own = checkpoints.filter((c) => c.sourceRegion === region);
  const reasons: string[] = [];
  if (!shards.ok) {
    reasons.push(`the shards of ${region} could not be listed (${shards.error}), so a shard without a checkpoint cannot be ruled out; retry when Kinesis in ${region} answers`);
  }
  if (own.length === 0) {
    reasons.push(`no replication checkpoint from ${region} yet: reverse replication has not replicated a record since the switch`);
    return { caughtUp: false, reasons };
  }
  const checkpointed = new Set(own.map((c) => c.sourceShardId));
  const uncheckpointedShards = shards.ok ? [...new Set(shards.shardIds)].filter((id) => !checkpointed.has(id)).sort() : [];
  for (const id of uncheckpointedShards) {
    reasons.push(`shard ${region}/${id} has no replication checkpoint: it has not replicated a record since the switch`);
  }
  let maxLagMs = 0;
  for (const c of own) {
    const lag = Math.max(0, c.updatedAt - c.approximateArrivalTimestamp);
    maxLagMs = Math.max(maxLagMs, lag);
    if (c.approximateArrivalTimestamp < active.activatedAt) {
      reasons.push(`shard ${c.shardId} has not replicated past the switch (last record arrived ${iso(c.approximateArrivalTimestamp)}, switch at ${iso(active.activatedAt)})`);
    }
    if (lag > maxAllowedLagMs) {
      reasons.push(`shard ${c.shardId} lags ${seconds(lag)} s, above the ${seconds(maxAllowedLagMs)} s failback threshold`);
    }
  }
  return { caughtUp: reasons.length === 0, reasons, maxLagMs, uncheckpointedShards };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** One reserved-concurrency change of a Region's replicator function. */
export interface ConcurrencyMove {
  readonly region: string;
  readonly functionName: string;
  /** New reserved concurrency; `undefined` removes the reservation (unreserved). 0 stops the function. */
  readonly reservedConcurrency: number | undefined;
}

/**
 * Reserved concurrency follows the active Region (seed 002, Vanguard's procedure): the new active Region's
 * replicator gets its reservation, every other Region's is set to 0. The replicator of a Region serves all the
 * environment's streams, so nothing moves while some stream is still active elsewhere.
 * @param activeRegionByStream every stream of the environment → its active Region after the switch (undefined if
 *   it is not ACTIVE)
 */
export function planConcurrencyMove(
  activeRegionByStream: ReadonlyMap<string, string | undefined>,
  regions: readonly string[],
  newRegion: string,
  functionName: string,
  reservedConcurrency: number | undefined,
): { moves: ConcurrencyMove[]; skipped?: string } {
  const elsewhere = [...activeRegionByStream].filter(([, region]) => region !== newRegion).map(([stream]) => stream);
  if (elsewhere.length > 0) {
    return { moves: [], skipped: `reserved concurrency not moved: ${elsewhere.join(', ')} not active in ${newRegion}` };
  }
  return {
    moves: regions.map((region) => ({ region, functionName, reservedConcurrency: region === newRegion ? reservedConcurrency : 0 })),
  };
}
