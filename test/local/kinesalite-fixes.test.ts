/** kinesalite's AT_TIMESTAMP hang (local/kinesalite-fixes.ts): Kinesis answers with an iterator whatever the shard holds. */
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { createStreams, localKinesisClient, RunningService, startKinesis } from '../../local/emulators';

let kinesis: RunningService;
let client: KinesisClient;
const STREAM = 'at-timestamp';

beforeAll(async () => {
  kinesis = await startKinesis('us-east-1');
  client = localKinesisClient(kinesis.endpoint, 'us-east-1');
  await createStreams(client, [{ name: STREAM, shards: 1 }]);
});
afterAll(async () => {
  client.destroy();
  await kinesis.stop();
});

const iterator = async (at: number) =>
  (await client.send(new GetShardIteratorCommand({ StreamName: STREAM, ShardId: 'shardId-000000000000', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(at) }))).ShardIterator!;

test('no record at or after the time: an iterator (not a hang), from which a later record is read', async () => {
  const it = await iterator(Date.now() - 1_000);
  const empty = await client.send(new GetRecordsCommand({ ShardIterator: it }));
  expect(empty.Records).toEqual([]);
  await client.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: 'k', Data: Buffer.from('later') }));
  const page = await client.send(new GetRecordsCommand({ ShardIterator: empty.NextShardIterator! }));
  expect(page.Records?.map((r) => Buffer.from(r.Data!).toString())).toEqual(['later']);
});

test('records at or after the time: the first of them, as before', async () => {
  const before = Date.now();
  await new Promise((r) => setTimeout(r, 20));
  await client.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: 'k', Data: Buffer.from('second') }));
  const page = await client.send(new GetRecordsCommand({ ShardIterator: await iterator(before) }));
  expect(page.Records?.map((r) => Buffer.from(r.Data!).toString())).toEqual(['second']);
});
