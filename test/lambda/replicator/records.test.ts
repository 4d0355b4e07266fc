import { parseStreamArn, toShardBatches } from '../../../lambda/replicator/records';
import { kinesisEvent, kinesisRecord } from '../../helpers/kinesis-events';

describe('parseStreamArn', () => {
  test.each([
    { arn: 'arn:aws:kinesis:us-east-1:123456789012:stream/redstream-dev-events', parsed: { region: 'us-east-1', streamName: 'redstream-dev-events' } },
    {
      arn: 'arn:aws:kinesis:eu-west-1:123456789012:stream/s.1/consumer/replicator:1700000000',
      parsed: { region: 'eu-west-1', streamName: 's.1' },
    },
    { arn: 'arn:aws-cn:kinesis:cn-north-1:123456789012:stream/s', parsed: { region: 'cn-north-1', streamName: 's' } },
    { arn: 'arn:aws:sqs:us-east-1:123456789012:queue', parsed: undefined },
    { arn: '', parsed: undefined },
  ])('$arn', ({ arn, parsed }) => {
    expect(parseStreamArn(arn)).toEqual(parsed);
  });
});

describe('toShardBatches', () => {
  test('decodes records in order with request sizes and millisecond arrival times', () => {
    const [batch] = toShardBatches(kinesisEvent([{ partitionKey: 'ké', data: 'abc', arrivalMs: 1_700_000_000_123 }, { partitionKey: 'b' }]).Records);
    expect(batch.streamName).toBe('redstream-test-events');
    expect(batch.sourceRegion).toBe('us-east-1');
    expect(batch.shardId).toBe('shardId-000000000000');
    expect(batch.records[0]).toMatchObject({ index: 0, partitionKey: 'ké', requestBytes: 3 + 3, arrivalMs: 1_700_000_000_123 });
    expect(Buffer.from(batch.records[0].data).toString()).toBe('abc');
    expect(batch.records[1].index).toBe(1);
    expect(batch.records[1].sequence).toBe(BigInt(batch.records[1].sequenceNumber));
  });

  test('groups by stream and shard, keeping order inside each', () => {
    const records = [
      kinesisRecord({ partitionKey: 'a' }, 0, { shardId: 'shardId-000000000001' }),
      kinesisRecord({ partitionKey: 'b' }, 1, { shardId: 'shardId-000000000002' }),
      kinesisRecord({ partitionKey: 'c' }, 2, { shardId: 'shardId-000000000001' }),
    ];
    const batches = toShardBatches(records);
    expect(batches.map((b) => [b.shardId, b.records.map((r) => r.partitionKey)])).toEqual([
      ['shardId-000000000001', ['a', 'c']],
      ['shardId-000000000002', ['b']],
    ]);
  });

  test.each([
    { name: 'bad ARN', patch: { eventSourceARN: 'arn:aws:sqs:x' }, message: /is not a Kinesis stream ARN/ },
    { name: 'bad event id', patch: { eventID: 'nope' }, message: /eventID is not/ },
  ])('rejects a record with a $name', ({ patch, message }) => {
    expect(() => toShardBatches([{ ...kinesisRecord({ partitionKey: 'a' }, 0), ...patch }])).toThrow(message);
  });

  test('rejects a record without a sequence number', () => {
    const r = kinesisRecord({ partitionKey: 'a' }, 0);
    expect(() => toShardBatches([{ ...r, kinesis: { ...r.kinesis, sequenceNumber: 'x' } }])).toThrow(/sequenceNumber "x" is not a decimal integer/);
  });
});
