/**
 * The local side of an erasure: the warehouse adapter over the local warehouse (PGlite, through its worker or
 * directly) and the targets of the local pipeline (its archive buckets in the local S3), for the demo's
 * `--erase-subject` and the tests. The erasure itself is lambda/archive/erase.ts, unchanged.
 */
import { ErasureWarehouse } from '../lambda/archive/erase';
import { compactStatement, existingViewsSql, missingViews } from '../lambda/archive/streaming-views';
import { standInViewStatements } from '../lib/sql/postgres';

export interface LocalWarehouseQueries {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

const asText = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString().replace('T', ' ').replace('Z', '');
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
};

/** Runs a query and returns its rows with every value as text (as the Data API's GetStatementResult gives them). */
export async function rowsAsText(db: LocalWarehouseQueries, sql: string): Promise<Array<Record<string, string | null>>> {
  const { rows } = await db.query<Record<string, unknown>>(sql);
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, asText(v)])));
}

/** Runs one INSERT, UPDATE or DELETE and returns how many rows it changed (the Data API's ResultRows). */
export async function countChanged(db: LocalWarehouseQueries, sql: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`WITH changed AS (${sql} RETURNING 1) SELECT COUNT(*)::text AS n FROM changed`);
  return Number(rows[0]?.n ?? 0);
}

/**
 * The statement that stands in for recreating a streaming MV after the streams' retention: the MV then holds only
 * records still in the stream, so its stand-in table loses the rows that arrived before `now - retention`.
 */
export function clearStreamingViewSql(table: string, nowMs: number, retentionMs: number): string {
  const before = new Date(nowMs - retentionMs).toISOString().replace('T', ' ').replace('Z', '');
  return `DELETE FROM ${table} WHERE approximate_arrival_timestamp < TIMESTAMP '${before}'`;
}

/**
 * Creates the stand-in MV tables of `tables` that the catalog does not hold, as the setup creates them
 * (lib/sql/postgres.ts standInViewStatements): the stand-in of ErasureWarehouse.restoreStreamingViews, which the
 * scheduled step runs first in every run. Returns the tables created.
 */
export async function restoreStandInViews(
  tables: readonly string[],
  rows: (sql: string) => Promise<Array<Record<string, string | null>>>,
  run: (sql: string) => Promise<unknown>,
): Promise<string[]> {
  if (tables.length === 0) return [];
  const views = tables.map((table) => {
    const [schema, name] = table.split('.');
    return { schema, name, table };
  });
  const missing = missingViews(views, await rows(existingViewsSql('postgres', views)));
  for (const v of missing) for (const sql of standInViewStatements(v.table)) await run(compactStatement(sql));
  return missing.map((v) => v.table);
}

/**
 * The local warehouse as an erasure target. Recreating a streaming MV after the streams' retention leaves it holding
 * only records still in the stream; the stand-in does the same by deleting its rows that arrived before
 * `now - retention` (`clock` lets a test or the demo step past the retention).
 */
export function localErasureWarehouse(options: {
  readonly name: string;
  readonly db: LocalWarehouseQueries;
  readonly schema: string;
  /** Stand-in MV tables, e.g. `redstream.stream_events`. */
  readonly streamingViews: readonly string[];
  readonly retentionMs: number;
  readonly clock: () => number;
}): ErasureWarehouse {
  const { db } = options;
  return {
    name: options.name,
    dialect: 'postgres',
    schema: options.schema,
    rows: (sql) => rowsAsText(db, sql),
    change: (sql) => countChanged(db, sql),
    async clearStreamingViews() {
      let n = 0;
      for (const table of options.streamingViews) n += await countChanged(db, clearStreamingViewSql(table, options.clock(), options.retentionMs));
      return { recreated: options.streamingViews.length, rowsRemoved: n };
    },
    restoreStreamingViews: () => restoreStandInViews(options.streamingViews, (sql) => rowsAsText(db, sql), (sql) => db.query(sql)),
  };
}
