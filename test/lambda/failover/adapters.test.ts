/**
 * Adapters that have no local emulator (Lambda, SNS), and what kinesalite cannot show (ListShards pagination and
 * filter): aws-sdk-client-mock. DynamoDB adapters run in service.test.ts, ListShards against kinesalite in the CLI test.
 */
import { KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { DeleteFunctionConcurrencyCommand, LambdaClient, PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { KinesisShardLister, LambdaReservedConcurrency, parseActiveRegionItem, parseCheckpointItem, regionOfArn, SnsResultPublisher } from '../../../lambda/failover/adapters';
import { MalformedItemError } from '../../../lambda/failover/errors';

test('reserved concurrency: a number is put, undefined removes the reservation, in the given Region', async () => {
  const mock = mockClient(LambdaClient);
  mock.on(PutFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 0 });
  mock.on(DeleteFunctionConcurrencyCommand).resolves({});
  const regions: string[] = [];
  const control = new LambdaReservedConcurrency((region) => {
    regions.push(region);
    return new LambdaClient({ region });
  });
  await control.set('us-east-1', 'redstream-dev-replicator', 0);
  await control.set('us-west-2', 'redstream-dev-replicator', undefined);
  expect(regions).toEqual(['us-east-1', 'us-west-2']);
  expect(mock.commandCalls(PutFunctionConcurrencyCommand).map((c) => c.args[0].input)).toEqual([{ FunctionName: 'redstream-dev-replicator', ReservedConcurrentExecutions: 0 }]);
  expect(mock.commandCalls(DeleteFunctionConcurrencyCommand).map((c) => c.args[0].input)).toEqual([{ FunctionName: 'redstream-dev-replicator' }]);
  mock.restore();
});

test('results are published as JSON with a printable subject of at most 100 characters', async () => {
  const mock = mockClient(SNSClient);
  mock.on(PublishCommand).resolves({ MessageId: '1' });
  await new SnsResultPublisher(new SNSClient({ region: 'us-east-1' }), 'arn:aws:sns:us-east-1:111111111111:t').publish(`failover → ${'x'.repeat(200)}`, { ok: true });
  const input = mock.commandCalls(PublishCommand)[0].args[0].input;
  expect(input.TopicArn).toBe('arn:aws:sns:us-east-1:111111111111:t');
  expect(input.Subject).toHaveLength(100);
  expect(input.Subject).toMatch(/^failover \? x+$/);
  expect(JSON.parse(input.Message!)).toEqual({ ok: true });
  mock.restore();
});

test('shards: ListShards by stream name with FROM_TIMESTAMP on the first page, NextToken alone on the next, in the given Region', async () => {
  const mock = mockClient(KinesisClient);
  mock
    .on(ListShardsCommand)
    .resolvesOnce({ Shards: [{ ShardId: 'shardId-000000000000', HashKeyRange: undefined, SequenceNumberRange: undefined }], NextToken: 'page-2' })
    .resolvesOnce({ Shards: [{ ShardId: 'shardId-000000000002', HashKeyRange: undefined, SequenceNumberRange: undefined }] });
  const regions: string[] = [];
  const lister = new KinesisShardLister((region) => {
    regions.push(region);
    return new KinesisClient({ region });
  });

  expect(await lister.list('us-west-2', 'redstream-dev-events', 1_700_000_000_000)).toEqual(['shardId-000000000000', 'shardId-000000000002']);

  expect(regions).toEqual(['us-west-2', 'us-west-2']);
  expect(mock.commandCalls(ListShardsCommand).map((c) => c.args[0].input)).toEqual([
    { StreamName: 'redstream-dev-events', ShardFilter: { Type: 'FROM_TIMESTAMP', Timestamp: new Date(1_700_000_000_000) } },
    { NextToken: 'page-2' },
  ]);
  mock.restore();
});

test('regionOfArn', () => {
  expect(regionOfArn('arn:aws:sns:eu-west-1:111111111111:t')).toBe('eu-west-1');
  expect(() => regionOfArn('arn:aws:iam::111111111111:role/x')).toThrow(/not a Regional ARN/);
});

test.each([
  [() => parseActiveRegionItem({ streamName: 's', activeRegion: 'us-east-1', state: 'PAUSED', epoch: 1, activatedAt: 0 }, 't'), /state must be ACTIVE or DRAINING/],
  [() => parseActiveRegionItem({ streamName: 's', activeRegion: 'us-east-1', state: 'ACTIVE', epoch: '1', activatedAt: 0 }, 't'), /epoch must be a number/],
  [() => parseCheckpointItem({ streamName: 's', shardId: 'shardId-0', sequenceNumber: '1', approximateArrivalTimestamp: 1 }, 't'), /is not "<region>\/<shardId>"/],
])('malformed items are named errors', (parse, message) => {
  expect(parse).toThrow(MalformedItemError);
  expect(parse).toThrow(message);
});
