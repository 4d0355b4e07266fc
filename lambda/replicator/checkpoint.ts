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
 * first `pending` record is the one Lambda must deliver again. `not-forwarded` records never move the checkpoint:
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
