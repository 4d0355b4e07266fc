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
import { ActiveRegionItem, ActiveRegionState, CheckpointItem, ReplicatorFenceRecord } from '../shared/state-tables';

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
      ...(from.fences && from.fences.length > 0 ? { fences: from.fences } : {}),
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

/**
 * Step 3: the item that activates the target. `drained` is the DRAINING item this switch wrote; `fences` the
 * out-of-band fences to record (the drained item's, plus any this switch set, minus any it lifts).
 */
export function planActivation(
  drained: ActiveRegionItem,
  activatedAt: number,
  resumeTimestamp: number,
  fences: readonly ReplicatorFenceRecord[] = drained.fences ?? [],
  updatedAt: number = activatedAt,
): { next: ActiveRegionItem; fence: Fence } {
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
      ...(fences.length > 0 ? { fences } : {}),
      updatedAt,
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

/**
 * Where a stream's low-water mark comes from: the oldest unreplicated record a probe found, a checkpoint (a shard that
 * could not be probed), the activation time (a shard with no checkpoint of this tenure that could not be probed), or
 * the time of the observation itself (no shard holds an unreplicated record).
 */
export type LowWaterMarkBasis = 'unreplicated-record' | 'checkpoint' | 'activation' | 'observed';

/** One shard of a stream, as ListShards reported it (no ShardFilter: every shard the stream still holds). */
export interface ShardDescription {
  readonly shardId: string;
  /** A closed shard (split or merged) receives no more records; its last ones may still be unreplicated. */
  readonly closed: boolean;
  readonly parentShardId?: string;
  readonly adjacentParentShardId?: string;
}

/** The shards of a stream in one Region, or why they could not be listed (the Region is down, access denied, …). */
export type ShardListing = { readonly ok: true; readonly shards: readonly ShardDescription[] } | { readonly ok: false; readonly error: string };

/** Where a probe starts reading a shard: after its checkpoint, or at the activation time when it has none of this tenure. */
export type ProbeStart = { readonly afterSequenceNumber: string } | { readonly atTimestampMs: number };

/**
 * What reading a shard from its probe start found: the oldest record replication has not passed (`first`), none
 * (the shard is caught up; a closed shard is finished), or why the shard could not be read.
 */
export type ShardProbe =
  | { readonly ok: true; readonly first?: { readonly sequenceNumber: string; readonly arrivalMs: number } }
  | { readonly ok: false; readonly error: string };

/**
 * Where to probe a shard of `sourceRegion`'s tenure that began at `activatedAt`: after its checkpoint when that
 * checkpoint belongs to the tenure (its record arrived at or after the activation), else from the activation time.
 */
export function probeStart(checkpoint: CheckpointItem | undefined, activatedAt: number): ProbeStart {
  return checkpoint !== undefined && checkpoint.approximateArrivalTimestamp >= activatedAt
    ? { afterSequenceNumber: checkpoint.sequenceNumber }
    : { atTimestampMs: activatedAt };
}

export interface LowWaterMark {
  /**
   * Epoch milliseconds: every record of the source Region's tenure that arrived before it has been replicated (as far
   * as the inputs show; a fallback is earlier, never later).
   */
  readonly timestamp: number;
  /** What set the timestamp. */
  readonly basis: LowWaterMarkBasis;
  /** Shards considered: listed shards (open, and closed ones the stream still holds), or checkpointed ones when unlisted. */
  readonly shards: number;
  /** Shards that still hold records replication has not passed (closed shards among them are named too). */
  readonly pendingShards: string[];
  /** Listed shards without a checkpoint of this tenure (a new child after a split, a shard never completed). */
  readonly uncheckpointedShards: string[];
  /** Shards that could not be probed: each counts from its checkpoint or the activation time. */
  readonly unprobedShards: string[];
  /**
   * `checkpointed-only` when the source Region's shards could not be listed: a shard without a checkpoint is then
   * invisible, and the mark may be later than its oldest unreplicated record. `warning` says what to do.
   */
  readonly coverage: 'all-shards' | 'checkpointed-only';
  /** Set with `checkpointed-only`: one line for the operator, naming the fallback resume time. */
  readonly warning?: string;
}

export interface LowWaterMarkInput {
  readonly checkpoints: readonly CheckpointItem[];
  readonly sourceRegion: string;
  /** When the source Region's tenure began (its activation time T). */
  readonly activatedAt: number;
  readonly shards: ShardListing;
  /** Probe results by shard id; a listed shard missing here counts as unprobed. */
  readonly probes: ReadonlyMap<string, ShardProbe>;
  /** When the probes started (trusted clock): records arriving later are newer than the mark anyway. */
  readonly observedAt: number;
  /**
   * The stream's retention. Without a listing, checkpoints of records older than this are ignored: those records are
   * gone from the stream (a parent shard closed long ago must not drag the mark back by weeks). @default - none ignored
   */
  readonly retentionMs?: number;
}

/**
 * The low-water mark of a stream's replication from `sourceRegion` (invariant 6): the arrival time of the oldest
 * record of the tenure that has not reached every target, over the shards that can still hold one — open shards and
 * closed shards whose records are not all replicated. Each listed shard is probed from its checkpoint (or from the
 * activation time); a shard that could not be probed counts from its checkpoint, or the activation time without one,
 * which errs early (more re-sent duplicates, never a gap). Finished closed shards and checkpoints of shards the stream
 * no longer holds do not count.
 */
export function lowWaterMark(input: LowWaterMarkInput): LowWaterMark {
  const { sourceRegion, activatedAt, shards, probes, observedAt } = input;
  const own = new Map(input.checkpoints.filter((c) => c.sourceRegion === sourceRegion).map((c) => [c.sourceShardId, c]));
  const tenureCheckpoint = (id: string): CheckpointItem | undefined => {
    const c = own.get(id);
    return c !== undefined && c.approximateArrivalTimestamp >= activatedAt ? c : undefined;
  };
  let timestamp = observedAt;
  let basis: LowWaterMarkBasis = 'observed';
  const lower = (t: number, b: LowWaterMarkBasis): void => {
    if (t < timestamp) {
      timestamp = t;
      basis = b;
    }
  };
  if (!shards.ok) {
    // A checkpoint older than the retention is clamped to the retention horizon, not dropped: its shard may be stuck
    // and hold unreplicated records from that horizon on (a finished parent shard errs early by at most that much).
    const horizon = input.retentionMs === undefined ? Number.NEGATIVE_INFINITY : observedAt - input.retentionMs;
    const live = [...own.values()];
    if (live.length === 0) lower(Math.max(activatedAt, horizon), 'activation');
    for (const c of live) lower(Math.max(c.approximateArrivalTimestamp, activatedAt, horizon), c.approximateArrivalTimestamp >= activatedAt ? 'checkpoint' : 'activation');
    const warning =
      `the shards of ${sourceRegion} could not be listed (${shards.error}), so the resume timestamp covers only the ${live.length} shard(s) ` +
      `with a checkpoint; a shard without one may hold unreplicated records from before it. If in doubt, re-send from ` +
      (activatedAt > 0
        ? `${iso(activatedAt)} (when ${sourceRegion} became active) minus the safety margin`
        : `the oldest record still held (${sourceRegion} has been active since the state was seeded)`);
    return { timestamp, basis, shards: live.length, pendingShards: [], uncheckpointedShards: [], unprobedShards: live.map((c) => c.sourceShardId).sort(), coverage: 'checkpointed-only', warning };
  }
  const pendingShards: string[] = [];
  const uncheckpointedShards: string[] = [];
  const unprobedShards: string[] = [];
  const ids = [...new Set(shards.shards.map((s) => s.shardId))].sort();
  for (const id of ids) {
    const cp = tenureCheckpoint(id);
    if (cp === undefined) uncheckpointedShards.push(id);
    const probe = probes.get(id);
    if (probe?.ok) {
      if (probe.first !== undefined) {
        pendingShards.push(id);
        lower(probe.first.arrivalMs, 'unreplicated-record');
      }
    } else {
      unprobedShards.push(id);
      if (cp !== undefined) lower(cp.approximateArrivalTimestamp, 'checkpoint');
      else lower(activatedAt, 'activation');
    }
  }
  return { timestamp, basis, shards: ids.length, pendingShards, uncheckpointedShards, unprobedShards, coverage: 'all-shards' };
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
  /** Highest current lag over the active Region's shards (age of the oldest unreplicated record), when all were read. */
  readonly maxLagMs?: number;
  /** Shards of the active Region without a checkpoint of this tenure (informational: the probe decides). */
  readonly uncheckpointedShards?: string[];
}

/**
 * Failback guard: the reverse replication (from the Region now active) must have caught up NOW, judged on current lag:
 * for every shard the stream holds (open, and closed ones not finished), the age of the oldest record replication has
 * not passed (found by probing after the checkpoint, or from the activation time), against the threshold. A shard
 * stuck for an hour with a growing backlog fails, whatever lag its last checkpoint write measured (defect 5). A
 * listing or a probe that failed refuses: a shard that cannot be read cannot be shown to have caught up.
 */
export function assessFailback(
  active: ActiveRegionItem,
  checkpoints: readonly CheckpointItem[],
  maxAllowedLagMs: number,
  shards: ShardListing,
  probes: ReadonlyMap<string, ShardProbe>,
  now: number,
): FailbackAssessment {
  if (active.state !== 'ACTIVE') {
    return { caughtUp: false, reasons: [`a switch is under way (state ${active.state}, epoch ${active.epoch}); wait for it to finish`] };
  }
  const region = active.activeRegion;
  if (!shards.ok) {
    return {
      caughtUp: false,
      reasons: [`the shards of ${region} could not be listed (${shards.error}), so its replication cannot be shown to have caught up; retry when Kinesis in ${region} answers`],
    };
  }
  const reasons: string[] = [];
  const tenure = new Set(
    checkpoints.filter((c) => c.sourceRegion === region && c.approximateArrivalTimestamp >= active.activatedAt).map((c) => c.sourceShardId),
  );
  const ids = [...new Set(shards.shards.map((s) => s.shardId))].sort();
  const uncheckpointedShards = ids.filter((id) => !tenure.has(id));
  let maxLagMs: number | undefined = 0;
  for (const id of ids) {
    const probe = probes.get(id);
    if (!probe?.ok) {
      reasons.push(`shard ${region}/${id} could not be read (${probe ? probe.error : 'not probed'}); retry when Kinesis in ${region} answers`);
      maxLagMs = undefined;
      continue;
    }
    if (probe.first === undefined) continue;
    const lag = Math.max(0, now - probe.first.arrivalMs);
    if (maxLagMs !== undefined) maxLagMs = Math.max(maxLagMs, lag);
    if (lag > maxAllowedLagMs) {
      reasons.push(
        `shard ${region}/${id} lags ${seconds(lag)} s (oldest unreplicated record ${probe.first.sequenceNumber} arrived ${iso(probe.first.arrivalMs)}), ` +
          `above the ${seconds(maxAllowedLagMs)} s failback threshold`,
      );
    }
  }
  return { caughtUp: reasons.length === 0, reasons, ...(maxLagMs === undefined ? {} : { maxLagMs }), uncheckpointedShards };
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
