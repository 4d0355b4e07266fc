/**
 * The items of Redstream's two DynamoDB global tables: the contract between the replicator, the failover function,
 * the operator CLI and the state stack. Pure types and key helpers: no AWS I/O here.
 *
 * ## Checkpoint table (partition key `streamName`, sort key `shardId`)
 * One item per (stream, source Region, source shard). Shard ids repeat across Regions (every stream starts at
 * `shardId-000000000000`), so the sort key carries the source Region: `shardId = "<region>/<shard id>"`, e.g.
 * `us-east-1/shardId-000000000000`. A query with `begins_with(shardId, "<region>/")` returns one Region's shards.
 *
 * ## Active-Region table (partition key `streamName`)
 * One item per stream: which Region is active, the fencing epoch, and the activation time T. Records that arrived
 * in the active Region at or after T are forwarded; a Region that is not active forwards nothing.
 *
 * `streamName` is always the stream's physical name (the same in every Region).
 */

/** A checkpoint item. */
export interface CheckpointItem {
  /** Physical stream name. Partition key. */
  readonly streamName: string;
  /** `<sourceRegion>/<sourceShardId>`. Sort key; see {@link checkpointSortKey}. */
  readonly shardId: string;
  /** Region the records were read from. */
  readonly sourceRegion: string;
  /** Kinesis shard id in the source Region. */
  readonly sourceShardId: string;
  /**
   * A sequence number up to which every record reached every target, as a decimal string. Compare as `BigInt`. Never
   * moves backward (conditional write). With the replicator's checkpoint interval it may trail the last replicated
   * record by up to one interval of records (never while a batch is stopped or held, nor after a partial batch):
   * readers must treat it as "at least this far", which only errs early (an earlier resume timestamp, more re-sends).
   */
  readonly sequenceNumber: string;
  /** Arrival time (approximateArrivalTimestamp) of that record, epoch milliseconds. */
  readonly approximateArrivalTimestamp: number;
  /** When the checkpoint was written, epoch milliseconds. */
  readonly updatedAt: number;
  /**
   * Sequence number zero-padded to {@link SEQUENCE_NUMBER_WIDTH} digits, so DynamoDB's string comparison in the
   * conditional write orders it as a number. Written together with `sequenceNumber`.
   */
  readonly sequenceNumberPadded: string;
  /**
   * Records above `sequenceNumber` that already reached a target Region, per target Region: their sequence numbers
   * (decimal strings, ascending). The replicator writes it when it stops mid-batch, so the redelivered batch skips
   * those records instead of sending them again (no duplicate, and no record of a key landing again behind a later
   * one). Per Region the set is closed under per-key order: every earlier record of the same key is at or below
   * `sequenceNumber` or in the set. Readers that only need the checkpoint ignore it. @default - none
   */
  readonly replicatedAfter?: Readonly<Record<string, readonly string[]>>;
}

/** Kinesis sequence numbers are at most 128 decimal digits. */
export const SEQUENCE_NUMBER_WIDTH = 128;

export function padSequenceNumber(sequenceNumber: string): string {
  if (!/^\d+$/.test(sequenceNumber)) throw new Error(`not a sequence number: ${JSON.stringify(sequenceNumber)}`);
  if (sequenceNumber.length > SEQUENCE_NUMBER_WIDTH) throw new Error(`sequence number longer than ${SEQUENCE_NUMBER_WIDTH} digits`);
  return sequenceNumber.padStart(SEQUENCE_NUMBER_WIDTH, '0');
}

export function checkpointSortKey(sourceRegion: string, sourceShardId: string): string {
  return `${sourceRegion}/${sourceShardId}`;
}

export function parseCheckpointSortKey(sortKey: string): { sourceRegion: string; sourceShardId: string } {
  const i = sortKey.indexOf('/');
  if (i <= 0) throw new Error(`checkpoint sort key ${JSON.stringify(sortKey)} is not "<region>/<shardId>"`);
  return { sourceRegion: sortKey.slice(0, i), sourceShardId: sortKey.slice(i + 1) };
}

/** State of a stream in the fenced switch protocol. */
export type ActiveRegionState = 'ACTIVE' | 'DRAINING';

/** An active-Region item. */
export interface ActiveRegionItem {
  /** Physical stream name. Partition key. */
  readonly streamName: string;
  /** Region producers write to and whose replicator forwards (when `state` is `ACTIVE`). */
  readonly activeRegion: string;
  /** `ACTIVE`: `activeRegion` forwards. `DRAINING`: a switch is under way and nobody forwards. */
  readonly state: ActiveRegionState;
  /** Fencing token, incremented by every state change. Conditional writes expect the current value. */
  readonly epoch: number;
  /** Activation time T, epoch milliseconds: only records that arrived at or after it are forwarded. */
  readonly activatedAt: number;
  /** Region that was active before the switch now under way or last completed. @default - none */
  readonly previousRegion?: string;
  /** Target Region of a switch under way (`DRAINING` only). */
  readonly targetRegion?: string;
  /** Free text reason of the last change. */
  readonly reason?: string;
  /**
   * Identifier of the switch that wrote this item (failover protocol): every transition of one switch carries it, and
   * the activation write expects it, so a superseded switch cannot activate. @default - none (seeded item)
   */
  readonly switchId?: string;
  /**
   * Resume timestamp published at activation, epoch milliseconds: producers that can re-send from a time, and
   * consumers that start AT_TIMESTAMP, start here (the old Region's checkpoint low-water mark minus the safety margin).
   * @default - none (seeded item)
   */
  readonly resumeTimestamp?: number;
  /**
   * Replicators fenced out of band by a forced switch (reserved concurrency 0), with the reservation to restore. A
   * switch that activates a fenced Region lifts its fence after the activation write. @default - none
   */
  readonly fences?: readonly ReplicatorFenceRecord[];
  /** When the item was last written, epoch milliseconds. */
  readonly updatedAt: number;
}

/** A replicator a forced switch fenced (see {@link ActiveRegionItem.fences}). */
export interface ReplicatorFenceRecord {
  readonly region: string;
  readonly functionName: string;
  /** The reserved concurrency before the fence; absent: it had none. */
  readonly previousReservedConcurrency?: number;
  /** When the fence was set, epoch milliseconds. */
  readonly fencedAt: number;
  /** The switch that set it. */
  readonly switchId: string;
}
