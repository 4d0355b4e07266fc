/**
 * A local "multi-Region" world for replicator tests and benchmarks: one kinesalite per Region behind the Region
 * router, DynamoDB Local with the two state tables (one shared database by default; with `replicatedTables`, a
 * replica per Region with asynchronous last-writer-wins replication, as global tables), and helpers to seed items
 * and load the handler with an env.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import {
  createStateTables,
  createStreams,
  LOCAL_CREDENTIALS,
  localKinesisClient,
  startDynamoDb,
  startKinesis,
  startKinesisRegionRouter,
  type KinesisRegionRouter,
  type KinesisRegionRouterOptions,
  type RunningService,
} from '../../local/emulators';
import { startReplicatedDynamoDb, type ReplicatedDynamoDb } from '../../local/replicated-dynamodb';
import type { ActiveRegionItem, CheckpointItem } from '../../lambda/shared/state-tables';
import { checkpointSortKey } from '../../lambda/shared/state-tables';

export interface ReplicatorWorld {
  readonly regions: readonly string[];
  readonly router: KinesisRegionRouter;
  readonly dynamoEndpoint: string;
  readonly checkpointTableName: string;
  readonly activeRegionTableName: string;
  /** A document client in the first Region (with replicated tables: that Region's replica). */
  readonly doc: DynamoDBDocumentClient;
  /** The per-Region replicas, when started with `replicatedTables`. */
  readonly dynamo: ReplicatedDynamoDb | undefined;
  /** A document client in `region` (with replicated tables: that Region's own replica). */
  docIn(region: string): DynamoDBDocumentClient;
  /** A client that talks to `region`'s kinesalite directly (not through the router). */
  kinesis(region: string): KinesisClient;
  /** The environment a replicator in `ownRegion` gets. */
  env(ownRegion: string, targets: readonly string[], extra?: Record<string, string>): Record<string, string>;
  createStream(name: string, shardsPerRegion: Readonly<Record<string, number>>): Promise<void>;
  putRecords(region: string, streamName: string, records: ReadonlyArray<{ partitionKey: string; data: string }>): Promise<void>;
  /** Writes the item in the first Region; with replicated tables, waits until every non-partitioned replica has it. */
  setActive(item: Omit<ActiveRegionItem, 'updatedAt'>): Promise<void>;
  deleteActive(streamName: string): Promise<void>;
  checkpoint(streamName: string, sourceRegion: string, shardId: string): Promise<CheckpointItem | undefined>;
  stop(): Promise<void>;
}

export async function startReplicatorWorld(
  regions: readonly string[],
  routerOptions: Omit<KinesisRegionRouterOptions, 'regions'> = {},
  options: { readonly replicatedTables?: boolean } = {},
): Promise<ReplicatorWorld> {
  const kinesalites: RunningService[] = [];
  const endpoints: Record<string, string> = {};
  for (const r of regions) {
    const k = await startKinesis(r);
    kinesalites.push(k);
    endpoints[r] = k.endpoint;
  }
  const router = await startKinesisRegionRouter({ regions: endpoints, ...routerOptions });
  const replicated = options.replicatedTables ? await startReplicatedDynamoDb({ regions }) : undefined;
  const dynamo: RunningService = replicated ?? (await startDynamoDb());
  const names = { checkpointTableName: 'redstream-test-checkpoints', activeRegionTableName: 'redstream-test-active-region' };
  await createStateTables(replicated ?? dynamo.endpoint, names);
  const docs = new Map<string, DynamoDBDocumentClient>();
  const docIn = (region: string): DynamoDBDocumentClient => {
    let c = docs.get(region);
    if (!c) {
      c = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint, region, credentials: LOCAL_CREDENTIALS }));
      docs.set(region, c);
    }
    return c;
  };
  const doc = docIn(regions[0]);
  const clients = new Map(regions.map((r) => [r, localKinesisClient(endpoints[r], r)]));
  const kinesis = (r: string): KinesisClient => {
    const c = clients.get(r);
    if (!c) throw new Error(`no local Kinesis for ${r}`);
    return c;
  };
  return {
    regions,
    router,
    dynamoEndpoint: dynamo.endpoint,
    ...names,
    doc,
    dynamo: replicated,
    docIn,
    kinesis,
    env: (ownRegion, targets, extra = {}) => ({
      AWS_REGION: ownRegion,
      TARGET_REGIONS: targets.join(','),
      CHECKPOINT_TABLE_NAME: names.checkpointTableName,
      ACTIVE_REGION_TABLE_NAME: names.activeRegionTableName,
      AWS_ENDPOINT_URL_KINESIS: router.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      POWERTOOLS_SERVICE_NAME: 'replicator',
      ...extra,
    }),
    createStream: async (name, shardsPerRegion) => {
      for (const [r, shards] of Object.entries(shardsPerRegion)) await createStreams(kinesis(r), [{ name, shards }]);
    },
    putRecords: async (region, streamName, records) => {
      for (let i = 0; i < records.length; i += 500) {
        const chunk = records.slice(i, i + 500);
        const out = await kinesis(region).send(
          new PutRecordsCommand({ StreamName: streamName, Records: chunk.map((r) => ({ PartitionKey: r.partitionKey, Data: Buffer.from(r.data) })) }),
        );
        if (out.FailedRecordCount) throw new Error(`seeding ${streamName}: ${out.FailedRecordCount} records failed`);
      }
    },
    setActive: async (item) => {
      await doc.send(new PutCommand({ TableName: names.activeRegionTableName, Item: { ...item, updatedAt: Date.now() } }));
      await replicated?.settle();
    },
    deleteActive: async (streamName) => {
      await doc.send(new DeleteCommand({ TableName: names.activeRegionTableName, Key: { streamName } }));
      await replicated?.settle();
    },
    checkpoint: async (streamName, sourceRegion, shardId) => {
      // The source Region's replicator writes its checkpoints to its own replica: read them there.
      const out = await docIn(sourceRegion).send(
        new GetCommand({ TableName: names.checkpointTableName, Key: { streamName, shardId: checkpointSortKey(sourceRegion, shardId) }, ConsistentRead: true }),
      );
      return out.Item as CheckpointItem | undefined;
    },
    stop: async () => {
      for (const c of docs.values()) c.destroy();
      for (const c of clients.values()) c.destroy();
      await router.stop();
      for (const k of kinesalites) await k.stop();
      await dynamo.stop();
    },
  };
}

/** Runs `fn` with `vars` set in process.env, restoring the previous values afterwards. */
export async function withEnv<T>(vars: Readonly<Record<string, string>>, fn: () => Promise<T>): Promise<T> {
  const saved = new Map(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Per partition key, the payloads in stream order (shards read one after another; a key lives in one shard). */
export function payloadsByKey(records: ReadonlyArray<{ partitionKey: string; data: string }>): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of records) {
    const list = m.get(r.partitionKey) ?? [];
    list.push(r.data);
    m.set(r.partitionKey, list);
  }
  return m;
}
