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
 * Kinesis record's position and bytes. `append` also does what streaming ingestion does with a record larger than it
 * takes: it skips it, logging it in the stand-in of SYS_STREAM_SCAN_ERRORS, and counts scanned and skipped records
 * in the stand-in of SYS_STREAM_SCAN_STATES.
 */
import type { MergeRunCounts } from '../../lambda/merge/metrics';
import { mvName, renderMergeCall, renderSql, STREAMING_INGESTION_MAX_RECORD_BYTES, WAREHOUSE_SQL_DEFAULTS, WarehouseSqlParams } from './render';

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

/** What one merge reports: the counts the merge function publishes (lambda/merge/metrics.ts). */
export type MergeRun = MergeRunCounts;

export interface PostgresWarehouse {
  readonly schema: string;
  /** Fully-qualified name of the stand-in MV table of a logical stream. */
  mvTable(streamName: string): string;
  /**
   * Appends records to a stream's stand-in MV (multi-row INSERTs), as one streaming-ingestion batch: records larger
   * than streaming ingestion takes are skipped and logged as scan errors, and the batch's scan state is recorded.
   */
  append(streamName: string, records: readonly MvRecord[]): Promise<void>;
  /** Runs one merge and returns its counts. */
  merge(): Promise<MergeRun>;
}

/** The per-stream files of a stand-in MV: its table, trigger and indexes (the derive function is the schema's). */
const STAND_IN_FILES = ['020_stream_mv.postgres.sql', '022_stream_mv_trigger.postgres.sql', '023_stream_mv_index.postgres.sql', '024_stream_mv_arrival_index.postgres.sql'];

/**
 * The statements that create one stand-in MV table (`<schema>.stream_<name>`), trigger and indexes, as
 * {@link setupPostgresWarehouse} does: what creates a missing one again, the stand-in of the streaming view's
 * bootstrap CREATE. They depend only on the table's schema and name (the stream's name is in comments only), and
 * leave the schema's derive function (and its record-size setting) as the setup made it.
 */
export function standInViewStatements(table: string): string[] {
  const m = /^([a-z_][a-z0-9_]*)\.stream_([a-z0-9_]{1,56})$/.exec(table);
  if (!m) throw new Error(`${JSON.stringify(table)} is not a stand-in MV table (<schema>.stream_<name>)`);
  const [, schema, name] = m;
  const statements = renderSql({ schema, region: 'us-east-1', streams: [{ name, physicalName: name }] }, { dialect: 'postgres' });
  return STAND_IN_FILES.map((file) => {
    const s = statements.find((x) => x.id === `${file}:${name}`);
    if (!s) throw new Error(`${file} renders no statement for ${table}`);
    return s.sql;
  });
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
  const physicalName = new Map(params.streams.map((s) => [s.name, s.physicalName]));
  const externalSchema = params.externalSchema ?? WAREHOUSE_SQL_DEFAULTS.externalSchema;
  /** What streaming ingestion logs for a record it skips: SYS_STREAM_SCAN_ERRORS and SYS_STREAM_SCAN_STATES rows. */
  const logScan = async (streamName: string, records: readonly MvRecord[], skipped: readonly MvRecord[]): Promise<void> => {
    const common = [externalSchema, physicalName.get(streamName), mvName(streamName)];
    for (const r of skipped) {
      await db.query(
        `INSERT INTO ${schema}.sys_stream_scan_errors (external_schema_name, stream_name, mv_name, stream_timestamp, partition_id, position, error_code, error_reason)
         VALUES ($1, $2, $3, $4::timestamptz AT TIME ZONE 'UTC', $5, $6, NULL, $7)`,
        [...common, r.approximateArrivalTimestamp.toISOString(), r.shardId, r.sequenceNumber,
          `record of ${r.data.byteLength} bytes exceeds the ${STREAMING_INGESTION_MAX_RECORD_BYTES} streaming ingestion takes (local stand-in)`],
      );
    }
    const byShard = new Map<string, { scanned: number; skipped: number; bytes: number; latest: string }>();
    for (const r of records) {
      const s = byShard.get(r.shardId) ?? { scanned: 0, skipped: 0, bytes: 0, latest: r.sequenceNumber };
      s.scanned++;
      s.bytes += r.data.byteLength;
      s.latest = r.sequenceNumber;
      if (skipped.includes(r)) s.skipped++;
      byShard.set(r.shardId, s);
    }
    for (const [shardId, s] of byShard) {
      await db.query(
        `INSERT INTO ${schema}.sys_stream_scan_states (external_schema_name, stream_name, mv_name, partition_id, latest_position, scanned_rows, skipped_rows, scanned_bytes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [...common, shardId, s.latest, s.scanned, s.skipped, s.bytes],
      );
    }
  };
  return {
    schema,
    mvTable,
    async append(streamName, records) {
      const table = mvTable(streamName);
      const ingestible = records.filter((r) => r.data.byteLength <= STREAMING_INGESTION_MAX_RECORD_BYTES);
      for (let start = 0; start < ingestible.length; start += APPEND_CHUNK) {
        await appendChunk(table, ingestible.slice(start, start + APPEND_CHUNK));
      }
      if (records.length > 0) await logScan(streamName, records, records.filter((r) => r.data.byteLength > STREAMING_INGESTION_MAX_RECORD_BYTES));
    },
    async merge() {
      for (const sql of renderMergeCall({ dialect: 'postgres', schema })) await db.exec(sql);
      const { rows } = await db.query<{ new_rows: string; inserted: string; duplicates: string; rejected: string; skipped: string; skipped_reported: string }>(
        `SELECT new_rows, inserted, duplicates, rejected, skipped, skipped_reported FROM ${schema}.merge_runs ORDER BY merged_at DESC LIMIT 1`,
      );
      const r = rows[0];
      if (!r) throw new Error('merge_events ran but wrote no merge_runs row');
      return {
        newRows: Number(r.new_rows),
        inserted: Number(r.inserted),
        duplicates: Number(r.duplicates),
        rejected: Number(r.rejected),
        skipped: Number(r.skipped),
        skippedReported: Number(r.skipped_reported),
      };
    },
  };
}
