/**
 * The subject of an erasure: who a record belongs to, found by configurable JSON paths (default `userId` and
 * `anonymousId`, Segment's two identities), and its hash, the only form in which Redstream stores a subject.
 *
 * The hash is SHA-256 of the value's UTF-8 bytes, lower-case hex: the same in JavaScript and in SQL (Redshift
 * `SHA2(v, 256)`, Postgres `encode(sha256(convert_to(v, 'UTF8')), 'hex')`), so the merge can test new rows against the
 * suppression list without the subject in clear. It is a pseudonym, not anonymisation: whoever can guess a subject
 * can confirm it.
 *
 * Pure (node:crypto only).
 */
import * as crypto from 'node:crypto';

export const DEFAULT_SUBJECT_PATHS: readonly string[] = ['userId', 'anonymousId'];

const JSON_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const HASH = /^[0-9a-f]{64}$/;

export class SubjectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubjectError';
  }
}

/** Validates subject paths (dot-separated field names). */
export function checkSubjectPaths(paths: readonly string[]): readonly string[] {
  if (paths.length === 0) throw new SubjectError('subject paths must list at least one JSON path such as userId');
  for (const p of paths) if (!JSON_PATH.test(p)) throw new SubjectError(`subject path ${JSON.stringify(p)} must be dot-separated field names such as userId or context.traits.email`);
  return paths;
}

export function subjectHash(subject: string): string {
  if (subject === '') throw new SubjectError('the subject must not be empty');
  return crypto.createHash('sha256').update(subject, 'utf8').digest('hex');
}

/** Checks a hash before it is inlined in SQL (only 64 hex digits can ever reach a statement). */
export function checkHash(hash: string): string {
  if (!HASH.test(hash)) throw new SubjectError(`not a subject hash: ${JSON.stringify(hash)}`);
  return hash;
}

/** The subject values of a parsed record: strings and numbers at the paths (as SQL casts them to text). */
export function subjectValues(payload: unknown, paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let v: unknown = payload;
    for (const k of p.split('.')) v = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
    if (typeof v === 'string') out.push(v);
    else if (typeof v === 'number' && Number.isFinite(v)) out.push(String(v));
  }
  return out;
}

function parseObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a record's bytes belong to the subject (the subject in clear, at erasure time):
 * - a JSON object: a subject path holds the subject;
 * - anything else (malformed JSON, binary, a JSON array): the bytes contain the subject as a JSON string (with its
 *   quotes), so `user-1` does not match `user-12`. A malformed record that holds the subject unquoted is not found.
 */
export function recordHasSubject(bytes: Uint8Array, subject: string, paths: readonly string[]): boolean {
  const o = parseObject(bytes);
  if (o !== undefined) return subjectValues(o, paths).includes(subject);
  return Buffer.from(bytes).includes(Buffer.from(JSON.stringify(subject), 'utf8'));
}

/** Whether a record belongs to a suppressed subject, by hash (what the scheduled step can check without the subject). */
export function recordHasSuppressedSubject(bytes: Uint8Array, hashes: ReadonlySet<string>, paths: readonly string[]): boolean {
  const o = parseObject(bytes);
  return o !== undefined && subjectValues(o, paths).some((v) => hashes.has(subjectHash(v)));
}
