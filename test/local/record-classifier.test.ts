import { classifyRecord } from '../../local/record-classifier';

const bytes = (s: string): Uint8Array => Buffer.from(s, 'utf8');

describe('classifyRecord', () => {
  test.each<[string, Uint8Array, ReturnType<typeof classifyRecord>]>([
    ['a Segment event', bytes('{"messageId":"m-1","type":"track"}'), { kind: 'event', id: 'm-1' }],
    ['a numeric id', bytes('{"messageId":42}'), { kind: 'event', id: '42' }],
    ['surrounding whitespace', bytes(' {"messageId":"m"} \n'), { kind: 'event', id: 'm' }],
    ['bytes that are not UTF-8', Uint8Array.from([0x7b, 0xc3, 0x28, 0x7d]), { kind: 'reject', reason: 'invalid_utf8' }],
    ['a NUL byte', bytes('{"messageId":"a\u0000"}'), { kind: 'reject', reason: 'invalid_utf8' }],
    ['too large', bytes(JSON.stringify({ messageId: 'm', pad: 'x'.repeat(70000) })), { kind: 'reject', reason: 'too_large' }],
    ['truncated JSON', bytes('{"messageId":"m",'), { kind: 'reject', reason: 'invalid_json' }],
    ['a \\u0000 escape', bytes('{"messageId":"m","x":"\\u0000"}'), { kind: 'reject', reason: 'invalid_json' }],
    ['an array', bytes('["m"]'), { kind: 'reject', reason: 'not_object' }],
    ['a number', bytes('42'), { kind: 'reject', reason: 'not_object' }],
    ['null', bytes('null'), { kind: 'reject', reason: 'not_object' }],
    ['no id', bytes('{"type":"track"}'), { kind: 'reject', reason: 'missing_dedup_key' }],
    ['a null id', bytes('{"messageId":null}'), { kind: 'reject', reason: 'missing_dedup_key' }],
    ['a blank id', bytes('{"messageId":"   "}'), { kind: 'reject', reason: 'missing_dedup_key' }],
    ['an object id', bytes('{"messageId":{"a":1}}'), { kind: 'reject', reason: 'invalid_dedup_key' }],
    ['a boolean id', bytes('{"messageId":true}'), { kind: 'reject', reason: 'invalid_dedup_key' }],
    ['an id over 256 characters', bytes(JSON.stringify({ messageId: 'é'.repeat(257) })), { kind: 'reject', reason: 'invalid_dedup_key' }],
    ['an id of 256 characters', bytes(JSON.stringify({ messageId: 'é'.repeat(256) })), { kind: 'event', id: 'é'.repeat(256) }],
  ])('%s', (_name, data, expected) => {
    expect(classifyRecord(data)).toEqual(expected);
  });

  test('a record larger than streaming ingestion takes never reaches the MV: ingestion_skipped', () => {
    expect(classifyRecord(new Uint8Array(1_024_001))).toEqual({ kind: 'reject', reason: 'ingestion_skipped' });
  });

  test.each<[string, string, string | undefined]>([
    ['two years before arrival', '2024-11-20T00:00:00Z', 'implausible_event_time'],
    ['25 hours after arrival', '2026-11-21T01:00:01Z', 'implausible_event_time'],
    ['23 hours after arrival', '2026-11-20T23:00:00Z', undefined],
    ['an impossible date (the merge falls back to arrival)', '2024-02-30T00:00:00Z', undefined],
  ])('given the arrival time, an event time %s', (_name, timestamp, reason) => {
    const c = classifyRecord(bytes(JSON.stringify({ messageId: 'm', timestamp })), { arrivalMs: Date.parse('2026-11-20T00:00:00Z') });
    expect(c).toEqual(reason ? { kind: 'reject', reason } : { kind: 'event', id: 'm' });
  });

  test('follows a nested dedup key path', () => {
    expect(classifyRecord(bytes('{"context":{"eventId":"e-1"}}'), { dedupKeyPath: 'context.eventId' })).toEqual({ kind: 'event', id: 'e-1' });
    expect(classifyRecord(bytes('{"context":"x"}'), { dedupKeyPath: 'context.eventId' })).toEqual({ kind: 'reject', reason: 'missing_dedup_key' });
  });
});
