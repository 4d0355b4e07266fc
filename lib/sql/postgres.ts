/**
 * The warehouse in embedded Postgres (PGlite) for tests, the local demo and the merge benchmark.
 *
 * ```ts
 * const db = new PGlite();
 * const wh = await setupPostgresWarehouse(db, { streams: [{ name: 'events', physicalName: 'redstream-dev-events' }], region: 'us-east-1' });
 * await wh.append('events', [{ shardId, sequenceNumber, partitionKey, approximateArrivalTimestamp, data }]);
 * const run = await wh.merge();            // { newRows, inserted, duplicates, rejected }
 * ```
 *
 * The stream MV is stood in by a plain table `<schema>.stream_<name>` (see `sql/README.md`); a trigger derives
 * `raw_bytes`, `is_utf8` and `payload` from `raw` exactly as the Redshift MV does, so a loader only appends the
 * Kinesis record's position and bytes.
 */
import { mvName, renderMergeCall, renderSql, WAREHOUSE_SQL_DEFAULTS, WarehouseSqlParams } from './render';

/** The subset of PGlite's API used here (any Postgres client with these two methods works). */
export interface PostgresLike {
  exec(sql: string): Promise<unknown>;
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

/** A Kinesis record as the stand-in MV receives it. */
export interface MvRecord {
  readonly shardId: string;
  /** Decimal sequence number, as Kinesis returns it. */
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly approximateArrivalTimestamp: Date;
  /** The record's bytes. */
  readonly data: Uint8Array;
  /** When the (simulated) MV refresh committed. @default - now */
  readonly refreshTime?: Date;
}

/** Rows per INSERT (6 parameters each, under Postgres' 65 535-parameter limit). */
const APPEND_CHUNK = 5000;

export interface MergeRun {
  readonly newRows: number;
  readonly inserted: number;
  readonly duplicates: number;
  readonly rejected: number;
}

export interface PostgresWarehouse {
  readonly schema: string;
  /** Fully-qualified name of the stand-in MV table of a logical stream. */
  mvTable(streamName: string): string;
  /** Appends records to a stream's stand-in MV (one multi-row INSERT per call). */
  append(streamName: string, records: readonly MvRecord[]): Promise<void>;
  /** Runs one merge and returns its counts. */
  merge(): Promise<MergeRun>;
}

/** Creates (idempotently) every warehouse object in Postgres and returns helpers bound to it. */
export async function setupPostgresWarehouse(db: PostgresLike, params: WarehouseSqlParams): Promise<PostgresWarehouse> {
  for (const statement of renderSql(params, { dialect: 'postgres' })) {
    await db.exec(statement.sql);
  }
  const schema = params.schema ?? WAREHOUSE_SQL_DEFAULTS.schema;
  const known = new Set(params.streams.map((s) => s.name));
  const mvTable = (streamName: string): string => {
    if (!known.has(streamName)) throw new Error(`unknown stream ${JSON.stringify(streamName)}; known: ${[...known].join(', ')}`);
    return `${schema}.${mvName(streamName)}`;
  };
  const appendChunk = async (table: string, records: readonly MvRecord[]): Promise<void> => {
    const values: unknown[] = [];
    const tuples = records.map((r, i) => {
      values.push(r.approximateArrivalTimestamp.toISOString(), r.partitionKey, r.shardId, r.sequenceNumber, r.data, (r.refreshTime ?? new Date()).toISOString());
      const b = i * 6;
      return `($${b + 1}::timestamptz AT TIME ZONE 'UTC', $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}::timestamptz AT TIME ZONE 'UTC')`;
    });
    await db.query(
      `INSERT INTO ${table} (approximate_arrival_timestamp, partition_key, shard_id, sequence_number, raw, refresh_time) VALUES ${tuples.join(', ')}`,
      values,
    );
  };
  return {
    schema,
    mvTable,
    async append(streamName, records) {
      const table = mvTable(streamName);
      for (let start = 0; start < records.length; start += APPEND_CHUNK) {
        await appendChunk(table, records.slice(start, start + APPEND_CHUNK));
      }
    },
    async merge() {
      for (const sql of renderMergeCall({ dialect: 'postgres', schema })) await db.exec(sql);
      const { rows } = await db.query<{ new_rows: string; inserted: string; duplicates: string; rejected: string }>(
        `SELECT new_rows, inserted, duplicates, rejected FROM ${schema}.merge_runs ORDER BY merged_at DESC LIMIT 1`,
      );
      const r = rows[0];
      if (!r) throw new Error('merge_events ran but wrote no merge_runs row');
      return { newRows: Number(r.new_rows), inserted: Number(r.inserted), duplicates: Number(r.duplicates), rejected: Number(r.rejected) };
    },
  };
}
