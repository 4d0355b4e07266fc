/**
 * The local world's warehouse on the serve mode's control endpoint, for `npm run ops -- erase` against
 * `npm run demo -- --serve` (README, "Game day"): the Redshift Data API's part, reduced to what the erasure uses.
 *
 * - Server side ({@link runWarehouseSql}): `POST /warehouse/sql` with `{mode: 'rows' | 'change', sql}` runs one
 *   statement in the serve mode's PGlite (through its worker) and answers `{rows}` (every value as text, as
 *   GetStatementResult gives them) or `{changed}` (DescribeStatement's ResultRows).
 * - Client side ({@link ControlEndpointErasureWarehouse}, {@link serveEraseFactories}): an ErasureWarehouse over that
 *   endpoint (dialect 'postgres', the warehouse's schema), and the archive through the local S3
 *   (AWS_ENDPOINT_URL_S3, as `awsFactories` already does).
 *
 * One statement per request, and PGlite runs one statement at a time: an erasure's statements and the serve mode's
 * scheduled merges (one `CALL merge_events()` each) never interleave inside a statement. The erasure suppresses the
 * subject before it deletes, so a merge between its statements either ran before the suppression (its rows are then
 * deleted) or after it (it drops them).
 */
import type { ErasureWarehouse } from '../lambda/archive/erase';
import { mvName } from '../lib/sql/render';
import type { EnvironmentConfig } from '../lib/config';
import type { EraseFactories } from '../lambda/ops/commands/erase';
import { clearStreamingViewSql, countChanged, LocalWarehouseQueries, restoreStandInViews, rowsAsText } from './erase';
import { controlHeaders } from './serve-auth';
import { ServeStateError } from './serve-format';

/** What `POST /warehouse/sql` takes. */
export interface WarehouseSqlRequest {
  /** `rows`: a query, answered with its rows; `change`: one INSERT, UPDATE or DELETE, answered with the rows changed. */
  readonly mode: 'rows' | 'change';
  readonly sql: string;
}

export type WarehouseSqlResponse = { readonly rows: Array<Record<string, string | null>> } | { readonly changed: number };

/** A request the endpoint refuses (400). */
export class WarehouseSqlRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WarehouseSqlRequestError';
  }
}

/** Checks a request body; throws {@link WarehouseSqlRequestError} naming what is wrong. */
export function parseWarehouseSqlRequest(body: unknown): WarehouseSqlRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new WarehouseSqlRequestError('the request must be a JSON object {"mode": "rows" | "change", "sql": "..."}');
  const { mode, sql } = body as Record<string, unknown>;
  if (mode !== 'rows' && mode !== 'change') throw new WarehouseSqlRequestError(`"mode" must be "rows" or "change" (got ${JSON.stringify(mode)})`);
  if (typeof sql !== 'string' || sql.trim() === '') throw new WarehouseSqlRequestError('"sql" must be a non-empty string');
  // One statement: `change` wraps it in a CTE to count the rows, and a second statement would escape the count.
  if (/;\s*\S/.test(sql.replace(/'(?:[^']|'')*'/g, "''"))) throw new WarehouseSqlRequestError('"sql" must be one statement');
  return { mode, sql };
}

/** Runs one request against the warehouse. */
export async function runWarehouseSql(db: LocalWarehouseQueries, request: WarehouseSqlRequest): Promise<WarehouseSqlResponse> {
  const sql = request.sql.replace(/;\s*$/, '');
  return request.mode === 'rows' ? { rows: await rowsAsText(db, sql) } : { changed: await countChanged(db, sql) };
}

/**
 * `POST /warehouse/sql` as the serve mode answers it: 400 for a request it refuses, 422 with Postgres's message for a
 * statement that failed (a FAILED Data API statement), 200 with {@link WarehouseSqlResponse} otherwise.
 */
export async function answerWarehouseSql(db: LocalWarehouseQueries, rawBody: string): Promise<{ status: number; body: unknown }> {
  let request: WarehouseSqlRequest;
  try {
    request = parseWarehouseSqlRequest(JSON.parse(rawBody) as unknown);
  } catch (err) {
    if (err instanceof SyntaxError) return { status: 400, body: { ok: false, message: 'the request body is not JSON' } };
    if (err instanceof WarehouseSqlRequestError) return { status: 400, body: { ok: false, message: err.message } };
    throw err;
  }
  try {
    return { status: 200, body: await runWarehouseSql(db, request) };
  } catch (err) {
    return { status: 422, body: { ok: false, message: err instanceof Error ? err.message : String(err) } };
  }
}

/** Where the serve mode's warehouse is: its Region and schema (the control endpoint's `GET /state`). */
export interface ServedWarehouse {
  readonly region: string;
  readonly schema: string;
}

/**
 * The serve mode's warehouse as an erasure target, through its control endpoint. Recreating the streaming views
 * (the scheduled finish step) is what local/erase.ts does to the PGlite stand-in: its rows that arrived before
 * `now - retention` go, the world's clock being this machine's.
 */
export class ControlEndpointErasureWarehouse implements ErasureWarehouse {
  readonly dialect = 'postgres' as const;

  constructor(
    private readonly control: string,
    /** The control endpoint's token (local/serve-auth.ts). */
    private readonly token: string,
    readonly name: string,
    readonly schema: string,
    /** Stand-in tables of the streaming MVs, e.g. `redstream.stream_events`. */
    private readonly streamingViews: readonly string[],
    private readonly retentionMs: number,
    private readonly clock: () => number = Date.now,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  private async send(request: WarehouseSqlRequest): Promise<WarehouseSqlResponse> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.control}/warehouse/sql`, {
        method: 'POST',
        headers: controlHeaders(this.token),
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (err) {
      throw new ServeStateError(`the local world's control endpoint ${this.control} does not answer (${(err as Error).message}): is \`npm run demo -- --serve\` still running?`);
    }
    const body = (await res.json().catch(() => ({}))) as { rows?: unknown; changed?: unknown; message?: unknown };
    if (!res.ok) throw new Error(`local warehouse ${this.name}: ${typeof body.message === 'string' ? body.message : `HTTP ${res.status}`}`);
    return body as WarehouseSqlResponse;
  }

  async rows(sql: string): Promise<Array<Record<string, string | null>>> {
    const r = await this.send({ mode: 'rows', sql });
    if (!('rows' in r) || !Array.isArray(r.rows)) throw new Error(`local warehouse ${this.name}: the answer has no rows`);
    return r.rows;
  }

  async change(sql: string): Promise<number> {
    const r = await this.send({ mode: 'change', sql });
    if (!('changed' in r) || typeof r.changed !== 'number') throw new Error(`local warehouse ${this.name}: the answer has no count`);
    return r.changed;
  }

  /**
   * The finish step's view recreation: the stand-in view loses the rows that arrived before `now - retention`, as a
   * recreated streaming MV holds only what the stream still has.
   */
  async clearStreamingViews(): Promise<{ recreated: number; rowsRemoved: number | undefined }> {
    let rowsRemoved = 0;
    for (const table of this.streamingViews) rowsRemoved += await this.change(clearStreamingViewSql(table, this.clock(), this.retentionMs));
    return { recreated: this.streamingViews.length, rowsRemoved };
  }

  /** The stand-in tables that are missing, created again as the serve mode's setup created them. */
  restoreStreamingViews(): Promise<string[]> {
    return restoreStandInViews(this.streamingViews, (sql) => this.rows(sql), (sql) => this.rows(sql));
  }
}

/**
 * `erase`'s factories against the serve mode: its one warehouse through the control endpoint, the archive as in AWS
 * (`awsArchives`, which takes AWS_ENDPOINT_URL_S3 and the REDSTREAM_ARCHIVE_BUCKET_<REGION> the serve mode exports).
 */
export function serveEraseFactories(control: string, token: string, warehouse: ServedWarehouse, awsArchives: EraseFactories['archives']): EraseFactories {
  return {
    warehouses: (config: EnvironmentConfig, schema: string) => {
      if (schema !== warehouse.schema) throw new ServeStateError(`the local world's warehouse has schema ${warehouse.schema}, not ${schema}`);
      const retentionHours = Math.max(...config.streams.map((s) => s.retentionHours));
      return [
        new ControlEndpointErasureWarehouse(
          control,
          token,
          warehouse.region,
          schema,
          config.streams.map((s) => `${schema}.${mvName(s.name)}`),
          retentionHours * 3_600_000,
        ),
      ];
    },
    archives: awsArchives,
  };
}
