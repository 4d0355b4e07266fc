/**
 * The local side of an erasure: the warehouse adapter over the local warehouse (PGlite, through its worker or
 * directly) and the targets of the local pipeline (its archive buckets in the local S3), for the demo's
 * `--erase-subject` and the tests. The erasure itself is lambda/archive/erase.ts, unchanged.
 */
import { ErasureWarehouse } from '../lambda/archive/erase';

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
    async rows(sql) {
      const { rows } = await db.query<Record<string, unknown>>(sql);
      return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, asText(v)])));
    },
    async change(sql) {
      const { rows } = await db.query<{ n: string }>(`WITH changed AS (${sql} RETURNING 1) SELECT COUNT(*)::text AS n FROM changed`);
      return Number(rows[0]?.n ?? 0);
    },
    async clearStreamingViews() {
      const before = new Date(options.clock() - options.retentionMs).toISOString();
      let n = 0;
      for (const table of options.streamingViews) {
        const { rows } = await db.query<{ n: string }>(
          `WITH changed AS (DELETE FROM ${table} WHERE approximate_arrival_timestamp < ($1::timestamptz AT TIME ZONE 'UTC') RETURNING 1) SELECT COUNT(*)::text AS n FROM changed`,
          [before],
        );
        n += Number(rows[0]?.n ?? 0);
      }
      return { recreated: options.streamingViews.length, rowsRemoved: n };
    },
  };
}
