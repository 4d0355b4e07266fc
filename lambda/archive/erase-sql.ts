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
    /** Rejects with their payload as JSON text and raw bytes as hex, for matching in the runner. */
    selectRejects: (): string =>
      `SELECT stream_name, shard_id, sequence_number, reason, ` +
      (dialect === 'postgres' ? `CAST(payload AS TEXT) AS payload, encode(raw, 'hex') AS raw_hex` : `JSON_SERIALIZE(payload) AS payload, TO_HEX(raw) AS raw_hex`) +
      ` FROM ${schema}.rejects`,
    deleteReject: (r: { stream_name: string; shard_id: string; sequence_number: string; reason: string }): string =>
      `DELETE FROM ${schema}.rejects WHERE stream_name = '${identLiteral(r.stream_name)}' AND shard_id = '${identLiteral(r.shard_id)}' ` +
      `AND sequence_number = '${digits(r.sequence_number)}' AND reason = '${identLiteral(r.reason)}'`,
  };
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
