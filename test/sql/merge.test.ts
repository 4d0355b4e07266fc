/**
 * The portable merge, run for real in embedded Postgres (PGlite) with the MV stood in by a table of the same columns.
 * Each test gets a fresh schema in one shared PGlite instance (started once per file).
 */
import { PGlite } from '@electric-sql/pglite';
import { MvRecord, PostgresWarehouse, setupPostgresWarehouse } from '../../lib/sql/postgres';
import { REJECT_REASONS, renderSql, STREAMING_INGESTION_MAX_RECORD_BYTES } from '../../lib/sql/render';
import { seededRandom } from '../../lambda/shared/seeded-random';

const SHARD_A = 'shardId-000000000000';
const SHARD_B = 'shardId-000000000001';
const BASE = Date.parse('2026-11-20T00:00:00Z');

let db: PGlite;
let schemaCounter = 0;

beforeAll(async () => {
  db = new PGlite();
  await db.waitReady;
});

afterAll(async () => {
  await db.close();
});

async function freshWarehouse(
  extra: { dedupWindowDays?: number; maxRecordBytes?: number; streams?: string[]; refreshMarginMinutes?: number; eventTimeMaxPastDays?: number; eventTimeMaxFutureHours?: number } = {},
): Promise<PostgresWarehouse> {
  schemaCounter += 1;
  return setupPostgresWarehouse(db, {
    schema: `wh${schemaCounter}`,
    region: 'us-east-1',
    streams: (extra.streams ?? ['events']).map((name) => ({ name, physicalName: `redstream-test-${name}` })),
    dedupWindowDays: extra.dedupWindowDays,
    maxRecordBytes: extra.maxRecordBytes,
    refreshMarginMinutes: extra.refreshMarginMinutes,
    eventTimeMaxPastDays: extra.eventTimeMaxPastDays,
    eventTimeMaxFutureHours: extra.eventTimeMaxFutureHours,
  });
}

/** Kinesis-like sequence numbers: 56 digits, increasing per shard. */
function seq(n: number): string {
  return (10n ** 55n + BigInt(n)).toString();
}

interface EventOptions {
  shard?: string;
  seqNo?: number;
  arrivalOffsetMs?: number;
  eventTime?: string;
  extra?: Record<string, unknown>;
  partitionKey?: string;
  refreshTime?: Date;
}

function eventRecord(id: string | undefined, o: EventOptions = {}): MvRecord {
  const body: Record<string, unknown> = { type: 'track', userId: `user-${id}`, ...(o.eventTime ? { timestamp: o.eventTime } : {}), ...o.extra };
  if (id !== undefined) body.messageId = id;
  return rawRecord(Buffer.from(JSON.stringify(body)), o);
}

function rawRecord(data: Uint8Array, o: EventOptions = {}): MvRecord {
  return {
    shardId: o.shard ?? SHARD_A,
    sequenceNumber: seq(o.seqNo ?? 0),
    partitionKey: o.partitionKey ?? 'pk',
    approximateArrivalTimestamp: new Date(BASE + (o.arrivalOffsetMs ?? o.seqNo ?? 0)),
    data,
    ...(o.refreshTime ? { refreshTime: o.refreshTime } : {}),
  };
}

async function events(wh: PostgresWarehouse): Promise<Array<{ event_id: string; shard_id: string; sequence_number: string; payload: Record<string, unknown>; event_time: Date; stream_name: string }>> {
  return (await db.query<{ event_id: string; shard_id: string; sequence_number: string; payload: Record<string, unknown>; event_time: Date; stream_name: string }>(
    `SELECT event_id, shard_id, sequence_number, payload, event_time, stream_name FROM ${wh.schema}.events ORDER BY stream_name, event_id`,
  )).rows;
}

interface RejectRow {
  sequence_number: string;
  shard_id: string;
  last_shard_id: string;
  last_sequence_number: string;
  partition_key: string;
  reason: string;
  raw: Uint8Array | null;
  payload: unknown;
  raw_bytes: number;
  copies: string;
  error: string | null;
}

async function rejects(wh: PostgresWarehouse): Promise<RejectRow[]> {
  return (await db.query<RejectRow>(
    `SELECT sequence_number, shard_id, last_shard_id, last_sequence_number, partition_key, reason, raw, payload, raw_bytes, copies, error
     FROM ${wh.schema}.rejects ORDER BY sequence_number, partition_key`,
  )).rows;
}

async function expectOneRowPerId(wh: PostgresWarehouse): Promise<void> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT COUNT(*)::int AS n FROM (SELECT stream_name, event_id FROM ${wh.schema}.events GROUP BY 1, 2 HAVING COUNT(*) > 1) d`,
  );
  expect(rows[0]?.n).toBe(0);
}

describe('merge: deduplication', () => {
  test('duplicates within one batch: one row, the first arrival wins even when it sits on another shard', async () => {
    const wh = await freshWarehouse();
    await wh.append('events', [
      eventRecord('a', { shard: SHARD_A, seqNo: 1, arrivalOffsetMs: 500, extra: { v: 'late copy' } }),
      eventRecord('a', { shard: SHARD_B, seqNo: 1, arrivalOffsetMs: 100, extra: { v: 'first' } }),
      eventRecord('a', { shard: SHARD_A, seqNo: 2, arrivalOffsetMs: 900, extra: { v: 'later copy' } }),
      eventRecord('b', { shard: SHARD_A, seqNo: 3 }),
    ]);

    const run = await wh.merge();

    expect(run).toMatchObject({ newRows: 4, inserted: 2, duplicates: 2, rejected: 0 });
    const rows = await events(wh);
    expect(rows.map((r) => r.event_id)).toEqual(['a', 'b']);
    expect(rows[0]?.payload.v).toBe('first');
    expect(rows[0]?.shard_id).toBe(SHARD_B);
  });

  test('duplicates across batches, with different payloads: the first merged row stays untouched', async () => {
    const wh = await freshWarehouse();
    await wh.append('events', [eventRecord('a', { seqNo: 1, extra: { v: 1 } })]);
    await wh.merge();
    await wh.append('events', [eventRecord('a', { seqNo: 2, extra: { v: 2 } }), eventRecord('c', { seqNo: 3 })]);

    const run = await wh.merge();

    expect(run).toMatchObject({ newRows: 2, inserted: 1, duplicates: 1, rejected: 0 });
    const rows = await events(wh);
    expect(rows.map((r) => [r.event_id, r.payload.v])).toEqual([['a', 1], ['c', undefined]]);
  });

  test('a failover replay (same ids, new sequence numbers, another shard, later arrival) adds nothing', async () => {
    const wh = await freshWarehouse();
    const ids = Array.from({ length: 20 }, (_, i) => `evt-${i}`);
    await wh.append('events', ids.map((id, i) => eventRecord(id, { shard: SHARD_A, seqNo: i + 1, eventTime: '2026-11-19T12:00:00Z' })));
    await wh.merge();
    // Producers re-send from the resume timestamp into the new active Region: they land on another shard.
    await wh.append('events', [
      ...ids.slice(10).map((id, i) => eventRecord(id, { shard: SHARD_B, seqNo: 1000 + i, arrivalOffsetMs: 3_600_000 + i, eventTime: '2026-11-19T12:00:00Z' })),
      eventRecord('evt-new', { shard: SHARD_B, seqNo: 2000, arrivalOffsetMs: 3_700_000 }),
    ]);

    const run = await wh.merge();

    expect(run).toMatchObject({ newRows: 11, inserted: 1, duplicates: 10, rejected: 0 });
    expect((await events(wh)).length).toBe(21);
    await expectOneRowPerId(wh);
  });

  test('the same id in two streams is two events (dedup is per stream)', async () => {
    const wh = await freshWarehouse({ streams: ['events', 'telemetry'] });
    await wh.append('events', [eventRecord('a', { seqNo: 1 })]);
    await wh.append('telemetry', [eventRecord('a', { seqNo: 1 })]);

    await wh.merge();

    expect((await events(wh)).map((r) => `${r.stream_name}/${r.event_id}`)).toEqual(['events/a', 'telemetry/a']);
  });

  test.each([
    ['a replay of an old event (event time 30 days back, outside the window from now) is still deduplicated', '2026-10-21T00:00:00Z', '2026-10-21T00:00:00Z', 1],
    ['a copy whose event time differs by 6 days (inside the 7-day window) is a duplicate', '2026-11-10T00:00:00Z', '2026-11-16T00:00:00Z', 1],
    ['a copy whose event time differs by 8 days (outside the window) is kept: the documented limit of the window', '2026-11-01T00:00:00Z', '2026-11-09T00:00:00Z', 2],
  ])('late events: %s', async (_name, firstTime, secondTime, expectedRows) => {
    const wh = await freshWarehouse({ dedupWindowDays: 7 });
    await wh.append('events', [eventRecord('late', { seqNo: 1, eventTime: firstTime })]);
    await wh.merge();
    await wh.append('events', [eventRecord('late', { seqNo: 2, eventTime: secondTime, arrivalOffsetMs: 40 * 86_400_000 })]);

    await wh.merge();

    expect((await events(wh)).length).toBe(expectedRows);
  });

  test('a late new event (event time 300 days before arrival, inside the plausibility window) is merged, not lost', async () => {
    const wh = await freshWarehouse();
    await wh.append('events', [eventRecord('old', { seqNo: 1, eventTime: '2026-01-24T00:00:00Z' })]);

    await wh.merge();

    const rows = await events(wh);
    expect(rows.map((r) => [r.event_id, r.event_time.toISOString()])).toEqual([['old', '2026-01-24T00:00:00.000Z']]);
  });

  test.each([
    ['two years before arrival', '2024-11-20T00:00:00Z', 'implausible_event_time'],
    ['366 days before arrival', '2025-11-19T00:00:00Z', 'implausible_event_time'],
    ['25 hours after arrival', '2026-11-21T01:00:01Z', 'implausible_event_time'],
    ['23 hours after arrival (a fast client clock)', '2026-11-20T23:00:00Z', undefined],
    ['364 days before arrival', '2025-11-21T00:00:00Z', undefined],
  ])('an event time %s: %s', async (_name, eventTime, reason) => {
    const wh = await freshWarehouse(); // defaults: 365 days back, 24 hours ahead

    await wh.append('events', [eventRecord('t', { seqNo: 1, eventTime })]);
    const run = await wh.merge();

    if (reason) {
      expect(run).toMatchObject({ inserted: 0, rejected: 1 });
      const [r] = await rejects(wh);
      expect(r?.reason).toBe(reason);
      expect(r?.raw).toBeNull(); // it parsed: the payload is kept instead of the bytes
      expect((r?.payload as { timestamp?: string }).timestamp).toBe(eventTime);
    } else {
      expect(run).toMatchObject({ inserted: 1, rejected: 0 });
    }
  });

  test('one implausible event time cannot stretch the dedup lookup: it is rejected before the window bounds are taken', async () => {
    const wh = await freshWarehouse({ eventTimeMaxPastDays: 30, eventTimeMaxFutureHours: 1 });
    await wh.append('events', [
      eventRecord('fine', { seqNo: 1, eventTime: '2026-11-19T00:00:00Z' }),
      eventRecord('epoch', { seqNo: 2, eventTime: '1970-01-01T00:00:00Z' }),
      eventRecord('future', { seqNo: 3, eventTime: '2099-01-01T00:00:00Z' }),
    ]);

    const run = await wh.merge();

    expect(run).toMatchObject({ newRows: 3, inserted: 1, rejected: 2 });
    expect((await rejects(wh)).map((r) => r.reason)).toEqual(['implausible_event_time', 'implausible_event_time']);
    const { rows } = await db.query<{ lo: Date; hi: Date }>(`SELECT MIN(event_time) AS lo, MAX(event_time) AS hi FROM ${wh.schema}.events`);
    expect([rows[0]?.lo.toISOString(), rows[0]?.hi.toISOString()]).toEqual(['2026-11-19T00:00:00.000Z', '2026-11-19T00:00:00.000Z']);
  });
});

describe('merge: event fields', () => {
  test.each([
    ['an ISO time with Z', '2026-11-19T08:30:00Z', '2026-11-19T08:30:00.000Z'],
    ['an ISO time with an offset', '2026-11-19T10:30:00+02:00', '2026-11-19T08:30:00.000Z'],
    ['an ISO time without offset (UTC)', '2026-11-19T08:30:00', '2026-11-19T08:30:00.000Z'],
    ['an impossible date (falls back to arrival)', '2026-02-30T00:00:00Z', new Date(BASE + 1).toISOString()],
    ['a word Postgres would accept ("now"; falls back to arrival)', 'now', new Date(BASE + 1).toISOString()],
  ])('event_time from %s', async (_name, timestamp, expected) => {
    const wh = await freshWarehouse();
    await wh.append('events', [eventRecord('t', { seqNo: 1, eventTime: timestamp })]);

    await wh.merge();

    expect((await events(wh))[0]?.event_time.toISOString()).toBe(expected);
  });

  test('numeric dedup keys are accepted as their decimal text', async () => {
    const wh = await freshWarehouse();
    await wh.append('events', [rawRecord(Buffer.from('{"messageId": 42}'), { seqNo: 1 }), rawRecord(Buffer.from('{"messageId": 42, "x": 1}'), { seqNo: 2 })]);

    await wh.merge();

    expect((await events(wh)).map((r) => r.event_id)).toEqual(['42']);
  });

  test('a nested dedup key path (context.eventId) is followed', async () => {
    schemaCounter += 1;
    const wh = await setupPostgresWarehouse(db, {
      schema: `wh${schemaCounter}`,
      region: 'us-east-1',
      streams: [{ name: 'events', physicalName: 'redstream-test-events' }],
      dedupKeyPath: 'context.eventId',
    });
    await wh.append('events', [
      rawRecord(Buffer.from('{"context": {"eventId": "n-1"}}'), { seqNo: 1 }),
      rawRecord(Buffer.from('{"context": {"eventId": "n-1"}, "messageId": "other"}'), { seqNo: 2 }),
      rawRecord(Buffer.from('{"messageId": "m-1"}'), { seqNo: 3 }),
    ]);

    await wh.merge();

    expect((await events(wh)).map((r) => r.event_id)).toEqual(['n-1']);
    expect((await rejects(wh)).map((r) => r.reason)).toEqual(['missing_dedup_key']);
  });
});

describe('merge: rejects', () => {
  const cases: Array<[string, () => Uint8Array, (typeof REJECT_REASONS)[number]]> = [
    ['bytes that are not UTF-8', () => Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]), 'invalid_utf8'],
    ['a record over maxRecordBytes', () => Buffer.from(JSON.stringify({ messageId: 'big', pad: 'x'.repeat(70_000) })), 'too_large'],
    ['text that is not JSON', () => Buffer.from('hello, world'), 'invalid_json'],
    ['truncated JSON', () => Buffer.from('{"messageId": "a"'), 'invalid_json'],
    ['a JSON array', () => Buffer.from('[{"messageId": "a"}]'), 'not_object'],
    ['a JSON string', () => Buffer.from('"a"'), 'not_object'],
    ['a JSON null', () => Buffer.from('null'), 'not_object'],
    ['an object without the key', () => Buffer.from('{"type": "track"}'), 'missing_dedup_key'],
    ['a null key', () => Buffer.from('{"messageId": null}'), 'missing_dedup_key'],
    ['an empty key', () => Buffer.from('{"messageId": ""}'), 'missing_dedup_key'],
    ['a blank key', () => Buffer.from('{"messageId": "   "}'), 'missing_dedup_key'],
    ['an object key', () => Buffer.from('{"messageId": {"id": 1}}'), 'invalid_dedup_key'],
    ['a boolean key', () => Buffer.from('{"messageId": true}'), 'invalid_dedup_key'],
    ['a key over 256 characters', () => Buffer.from(JSON.stringify({ messageId: 'k'.repeat(257) })), 'invalid_dedup_key'],
  ];

  /** The reasons of records that did not parse: the MV, and so the reject, keeps their bytes; the others keep the payload. */
  const UNPARSED = new Set(['invalid_utf8', 'too_large', 'invalid_json']);

  test.each(cases)('%s is rejected with its position, reason, and its bytes (unparsed) or payload (parsed)', async (_name, make, reason) => {
    const wh = await freshWarehouse();
    const data = make();
    await wh.append('events', [rawRecord(data, { seqNo: 7 }), eventRecord('good', { seqNo: 8 })]);

    const run = await wh.merge();

    expect(run).toMatchObject({ newRows: 2, inserted: 1, duplicates: 0, rejected: 1 });
    const [reject] = await rejects(wh);
    expect(reject?.reason).toBe(reason);
    expect(reject?.sequence_number).toBe(seq(7));
    expect(reject?.raw_bytes).toBe(data.length);
    expect(Number(reject?.copies)).toBe(1);
    if (UNPARSED.has(reason)) {
      expect(Buffer.from(reject?.raw ?? []).equals(Buffer.from(data))).toBe(true);
      expect(reject?.payload).toBeNull();
    } else {
      expect(reject?.raw).toBeNull();
      expect(reject?.payload).toEqual(JSON.parse(Buffer.from(data).toString('utf8')));
    }
    expect((await events(wh)).map((r) => r.event_id)).toEqual(['good']);
  });

  test('every reason the SQL knows is covered by a test in this file', () => {
    const elsewhere = ['implausible_event_time', 'ingestion_skipped']; // event fields and streaming-ingestion tests
    expect(new Set([...cases.map((c) => c[2]), ...elsewhere])).toEqual(new Set(REJECT_REASONS));
  });

  test('the stand-in MV keeps the bytes only of records that did not parse, as the Redshift MV does', async () => {
    const wh = await freshWarehouse();
    await wh.append('events', [eventRecord('a', { seqNo: 1 }), rawRecord(Buffer.from('not json'), { seqNo: 2 })]);

    const { rows } = await db.query<{ raw: Uint8Array | null; parsed: boolean }>(
      `SELECT raw, payload IS NOT NULL AS parsed FROM ${wh.mvTable('events')} ORDER BY sequence_number`,
    );

    expect(rows.map((r) => [r.raw === null, r.parsed])).toEqual([[true, true], [false, false]]);
  });
});

describe('merge: one reject per distinct bad record', () => {
  test('copies of one bad record (retries, a failover replay on another shard, a later merge) are one row with their count and first and last position', async () => {
    const wh = await freshWarehouse();
    const bad = Buffer.from('{"messageId": "a"');
    await wh.append('events', [rawRecord(bad, { shard: SHARD_A, seqNo: 1 }), rawRecord(bad, { shard: SHARD_A, seqNo: 2 })]);
    await wh.merge();
    await wh.append('events', [rawRecord(bad, { shard: SHARD_B, seqNo: 9, arrivalOffsetMs: 60_000 })]);

    const run = await wh.merge();

    expect(run).toMatchObject({ newRows: 1, rejected: 1 });
    const rows = await rejects(wh);
    expect(rows.map((r) => [r.reason, Number(r.copies), r.shard_id, r.sequence_number, r.last_shard_id, r.last_sequence_number])).toEqual([
      ['invalid_json', 3, SHARD_A, seq(1), SHARD_B, seq(9)],
    ]);
  });

  test('parsed bad records (no dedup key) are identified by their payload; other bytes or another partition key are another record', async () => {
    const wh = await freshWarehouse();
    const noKey = Buffer.from('{"type":"no id"}');
    await wh.append('events', [
      rawRecord(noKey, { seqNo: 1 }),
      rawRecord(noKey, { seqNo: 2 }),
      rawRecord(noKey, { seqNo: 3, partitionKey: 'other-pk' }),
      rawRecord(Buffer.from('{"type":"no id either"}'), { seqNo: 4 }),
    ]);

    await wh.merge();
    await wh.append('events', [rawRecord(noKey, { seqNo: 5 })]);
    await wh.merge();

    const rows = await rejects(wh);
    expect(rows.map((r) => [r.partition_key, (r.payload as { type: string }).type, Number(r.copies)])).toEqual([
      ['pk', 'no id', 3],
      ['other-pk', 'no id', 1],
      ['pk', 'no id either', 1],
    ]);
  });
});

describe('merge: records streaming ingestion skipped', () => {
  test('a record larger than streaming ingestion takes is skipped by ingestion and becomes one ingestion_skipped reject with its position and error', async () => {
    const wh = await freshWarehouse();
    const huge = Buffer.alloc(STREAMING_INGESTION_MAX_RECORD_BYTES + 1, 0x61);
    await wh.append('events', [eventRecord('before', { seqNo: 1 }), rawRecord(huge, { seqNo: 2 }), eventRecord('after', { seqNo: 3 })]);

    const run = await wh.merge();

    expect(run).toMatchObject({ newRows: 2, inserted: 2, rejected: 0, skipped: 1, skippedReported: 1 });
    const rows = await rejects(wh);
    expect(rows.map((r) => [r.reason, r.shard_id, r.sequence_number, Number(r.copies), r.raw])).toEqual([['ingestion_skipped', SHARD_A, seq(2), 1, null]]);
    expect(rows[0]?.error).toContain(`exceeds the ${STREAMING_INGESTION_MAX_RECORD_BYTES}`);
    // The MV never held it; the next merge does not reject it again.
    expect(await wh.merge()).toMatchObject({ newRows: 0, skipped: 0, skippedReported: 0 });
    expect((await rejects(wh)).length).toBe(1);
  });

  test('any error streaming ingestion logs becomes a reject, once per position, whatever the MV watermark did', async () => {
    const wh = await freshWarehouse();
    await wh.append('events', [eventRecord('a', { seqNo: 1 }), eventRecord('b', { seqNo: 3 })]);
    await wh.merge(); // the watermark is past sequence 2 now
    const logError = (): Promise<unknown> =>
      db.query(
        `INSERT INTO ${wh.schema}.sys_stream_scan_errors (external_schema_name, stream_name, mv_name, stream_timestamp, partition_id, position, error_code, error_reason)
         VALUES ('redstream_kinesis', 'redstream-test-events', 'stream_events', TIMESTAMP '2026-11-20 00:00:00', $1, $2, 8001, 'Invalid record')`,
        [SHARD_A, seq(2)],
      );
    await logError();
    await logError(); // logged twice (a retried refresh)

    const run = await wh.merge();

    expect(run).toMatchObject({ skipped: 1 });
    expect((await rejects(wh)).map((r) => [r.reason, r.sequence_number, r.error])).toEqual([['ingestion_skipped', seq(2), '8001 Invalid record']]);
  });
});

describe('merge: watermark across a stream recreated under the same name', () => {
  test('records of the new stream (sequence numbers restarting below the watermark, arriving later) are merged, and only once', async () => {
    const wh = await freshWarehouse();
    await wh.append('events', [eventRecord('old-1', { seqNo: 5000 }), eventRecord('old-2', { seqNo: 5001 })]);
    await wh.merge();
    // The stream is deleted and recreated: shardId-000000000000 again, sequence numbers from 1, arriving later.
    await wh.append('events', [eventRecord('new-1', { seqNo: 1, arrivalOffsetMs: 3_600_000 }), eventRecord('new-2', { seqNo: 2, arrivalOffsetMs: 3_600_001 })]);

    const first = await wh.merge();
    await wh.append('events', [eventRecord('new-3', { seqNo: 3, arrivalOffsetMs: 3_600_002 })]);
    const second = await wh.merge();
    const third = await wh.merge();

    expect(first).toMatchObject({ newRows: 2, inserted: 2 });
    expect(second).toMatchObject({ newRows: 1, inserted: 1 });
    expect(third).toMatchObject({ newRows: 0 });
    expect((await events(wh)).map((r) => r.event_id)).toEqual(['new-1', 'new-2', 'new-3', 'old-1', 'old-2']);
  });
});

describe('merge: the read bound on refresh_time', () => {
  test('rows refreshed within the margin before the high-water mark are merged; the bound is the documented limit for older ones', async () => {
    const wh = await freshWarehouse({ refreshMarginMinutes: 10 });
    const t = (minutes: number): Date => new Date(Date.parse('2026-11-20T12:00:00Z') + minutes * 60_000);
    await wh.append('events', [eventRecord('a', { seqNo: 1, refreshTime: t(0) })]);
    await wh.merge(); // high-water mark 12:00, next bound 11:50
    // A refresh that commits late rows with an older refresh_time: 11:55 is inside the margin, 11:40 is not.
    await wh.append('events', [eventRecord('late-inside', { shard: SHARD_B, seqNo: 1, refreshTime: t(-5) })]);
    await wh.append('events', [eventRecord('late-outside', { shard: 'shardId-000000000002', seqNo: 1, refreshTime: t(-20) })]);

    const run = await wh.merge();

    expect(run).toMatchObject({ newRows: 1, inserted: 1 });
    expect((await events(wh)).map((r) => r.event_id)).toEqual(['a', 'late-inside']);
    const { rows } = await db.query<{ refresh_high_water: Date }>(`SELECT refresh_high_water FROM ${wh.schema}.merge_streams`);
    expect(rows.map((r) => r.refresh_high_water.toISOString())).toEqual([t(0).toISOString()]);
  });
});

describe('merge: watermark', () => {
  test('an empty batch changes nothing and is recorded as a run of zero rows', async () => {
    const wh = await freshWarehouse();

    const first = await wh.merge();
    await wh.append('events', [eventRecord('a', { seqNo: 1 })]);
    await wh.merge();
    const again = await wh.merge();

    expect(first).toMatchObject({ newRows: 0, inserted: 0, duplicates: 0, rejected: 0 });
    expect(again).toMatchObject({ newRows: 0, inserted: 0, duplicates: 0, rejected: 0 });
    expect((await events(wh)).length).toBe(1);
  });

  test('sequence numbers compare as numbers, not text: "10" follows "9"', async () => {
    const wh = await freshWarehouse();
    const short = (n: string, id: string): MvRecord => ({ ...eventRecord(id), sequenceNumber: n });
    await wh.append('events', [short('9', 'nine')]);
    await wh.merge();
    await wh.append('events', [short('10', 'ten'), short('100', 'hundred')]);

    const run = await wh.merge();

    expect(run.inserted).toBe(2);
    const { rows } = await db.query<{ last_sequence_number: string }>(`SELECT last_sequence_number FROM ${wh.schema}.merge_state`);
    expect(BigInt(rows[0]?.last_sequence_number ?? '0')).toBe(100n);
  });

  test('a merge reads only rows above each shard watermark (rows already merged are not re-read)', async () => {
    const wh = await freshWarehouse();
    await wh.append('events', [eventRecord('a', { shard: SHARD_A, seqNo: 1 }), eventRecord('b', { shard: SHARD_B, seqNo: 1 })]);
    await wh.merge();
    await wh.append('events', [eventRecord('c', { shard: SHARD_B, seqNo: 2 })]);

    const run = await wh.merge();

    expect(run.newRows).toBe(1);
  });

  test('rows an MV refresh commits while the merge runs are merged by the next run, none lost or doubled', async () => {
    const wh = await freshWarehouse();
    const mv = wh.mvTable('events');
    // Stand-in for a refresh committing mid-merge: as soon as the merge inserts into events, new rows appear in
    // the MV. Under Postgres' READ COMMITTED every later statement of the merge could see them.
    await db.exec(`
      CREATE FUNCTION ${wh.schema}.concurrent_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO ${mv} (approximate_arrival_timestamp, partition_key, shard_id, sequence_number, raw)
        SELECT TIMESTAMP '2026-11-20 01:00:00', 'pk', '${SHARD_A}', '${seq(50)}', convert_to('{"messageId":"during-1"}', 'UTF8')
        UNION ALL
        SELECT TIMESTAMP '2026-11-20 01:00:00', 'pk', '${SHARD_B}', '${seq(50)}', convert_to('not json', 'UTF8');
        RETURN NULL;
      END $$;
      CREATE TRIGGER concurrent_refresh AFTER INSERT ON ${wh.schema}.events
      FOR EACH STATEMENT EXECUTE FUNCTION ${wh.schema}.concurrent_refresh();
    `);
    await wh.append('events', [eventRecord('before-1', { shard: SHARD_A, seqNo: 1 }), eventRecord('before-2', { shard: SHARD_B, seqNo: 1 })]);

    const first = await wh.merge();
    await db.exec(`DROP TRIGGER concurrent_refresh ON ${wh.schema}.events`);
    const second = await wh.merge();

    expect(first).toMatchObject({ newRows: 2, inserted: 2, duplicates: 0, rejected: 0 });
    expect(second).toMatchObject({ newRows: 2, inserted: 1, duplicates: 0, rejected: 1 });
    expect((await events(wh)).map((r) => r.event_id)).toEqual(['before-1', 'before-2', 'during-1']);
    expect((await rejects(wh)).map((r) => r.reason)).toEqual(['invalid_json']);
  });
});

describe('merge: invariants over a seeded random history', () => {

  test.each([1, 2, 3])('seed %i: exactly one row per id, every bad record rejected, nothing else lost', async (seed) => {
    const rnd = seededRandom(seed);
    const wh = await freshWarehouse();
    const shards = [SHARD_A, SHARD_B, 'shardId-000000000002'];
    const nextSeq = new Map<string, number>(shards.map((s) => [s, 1]));
    const goodIds = new Set<string>();
    let bad = 0;
    const badRecords: string[] = [];
    let clock = 0;
    const pending: MvRecord[] = [];
    const emit = (data: Uint8Array): void => {
      const shard = shards[Math.floor(rnd() * shards.length)] ?? SHARD_A;
      const n = nextSeq.get(shard) ?? 1;
      nextSeq.set(shard, n + 1 + Math.floor(rnd() * 1000)); // gaps, as in real shards
      clock += 1 + Math.floor(rnd() * 50);
      pending.push({ ...rawRecord(data), shardId: shard, sequenceNumber: (10n ** 55n + BigInt(n)).toString(), approximateArrivalTimestamp: new Date(BASE + clock) });
    };

    for (let step = 0; step < 30; step++) {
      for (let i = 0; i < 40; i++) {
        const r = rnd();
        if (r < 0.08) {
          const body = rnd() < 0.5 ? 'garbage' : `{"type":"no id","n":${Math.floor(rnd() * 5)}}`;
          emit(Buffer.from(body));
          badRecords.push(body);
          bad += 1;
        } else if (r < 0.4 && goodIds.size > 0) {
          const ids = [...goodIds];
          const id = ids[Math.floor(rnd() * ids.length)] ?? 'x';
          emit(Buffer.from(JSON.stringify({ messageId: id, timestamp: '2026-11-19T00:00:00Z', retry: true })));
        } else {
          const id = `id-${seed}-${step}-${i}`;
          goodIds.add(id);
          emit(Buffer.from(JSON.stringify({ messageId: id, timestamp: '2026-11-19T00:00:00Z' })));
        }
      }
      // Append in random slices; merges interleave with appends.
      while (pending.length > 0) {
        const take = 1 + Math.floor(rnd() * pending.length);
        await wh.append('events', pending.splice(0, take));
        if (rnd() < 0.5) await wh.merge();
      }
    }
    await wh.merge();

    const rows = await events(wh);
    expect(new Set(rows.map((r) => r.event_id))).toEqual(goodIds);
    expect(rows.length).toBe(goodIds.size);
    const rejected = await rejects(wh);
    expect(rejected.length).toBe(new Set(badRecords).size); // one row per distinct bad record ...
    expect(rejected.reduce((n, r) => n + Number(r.copies), 0)).toBe(bad); // ... counting every copy
    const { rows: totals } = await db.query<{ n: string; merged: string }>(
      `SELECT (SELECT COUNT(*) FROM ${wh.mvTable('events')}) AS n, (SELECT SUM(new_rows) FROM ${wh.schema}.merge_runs) AS merged`,
    );
    expect(Number(totals[0]?.merged)).toBe(Number(totals[0]?.n)); // every MV row read exactly once
  });
});

describe('merge: cost follows the new rows, not the table (Postgres plans)', () => {
  /** Index entries read from the events table's indexes, flushed from this session's pending statistics first. */
  async function eventsIndexReads(wh: PostgresWarehouse): Promise<Record<string, number>> {
    await db.query('SELECT pg_stat_force_next_flush()');
    await db.query('SELECT 1');
    const { rows } = await db.query<{ indexrelname: string; idx_tup_read: string }>(
      `SELECT indexrelname, idx_tup_read FROM pg_stat_user_indexes WHERE schemaname = $1 AND relname = 'events'`,
      [wh.schema],
    );
    return Object.fromEntries(rows.map((r) => [r.indexrelname, Number(r.idx_tup_read)]));
  }

  /** The local demo's pattern: empty tables, every event inside the dedup window, 5 % re-sends of recent ids. */
  function demoBatch(round: number, size: number): MvRecord[] {
    return Array.from({ length: size }, (_, i) => {
      const n = round * size + i + 1;
      const id = i % 20 === 3 && n > 10 ? `demo-${n - 5}` : `demo-${n}`;
      return eventRecord(id, { seqNo: n, eventTime: new Date(BASE + n).toISOString() });
    });
  }

  test('the dedup lookup never walks the event_time index, however many events the window holds', async () => {
    // Regression: with no statistics (PGlite has no autovacuum) the planner probed events through events_time_idx,
    // visiting every event in the window for each new row: 1.9 s, 9.4 s, 17.2 s, 25.8 s for 5 000 rows a round.
    const wh = await freshWarehouse();
    for (let round = 0; round < 3; round++) {
      await wh.append('events', demoBatch(round, 1000));
      const before = await eventsIndexReads(wh);
      const run = await wh.merge();
      const after = await eventsIndexReads(wh);

      expect(run.newRows).toBe(1000);
      const timeIndexReads = (after.events_time_idx ?? 0) - (before.events_time_idx ?? 0);
      const dedupIndexReads = (after.events_dedup_idx ?? 0) - (before.events_dedup_idx ?? 0);
      expect(timeIndexReads).toBeLessThan(100); // the planner's own end-of-range probes at most; was ≈ 450 000
      expect(dedupIndexReads).toBeLessThan(2 * run.newRows);
    }
    await expectOneRowPerId(wh);
  });

  test('the merge keeps planner statistics on events and analyzes its batch (no autovacuum in PGlite)', async () => {
    const wh = await freshWarehouse();
    await wh.append('events', demoBatch(0, 500));
    await wh.merge();
    await wh.append('events', demoBatch(1, 500));
    await wh.merge(); // finds events grown since its last statistics (none) and analyzes it first

    const { rows } = await db.query<{ reltuples: number; columns: string[] }>(
      `SELECT c.reltuples::float8 AS reltuples,
              ARRAY(SELECT attname::text FROM pg_stats s WHERE s.schemaname = $1 AND s.tablename = 'events' ORDER BY 1) AS columns
       FROM pg_class c WHERE c.oid = $2::regclass`,
      [wh.schema, `${wh.schema}.events`],
    );
    expect(rows[0]?.reltuples).toBeGreaterThanOrEqual(400);
    expect(rows[0]?.columns).toEqual(['event_id', 'event_time', 'stream_name']);
  });
});

describe('setup', () => {
  test('running every statement again (a re-deploy) succeeds and keeps the data', async () => {
    const wh = await freshWarehouse();
    await wh.append('events', [eventRecord('keep', { seqNo: 1 })]);
    await wh.merge();

    for (const s of renderSql({ schema: wh.schema, region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-test-events' }] }, { dialect: 'postgres' })) {
      await db.exec(s.sql);
    }

    expect((await events(wh)).map((r) => r.event_id)).toEqual(['keep']);
    expect((await wh.merge()).newRows).toBe(0);
  });
});
