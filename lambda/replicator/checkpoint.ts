/**
 * Checkpoint arithmetic for one shard batch. Pure: sequence numbers compare as `BigInt`, never as strings.
 *
 * Each record of a batch ends an invocation in one of these states:
 * - `below-checkpoint`: at or below the stored checkpoint, already replicated by an earlier invocation (skipped);
 * - `not-forwarded`: the loop guard says this Region must not forward it (skipped, nothing written);
 * - `replicated`: written to every target Region;
 * - `pending`: not (yet) written to every target.
 *
 * The new checkpoint is the last `replicated` record of the longest prefix that has no `pending` record, and the
 * first `pending` record is the one Lambda must deliver again. Records beyond the prefix that reached a target are
 * remembered per target in the checkpoint's `replicatedAfter` ({@link nextReplicatedAfter}), so the redelivered
 * batch does not send them again. `not-forwarded` records never move the checkpoint:
 * the checkpoint means "replicated up to here", and failover derives the producers' resume point from it.
 */
import type { SourceRecord } from './records';

export type RecordOutcome = 'below-checkpoint' | 'not-forwarded' | 'replicated' | 'pending';

/** Whether `sequenceNumber` is at or below `checkpoint` (a missing checkpoint is below everything). */
export function isAtOrBelow(sequenceNumber: string | bigint, checkpoint: string | undefined): boolean {
  if (checkpoint === undefined) return false;
  return BigInt(sequenceNumber) <= BigInt(checkpoint);
}

export interface BatchProgress {
  /** The record to checkpoint, or undefined when the checkpoint does not move. */
  readonly checkpoint?: SourceRecord;
  /** The first record that is not replicated, to report as the batch item failure; undefined when all are done. */
  readonly firstPending?: SourceRecord;
}

/** Computes the checkpoint and the first unreplicated record from per-record outcomes (same order as `records`). */
export function batchProgress(records: readonly SourceRecord[], outcomes: readonly RecordOutcome[]): BatchProgress {
  if (records.length !== outcomes.length) throw new Error(`${records.length} records but ${outcomes.length} outcomes`);
  let checkpoint: SourceRecord | undefined;
  for (let i = 0; i < records.length; i++) {
    const outcome = outcomes[i];
    if (outcome === 'pending') return { checkpoint, firstPending: records[i] };
    if (outcome === 'replicated') checkpoint = records[i];
  }
  return { checkpoint };
}

/** Whether writing `next` moves a stored checkpoint forward (a checkpoint never moves backward). */
export function advancesCheckpoint(stored: string | undefined, next: string): boolean {
  return stored === undefined || BigInt(next) > BigInt(stored);
}

/**
 * Sequence numbers kept in a checkpoint's `replicatedAfter`, over all target Regions: about 60 bytes each, so the
 * item stays far below DynamoDB's 400 KB limit.
 */
export const MAX_REPLICATED_AFTER = 3000;

/**
 * The `replicatedAfter` to store with checkpoint `checkpoint`: per target Region, the sequence numbers above the
 * checkpoint that reached it (`previous` entries and those confirmed now), ascending, without duplicates. When a
 * Region has more than its share of `limit`, the smallest are kept: a prefix in sequence order stays closed under
 * per-key order, so skipping it on redelivery never lets an earlier record of a key land behind a later one.
 */
export function nextReplicatedAfter(
  regions: readonly string[],
  checkpoint: bigint,
  previous: Readonly<Record<string, readonly string[]>> | undefined,
  confirmed: ReadonlyMap<string, readonly bigint[]>,
  limit = MAX_REPLICATED_AFTER,
): Record<string, string[]> {
  const share = Math.floor(limit / Math.max(1, regions.length));
  const out: Record<string, string[]> = {};
  for (const region of regions) {
    const all = new Set<bigint>();
    for (const s of previous?.[region] ?? []) all.add(BigInt(s));
    for (const s of confirmed.get(region) ?? []) all.add(s);
    const above = [...all].filter((s) => s > checkpoint).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (above.length > 0 && share > 0) out[region] = above.slice(0, share).map(String);
  }
  return out;
}

/** Whether two `replicatedAfter` values hold the same sequence numbers (order as produced by nextReplicatedAfter). */
export function sameReplicatedAfter(
  a: Readonly<Record<string, readonly string[]>> | undefined,
  b: Readonly<Record<string, readonly string[]>> | undefined,
): boolean {
  const ka = Object.keys(a ?? {}).filter((k) => (a?.[k].length ?? 0) > 0).sort();
  const kb = Object.keys(b ?? {}).filter((k) => (b?.[k].length ?? 0) > 0).sort();
  if (ka.join() !== kb.join()) return false;
  return ka.every((k) => a?.[k].join() === b?.[k].join());
}

/**
 * Why an invocation writes its checkpoint, or `deferred` when it leaves the write to a later invocation (checkpoint
 * interval). Checkpoint writes are replicated global-table writes, paid in every Region; the interval bounds them to
 * about one per interval per shard while batches arrive full (a backlog, or a rate at the batch size per window).
 */
export type CheckpointWriteReason =
  /** No interval configured: every invocation that moves the checkpoint writes it. */
  | 'every-invocation'
  /** The batch stopped before its end: the invocation returns a failure (or throws), so Lambda delivers it again. */
  | 'stopped'
  /** The shard has no checkpoint yet. */
  | 'first-checkpoint'
  /** The stored checkpoint belongs to an earlier tenure of this Region (its record arrived before the activation). */
  | 'new-tenure'
  /** The batch was not full: the shard has caught up, and an idle shard must not keep a stale checkpoint. */
  | 'partial-batch'
  /** The interval has passed since the stored checkpoint was written. */
  | 'interval-elapsed';

export type CheckpointWriteDecision = { readonly write: true; readonly reason: CheckpointWriteReason } | { readonly write: false; readonly reason: 'deferred' };

export interface CheckpointWriteInput {
  /** Write at most every this many milliseconds per shard while batches are full; 0 writes every invocation. */
  readonly intervalMs: number;
  /** The batch stopped before its end: a record is reported for redelivery, or the invocation throws. */
  readonly stopped: boolean;
  /** Records in the shard batch. */
  readonly records: number;
  /** The event source mapping's batch size; undefined: unknown, so no batch counts as full. */
  readonly batchSize: number | undefined;
  /** The checkpoint as stored in the table, read at the start of the invocation. */
  readonly stored: { readonly updatedAt: number; readonly approximateArrivalTimestamp: number } | undefined;
  /** Activation time of this Region's tenure, epoch milliseconds. */
  readonly activatedAtMs: number;
  readonly now: number;
}

/**
 * Whether to write the checkpoint now (pure). Defers only a complete, full batch of a tenure that already has a
 * checkpoint, within `intervalMs` of the stored checkpoint's write. The stored item's own `updatedAt` times the
 * interval, not a timer of the execution environment, and a deferred checkpoint is not kept anywhere: a deferral only
 * leaves the table behind what reached every target, never ahead, and the next write of the shard (its next batch, by
 * its one current invocation) takes the table past it. A lagging checkpoint is never a correctness problem: every reader
 * of the table treats it as "less replicated" (earlier resume timestamp, more re-sends, a failback guard that waits).
 * Residuals (README, configuration reference): a shard idle after a deferred full batch keeps its checkpoint up to an
 * interval behind until its next record; a closed parent shard whose last batch was deferred keeps it for good.
 */
export function checkpointWriteDecision(input: CheckpointWriteInput): CheckpointWriteDecision {
  if (input.intervalMs <= 0) return { write: true, reason: 'every-invocation' };
  if (input.stopped) return { write: true, reason: 'stopped' };
  if (input.stored === undefined) return { write: true, reason: 'first-checkpoint' };
  if (input.stored.approximateArrivalTimestamp < input.activatedAtMs) return { write: true, reason: 'new-tenure' };
  if (input.batchSize === undefined || input.records < input.batchSize) return { write: true, reason: 'partial-batch' };
  // A stored write "from the future" (another environment's clock ahead by an interval or more) does not pin the
  // checkpoint: it counts as elapsed.
  if (Math.abs(input.now - input.stored.updatedAt) >= input.intervalMs) return { write: true, reason: 'interval-elapsed' };
  return { write: false, reason: 'deferred' };
}
