/**
 * The replication path of `bench:e2e`, with the deployed topology's latencies injected: a kinesalite per Region behind
 * the Region router; in front of it, for the forwarding function only, a proxy that adds a cross-Region round trip to
 * every PutRecords sent to another Region; the Regions' replicas of the global tables with a same-Region latency on
 * each read and write (local/replicated-dynamodb.ts); the function under test in its own worker thread (the real
 * replicator, or the naive forwarder of naive-forwarder.ts) fed by the local event source mapping on the primary
 * stream. Producers and readers use the router directly (their latency is not part of the replication lag: it is
 * measured between arrival times).
 *
 * Only the primary's function runs: with `failover.moveReservedConcurrency` (staging, prod) the standby's replicator
 * sits at reserved concurrency 0, and both implementations are measured the same way.
 */
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { allRegions, type EnvironmentConfig } from '../lib/config';
import { stateTablesFor } from '../lib/ops/settings';
import type { ActiveRegionItem } from '../lambda/shared/state-tables';
import { createStateTables, createStreams, LOCAL_CREDENTIALS, localKinesisClient, type RunningService, startKinesisRegionRouter } from '../local/emulators';
import { type EventSourceMapping, type InvocationOutcome, startEventSourceMapping } from '../local/event-source-mapping';
import { startKinesisWorker } from '../local/kinesalite-worker';
import { type LocalFunction, startWorkerFunction } from '../local/local-function';
import { type ReplicatedDynamoDb, startReplicatedDynamoDb } from '../local/replicated-dynamodb';
import { type LatencyModel, type LatencyProxy, startLatencyProxy } from './latency-proxy';

/** Latencies added to the local stand-ins, in milliseconds (0: none). */
export interface InjectedLatency {
  /** Round trip of a PutRecords to a stream in another Region. */
  readonly crossRegionPutRecordsMs: number;
  /** A write (PutItem, UpdateItem, DeleteItem) to the Region's own replica. */
  readonly dynamoDbWriteMs: number;
  /** A read (GetItem, Query) from the Region's own replica. */
  readonly dynamoDbReadMs: number;
  /**
   * How a cross-Region round trip combines with kinesalite's own time: `add` (on top) or `floor` (the round trip
   * holds the service time, as the published figure does; bench/latency-proxy.ts). @default 'add'
   */
  readonly model?: LatencyModel;
}

export const NO_LATENCY: InjectedLatency = { crossRegionPutRecordsMs: 0, dynamoDbWriteMs: 0, dynamoDbReadMs: 0 };

export type Forwarder = 'replicator' | 'naive';

export interface TopologyOptions {
  readonly config: EnvironmentConfig;
  readonly forwarder: Forwarder;
  readonly latency: InjectedLatency;
  readonly streamName: string;
  readonly shards: number;
}

export interface Topology {
  readonly primary: string;
  readonly standby: string;
  /** A Kinesis client for a Region's stream, through the router, without injected latency. */
  kinesis(region: string): KinesisClient;
  readonly mapping: EventSourceMapping;
  /** Every invocation of the forwarding function so far. */
  readonly invocations: InvocationOutcome[];
  /**
   * PutRecords calls the function sent to other Regions, table operations by name, and the local service time of each
   * of those PutRecords (ms), so far.
   */
  counters(): { readonly crossRegionPutRecords: number; readonly tableOps: ReadonlyMap<string, number>; readonly putRecordsServiceMs: readonly number[] };
  resetCounters(): void;
  stop(): Promise<void>;
}

const REPLICATOR_ENTRY = path.resolve(__dirname, '..', 'lambda', 'replicator', 'index.ts');
const NAIVE_ENTRY = path.resolve(__dirname, 'naive-forwarder.ts');
const DYNAMODB_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
const DYNAMODB_READS = new Set(['GetItem', 'Query', 'BatchGetItem', 'TransactGetItems', 'Scan']);

export async function startTopology(options: TopologyOptions): Promise<Topology> {
  const { config, latency } = options;
  const regions = allRegions(config);
  const [primary, standby] = regions;
  const cleanups: Array<() => Promise<unknown>> = [];
  const clients: KinesisClient[] = [];
  const stopAll = async (): Promise<void> => {
    for (const c of [...cleanups].reverse()) await c().catch(() => undefined);
    for (const c of clients) c.destroy();
  };
  try {
    const kinesalites = new Map<string, RunningService>();
    for (const region of regions) {
      const k = await startKinesisWorker(region);
      kinesalites.set(region, k);
      cleanups.push(() => k.stop());
    }
    const router = await startKinesisRegionRouter({ regions: Object.fromEntries([...kinesalites].map(([r, k]) => [r, k.endpoint])) });
    cleanups.push(() => router.stop());
    const kinesis = (region: string): KinesisClient => {
      const c = localKinesisClient(router.endpoint, region);
      clients.push(c);
      return c;
    };
    for (const region of regions) await createStreams(kinesis(region), [{ name: options.streamName, shards: options.shards }]);

    // The function's Kinesis endpoint: a cross-Region round trip on every PutRecords to another Region.
    const proxy: LatencyProxy = await startLatencyProxy(router.endpoint, (req) =>
      req.action === 'PutRecords' && req.region !== primary ? latency.crossRegionPutRecordsMs : 0,
      latency.model ?? 'add',
    );
    cleanups.push(() => proxy.stop());

    const tableOps = new Map<string, number>();
    let dynamo: ReplicatedDynamoDb | undefined;
    const tables = stateTablesFor(config);
    if (options.forwarder === 'replicator') {
      dynamo = await startReplicatedDynamoDb({
        regions,
        latencyMs: (region, op) => {
          if (region === primary) tableOps.set(op, (tableOps.get(op) ?? 0) + 1);
          return DYNAMODB_WRITES.has(op) ? latency.dynamoDbWriteMs : DYNAMODB_READS.has(op) ? latency.dynamoDbReadMs : 0;
        },
      });
      const d = dynamo;
      cleanups.push(() => d.stop());
      await createStateTables(d, tables);
      const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: primary, endpoint: d.endpoint, credentials: LOCAL_CREDENTIALS }), {
        marshallOptions: { removeUndefinedValues: true },
      });
      cleanups.push(async () => doc.destroy());
      const now = Date.now();
      const item: ActiveRegionItem = {
        streamName: options.streamName,
        activeRegion: primary,
        state: 'ACTIVE',
        epoch: 1,
        activatedAt: now,
        reason: 'bench:e2e',
        updatedAt: now,
      };
      await doc.send(new PutCommand({ TableName: tables.activeRegionTableName, Item: item }));
      await d.settle();
      tableOps.clear();
    }

    const fn: LocalFunction = await startWorkerFunction({
      entry: options.forwarder === 'replicator' ? REPLICATOR_ENTRY : NAIVE_ENTRY,
      functionName: `redstream-${config.name}-${options.forwarder}`,
      region: primary,
      timeoutMs: config.replicator.timeoutSeconds * 1000,
      memorySizeMiB: config.replicator.memorySizeMiB,
      maxConcurrency: options.shards,
      environment: {
        TARGET_REGIONS: regions.filter((r) => r !== primary).join(','),
        CHECKPOINT_TABLE_NAME: tables.checkpointTableName,
        ACTIVE_REGION_TABLE_NAME: tables.activeRegionTableName,
        ACTIVE_REGION_CACHE_TTL_MS: String(config.replicator.activeRegionCacheTtlSeconds * 1000),
        // As lib/replicator.ts sets them from the same config.
        CHECKPOINT_INTERVAL_MS: String(config.replicator.checkpointIntervalMs),
        MAPPING_BATCH_SIZE: String(config.replicator.batchSize),
        POWERTOOLS_SERVICE_NAME: 'redstream-replicator',
        POWERTOOLS_LOG_LEVEL: 'WARN',
        AWS_ENDPOINT_URL_KINESIS: proxy.endpoint,
        ...(dynamo ? { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint } : {}),
      },
    });
    cleanups.push(() => fn.close());

    const invocations: InvocationOutcome[] = [];
    const mapping = await startEventSourceMapping({
      kinesis: kinesis(primary),
      streamName: options.streamName,
      region: primary,
      target: fn,
      batchSize: config.replicator.batchSize,
      maxBatchingWindowMs: config.replicator.maxBatchingWindowSeconds * 1000,
      startingPosition: 'TRIM_HORIZON',
      reportBatchItemFailures: true,
      idlePollMs: 50,
      onInvocation: (o) => void invocations.push(o),
    });
    cleanups.push(() => mapping.stop());

    return {
      primary,
      standby,
      kinesis,
      mapping,
      invocations,
      counters: () => ({
        crossRegionPutRecords: [...proxy.counts].filter(([k]) => k.endsWith(':PutRecords') && !k.startsWith(`${primary}:`)).reduce((s, [, n]) => s + n, 0),
        tableOps: new Map(tableOps),
        putRecordsServiceMs: [...proxy.serviceMs].filter(([k]) => k.endsWith(':PutRecords') && !k.startsWith(`${primary}:`)).flatMap(([, v]) => v),
      }),
      resetCounters: () => {
        proxy.counts.clear();
        proxy.serviceMs.clear();
        tableOps.clear();
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
