import type { FirehoseTransformationEvent } from 'aws-lambda';
import { parseArchiveLine, parseArchiveText, recordBytes, toArchiveLine } from '../../lambda/archive/format';
import { handler } from '../../lambda/archive-transform/index';
import { LAMBDA_SYNC_PAYLOAD_BYTES, largestArchivableRecordBytes, parseStreamArn, transformFirehoseEvent } from '../../lambda/archive-transform/transform';
import { firehoseEvent, firehoseRecord, json } from './factories';

const decodeLine = (data: string | undefined): string => Buffer.from(data ?? '', 'base64').toString('utf8');

describe('archive transformation (Firehose-shaped events)', () => {
  test.each([
    ['valid JSON', json({ messageId: 'm-1', userId: 'u-1', type: 'track' })],
    ['malformed JSON', Buffer.from('{"messageId": "m-2", "userId": ', 'utf8')],
    ['binary, invalid UTF-8', Uint8Array.from([0xff, 0xfe, 0x00, 0x80, 0x0a, 0x0d, 0x22, 0x5c])],
    ['empty record', new Uint8Array()],
    ['JSON with a newline inside a string', Buffer.from('{"messageId":"m-3","text":"a\\nb","raw":"\n"}', 'utf8')],
  ])('%s: one line per record, exact bytes, metadata kept', async (_name, bytes) => {
    const event = firehoseEvent([firehoseRecord(1, bytes, { partitionKey: 'user-42', shardId: 'shardId-000000000003', arrivalMs: 1_796_195_700_123 })]);
    const out = await handler(event, { functionName: 'f' } as never);
    expect(out.records).toHaveLength(1);
    expect(out.records[0]).toMatchObject({ recordId: event.records[0].recordId, result: 'Ok' });
    const text = decodeLine(out.records[0].data);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.slice(0, -1)).not.toContain('\n'); // exactly one line, whatever the bytes
    const line = parseArchiveLine(text.slice(0, -1));
    expect(line).toEqual({
      stream: 'redstream-dev-events',
      region: 'us-east-1',
      shardId: 'shardId-000000000003',
      sequenceNumber: event.records[0].kinesisRecordMetadata!.sequenceNumber,
      subsequenceNumber: 0,
      partitionKey: 'user-42',
      approximateArrivalTimestampMs: 1_796_195_700_123, // the stream's arrival time, not Firehose's
      data: Buffer.from(bytes).toString('base64'),
    });
    expect(Buffer.compare(recordBytes(line), Buffer.from(bytes))).toBe(0);
    expect(JSON.parse(text)).toMatchObject({ v: 1, approximateArrivalTimestamp: '2026-12-02T07:15:00.123Z' });
  });

  test('many records: one Ok response per record id, in order; the concatenation is valid NDJSON', () => {
    const records = Array.from({ length: 2000 }, (_, i) => firehoseRecord(i, i % 10 === 0 ? Uint8Array.from([i % 256, 0xff]) : json({ messageId: `m-${i}`, n: i })));
    const out = transformFirehoseEvent(firehoseEvent(records));
    expect(out.archived).toBe(2000);
    expect(out.result.records.map((r) => r.recordId)).toEqual(records.map((r) => r.recordId));
    expect(out.result.records.every((r) => r.result === 'Ok')).toBe(true);
    // Firehose concatenates the transformed records into the object: the result must parse line by line.
    const object = out.result.records.map((r) => decodeLine(r.data)).join('');
    const parsed = parseArchiveText(object);
    expect(parsed.map((r) => r.data)).toEqual(records.map((r) => r.data));
    expect(parsed.map((r) => r.partitionKey)).toEqual(records.map((r) => r.kinesisRecordMetadata!.partitionKey));
  });

  test('the largest record a stream accepts by default (1 MiB) is archived; its response entry is 16/9 of the raw size plus metadata', () => {
    const big = Buffer.alloc(1024 * 1024, 0x61);
    const out = transformFirehoseEvent(firehoseEvent([firehoseRecord(1, big)]));
    expect(out.result.records[0].result).toBe('Ok');
    expect(recordBytes(parseArchiveLine(decodeLine(out.result.records[0].data).trimEnd())).equals(big)).toBe(true);
    expect(out.responseDataBytes).toBeLessThan(Math.ceil((big.length * 16) / 9) + 2000);
  });

  test('a record whose line cannot fit the 6 MB response is ProcessingFailed (Firehose keeps its bytes under the error prefix); the others are archived', () => {
    const limit = largestArchivableRecordBytes();
    expect(limit).toBeGreaterThan(3 * 1024 * 1024); // records up to ~3.3 MiB fit on their own
    expect(limit).toBeLessThan(3.5 * 1024 * 1024);
    const ok = firehoseRecord(1, Buffer.alloc(limit, 0x62), { partitionKey: 'p'.repeat(256) });
    const tooBig = firehoseRecord(2, Buffer.alloc(limit + 64 * 1024, 0x63));
    const alone = transformFirehoseEvent(firehoseEvent([ok]));
    expect(alone.result.records[0].result).toBe('Ok');
    expect(Buffer.byteLength(JSON.stringify(alone.result))).toBeLessThanOrEqual(LAMBDA_SYNC_PAYLOAD_BYTES);
    const out = transformFirehoseEvent(firehoseEvent([tooBig, firehoseRecord(3, json({ messageId: 'small' }))]));
    expect(out.result.records.map((r) => r.result)).toEqual(['ProcessingFailed', 'Ok']);
    expect(out.failures).toEqual({ response_budget: 1 });
  });

  test('a batch that would overflow the response budget fails only the records beyond it, and the response fits', () => {
    const records = Array.from({ length: 5 }, (_, i) => firehoseRecord(i, Buffer.alloc(1024 * 1024, 0x41 + i)));
    const out = transformFirehoseEvent(firehoseEvent(records));
    expect(out.result.records.map((r) => r.result)).toEqual(['Ok', 'Ok', 'Ok', 'ProcessingFailed', 'ProcessingFailed']);
    expect(Buffer.byteLength(JSON.stringify(out.result))).toBeLessThanOrEqual(LAMBDA_SYNC_PAYLOAD_BYTES);
  });

  test('records without kinesisRecordMetadata or with non-base64 data are ProcessingFailed, never dropped', () => {
    const noMeta = { ...firehoseRecord(1, json({})), kinesisRecordMetadata: undefined };
    const badData = { ...firehoseRecord(2, json({})), data: 'not base64!' };
    const out = transformFirehoseEvent(firehoseEvent([noMeta, badData]));
    expect(out.result.records.map((r) => r.result)).toEqual(['ProcessingFailed', 'ProcessingFailed']);
    expect(out.failures).toEqual({ no_kinesis_metadata: 1, data_not_base64: 1 });
  });

  test('an event without a Kinesis source is refused', () => {
    const event: FirehoseTransformationEvent = { ...firehoseEvent([]), sourceKinesisStreamArn: undefined };
    expect(() => transformFirehoseEvent(event)).toThrow(/sourceKinesisStreamArn/);
  });

  test.each([
    ['arn:aws:kinesis:eu-west-1:123456789012:stream/a.b_c-d', { region: 'eu-west-1', stream: 'a.b_c-d' }],
    ['arn:aws-cn:kinesis:cn-north-1:123456789012:stream/x', { region: 'cn-north-1', stream: 'x' }],
  ])('parses %s', (arn, expected) => {
    expect(parseStreamArn(arn)).toEqual(expected);
  });

  test('archive lines round-trip', () => {
    const r = { stream: 's', region: 'us-east-1', shardId: 'shardId-1', sequenceNumber: '123', subsequenceNumber: 2, partitionKey: 'k', approximateArrivalTimestampMs: 5, data: 'AAE=' };
    expect(parseArchiveLine(toArchiveLine(r).trimEnd())).toEqual(r);
    expect(() => parseArchiveText('{"v":2}\n', 'x')).toThrow(/x line 1: unsupported archive format version 2/);
    expect(() => parseArchiveLine(JSON.stringify({ ...JSON.parse(toArchiveLine(r)), sequenceNumber: '1e3' }))).toThrow(/sequenceNumber/);
  });
});
