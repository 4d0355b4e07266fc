/** The failover service's I/O, behind small interfaces; one adapter each in `adapters.ts`. */
import { ActiveRegionItem, CheckpointItem } from '../shared/state-tables';
import { Fence, ProbeStart, ShardDescription } from './decisions';

/** The active-Region table, addressed per Region replica. */
export interface ActiveRegionStore {
  /** Strongly consistent read of one stream's item from `region`'s replica; undefined when there is none. */
  read(region: string, streamName: string): Promise<ActiveRegionItem | undefined>;
  /**
   * Writes `next` in `region`'s replica if the stored item still matches `fence`.
   * @returns false when it does not (ConditionalCheckFailedException): another writer got there first.
   */
  replace(region: string, next: ActiveRegionItem, fence: Fence): Promise<boolean>;
}

/** The checkpoint table, addressed per Region replica. */
export interface CheckpointStore {
  /** Every checkpoint of a stream (all source Regions and shards), read from `region`'s replica. */
  list(region: string, streamName: string): Promise<CheckpointItem[]>;
}

/**
 * A Kinesis stream's shards in one Region, read without relying on ListShards' `ShardFilter` (kinesalite ignores it,
 * and listing every shard the stream still holds is what the low-water mark needs: open shards and closed ones).
 * Every method rejects when the Region's Kinesis cannot be reached or answers with an error.
 */
export interface ShardInspector {
  /** Every shard the stream still holds, open and closed (closed ones stay listed until their records expire). */
  list(region: string, streamName: string): Promise<ShardDescription[]>;
  /**
   * The first record of a shard from `from` (after a sequence number, or at or after a time), with its arrival time;
   * undefined when the shard holds none there (caught up, or a finished closed shard).
   */
  firstRecord(region: string, streamName: string, shardId: string, from: ProbeStart): Promise<{ sequenceNumber: string; arrivalMs: number } | undefined>;
}

/**
 * The clock of a Region's AWS endpoint, the one Kinesis stamps arrival times with, read from a response's `Date`
 * header. A switch takes its activation time from it, not from the caller's clock (a laptop a few seconds fast made
 * producers' re-sends arrive "before" the activation and be skipped).
 */
export interface TrustedClock {
  /**
   * Measures the offset of `region`'s endpoint clock from the local clock: the true offset lies in
   * [offsetLowMs, offsetHighMs] (the header's one-second resolution and the round trip make it an interval).
   */
  measure(region: string): Promise<{ offsetLowMs: number; offsetHighMs: number }>;
}

/** @deprecated the old name of {@link ShardInspector}. */
export type ShardLister = ShardInspector;

/**
 * Out-of-band fencing of a Region's replicator: reserved concurrency 0 stops Lambda from starting it, whatever its
 * Region's replica of the active-Region table says (a forced switch cannot see that replica).
 */
export interface ReplicatorFence {
  /** Sets the replicator's reserved concurrency to 0; returns the reservation it had (undefined: none). */
  fence(region: string, functionName: string): Promise<{ previousReservedConcurrency?: number }>;
  /** Restores the reservation a fence replaced (undefined removes it). */
  unfence(region: string, functionName: string, previousReservedConcurrency: number | undefined): Promise<void>;
}

/** Reserved concurrency of a Region's replicator function. */
export interface ReservedConcurrencyControl {
  /** Sets the reservation; `undefined` removes it. */
  set(region: string, functionName: string, reservedConcurrency: number | undefined): Promise<void>;
}

/** Where switch results go (SNS topic); consumers and producers read the resume timestamps from it. */
export interface ResultPublisher {
  publish(subject: string, message: unknown): Promise<void>;
}

/** Milliseconds since the epoch. */
export type Clock = () => number;
export type Sleep = (ms: number) => Promise<void>;
