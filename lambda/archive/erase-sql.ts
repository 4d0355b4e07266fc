/**
 * The SQL of an erasure, per dialect: the subject-hash expression over a payload column (shared with the merge's
 * suppression step, which lib/sql/render.ts fills in), and the statements the erase runner sends. Only subject hashes
 * (64 hex digits, checked) are ever inlined: the subject itself never appears in a statement, so it never reaches the
 * warehouse's query logs.
 *
 * Pure: strings in, strings out.
 */
import { checkHash, checkSubjectPaths } from './subject';

export type Dialect = 'redshift' | 'postgres';

/** Text of a string or number at `path` of a JSON column, NULL otherwise (as subjectValues in ./subject.ts). */
function pathText(dialect: Dialect, column: string, path: string): string {
  if (dialect === 'postgres') {
    const at = `'{${path.split('.').join(',')}}'`;
    return `CASE WHEN jsonb_typeof(${column} #> ${at}) IN ('string', 'number') THEN ${column} #>> ${at} END`;
  }
  const nav = `${column}.${path.split('.').map((k) => `"${k}"`).join('.')}`;
  return `CASE JSON_TYPEOF(${nav}) WHEN 'string' THEN CAST(${nav} AS VARCHAR(65535)) WHEN 'number' THEN JSON_SERIALIZE(${nav}) END`;
}

/** SHA-256 hex of a text expression. */
function sha256Hex(dialect: Dialect, text: string): string {
  return dialect === 'postgres' ? `encode(sha256(convert_to(${text}, 'UTF8')), 'hex')` : `SHA2(${text}, 256)`;
}

/** A boolean expression: a subject path of `column` hashes into `hashSet` (a subquery or a literal list). */
export function subjectHashIn(dialect: Dialect, column: string, paths: readonly string[], hashSet: string): string {
  return checkSubjectPaths(paths)
    .map((p) => `${sha256Hex(dialect, pathText(dialect, column, p))} IN (${hashSet})`)
    .join('\n     OR ');
}

const list = (hashes: readonly string[]): string => hashes.map((h) => `'${checkHash(h)}'`).join(', ');

/** The statements of the erasure itself (the warehouse part). */
export function erasureSql(dialect: Dialect, schema: string, paths: readonly string[]) {
  const suppressed = `SELECT subject_hash FROM ${schema}.suppressed_subjects`;
  return {
    /** Adds the hash to the suppression list (idempotent). */
    suppress: (hash: string, requestId: string, nowIso: string): string =>
      `INSERT INTO ${schema}.suppressed_subjects (subject_hash, request_id, suppressed_at) ` +
      `SELECT '${checkHash(hash)}', '${requestIdLiteral(requestId)}', TIMESTAMP '${timestampLiteral(nowIso)}' ` +
      `WHERE NOT EXISTS (SELECT 1 FROM ${schema}.suppressed_subjects WHERE subject_hash = '${checkHash(hash)}')`,
    countEvents: (hashes: readonly string[]): string => `SELECT COUNT(*) AS n FROM ${schema}.events WHERE ${subjectHashIn(dialect, 'payload', paths, list(hashes))}`,
    deleteEvents: (hashes: readonly string[]): string => `DELETE FROM ${schema}.events WHERE ${subjectHashIn(dialect, 'payload', paths, list(hashes))}`,
    /** Every suppressed subject's events (the scheduled step's sweep). */
    deleteSuppressedEvents: (): string => `DELETE FROM ${schema}.events WHERE ${subjectHashIn(dialect, 'payload', paths, suppressed)}`,
    /**
     * Keys of the rejects whose parsed payload is a JSON object naming a subject of `hashSet` (a literal list or a
     * subquery), or whose partition key is one (producers often key by the user): matched in SQL, so only keys cross
     * the Data API.
     */
    rejectKeysByPayload: (hashSet: readonly string[] | 'suppressed'): string => {
      const set = hashSet === 'suppressed' ? suppressed : list(hashSet);
      return (
        `SELECT stream_name, shard_id, sequence_number, reason FROM ${schema}.rejects WHERE (payload IS NOT NULL AND ${objectTest(dialect)} AND (` +
        `${subjectHashIn(dialect, 'payload', paths, set)})) OR ${sha256Hex(dialect, 'partition_key')} IN (${set})`
      );
    },
    /**
     * A page of the rejects whose bytes must be searched in the runner (no parsed object to hash: raw bytes, or a
     * payload that is an array or a scalar): their keys, their length and their first {@link REJECT_CHUNK_BYTES}
     * bytes as hex. The rest of a longer reject is read with {@link rejectChunk}. A page of at most
     * {@link REJECT_PAGE_ROWS} rows of at most 64 KB stays far below the Data API's result-set limit.
     */
    rejectsToSearch: (page: number): string => {
      if (!Number.isInteger(page) || page < 0) throw new RangeError(`a page is a whole number from 0 (got ${page})`);
      const bytes = searchBytes(dialect);
      const first = dialect === 'postgres' ? `encode(substring(${bytes} from 1 for ${REJECT_CHUNK_BYTES}), 'hex')` : `TO_HEX(SUBSTRING(${bytes}, 1, ${REJECT_CHUNK_BYTES}))`;
      return (
        `SELECT stream_name, shard_id, sequence_number, reason, OCTET_LENGTH(${bytes}) AS n_bytes, ${first} AS chunk FROM ${schema}.rejects ` +
        `WHERE "raw" IS NOT NULL OR (payload IS NOT NULL AND NOT ${objectTest(dialect)}) ` +
        `ORDER BY stream_name, shard_id, sequence_number, reason LIMIT ${REJECT_PAGE_ROWS} OFFSET ${page * REJECT_PAGE_ROWS}`
      );
    },
    /**
     * One chunk of a reject's searchable bytes, hex: `offset` is 1-based, `length` at most {@link REJECT_CHUNK_BYTES}
     * so that a result row stays under the Data API's 64 KB per row.
     */
    rejectChunk: (r: RejectKeyColumns, offset: number, length: number): string => {
      if (!Number.isInteger(offset) || offset < 1 || !Number.isInteger(length) || length < 1 || length > REJECT_CHUNK_BYTES) {
        throw new RangeError(`a reject chunk is 1..${REJECT_CHUNK_BYTES} bytes from a 1-based offset (got ${offset}, ${length})`);
      }
      const bytes = searchBytes(dialect);
      const hex = dialect === 'postgres' ? `encode(substring(${bytes} from ${offset} for ${length}), 'hex')` : `TO_HEX(SUBSTRING(${bytes}, ${offset}, ${length}))`;
      return `SELECT ${hex} AS chunk FROM ${schema}.rejects WHERE ${rejectWhere(r)}`;
    },
    deleteReject: (r: RejectKeyColumns): string => `DELETE FROM ${schema}.rejects WHERE ${rejectWhere(r)}`,
  };
}

/** The columns that identify a reject row. */
export interface RejectKeyColumns {
  readonly stream_name: string;
  readonly shard_id: string;
  readonly sequence_number: string;
  readonly reason: string;
}

/**
 * Bytes of a reject read per Data API result row. The Data API returns at most 64 KB per row ("Packet for query is
 * too large", Amazon Redshift Management Guide, "Troubleshooting issues for Amazon Redshift Data API"); hex doubles
 * the bytes, so 24 000 bytes make a 48 000-character chunk, with room for the row's framing.
 */
export const REJECT_CHUNK_BYTES = 24_000;
/** Rejects per page of {@link erasureSql}'s rejectsToSearch: 1 000 rows of at most 64 KB are at most 64 MB. */
export const REJECT_PAGE_ROWS = 1000;
/** The Data API's documented limit per result row. */
export const DATA_API_MAX_ROW_BYTES = 64 * 1024;

/** The payload is a JSON object (what the subject paths can be read from). */
function objectTest(dialect: Dialect): string {
  return dialect === 'postgres' ? `jsonb_typeof(payload) = 'object'` : `JSON_TYPEOF(payload) = 'object'`;
}

/** A reject's bytes as the runner searches them: its raw bytes, or its (non-object) payload serialized. */
function searchBytes(dialect: Dialect): string {
  // "raw" is a reserved word in Redshift: always quoted.
  return dialect === 'postgres'
    ? `CASE WHEN "raw" IS NOT NULL THEN "raw" ELSE convert_to(CAST(payload AS TEXT), 'UTF8') END`
    : `CASE WHEN "raw" IS NOT NULL THEN "raw" ELSE JSON_SERIALIZE_TO_VARBYTE(payload) END`;
}

function rejectWhere(r: RejectKeyColumns): string {
  return (
    `stream_name = '${identLiteral(r.stream_name)}' AND shard_id = '${identLiteral(r.shard_id)}' ` +
    `AND sequence_number = '${digits(r.sequence_number)}' AND reason = '${identLiteral(r.reason)}'`
  );
}

function requestIdLiteral(id: string): string {
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new Error(`not a request id: ${JSON.stringify(id)}`);
  return id;
}
function timestampLiteral(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(\.\d{1,6})?)Z$/.exec(iso);
  if (!m) throw new Error(`not a UTC ISO time: ${JSON.stringify(iso)}`);
  return `${m[1]} ${m[2]}`;
}
function identLiteral(s: string): string {
  // Stream names, shard ids and reasons: letters, digits, dots, dashes, underscores (checked, never escaped).
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(s)) throw new Error(`unexpected identifier value ${JSON.stringify(s)}`);
  return s;
}
function digits(s: string): string {
  if (!/^\d{1,128}$/.test(s)) throw new Error(`not a sequence number: ${JSON.stringify(s)}`);
  return s;
}

export { requestIdLiteral, timestampLiteral };
