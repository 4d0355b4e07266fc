/**
 * What the warehouse merge will make of a record's bytes, computed independently of the SQL: an event with its
 * dedup key, or a reject with its reason. The producer's ledger and the demo's checks use it to say what the
 * events and rejects tables must hold. Pure.
 *
 * Mirrors the rules of `sql/061_merge_stage_stream.fragment.sql` with Postgres' (PGlite's) parsing, reasons tested
 * in the order of `REJECT_REASONS`: bytes that are not UTF-8 (or hold NUL, which Postgres text cannot) →
 * `invalid_utf8`; more than `maxRecordBytes` → `too_large`; not JSON (or a `\u0000` escape, which jsonb rejects) →
 * `invalid_json`; not an object → `not_object`; key missing, null or blank → `missing_dedup_key`; key not a string
 * or number, or longer than 256 characters → `invalid_dedup_key`. Known gap: a numeric key's text is JavaScript's
 * rendering of the number, which can differ from jsonb's for unusual spellings (`1.0`, `1e3`).
 */
import { MAX_DEDUP_KEY_CHARS, RejectReason, WAREHOUSE_SQL_DEFAULTS } from '../lib/sql/render';

export type RecordClass = { readonly kind: 'event'; readonly id: string } | { readonly kind: 'reject'; readonly reason: RejectReason };

export interface ClassifierOptions {
  /** Dot-separated JSON path of the dedup key. @default 'messageId' */
  readonly dedupKeyPath?: string;
  /** @default 65535 */
  readonly maxRecordBytes?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function classifyRecord(data: Uint8Array, options: ClassifierOptions = {}): RecordClass {
  const path = (options.dedupKeyPath ?? WAREHOUSE_SQL_DEFAULTS.dedupKeyPath).split('.');
  const maxBytes = options.maxRecordBytes ?? WAREHOUSE_SQL_DEFAULTS.maxRecordBytes;
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return { kind: 'reject', reason: 'invalid_utf8' };
  }
  if (text.includes('\u0000')) return { kind: 'reject', reason: 'invalid_utf8' };
  if (data.byteLength > maxBytes) return { kind: 'reject', reason: 'too_large' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'reject', reason: 'invalid_json' };
  }
  if (/\\u0000/i.test(text)) return { kind: 'reject', reason: 'invalid_json' };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'reject', reason: 'not_object' };
  let key: unknown = value;
  for (const part of path) {
    key = typeof key === 'object' && key !== null && !Array.isArray(key) ? (key as Record<string, unknown>)[part] : undefined;
  }
  if (key === undefined || key === null) return { kind: 'reject', reason: 'missing_dedup_key' };
  if (typeof key !== 'string' && typeof key !== 'number') return { kind: 'reject', reason: 'invalid_dedup_key' };
  const id = String(key);
  if (id.replace(/^ +| +$/g, '') === '') return { kind: 'reject', reason: 'missing_dedup_key' };
  if ([...id].length > MAX_DEDUP_KEY_CHARS) return { kind: 'reject', reason: 'invalid_dedup_key' };
  return { kind: 'event', id };
}
