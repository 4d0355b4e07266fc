/** The failover service's I/O, behind small interfaces; one adapter each in `adapters.ts`. */
import { ActiveRegionItem, CheckpointItem } from '../shared/state-tables';
import { Fence } from './decisions';

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

/** The shards of a Kinesis stream in one Region. */
export interface ShardLister {
  /**
   * Ids of the shards of `streamName` in `region` that may hold records that arrived since `since` (epoch ms): every
   * open shard and every shard closed at or after `since` (AWS may return more, never fewer).
   * Rejects when the Region's Kinesis cannot be reached or answers with an error.
   */
  list(region: string, streamName: string, since: number): Promise<string[]>;
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
