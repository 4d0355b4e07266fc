/**
 * What the warehouse merge will make of a record's bytes, computed independently of the SQL: an event with its
 * dedup key, or a reject with its reason. The producer's ledger and the demo's checks use it to say what the
 * events and rejects tables must hold. Pure.
 *
 * Mirrors the rules of `sql/061_merge_stage_stream.fragment.sql` with Postgres' (PGlite's) parsing: a record larger
 * than streaming ingestion takes never reaches the MV → `ingestion_skipped`; then, in the order of
 * `REJECT_REASONS`: bytes that are not UTF-8 (or hold NUL, which Postgres text cannot) →
 * `invalid_utf8`; more than `maxRecordBytes` → `too_large`; not JSON (or a `\u0000` escape, which jsonb rejects) →
 * `invalid_json`; not an object → `not_object`; key missing, null or blank → `missing_dedup_key`; key not a string
 * or number, or longer than 256 characters → `invalid_dedup_key`; given the arrival time, an event time (ISO-8601
 * string at `eventTimePath`) outside the plausibility window around it → `implausible_event_time`. Known gap: a numeric key's text is JavaScript's
 * rendering of the number, which can differ from jsonb's for unusual spellings (`1.0`, `1e3`).
 */
import { MAX_DEDUP_KEY_CHARS, RejectReason, STREAMING_INGESTION_MAX_RECORD_BYTES, WAREHOUSE_SQL_DEFAULTS } from '../lib/sql/render';

export type RecordClass = { readonly kind: 'event'; readonly id: string } | { readonly kind: 'reject'; readonly reason: RejectReason };

export interface ClassifierOptions {
  /** Dot-separated JSON path of the dedup key. @default 'messageId' */
  readonly dedupKeyPath?: string;
  /** @default 65535 */
  readonly maxRecordBytes?: number;
  /** The record's arrival time (epoch ms); without it the event-time plausibility check is not made. */
  readonly arrivalMs?: number;
  /** @default 'timestamp' */
  readonly eventTimePath?: string;
  /** @default 365 */
  readonly eventTimeMaxPastDays?: number;
  /** @default 24 */
  readonly eventTimeMaxFutureHours?: number;
}

/** The ISO-8601 date-times the merge reads as event times (date first; an offset or none, meaning UTC). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

function eventTimeMs(value: unknown): number | undefined {
  if (typeof value !== 'string' || !ISO_TIME.test(value)) return undefined;
  const normalized = /(Z|[+-]\d{2}(:?\d{2})?)$/.test(value) || value.length <= 10 ? value : `${value}Z`;
  const ms = Date.parse(normalized);
  if (Number.isNaN(ms)) return undefined;
  // An impossible date (2026-02-30) that Date.parse rolls over is no time at all, as in Postgres.
  const day = value.slice(0, 10);
  return new Date(Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10)))).toISOString().slice(0, 10) === day ? ms : undefined;
}

function at(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const part of path) v = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function classifyRecord(data: Uint8Array, options: ClassifierOptions = {}): RecordClass {
  const path = (options.dedupKeyPath ?? WAREHOUSE_SQL_DEFAULTS.dedupKeyPath).split('.');
  const maxBytes = options.maxRecordBytes ?? WAREHOUSE_SQL_DEFAULTS.maxRecordBytes;
  if (data.byteLength > STREAMING_INGESTION_MAX_RECORD_BYTES) return { kind: 'reject', reason: 'ingestion_skipped' };
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
  if (options.arrivalMs !== undefined) {
    const eventMs = eventTimeMs(at(value, (options.eventTimePath ?? WAREHOUSE_SQL_DEFAULTS.eventTimePath).split('.')));
    const pastMs = (options.eventTimeMaxPastDays ?? WAREHOUSE_SQL_DEFAULTS.eventTimeMaxPastDays) * 86_400_000;
    const futureMs = (options.eventTimeMaxFutureHours ?? WAREHOUSE_SQL_DEFAULTS.eventTimeMaxFutureHours) * 3_600_000;
    if (eventMs !== undefined && (eventMs < options.arrivalMs - pastMs || eventMs > options.arrivalMs + futureMs)) {
      return { kind: 'reject', reason: 'implausible_event_time' };
    }
  }
  return { kind: 'event', id };
}
