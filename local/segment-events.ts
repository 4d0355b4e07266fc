/**
 * Segment-style test events (`messageId`, `type`, `userId`, `timestamp`, `properties`) with exact shares of producer
 * re-sends (the same record again, same `messageId`) and of malformed records of every reject reason the merge
 * knows. Pure and deterministic: a seeded random generator and an injected clock.
 */
import type { RejectReason } from '../lib/sql/render';

/** A record to write: partition key and bytes. */
export interface OutgoingRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
}

/** Where a record came from, for the ledger. */
export type RecordOrigin =
  | { readonly kind: 'event'; readonly messageId: string }
  | { readonly kind: 'resend'; readonly messageId: string }
  | { readonly kind: 'malformed'; readonly reason: RejectReason };

export interface GeneratedRecord extends OutgoingRecord {
  readonly origin: RecordOrigin;
}

import { seededRandom } from '../lambda/shared/seeded-random';

export { seededRandom };

/** The malformed kinds generated, one per reject reason a producer can cause (`too_large` included). */
export const MALFORMED_KINDS: readonly RejectReason[] = ['invalid_json', 'invalid_utf8', 'not_object', 'missing_dedup_key', 'invalid_dedup_key', 'too_large'];

const EVENT_TYPES = ['track', 'identify', 'page', 'screen', 'group'] as const;
const EVENT_NAMES = ['Order Completed', 'Product Viewed', 'Signed Up', 'Checkout Started', 'Cart Viewed'];

export interface SegmentEventOptions {
  /** Records to generate in total. */
  readonly count: number;
  /** Share of records that re-send an earlier event. Valid range: 0–1. */
  readonly duplicateFraction: number;
  /** Share of malformed records. Valid range: 0–1, with duplicateFraction + malformedFraction ≤ 1. */
  readonly malformedFraction: number;
  /** @default 1 */
  readonly seed?: number;
  /** Distinct users (partition keys of valid events). @default 500 */
  readonly users?: number;
  /** Event timestamps, epoch ms. */
  readonly clock: () => number;
  /** Size of a `too_large` record, bytes. @default 65536 */
  readonly tooLargeBytes?: number;
}

/**
 * The plan of record kinds, exact counts (rounded), in a seeded random order; a re-send never comes before the first
 * event (it is turned into a new event instead, so the first record is always an event or a malformed one).
 */
export function planKinds(options: Pick<SegmentEventOptions, 'count' | 'duplicateFraction' | 'malformedFraction' | 'seed'>): Array<'event' | 'resend' | 'malformed'> {
  const random = seededRandom((options.seed ?? 1) ^ 0x5eed);
  const malformed = Math.round(options.count * options.malformedFraction);
  const resends = Math.min(options.count - malformed, Math.round(options.count * options.duplicateFraction));
  const kinds: Array<'event' | 'resend' | 'malformed'> = [
    ...Array<'malformed'>(malformed).fill('malformed'),
    ...Array<'resend'>(resends).fill('resend'),
    ...Array<'event'>(options.count - malformed - resends).fill('event'),
  ];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
  }
  const firstEvent = kinds.indexOf('event');
  const firstResend = kinds.indexOf('resend');
  if (firstResend >= 0 && (firstEvent < 0 || firstResend < firstEvent)) {
    if (firstEvent >= 0) [kinds[firstResend], kinds[firstEvent]] = [kinds[firstEvent], kinds[firstResend]];
    else kinds[firstResend] = 'event';
  }
  return kinds;
}

/** Generates the records lazily, in plan order. */
export function* segmentEvents(options: SegmentEventOptions): Generator<GeneratedRecord> {
  const random = seededRandom(options.seed ?? 1);
  const users = options.users ?? 500;
  const sent: GeneratedRecord[] = [];
  let malformedIndex = 0;
  let eventIndex = 0;
  const runId = Math.floor(random() * 0xffffffff).toString(16).padStart(8, '0');
  for (const kind of planKinds(options)) {
    if (kind === 'resend' && sent.length > 0) {
      // A producer retry: usually of a recent event.
      const back = Math.min(sent.length, 1 + Math.floor(random() * Math.min(sent.length, 100)));
      const original = sent[sent.length - back];
      yield { partitionKey: original.partitionKey, data: original.data, origin: { kind: 'resend', messageId: (original.origin as { messageId: string }).messageId } };
      continue;
    }
    if (kind === 'malformed') {
      const reason = MALFORMED_KINDS[malformedIndex % MALFORMED_KINDS.length];
      yield { ...malformedRecord(reason, `bad-${runId}-${malformedIndex}`, options.tooLargeBytes ?? 65536), origin: { kind: 'malformed', reason } };
      malformedIndex++;
      continue;
    }
    const n = eventIndex++;
    const userId = `user-${Math.floor(random() * users)}`;
    const type = EVENT_TYPES[Math.floor(random() * EVENT_TYPES.length)];
    const messageId = `msg-${runId}-${n}`;
    const event = {
      messageId,
      type,
      userId,
      timestamp: new Date(options.clock()).toISOString(),
      ...(type === 'track' ? { event: EVENT_NAMES[Math.floor(random() * EVENT_NAMES.length)] } : {}),
      properties: { sequence: n, value: Math.round(random() * 10000) / 100, currency: 'USD' },
    };
    const record: GeneratedRecord = { partitionKey: userId, data: Buffer.from(JSON.stringify(event), 'utf8'), origin: { kind: 'event', messageId } };
    sent.push(record);
    yield record;
  }
}

/** One malformed record of the given reason, made unique by `tag`. */
export function malformedRecord(reason: RejectReason, tag: string, tooLargeBytes = 65536): OutgoingRecord {
  const pk = tag;
  switch (reason) {
    case 'invalid_json':
      return { partitionKey: pk, data: Buffer.from(`{"messageId":"${tag}","type":"track",`, 'utf8') };
    case 'invalid_utf8':
      return { partitionKey: pk, data: Buffer.concat([Buffer.from(`{"messageId":"${tag}","note":"`, 'utf8'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]) };
    case 'not_object':
      return { partitionKey: pk, data: Buffer.from(JSON.stringify([tag, 'not', 'an', 'object']), 'utf8') };
    case 'missing_dedup_key':
      return { partitionKey: pk, data: Buffer.from(JSON.stringify({ type: 'track', userId: tag, properties: {} }), 'utf8') };
    case 'invalid_dedup_key':
      return { partitionKey: pk, data: Buffer.from(JSON.stringify({ messageId: { id: tag }, type: 'track' }), 'utf8') };
    case 'too_large': {
      const head = JSON.stringify({ messageId: tag, type: 'track', properties: { padding: '' } });
      const padding = 'x'.repeat(Math.max(0, tooLargeBytes - head.length));
      return { partitionKey: pk, data: Buffer.from(JSON.stringify({ messageId: tag, type: 'track', properties: { padding } }), 'utf8') };
    }
    case 'implausible_event_time':
      return { partitionKey: pk, data: Buffer.from(JSON.stringify({ messageId: tag, type: 'track', timestamp: '1970-01-01T00:00:00Z' }), 'utf8') };
    case 'ingestion_skipped':
      // Larger than streaming ingestion takes (1,024,000 bytes), within Kinesis' default 1 MiB record limit.
      return { partitionKey: pk, data: Buffer.alloc(1_024_001, 0x20) };
  }
}
