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

  test('follows a nested dedup key path', () => {
    expect(classifyRecord(bytes('{"context":{"eventId":"e-1"}}'), { dedupKeyPath: 'context.eventId' })).toEqual({ kind: 'event', id: 'e-1' });
    expect(classifyRecord(bytes('{"context":"x"}'), { dedupKeyPath: 'context.eventId' })).toEqual({ kind: 'reject', reason: 'missing_dedup_key' });
  });
});
