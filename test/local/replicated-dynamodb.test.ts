import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { createStateTables, LOCAL_CREDENTIALS } from '../../local/emulators';
import { ReplicatedDynamoDb, startReplicatedDynamoDb } from '../../local/replicated-dynamodb';
import { uniqueName } from './helpers';

const A = 'us-west-2';
const B = 'eu-west-1';
const TABLES = { checkpointTableName: 'checkpoints', activeRegionTableName: 'active-region' };
/** Long enough that nothing is delivered while a test looks; tests then shorten it to let replication run. */
const HOLD_MS = 3_600_000;

let db: ReplicatedDynamoDb;
const clients: DynamoDBDocumentClient[] = [];

function doc(region: string, credentials: { accessKeyId: string; secretAccessKey: string } = LOCAL_CREDENTIALS): DynamoDBDocumentClient {
  const c = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: db.endpoint, region, credentials, maxAttempts: 1 }));
  clients.push(c);
  return c;
}

beforeAll(async () => {
  db = await startReplicatedDynamoDb({ regions: [A, B] });
  await createStateTables(db, TABLES);
});

afterEach(async () => {
  db.heal(A);
  db.heal(B);
  db.setReplicationDelay(0);
  await db.settle();
});

afterAll(async () => {
  clients.forEach((c) => c.destroy());
  await db?.stop();
});

async function get(region: string, streamName: string): Promise<Record<string, unknown> | undefined> {
  const out = await doc(region).send(new GetCommand({ TableName: TABLES.activeRegionTableName, Key: { streamName }, ConsistentRead: true }));
  return out.Item;
}

describe('DynamoDB Local without -sharedDb (behind the replicated stand-in)', () => {
  test('keeps one database per access key and Region (the ground the per-Region replicas stand on)', async () => {
    const client = (region: string, accessKeyId: string): DynamoDBClient =>
      new DynamoDBClient({ endpoint: db.databaseEndpoint, region, credentials: { accessKeyId, secretAccessKey: 'x' } });
    const made = [client(A, 'one'), client(B, 'one'), client(A, 'two')];
    try {
      await made[0].send(
        new CreateTableCommand({
          TableName: 'probe-table',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
        }),
      );
      const tables = await Promise.all(made.map(async (c) => (await c.send(new ListTablesCommand({}))).TableNames));
      expect(tables).toEqual([['probe-table'], [], []]);
    } finally {
      made.forEach((c) => c.destroy());
    }
  });
});

describe('replicated DynamoDB', () => {
  test('createStateTables creates both tables in every Region; every caller of a Region sees the same replica', async () => {
    for (const region of [A, B]) {
      const client = new DynamoDBClient({ endpoint: db.endpoint, region, credentials: { accessKeyId: 'someone-else', secretAccessKey: 'x' } });
      try {
        expect((await client.send(new ListTablesCommand({}))).TableNames?.sort()).toEqual([TABLES.activeRegionTableName, TABLES.checkpointTableName]);
      } finally {
        client.destroy();
      }
    }
  });

  test('a request signed for a Region without a replica is refused with a clear error', async () => {
    await expect(doc('ap-south-1').send(new GetCommand({ TableName: TABLES.activeRegionTableName, Key: { streamName: 'x' } }))).rejects.toThrow(
      /no replica in Region ap-south-1/,
    );
  });

  test('a write is invisible in the other Region until the replication delay has passed, then arrives unchanged', async () => {
    const stream = uniqueName('s');
    db.setReplicationDelay(HOLD_MS);
    const item = { streamName: stream, activeRegion: A, epoch: 1, blob: new Uint8Array([0, 255, 7]), tags: new Set(['x', 'y']) };
    await doc(A).send(new PutCommand({ TableName: TABLES.activeRegionTableName, Item: item }));

    expect(await get(A, stream)).toEqual(item);
    expect(await get(B, stream)).toBeUndefined();
    expect(db.pendingReplications()).toBe(1);

    db.setReplicationDelay(20);
    await db.settle();
    // The same attributes, and nothing more: no replication markers.
    expect(await get(B, stream)).toEqual(item);
    expect(db.pendingReplications()).toBe(0);
  });

  test('concurrent writes of one item in two Regions converge to the later write everywhere (last writer wins)', async () => {
    const stream = uniqueName('s');
    db.setReplicationDelay(HOLD_MS);
    await doc(A).send(new PutCommand({ TableName: TABLES.activeRegionTableName, Item: { streamName: stream, writer: A } }));
    await doc(B).send(new PutCommand({ TableName: TABLES.activeRegionTableName, Item: { streamName: stream, writer: B } }));
    const before = db.stats();

    db.setReplicationDelay(0);
    await db.settle();

    expect(await get(A, stream)).toEqual({ streamName: stream, writer: B });
    expect(await get(B, stream)).toEqual({ streamName: stream, writer: B });
    // A's older image reached B after B's own later write, and was dropped.
    expect(db.stats().superseded - before.superseded).toBe(1);
  });

  test('a conditional write passes in both lagging Regions at once, both succeed locally, and LWW picks the later (why fencing cannot rely on it)', async () => {
    const stream = uniqueName('s');
    await doc(A).send(new PutCommand({ TableName: TABLES.activeRegionTableName, Item: { streamName: stream, activeRegion: A, epoch: 1 } }));
    await db.settle();
    db.setReplicationDelay(HOLD_MS);

    const claim = (region: string) =>
      doc(region).send(
        new UpdateCommand({
          TableName: TABLES.activeRegionTableName,
          Key: { streamName: stream },
          UpdateExpression: 'SET activeRegion = :me, epoch = :next',
          ConditionExpression: 'epoch = :seen',
          ExpressionAttributeValues: { ':me': region, ':next': 2, ':seen': 1 },
        }),
      );
    await expect(claim(A)).resolves.toBeDefined();
    await expect(claim(B)).resolves.toBeDefined();
    expect(await get(A, stream)).toMatchObject({ activeRegion: A, epoch: 2 });
    expect(await get(B, stream)).toMatchObject({ activeRegion: B, epoch: 2 });

    db.setReplicationDelay(0);
    await db.settle();
    expect(await get(A, stream)).toEqual({ streamName: stream, activeRegion: B, epoch: 2 });
    expect(await get(B, stream)).toEqual({ streamName: stream, activeRegion: B, epoch: 2 });
  });

  test('a conditional write that fails is not replicated', async () => {
    const stream = uniqueName('s');
    await doc(A).send(new PutCommand({ TableName: TABLES.activeRegionTableName, Item: { streamName: stream, epoch: 1 } }));
    await db.settle();
    const queued = db.stats().queued;
    await expect(
      doc(A).send(
        new PutCommand({
          TableName: TABLES.activeRegionTableName,
          Item: { streamName: stream, epoch: 5 },
          ConditionExpression: 'epoch = :e',
          ExpressionAttributeValues: { ':e': 9 },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect(db.stats().queued).toBe(queued);
  });

  test('a partitioned replica neither sends nor receives until healed; then both converge (LWW)', async () => {
    const [onlyA, onlyB, both] = [uniqueName('a'), uniqueName('b'), uniqueName('ab')];
    db.setReplicationDelay(0);
    db.partition(B);
    expect(db.isPartitioned(B)).toBe(true);
    await doc(A).send(new PutCommand({ TableName: TABLES.activeRegionTableName, Item: { streamName: onlyA, v: 1 } }));
    await doc(A).send(new PutCommand({ TableName: TABLES.activeRegionTableName, Item: { streamName: both, v: 'A' } }));
    await doc(B).send(new PutCommand({ TableName: TABLES.activeRegionTableName, Item: { streamName: onlyB, v: 1 } }));
    await doc(B).send(new PutCommand({ TableName: TABLES.activeRegionTableName, Item: { streamName: both, v: 'B' } }));

    await db.settle(); // nothing is pending between non-partitioned replicas
    expect(db.pendingReplications()).toBe(4);
    expect(await get(B, onlyA)).toBeUndefined();
    expect(await get(A, onlyB)).toBeUndefined();
    expect(await get(A, both)).toMatchObject({ v: 'A' });
    expect(await get(B, both)).toMatchObject({ v: 'B' });

    db.heal(B);
    await db.settle();
    expect(db.pendingReplications()).toBe(0);
    for (const region of [A, B]) {
      expect(await get(region, onlyA)).toMatchObject({ v: 1 });
      expect(await get(region, onlyB)).toMatchObject({ v: 1 });
      expect(await get(region, both)).toMatchObject({ v: 'B' }); // B wrote it last
    }
  });

  test('BatchWriteItem, TransactWriteItems and DeleteItem replicate item by item, deletions included', async () => {
    const [s1, s2, s3] = [uniqueName('s'), uniqueName('s'), uniqueName('s')];
    await doc(A).send(
      new BatchWriteCommand({
        RequestItems: {
          [TABLES.activeRegionTableName]: [{ PutRequest: { Item: { streamName: s1, v: 1 } } }, { PutRequest: { Item: { streamName: s2, v: 1 } } }],
          [TABLES.checkpointTableName]: [{ PutRequest: { Item: { streamName: s1, shardId: 'A|0', seq: '1' } } }],
        },
      }),
    );
    await db.settle();
    await doc(B).send(
      new TransactWriteCommand({
        TransactItems: [
          { Update: { TableName: TABLES.activeRegionTableName, Key: { streamName: s1 }, UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': 2 } } },
          { Put: { TableName: TABLES.activeRegionTableName, Item: { streamName: s3, v: 1 } } },
          { Delete: { TableName: TABLES.checkpointTableName, Key: { streamName: s1, shardId: 'A|0' } } },
        ],
      }),
    );
    await doc(A).send(new DeleteCommand({ TableName: TABLES.activeRegionTableName, Key: { streamName: s2 } }));
    await db.settle();

    for (const region of [A, B]) {
      expect(await get(region, s1)).toEqual({ streamName: s1, v: 2 });
      expect(await get(region, s2)).toBeUndefined();
      expect(await get(region, s3)).toEqual({ streamName: s3, v: 1 });
      const cp = await doc(region).send(new GetCommand({ TableName: TABLES.checkpointTableName, Key: { streamName: s1, shardId: 'A|0' }, ConsistentRead: true }));
      expect(cp.Item).toBeUndefined();
    }
  });

  test('eventually consistent GetItem can be stale (the item as it was staleReadMs ago); strongly consistent never is', async () => {
    const stream = uniqueName('s');
    const eventual = (region: string) => doc(region).send(new GetCommand({ TableName: TABLES.activeRegionTableName, Key: { streamName: stream } }));
    db.setStaleReads(HOLD_MS);
    try {
      await doc(A).send(new PutCommand({ TableName: TABLES.activeRegionTableName, Item: { streamName: stream, v: 1 } }));
      await doc(A).send(new PutCommand({ TableName: TABLES.activeRegionTableName, Item: { streamName: stream, v: 2 } }));
      await db.settle();
      for (const region of [A, B]) {
        expect((await eventual(region)).Item).toBeUndefined(); // an hour ago, the item did not exist
        expect(await get(region, stream)).toEqual({ streamName: stream, v: 2 });
      }
    } finally {
      db.setStaleReads(0);
    }
    expect((await eventual(A)).Item).toEqual({ streamName: stream, v: 2 });
  });

  test('injected latency applies per Region and operation', async () => {
    const seen: string[] = [];
    db.setLatency((region, op) => {
      seen.push(`${region}:${op}`);
      return 1;
    });
    try {
      await get(B, uniqueName('s'));
    } finally {
      db.setLatency(0);
    }
    expect(seen).toEqual([`${B}:GetItem`]);
  });
});
