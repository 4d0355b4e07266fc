/**
 * The warehouse SQL as data: the numbered files in `sql/`, an ordered manifest, and one pure render function used by
 * the deployment construct (Redshift), the tests and the local demo (Postgres / PGlite).
 *
 * - Files ending in `.redshift.sql` run only in Redshift, `.postgres.sql` only in Postgres, plain `.sql` in both.
 * - `{{name}}` placeholders are filled from {@link WarehouseSqlParams}; an unknown or unreplaced placeholder throws.
 * - Dialect differences are kept to placeholder values: column types, table attributes, and the JSON navigation
 *   expressions of the merge's stage step (SUPER navigation in Redshift, `#>`/`#>>` on jsonb in Postgres).
 *
 * No I/O besides reading the SQL files; no AWS, no process.env.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { subjectHashIn } from '../../lambda/archive/erase-sql';
import { compactStatement, StreamingViewDefinition } from '../../lambda/archive/streaming-views';
import { DEFAULT_SUBJECT_PATHS } from '../../lambda/archive/subject';

export type SqlDialect = 'redshift' | 'postgres';

/** A stream the warehouse ingests: one streaming MV per stream. */
export interface WarehouseStreamSql {
  /** Logical stream name (the value of `events.stream_name`), e.g. `events`. */
  readonly name: string;
  /** Physical Kinesis stream name in this Region, e.g. `redstream-dev-events`. */
  readonly physicalName: string;
}

export interface WarehouseSqlParams {
  /** Streams to ingest; at least one. */
  readonly streams: readonly WarehouseStreamSql[];
  /** Region whose stream copies the MVs read; stored as `source_region`. May be a CDK token. */
  readonly region: string;
  /** ARN of the streaming-ingestion role (Redshift only; may be a CDK token). @default - required for 'redshift' */
  readonly streamingRoleArn?: string;
  /** Schema of every Redstream object. @default 'redstream' */
  readonly schema?: string;
  /** External schema mapped to Kinesis (Redshift only). @default 'redstream_kinesis' */
  readonly externalSchema?: string;
  /** Dot-separated JSON path of the dedup key. @default 'messageId' */
  readonly dedupKeyPath?: string;
  /** Days of event time within which a repeated id is a duplicate. Valid range: 1–365. @default 7 */
  readonly dedupWindowDays?: number;
  /** JSON path of the event type. @default 'type' */
  readonly eventTypePath?: string;
  /** JSON path of the user id. @default 'userId' */
  readonly userIdPath?: string;
  /**
   * JSON paths that name an erasure's subject; the merge drops new rows whose values there hash to a suppressed subject
   * (sql/070, sql/072). @default ['userId', 'anonymousId']
   */
  readonly subjectPaths?: readonly string[];
  /** JSON path of the event time (ISO-8601 string); missing or invalid → arrival time. @default 'timestamp' */
  readonly eventTimePath?: string;
  /** Records larger than this many bytes are rejected as `too_large`. Valid range: 1–65535. @default 65535 */
  readonly maxRecordBytes?: number;
  /**
   * Minutes subtracted from a stream's refresh high-water mark to give each merge's lower bound on the MV's
   * `refresh_time` (its sort key). A refresh that commits rows with a `refresh_time` older than the last merged one by
   * more than this would have them skipped, so it must exceed the longest refresh. Valid range: 1–1440. @default 10
   */
  readonly refreshMarginMinutes?: number;
  /**
   * An event time more than this many days before its record's arrival is implausible: the record is rejected as
   * `implausible_event_time`, so one bad timestamp cannot stretch the dedup lookup over the whole events table.
   * Replays of older data need a larger value. Valid range: 1–3650. @default 365
   */
  readonly eventTimeMaxPastDays?: number;
  /** An event time more than this many hours after its record's arrival is implausible. Valid range: 1–8760. @default 24 */
  readonly eventTimeMaxFutureHours?: number;
}

/** One statement to run, in order. */
export interface RenderedStatement {
  /** `<file>` or `<file>:<stream>` for per-stream files, e.g. `020_stream_mv.redshift.sql:events`. */
  readonly id: string;
  readonly sql: string;
  /**
   * `materialized-view` statements cannot be re-run (no CREATE OR REPLACE): the deployment runner creates the view
   * when it is missing, recreates it when its definition hash changed, and skips it otherwise.
   */
  readonly kind: 'statement' | 'materialized-view';
  /** For `materialized-view`: the view's schema and name. */
  readonly schemaName?: string;
  readonly objectName?: string;
}

export const WAREHOUSE_SQL_DEFAULTS = {
  schema: 'redstream',
  externalSchema: 'redstream_kinesis',
  dedupKeyPath: 'messageId',
  dedupWindowDays: 7,
  eventTypePath: 'type',
  userIdPath: 'userId',
  subjectPaths: DEFAULT_SUBJECT_PATHS,
  eventTimePath: 'timestamp',
  maxRecordBytes: 65535,
  refreshMarginMinutes: 10,
  eventTimeMaxPastDays: 365,
  eventTimeMaxFutureHours: 24,
} as const;

/**
 * The largest record streaming ingestion takes: `kinesis_data` is VARBYTE, whose documented maximum length is
 * 1,024,000 bytes (https://docs.aws.amazon.com/redshift/latest/dg/r_VARBYTE_type.html). A larger record (Kinesis
 * takes up to 10 MiB once a stream's maximum record size is raised) is skipped by streaming ingestion and reported
 * in SYS_STREAM_SCAN_ERRORS; the merge turns it into an `ingestion_skipped` reject. The warehouse's VARBYTE columns
 * are this wide, no wider.
 */
export const STREAMING_INGESTION_MAX_RECORD_BYTES = 1_024_000;

/** Kinesis sequence numbers have up to 129 digits; padding to this width makes text order equal numeric order. */
export const SEQUENCE_WIDTH = 130;
/** Dedup keys longer than this many characters are rejected as `invalid_dedup_key`. */
export const MAX_DEDUP_KEY_CHARS = 256;
/** Event type and user id are cut to this many characters. */
const MAX_ATTRIBUTE_CHARS = 256;

/** The reasons a record lands in `rejects`, in the order they are tested. */
export const REJECT_REASONS = [
  'invalid_utf8',
  'too_large',
  'invalid_json',
  'not_object',
  'missing_dedup_key',
  'invalid_dedup_key',
  'implausible_event_time',
  'ingestion_skipped',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Directory of the SQL files. */
export const SQL_DIR = path.resolve(__dirname, '..', '..', 'sql');

interface ManifestEntry {
  readonly file: string;
  readonly perStream?: boolean;
  readonly kind?: 'materialized-view';
}

/** Every statement file, in the order it runs. The merge stage fragment is inlined into the procedure. */
export const SQL_MANIFEST: readonly ManifestEntry[] = [
  { file: '001_schema.sql' },
  { file: '002_deployed_objects.redshift.sql' },
  { file: '010_external_schema.redshift.sql' },
  { file: '020_stream_mv.redshift.sql', perStream: true, kind: 'materialized-view' },
  { file: '020_stream_mv.postgres.sql', perStream: true },
  { file: '021_stream_mv_derive.postgres.sql' },
  { file: '022_stream_mv_trigger.postgres.sql', perStream: true },
  { file: '023_stream_mv_index.postgres.sql', perStream: true },
  { file: '024_stream_mv_arrival_index.postgres.sql', perStream: true },
  { file: '025_stream_scan_errors.postgres.sql' },
  { file: '026_stream_scan_states.postgres.sql' },
  { file: '030_events.sql' },
  { file: '031_events_index.postgres.sql' },
  { file: '032_events_time_index.postgres.sql' },
  { file: '040_rejects.sql' },
  { file: '050_merge_state.sql' },
  { file: '051_merge_runs.sql' },
  { file: '052_merge_streams.sql' },
  { file: '060_merge_procedure.sql' },
  { file: '070_suppressed_subjects.sql' },
  { file: '071_erasure_requests.sql' },
  { file: '073_erasure_requests_columns.sql' },
  { file: '074_erasure_requests_migrate.sql' },
];
/** The merge's erasure step (sql/072): drops new rows of suppressed subjects. */
const SUPPRESS_FRAGMENT = '072_merge_suppress.fragment.sql';
const STAGE_FRAGMENT = '061_merge_stage_stream.fragment.sql';
/** The FROM clause (alias `m`) of the rows above the watermark: a plain scan in Redshift, an index path in Postgres. */
const NEW_ROWS_FRAGMENT: Readonly<Record<SqlDialect, string>> = {
  redshift: '062_merge_new_rows.redshift.fragment.sql',
  postgres: '062_merge_new_rows.postgres.fragment.sql',
};
/**
 * Postgres-only statements of the merge: refresh the planner statistics of the events table when it has grown
 * (embedded Postgres has no autovacuum) and analyze the staged batch (temporary tables are never auto-analyzed).
 * Redshift keeps its statistics itself; there these placeholders are empty and its procedure text is unchanged.
 */
const TABLE_STATISTICS_FRAGMENT = '063_merge_table_statistics.postgres.fragment.sql';
const BATCH_STATISTICS_FRAGMENT = '064_merge_batch_statistics.postgres.fragment.sql';

/** Thrown for invalid parameters and for unknown or unreplaced placeholders. */
export class SqlRenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlRenderError';
  }
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const JSON_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const PHYSICAL_STREAM = /^[a-zA-Z0-9_.-]{1,128}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
/** An unresolved CDK token (`${Token[...]}`), resolved by CloudFormation at deploy time. */
const TOKEN = /^\$\{Token\[[A-Za-z0-9_.-]+\]\}$/;

function fileDialect(file: string): SqlDialect | 'both' {
  if (file.endsWith('.redshift.sql')) return 'redshift';
  if (file.endsWith('.postgres.sql')) return 'postgres';
  return 'both';
}

/**
 * The streaming views' CREATE statements exactly as {@link renderSql} renders them for Redshift, compacted: what the
 * erasure's scheduled step runs to recreate a view (lambda/archive/streaming-views.ts). They name no role (the
 * external schema does), so no role ARN is needed here.
 */
export function renderStreamingViews(params: Omit<WarehouseSqlParams, 'streamingRoleArn'>): StreamingViewDefinition[] {
  const unused = 'arn:aws:iam::000000000000:role/not-in-the-view-statements';
  return renderSql({ ...params, streamingRoleArn: unused }, { dialect: 'redshift' })
    .filter((s) => s.kind === 'materialized-view')
    .map((s) => {
      if (s.sql.includes(unused)) throw new SqlRenderError(`${s.id} names the streaming role: it cannot be recreated from this statement`);
      return { schema: s.schemaName!, name: s.objectName!, sql: compactStatement(s.sql) };
    });
}

/** Name of the streaming MV (or its Postgres stand-in table) of a logical stream, e.g. `stream_events`. */
export function mvName(streamName: string): string {
  const name = `stream_${streamName.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
  return name.slice(0, 63);
}

/** Resolved parameters with defaults merged; validated. */
export type ResolvedWarehouseSqlParams = Required<Omit<WarehouseSqlParams, 'streamingRoleArn'>> & {
  readonly streamingRoleArn?: string;
};

/** Merges defaults and validates; the error names the parameter, the valid values and the value received. */
export function resolveWarehouseSqlParams(params: WarehouseSqlParams, dialect: SqlDialect): ResolvedWarehouseSqlParams {
  const p = { ...WAREHOUSE_SQL_DEFAULTS, ...stripUndefined(params) } as ResolvedWarehouseSqlParams;
  const check = (ok: boolean, message: string): void => {
    if (!ok) throw new SqlRenderError(message);
  };
  check(IDENTIFIER.test(p.schema), `schema must be a lower-case SQL identifier (got ${JSON.stringify(p.schema)})`);
  check(IDENTIFIER.test(p.externalSchema), `externalSchema must be a lower-case SQL identifier (got ${JSON.stringify(p.externalSchema)})`);
  for (const key of ['dedupKeyPath', 'eventTypePath', 'userIdPath', 'eventTimePath'] as const) {
    check(JSON_PATH.test(p[key]), `${key} must be a dot-separated path of field names such as 'messageId' or 'context.eventId' (got ${JSON.stringify(p[key])})`);
  }
  check(
    Array.isArray(p.subjectPaths) && p.subjectPaths.length > 0 && p.subjectPaths.every((x) => JSON_PATH.test(x)),
    `subjectPaths must list dot-separated paths of field names such as 'userId' (got ${JSON.stringify(p.subjectPaths)})`,
  );
  check(Number.isInteger(p.dedupWindowDays) && p.dedupWindowDays >= 1 && p.dedupWindowDays <= 365, `dedupWindowDays must be a whole number between 1 and 365 (got ${p.dedupWindowDays})`);
  check(Number.isInteger(p.maxRecordBytes) && p.maxRecordBytes >= 1 && p.maxRecordBytes <= 65535, `maxRecordBytes must be a whole number between 1 and 65535 (got ${p.maxRecordBytes})`);
  check(Number.isInteger(p.refreshMarginMinutes) && p.refreshMarginMinutes >= 1 && p.refreshMarginMinutes <= 1440, `refreshMarginMinutes must be a whole number between 1 and 1440 (got ${p.refreshMarginMinutes})`);
  check(Number.isInteger(p.eventTimeMaxPastDays) && p.eventTimeMaxPastDays >= 1 && p.eventTimeMaxPastDays <= 3650, `eventTimeMaxPastDays must be a whole number between 1 and 3650 (got ${p.eventTimeMaxPastDays})`);
  check(Number.isInteger(p.eventTimeMaxFutureHours) && p.eventTimeMaxFutureHours >= 1 && p.eventTimeMaxFutureHours <= 8760, `eventTimeMaxFutureHours must be a whole number between 1 and 8760 (got ${p.eventTimeMaxFutureHours})`);
  check(REGION.test(p.region) || TOKEN.test(p.region), `region must be an AWS Region code such as 'us-east-1' (got ${JSON.stringify(p.region)})`);
  check(Array.isArray(p.streams) && p.streams.length > 0, `streams must list at least one stream (got ${JSON.stringify(p.streams)})`);
  const seen = new Map<string, string>();
  for (const s of p.streams) {
    check(/^[a-zA-Z0-9_.-]{1,100}$/.test(s.name), `streams[].name must use letters, digits, dots, dashes and underscores (got ${JSON.stringify(s.name)})`);
    check(PHYSICAL_STREAM.test(s.physicalName), `streams[].physicalName must be a Kinesis stream name (got ${JSON.stringify(s.physicalName)})`);
    const mv = mvName(s.name);
    const other = seen.get(mv);
    check(other === undefined, `streams ${JSON.stringify(other)} and ${JSON.stringify(s.name)} map to the same view name ${mv}; rename one`);
    seen.set(mv, s.name);
  }
  if (dialect === 'redshift') {
    const arn = p.streamingRoleArn;
    check(arn !== undefined && (ROLE_ARN.test(arn) || TOKEN.test(arn)), `streamingRoleArn must be an IAM role ARN (got ${JSON.stringify(arn)})`);
  }
  return p;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Replaces every `{{name}}` in a template. Throws on a placeholder without a value, so nothing is left unreplaced.
 * Values are inserted verbatim and never re-scanned.
 */
export function fillPlaceholders(template: string, values: Readonly<Record<string, string>>, where: string): string {
  const out = template.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) throw new SqlRenderError(`${where}: no value for placeholder {{${key}}}`);
    return v;
  });
  const leftover = template.replace(/\{\{\s*[A-Za-z0-9_]+\s*\}\}/g, '').match(/\{\{|\}\}/);
  if (leftover) throw new SqlRenderError(`${where}: malformed placeholder near ${JSON.stringify(leftover[0])}`);
  return out;
}

/** The JSON-navigation expressions of the stage step, per dialect. `m` is the MV alias, `x` the classified row. */
interface DialectExpressions {
  payloadType: string;
  keyType: string;
  keyText: string;
  eventType: string;
  userId: string;
  eventTimeText: string;
  eventTime: string;
  /** BIGINT hash of a rejected row's bytes (`x` is the classified row). */
  recordHash: string;
  /** True when rows `a` and `b` (rejects or reject groups) hold the same record bytes. */
  sameRecord: (a: string, b: string) => string;
}

function postgresExpressions(p: ResolvedWarehouseSqlParams): DialectExpressions {
  const at = (jsonPath: string): string => `'{${jsonPath.split('.').join(',')}}'`;
  const typeOf = (jsonPath: string): string => `jsonb_typeof(m.payload #> ${at(jsonPath)})`;
  const text = (jsonPath: string): string => `(m.payload #>> ${at(jsonPath)})`;
  const scalar = (jsonPath: string, chars?: number): string =>
    `CASE WHEN ${typeOf(jsonPath)} IN ('string', 'number') THEN ${chars ? `LEFT(${text(jsonPath)}, ${chars})` : text(jsonPath)} END`;
  return {
    payloadType: 'jsonb_typeof(m.payload)',
    keyType: typeOf(p.dedupKeyPath),
    keyText: scalar(p.dedupKeyPath),
    eventType: scalar(p.eventTypePath, MAX_ATTRIBUTE_CHARS),
    userId: scalar(p.userIdPath, MAX_ATTRIBUTE_CHARS),
    eventTimeText: `CASE WHEN ${typeOf(p.eventTimePath)} = 'string' THEN LEFT(${text(p.eventTimePath)}, 64) END`,
    eventTime:
      "CASE WHEN y.event_time_text ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' AND pg_input_is_valid(y.event_time_text, 'timestamptz') " +
      "THEN (y.event_time_text::timestamptz AT TIME ZONE 'UTC') END",
    // Copies of one bad record share this hash; the bytes themselves then decide (sameRecord).
    recordHash: `('x' || LEFT(md5(COALESCE(x."raw", convert_to(x.payload::text, 'UTF8'))), 16))::bit(64)::bigint`,
    sameRecord: (a, b) => `COALESCE(${a}."raw", convert_to(${a}.payload::text, 'UTF8')) = COALESCE(${b}."raw", convert_to(${b}.payload::text, 'UTF8'))`,
  };
}

function redshiftExpressions(p: ResolvedWarehouseSqlParams): DialectExpressions {
  // SUPER navigation with quoted attribute names keeps their case when enable_case_sensitive_identifier is on;
  // the procedure checks that at run time and refuses to run otherwise.
  const nav = (jsonPath: string): string => `m.payload.${jsonPath.split('.').map((k) => `"${k}"`).join('.')}`;
  const typeOf = (jsonPath: string): string => `JSON_TYPEOF(${nav(jsonPath)})`;
  const scalar = (jsonPath: string, chars?: number): string => {
    const asText = `CASE ${typeOf(jsonPath)} WHEN 'string' THEN CAST(${nav(jsonPath)} AS VARCHAR(65535)) WHEN 'number' THEN JSON_SERIALIZE(${nav(jsonPath)}) END`;
    return chars ? `LEFT(${asText}, ${chars})` : asText;
  };
  return {
    payloadType: 'JSON_TYPEOF(m.payload)',
    keyType: typeOf(p.dedupKeyPath),
    keyText: scalar(p.dedupKeyPath),
    eventType: scalar(p.eventTypePath, MAX_ATTRIBUTE_CHARS),
    userId: scalar(p.userIdPath, MAX_ATTRIBUTE_CHARS),
    eventTimeText: `CASE WHEN ${typeOf(p.eventTimePath)} = 'string' THEN LEFT(CAST(${nav(p.eventTimePath)} AS VARCHAR(65535)), 64) END`,
    eventTime:
      "CASE WHEN y.event_time_text ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' " +
      "THEN (TRY_CAST(y.event_time_text AS TIMESTAMPTZ) AT TIME ZONE 'UTC') END",
    // The bytes of a record that did not parse, or its parsed payload serialized back (the MV keeps no raw bytes for
    // those): copies of one bad record share this hash, and the same bytes then decide (sameRecord).
    recordHash: 'FNV_HASH(COALESCE(x."raw", JSON_SERIALIZE_TO_VARBYTE(x.payload)))',
    sameRecord: (a, b) => `COALESCE(${a}."raw", JSON_SERIALIZE_TO_VARBYTE(${a}.payload)) = COALESCE(${b}."raw", JSON_SERIALIZE_TO_VARBYTE(${b}.payload))`,
  };
}

const REDSHIFT_SESSION_CHECK = `  -- SUPER navigation must keep the case of attribute names such as "messageId".
  SELECT INTO v_probe COUNT(*) FROM (SELECT JSON_PARSE('{"aB": 1}') AS p) t WHERE t.p."aB" IS NOT NULL;
  IF v_probe = 0 THEN
    RAISE EXCEPTION 'merge_events needs SET enable_case_sensitive_identifier TO true in the calling session';
  END IF;`;

const POSTGRES_SESSION_CHECK = `  -- Event times without an offset are UTC, as in Redshift.
  SET LOCAL TimeZone = 'UTC';`;

function dialectValues(p: ResolvedWarehouseSqlParams, dialect: SqlDialect): Record<string, string> {
  const common = {
    schema: p.schema,
    external_schema: p.externalSchema,
    region: p.region,
    max_record_bytes: String(p.maxRecordBytes),
    sequence_width: String(SEQUENCE_WIDTH),
    dedup_window_days: String(p.dedupWindowDays),
    max_dedup_key_chars: String(MAX_DEDUP_KEY_CHARS),
    refresh_margin_minutes: String(p.refreshMarginMinutes),
    event_time_max_past_days: String(p.eventTimeMaxPastDays),
    event_time_max_future_hours: String(p.eventTimeMaxFutureHours),
    subject_paths: p.subjectPaths.join(', '),
  };
  if (dialect === 'redshift') {
    return {
      ...common,
      streaming_role_arn: p.streamingRoleArn ?? '',
      payload_type: 'SUPER',
      raw_type: `VARBYTE(${STREAMING_INGESTION_MAX_RECORD_BYTES})`,
      events_table_attributes: '\nDISTSTYLE KEY\nDISTKEY (event_id)\nCOMPOUND SORTKEY (event_time, event_id)',
      rejects_table_attributes: '\nDISTSTYLE EVEN\nSORTKEY (rejected_at)',
      // EVEN, not DISTKEY (event_id): rejects have no event id and would all land on one slice. The anti-join with
      // events (DISTKEY event_id) redistributes the batch, the small side, never the events table.
      batch_table_attributes: '\n  DISTSTYLE EVEN',
      now_utc: 'GETDATE()',
      session_check: REDSHIFT_SESSION_CHECK,
      scan_errors_table: 'sys_stream_scan_errors',
      scan_states_table: 'sys_stream_scan_states',
      subquery_fence: '',
      // The documented Redshift view of the columns of local tables (sql/073 checks it before each ADD COLUMN).
      columns_catalog: 'svv_columns',
    };
  }
  return {
    ...common,
    payload_type: 'JSONB',
    raw_type: 'BYTEA',
    events_table_attributes: '',
    rejects_table_attributes: '',
    batch_table_attributes: '',
    now_utc: "(now() AT TIME ZONE 'UTC')",
    session_check: POSTGRES_SESSION_CHECK,
    scan_errors_table: `${p.schema}.sys_stream_scan_errors`,
    scan_states_table: `${p.schema}.sys_stream_scan_states`,
    // Keeps Postgres from inlining the stage step's parsed event time into each of its three uses (pg_input_is_valid
    // and the cast would run three times per row: the merge cost 2.5 times as much CPU).
    subquery_fence: '\n      OFFSET 0',
    columns_catalog: 'information_schema.columns',
  };
}

function readSql(file: string): string {
  return readFileSync(path.join(SQL_DIR, file), 'utf8');
}

/**
 * Renders the statements the warehouse needs, in the order they must run.
 *
 * - `redshift`: schema, deployment bookkeeping, external schema, one streaming MV per stream, events, rejects,
 *   merge state, merge runs, merge procedure.
 * - `postgres`: the same portable tables and procedure, with a plain table per stream standing in for the MV
 *   (see `sql/README.md` for its columns) and Postgres indexes.
 */
export function renderSql(params: WarehouseSqlParams, options: { dialect: SqlDialect }): RenderedStatement[] {
  const { dialect } = options;
  const p = resolveWarehouseSqlParams(params, dialect);
  const values = dialectValues(p, dialect);
  const expressions = dialect === 'redshift' ? redshiftExpressions(p) : postgresExpressions(p);

  const streamValues = (s: WarehouseStreamSql): Record<string, string> => ({
    ...values,
    stream_name: s.name,
    physical_stream_name: s.physicalName,
    mv_name: mvName(s.name),
    stream_index: String(p.streams.indexOf(s)),
  });

  const stageTemplate = readSql(STAGE_FRAGMENT);
  const newRowsTemplate = readSql(NEW_ROWS_FRAGMENT[dialect]);
  const stageStatements = p.streams
    .map((s) =>
      fillPlaceholders(
        stageTemplate,
        {
          ...streamValues(s),
          payload_type_expr: expressions.payloadType,
          key_type_expr: expressions.keyType,
          key_text_expr: expressions.keyText,
          event_type_expr: expressions.eventType,
          user_id_expr: expressions.userId,
          event_time_text_expr: expressions.eventTimeText,
          event_time_expr: expressions.eventTime,
          record_hash_expr: expressions.recordHash,
          new_rows: fillPlaceholders(newRowsTemplate, streamValues(s), `${NEW_ROWS_FRAGMENT[dialect]}:${s.name}`).trim(),
        },
        `${STAGE_FRAGMENT}:${s.name}`,
      ).trimEnd(),
    )
    .join('\n\n');

  // Appended to the line of the preceding placeholder, so an empty value (Redshift) leaves no trace.
  const postgresOnly = (file: string, extra: Record<string, string> = {}): string =>
    dialect === 'postgres' ? `\n\n${fillPlaceholders(readSql(file), { ...values, ...extra }, file).trimEnd()}` : '';
  const procedureValues = {
    stage_statements: stageStatements,
    // Each stream's read bounds for the run: declared here, set by its stage statement, constant afterwards.
    stream_variables: p.streams
      .map((_s, i) => `  v_refresh_from_${i}     TIMESTAMP;\n  v_errors_from_${i}      TIMESTAMP;`)
      .join('\n'),
    same_record_in_rejects: expressions.sameRecord('rejects', 'g'),
    same_record_in_r: expressions.sameRecord('r', 'g'),
    refresh_statistics: postgresOnly(TABLE_STATISTICS_FRAGMENT, { table: `${p.schema}.events`, columns: 'stream_name, event_id, event_time' }),
    batch_statistics: postgresOnly(BATCH_STATISTICS_FRAGMENT),
    suppress_subjects: fillPlaceholders(
      readSql(SUPPRESS_FRAGMENT),
      { subject_hash_match: subjectHashIn(dialect, 'merge_batch.payload', p.subjectPaths, `SELECT subject_hash FROM ${p.schema}.suppressed_subjects`) },
      SUPPRESS_FRAGMENT,
    ).trimEnd(),
  };

  const out: RenderedStatement[] = [];
  for (const entry of SQL_MANIFEST) {
    const fd = fileDialect(entry.file);
    if (fd !== 'both' && fd !== dialect) continue;
    const template = readSql(entry.file);
    if (entry.perStream) {
      for (const s of p.streams) {
        const id = `${entry.file}:${s.name}`;
        out.push({
          id,
          sql: fillPlaceholders(template, streamValues(s), id).trim(),
          kind: entry.kind ?? 'statement',
          ...(entry.kind === 'materialized-view' ? { schemaName: p.schema, objectName: mvName(s.name) } : {}),
        });
      }
    } else {
      out.push({
        id: entry.file,
        sql: fillPlaceholders(template, { ...values, ...procedureValues }, entry.file).trim(),
        kind: 'statement',
      });
    }
  }
  return out;
}

/**
 * The statements that run one merge. Redshift needs case-sensitive identifiers in the calling session so that
 * quoted SUPER attribute names such as "messageId" keep their case; run them in one session (e.g. one
 * BatchExecuteStatement call).
 */
export function renderMergeCall(options: { dialect: SqlDialect; schema?: string }): string[] {
  const schema = options.schema ?? WAREHOUSE_SQL_DEFAULTS.schema;
  if (!IDENTIFIER.test(schema)) throw new SqlRenderError(`schema must be a lower-case SQL identifier (got ${JSON.stringify(schema)})`);
  const call = `CALL ${schema}.merge_events()`;
  return options.dialect === 'redshift' ? ['SET enable_case_sensitive_identifier TO true', call] : [call];
}

/** The query that reads the counts of the latest merge run (the merge runner's metrics), run after the CALL in its batch. */
export function renderLastMergeRunQuery(schema: string = WAREHOUSE_SQL_DEFAULTS.schema): string {
  if (!IDENTIFIER.test(schema)) throw new SqlRenderError(`schema must be a lower-case SQL identifier (got ${JSON.stringify(schema)})`);
  return `SELECT new_rows, inserted, duplicates, rejected, skipped, skipped_reported FROM ${schema}.merge_runs ORDER BY merged_at DESC LIMIT 1`;
}
