/**
 * Recreating a warehouse's streaming materialized views, the last step of an erasure (README, "Erasure"). A view is
 * recreated from the same statement the SQL bootstrap creates it with (sql/020_stream_mv.redshift.sql, rendered by
 * lib/sql/render.ts): DROP, then that CREATE. The new view reads its stream again from the oldest record the stream
 * still holds, so once every stream's retention has passed since an erasure it holds none of the subject's records.
 *
 * Why a recreation is safe for the warehouse (sql/README.md, "How a merge finds the new rows"): the merge's watermark
 * is per (stream, shard): the highest sequence number merged and the latest arrival merged. A row of the new view that
 * was merged before is at or below both and is not read as new; a row that was not merged yet is above the sequence
 * watermark and is merged once. Its `refresh_time` is that of the new view's first refresh, after the stream's
 * refresh high-water mark, so the bound on the sort key reads it. The first merge after a recreation reads the whole
 * retention once (its cost), and a merge that runs between the DROP and the CREATE fails once (the view is missing)
 * and the next one picks up.
 *
 * The DROP and the CREATE are two transactions (lambda/archive/data-api-warehouse.ts says why they are not one), so a
 * run can end between them. Two things bound the time a view stays missing: a CREATE that fails right after its DROP
 * is retried a few times, and every run of the scheduled step first creates any configured view that is missing
 * ({@link missingViews}), whether or not an erasure is due.
 *
 * Pure: no I/O.
 */

/** One streaming view: where it is and the CREATE statement the bootstrap runs. */
export interface StreamingViewDefinition {
  readonly schema: string;
  readonly name: string;
  /** The CREATE MATERIALIZED VIEW statement, as rendered for the bootstrap (comments and extra whitespace removed). */
  readonly sql: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** A statement without its `--` comment lines and with whitespace runs collapsed (the MV SQL has no string literals). */
export function compactStatement(sql: string): string {
  return sql
    .split('\n')
    .filter((l) => !l.trim().startsWith('--'))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/;$/, '');
}

/** The statements that recreate one view, in order. */
export function recreateStatements(view: StreamingViewDefinition): [drop: string, create: string] {
  checkView(view);
  return [`DROP MATERIALIZED VIEW IF EXISTS ${view.schema}.${view.name}`, view.sql];
}

function checkName(v: Pick<StreamingViewDefinition, 'schema' | 'name'>): void {
  if (!IDENTIFIER.test(v.schema) || !IDENTIFIER.test(v.name)) throw new Error(`a streaming view needs lower-case identifiers (got ${JSON.stringify(`${v.schema}.${v.name}`)})`);
}

function checkView(v: StreamingViewDefinition): StreamingViewDefinition {
  checkName(v);
  const expected = `CREATE MATERIALIZED VIEW ${v.schema}.${v.name} `;
  if (!v.sql.startsWith(expected)) throw new Error(`the statement of ${v.schema}.${v.name} must start with ${JSON.stringify(expected.trim())}`);
  if (v.sql.includes(';')) throw new Error(`the statement of ${v.schema}.${v.name} must be one statement`);
  return v;
}

/**
 * The statement that lists which of `views` exist. Redshift: SVV_MV_INFO, one row per materialized view, the table the
 * SQL bootstrap's runner checks too (https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_MV_INFO.html; a regular
 * user sees only the views it owns, and only the owner or a superuser can DROP a view, which this step does).
 * Postgres stand-in: the catalog's tables (pg_class, pg_namespace). Names are checked identifiers, inlined.
 */
export function existingViewsSql(dialect: 'redshift' | 'postgres', views: ReadonlyArray<Pick<StreamingViewDefinition, 'schema' | 'name'>>): string {
  for (const v of views) checkName(v);
  const list = (xs: readonly string[]): string => [...new Set(xs)].map((x) => `'${x}'`).join(', ');
  const schemas = list(views.map((v) => v.schema));
  const names = list(views.map((v) => v.name));
  return dialect === 'redshift'
    ? `SELECT TRIM(schema_name) AS schema_name, TRIM(name) AS name FROM svv_mv_info WHERE TRIM(schema_name) IN (${schemas}) AND TRIM(name) IN (${names})`
    : `SELECT n.nspname::text AS schema_name, c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN (${schemas}) AND c.relname IN (${names})`;
}

/** The views of `views` that `existing` (rows of {@link existingViewsSql}) does not hold, in order. */
export function missingViews<V extends Pick<StreamingViewDefinition, 'schema' | 'name'>>(views: readonly V[], existing: ReadonlyArray<Record<string, string | null>>): V[] {
  const present = new Set(existing.map((r) => `${String(r.schema_name).trim()}.${String(r.name).trim()}`));
  return views.filter((v) => !present.has(`${v.schema}.${v.name}`));
}

/** Parses and checks the list (an environment variable of the scheduled step). */
export function parseStreamingViews(json: string, where: string): StreamingViewDefinition[] {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new Error(`${where} is not JSON`);
  }
  if (!Array.isArray(v)) throw new Error(`${where} must be a JSON list of { schema, name, sql }`);
  return v.map((x: unknown, i) => {
    const o = x as Partial<StreamingViewDefinition> | null;
    if (typeof o !== 'object' || o === null || typeof o.schema !== 'string' || typeof o.name !== 'string' || typeof o.sql !== 'string') {
      throw new Error(`${where}[${i}] must be { schema, name, sql }`);
    }
    return checkView({ schema: o.schema, name: o.name, sql: o.sql });
  });
}
