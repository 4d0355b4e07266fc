/**
 * Stands in for Redshift streaming ingestion: reads every shard of the warehouse Region's stream (as the streaming MV
 * does, with its own iterators) and appends MV-shaped rows to the Postgres stand-in of the MV
 * (`PostgresWarehouse.append`, lib/sql/postgres.ts); the real merge procedure runs on a schedule, as the deployed
 * merge schedule does.
 *
 * Reads go through the Region router, so an outage of the warehouse Region pauses ingestion, which resumes where it
 * was when the Region comes back.
 *
 * Each read is appended as one streaming-ingestion batch: `append` skips a record larger than streaming ingestion
 * takes and logs it, as Redshift does, in the stand-ins of SYS_STREAM_SCAN_ERRORS and SYS_STREAM_SCAN_STATES, from
 * which the merge makes `ingestion_skipped` rejects.
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import type { MergeRun, PostgresWarehouse } from '../lib/sql/postgres';
import { listShardIds, ShardReader } from './shard-reader';

export interface LoaderStream {
  /** Logical name (the warehouse's `stream_name`). */
  readonly name: string;
  /** Physical Kinesis stream name. */
  readonly physicalName: string;
}

export interface WarehouseLoaderProps {
  /** Client of the warehouse Region (through the router). */
  readonly kinesis: KinesisClient;
  readonly streams: readonly LoaderStream[];
  readonly warehouse: PostgresWarehouse;
  /** Time between merges, ms; 0 merges only on {@link WarehouseLoader.mergeNow}. @default 1000 */
  readonly mergeIntervalMs?: number;
  /** Wait between reads of a shard that returned nothing, ms. @default 100 */
  readonly idlePollMs?: number;
  /** Records per read. @default 10000 */
  readonly readLimit?: number;
  /** Called after every merge. */
  readonly onMerge?: (run: MergeRun) => void;
}

export interface LoaderTotals {
  /** Rows appended to the MV stand-ins. */
  appended: number;
  merges: number;
  inserted: number;
  duplicates: number;
  rejected: number;
  readErrors: number;
  lastReadError: string | undefined;
}

export interface WarehouseLoader {
  readonly totals: Readonly<LoaderTotals>;
  /**
   * Resolves when every shard has, after `sinceMs`, read nothing new: every record that arrived before `sinceMs` is
   * in the MV stand-in.
   */
  waitUntilCaughtUp(sinceMs: number, options?: { timeoutMs?: number }): Promise<void>;
  /** Runs a merge now (after any merge under way) and returns its counts. */
  mergeNow(): Promise<MergeRun>;
  /** Stops reading and merging. */
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startWarehouseLoader(props: WarehouseLoaderProps): Promise<WarehouseLoader> {
  const idlePollMs = props.idlePollMs ?? 100;
  const readLimit = props.readLimit ?? 10000;
  const totals: LoaderTotals = { appended: 0, merges: 0, inserted: 0, duplicates: 0, rejected: 0, readErrors: 0, lastReadError: undefined };
  let stopping = false;
  const idleSince = new Map<string, number | undefined>();
  let fatal: unknown;

  const shards: Array<{ stream: LoaderStream; shardId: string }> = [];
  for (const stream of props.streams) {
    for (const shardId of await listShardIds(props.kinesis, stream.physicalName)) shards.push({ stream, shardId });
  }

  async function readShard(stream: LoaderStream, shardId: string): Promise<void> {
    const key = `${stream.physicalName}/${shardId}`;
    const reader = new ShardReader(props.kinesis, stream.physicalName, shardId, 'TRIM_HORIZON');
    let failures = 0;
    while (!stopping) {
      const startedAt = Date.now();
      try {
        const out = await reader.read(readLimit);
        failures = 0;
        if (out.records.length > 0) {
          idleSince.set(key, undefined);
          await props.warehouse.append(
            stream.name,
            out.records.map((r) => ({
              shardId,
              sequenceNumber: r.sequenceNumber,
              partitionKey: r.partitionKey,
              approximateArrivalTimestamp: new Date(r.approximateArrivalTimestampMs),
              data: r.data,
            })),
          );
          totals.appended += out.records.length;
        } else {
          // A closed shard read to its end (a split parent) is caught up for good; its children are found by discovery.
          idleSince.set(key, out.endOfShard ? Number.POSITIVE_INFINITY : startedAt);
          if (out.endOfShard) return;
          await sleep(idlePollMs);
        }
      } catch (err) {
        totals.readErrors++;
        totals.lastReadError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        failures++;
        await sleep(Math.min(1000, 20 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  // One merge at a time: scheduled merges and mergeNow() share this chain.
  let mergeChain: Promise<unknown> = Promise.resolve();
  const merge = (): Promise<MergeRun> => {
    const run = mergeChain.then(async () => {
      const r = await props.warehouse.merge();
      totals.merges++;
      totals.inserted += r.inserted;
      totals.duplicates += r.duplicates;
      totals.rejected += r.rejected;
      props.onMerge?.(r);
      return r;
    });
    mergeChain = run.catch(() => undefined);
    return run;
  };

  const readers = shards.map(({ stream, shardId }) =>
    readShard(stream, shardId).catch((err: unknown) => {
      fatal ??= err;
    }),
  );
  // Streaming ingestion follows a stream's splits and merges: shards that appear later get a reader too.
  const discovery = (async () => {
    while (!stopping) {
      await sleep(Math.max(200, idlePollMs * 5));
      if (stopping) break;
      for (const stream of props.streams) {
        try {
          for (const shardId of await listShardIds(props.kinesis, stream.physicalName)) {
            if (shards.some((x) => x.stream === stream && x.shardId === shardId)) continue;
            shards.push({ stream, shardId });
            readers.push(
              readShard(stream, shardId).catch((err: unknown) => {
                fatal ??= err;
              }),
            );
          }
        } catch {
          // Listed again on the next round (the Region may be down).
        }
      }
    }
  })();
  const interval = props.mergeIntervalMs ?? 1000;
  const scheduler =
    interval > 0
      ? (async () => {
          while (!stopping) {
            await sleep(interval);
            if (stopping) break;
            try {
              await merge();
            } catch (err) {
              fatal ??= err;
            }
          }
        })()
      : Promise.resolve();

  return {
    totals,
    async waitUntilCaughtUp(sinceMs, options = {}) {
      const timeoutMs = options.timeoutMs ?? 60_000;
      const deadline = Date.now() + timeoutMs;
      const caughtUp = (): boolean => shards.every(({ stream, shardId }) => (idleSince.get(`${stream.physicalName}/${shardId}`) ?? -1) >= sinceMs);
      while (!caughtUp()) {
        if (fatal !== undefined) throw fatal;
        if (Date.now() > deadline) throw new Error(`warehouse loader did not catch up within ${timeoutMs} ms (last read error: ${totals.lastReadError ?? 'none'})`);
        await sleep(20);
      }
    },
    mergeNow: merge,
    async stop() {
      stopping = true;
      await Promise.all([...readers, scheduler, discovery]);
      await mergeChain;
      if (fatal !== undefined) throw fatal;
    },
  };
}
