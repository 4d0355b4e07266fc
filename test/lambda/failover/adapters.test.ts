/**
 * Adapters that have no local emulator (Lambda, SNS), and what kinesalite cannot show (ListShards pagination and
 * filter): aws-sdk-client-mock. DynamoDB adapters run in service.test.ts, ListShards against kinesalite in the CLI test.
 */
import { Readable } from 'node:stream';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { DeleteFunctionConcurrencyCommand, GetFunctionConcurrencyCommand, LambdaClient, PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbCheckpointStore, KinesisShardInspector, KinesisTrustedClock, LambdaReplicatorFence, LambdaReservedConcurrency, parseActiveRegionItem, parseCheckpointItem, regionOfArn, SnsResultPublisher } from '../../../lambda/failover/adapters';
import { MalformedItemError } from '../../../lambda/failover/errors';
import { dynamoDbFailoverDeps } from '../../../lambda/failover/api';
import { checkpoint, STREAM } from './factories';

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

test('shards: ListShards by stream name without ShardFilter (kinesalite ignores it; closed shards are wanted), NextToken alone on the next page, in the given Region', async () => {
  const mock = mockClient(KinesisClient);
  mock
    .on(ListShardsCommand)
    .resolvesOnce({
      Shards: [{ ShardId: 'shardId-000000000000', HashKeyRange: undefined, SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: '9' } }],
      NextToken: 'page-2',
    })
    .resolvesOnce({ Shards: [{ ShardId: 'shardId-000000000002', ParentShardId: 'shardId-000000000000', HashKeyRange: undefined, SequenceNumberRange: { StartingSequenceNumber: '10' } }] });
  const regions: string[] = [];
  const inspector = new KinesisShardInspector((region) => {
    regions.push(region);
    return new KinesisClient({ region });
  });

  expect(await inspector.list('us-west-2', 'redstream-dev-events')).toEqual([
    { shardId: 'shardId-000000000000', closed: true },
    { shardId: 'shardId-000000000002', closed: false, parentShardId: 'shardId-000000000000' },
  ]);

  expect(regions).toEqual(['us-west-2', 'us-west-2']);
  expect(mock.commandCalls(ListShardsCommand).map((c) => c.args[0].input)).toEqual([{ StreamName: 'redstream-dev-events' }, { NextToken: 'page-2' }]);
  mock.restore();
});

test('firstRecord reads past empty pages (AWS answers some before a record) and stops at the tip or the end of a closed shard', async () => {
  const mock = mockClient(KinesisClient);
  mock.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-0' });
  mock
    .on(GetRecordsCommand)
    .resolvesOnce({ Records: [], NextShardIterator: 'it-1', MillisBehindLatest: 5_000 })
    .resolvesOnce({ Records: [{ SequenceNumber: '77', PartitionKey: 'k', Data: new Uint8Array(), ApproximateArrivalTimestamp: new Date(1_700_000_000_123) }], NextShardIterator: 'it-2', MillisBehindLatest: 4_000 })
    .resolvesOnce({ Records: [], NextShardIterator: 'it-3', MillisBehindLatest: 0 })
    .resolvesOnce({ Records: [], MillisBehindLatest: 10 });
  const inspector = new KinesisShardInspector(() => new KinesisClient({ region: 'us-east-1' }));
  expect(await inspector.firstRecord('us-east-1', 's', 'shardId-0', { afterSequenceNumber: '42' })).toEqual({ sequenceNumber: '77', arrivalMs: 1_700_000_000_123 });
  expect(await inspector.firstRecord('us-east-1', 's', 'shardId-0', { atTimestampMs: 5 })).toBeUndefined();
  expect(await inspector.firstRecord('us-east-1', 's', 'shardId-0', { atTimestampMs: 5 })).toBeUndefined();
  expect(mock.commandCalls(GetShardIteratorCommand).map((c) => c.args[0].input)).toEqual([
    { StreamName: 's', ShardId: 'shardId-0', ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: '42' },
    { StreamName: 's', ShardId: 'shardId-0', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(5) },
    { StreamName: 's', ShardId: 'shardId-0', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(5) },
  ]);
  mock.restore();
});

test('the trusted clock bounds the offset from Date headers (one-second resolution, round trip)', async () => {
  // aws-sdk-client-mock bypasses the HTTP layer, so no Date header comes through it: a client whose request handler
  // answers with a fixed Date checks the arithmetic; the local world test checks it against a real endpoint.
  let local = 1_700_000_010_000;
  const server = Date.parse('Tue, 14 Nov 2023 22:13:27 GMT'); // 1_700_000_007_000: the caller is 3 s fast
  const client = new KinesisClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    requestHandler: {
      handle: async () => {
        local += 40;
        return { response: { statusCode: 200, headers: { date: new Date(server).toUTCString(), 'content-type': 'application/x-amz-json-1.1' }, body: Readable.from([Buffer.from('{}')]) } };
      },
    } as never, // a minimal HttpHandler: only handle() is called
  });
  const clock = new KinesisTrustedClock(() => client, 's', () => local);
  const { offsetLowMs, offsetHighMs } = await clock.measure('us-east-1');
  expect(offsetLowMs).toBeLessThanOrEqual(server - 1_700_000_010_000);
  expect(offsetHighMs).toBeGreaterThanOrEqual(server - 1_700_000_010_000);
  expect(offsetHighMs - offsetLowMs).toBeLessThanOrEqual(1_100);
});

test("dynamoDbFailoverDeps' default trusted clock measures the offset of the caller's clock it is given", async () => {
  // A caller whose clock runs 5 s ahead: the offset must come out ≈ -5 s, so the switch's corrected clock is right.
  // Measured against Date.now instead (the bug), the offset was ≈ 0 and the skewed clock went uncorrected.
  // Both clocks constant (a whole second, as the Date header has it): no real time passing between them can move the
  // measured offset.
  const server = 1_700_000_007_000;
  const client = new KinesisClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    requestHandler: {
      handle: async () => ({ response: { statusCode: 200, headers: { date: new Date(server).toUTCString(), 'content-type': 'application/x-amz-json-1.1' }, body: Readable.from([Buffer.from('{}')]) } }),
    } as never, // a minimal HttpHandler: only handle() is called
  });
  const deps = dynamoDbFailoverDeps(
    { checkpointTableName: 'c', activeRegionTableName: 'a' },
    { clients: () => ({}) as never, kinesisClients: () => client, trustedClockStream: 's', clock: () => server + 5_000 },
  );
  const { offsetLowMs, offsetHighMs } = await deps.trustedClock!.measure('us-east-1');
  const mid = (offsetLowMs + offsetHighMs) / 2;
  expect(mid).toBeLessThan(-3_500);
  expect(mid).toBeGreaterThan(-6_500);
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

test.each([
  ['an existing reservation is restored', 7, { previousReservedConcurrency: 7 }],
  ['no reservation: the fence is lifted by deleting it', undefined, {}],
  ['an earlier fence never lifted (0) is not "restored" to 0', 0, {}],
])('fence: reserved concurrency 0, returning what to restore (%s)', async (_name, before, expected) => {
  const mock = mockClient(LambdaClient);
  mock.on(GetFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: before });
  mock.on(PutFunctionConcurrencyCommand).resolves({ ReservedConcurrentExecutions: 0 });
  const fence = new LambdaReplicatorFence((region) => new LambdaClient({ region }));
  expect(await fence.fence('us-east-1', 'fn')).toEqual(expected);
  expect(mock.commandCalls(PutFunctionConcurrencyCommand)[0].args[0].input).toEqual({ FunctionName: 'fn', ReservedConcurrentExecutions: 0 });
  mock.restore();
});

test('checkpoints: every page of the Query (the SDK paginator follows LastEvaluatedKey; DynamoDB Local pages only at 1 MB), consistent reads', async () => {
  const mock = mockClient(DynamoDBDocumentClient);
  const first = checkpoint('us-east-1', 'shardId-000000000000', 1_000);
  const second = checkpoint('us-east-1', 'shardId-000000000001', 2_000);
  mock
    .on(QueryCommand)
    .resolvesOnce({ Items: [{ ...first }], LastEvaluatedKey: { streamName: STREAM, shardId: first.shardId } })
    .resolvesOnce({ Items: [{ ...second }] });
  const store = new DynamoDbCheckpointStore(() => DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), 'checkpoints');
  expect(await store.list('us-east-1', STREAM)).toEqual([first, second]);
  const inputs = mock.commandCalls(QueryCommand).map((c) => c.args[0].input);
  expect(inputs).toHaveLength(2);
  expect(inputs[0]).toMatchObject({ TableName: 'checkpoints', ConsistentRead: true, ExpressionAttributeValues: { ':streamName': STREAM } });
  expect(inputs[1].ExclusiveStartKey).toEqual({ streamName: STREAM, shardId: first.shardId });
  mock.restore();
});
