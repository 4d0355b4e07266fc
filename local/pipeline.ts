/**
 * The whole Redstream data path on one machine, started in-process: the environment's Regions each with a kinesalite
 * holding the environment's streams (behind one Region router), a replica of the two global tables per Region
 * (DynamoDB Local behind the replicating proxy of `replicated-dynamodb.ts`: asynchronous, last writer wins, can lag
 * or be partitioned), a Lambda control plane per Region (`lambda-control-plane.ts`) over the local functions and
 * mappings, the real replicator handler per Region in its own worker threads fed by the local event source mapping,
 * the warehouse in PGlite (the rendered Postgres SQL) fed by the loader in a worker thread, and the failover API over
 * the tables.
 *
 * Nothing here has a local-only code path in the handlers: they get their Region, table names and the SDK's standard
 * endpoint variables (`AWS_ENDPOINT_URL_KINESIS` → the router, `AWS_ENDPOINT_URL_DYNAMODB` → the replicas' proxy,
 * `AWS_ENDPOINT_URL_LAMBDA` → the control plane), so every client reaches its own Region's stand-in, as on AWS.
 *
 * Timings are scaled down for a laptop (see {@link LocalTuning}); everything else comes from the environment config.
 */
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { allRegions, EnvironmentConfig, physicalStreamName, warehouseRegions } from '../lib/config';
import { replicatorFunctionName } from '../lib/names';
import { settingsFromConfig, stateTablesFor } from '../lib/ops/settings';
import { dynamoDbFailoverDeps, FailoverDeps, FailoverSettings } from '../lambda/failover/api';
import { perRegion } from '../lambda/failover/adapters';
import type { ActiveRegionItem } from '../lambda/shared/state-tables';
import {
  createStateTables,
  createStreams,
  KinesisRegionRouter,
  LOCAL_CREDENTIALS,
  localKinesisClient,
  RunningService,
  SplitResult,
  startKinesisRegionRouter,
} from './emulators';
import { LambdaControlPlane, startLambdaControlPlane } from './lambda-control-plane';
import { ReplicatedDynamoDb, startReplicatedDynamoDb } from './replicated-dynamodb';
import { startKinesisWorker } from './kinesalite-worker';
import { EventSourceMapping, InvocationOutcome, KinesisBatchInfo, startEventSourceMapping } from './event-source-mapping';
import { LocalFunction, startWorkerFunction } from './local-function';
import type { WarehouseLoader } from './warehouse-loader';
import { startWarehouseWorker } from './warehouse-worker';

/** Local timings (a deployment uses the config's values; these keep a drill to seconds). */
export interface LocalTuning {
  /** Replicator timeout; also what the failover waits for in-flight forwarding. @default 3000 */
  readonly replicatorTimeoutMs: number;
  /** Active-Region item cache of the replicator. @default 250 */
  readonly activeRegionCacheTtlMs: number;
  /** Subtracted from the low-water mark for the resume timestamp. @default 1000 */
  readonly resumeSafetyMarginMs: number;
  /** Failover: wait for replicas to show a drain. @default 10000 */
  readonly propagationTimeoutMs: number;
  /** Failover: pause between replica polls. @default 50 */
  readonly pollIntervalMs: number;
  /** Records per replicator invocation. @default - the config's replicator.batchSize */
  readonly batchSize: number;
  /** Event source mapping batching window. @default - the config's replicator.maxBatchingWindowSeconds */
  readonly maxBatchingWindowMs: number;
  /** Time between warehouse merges. @default 500 */
  readonly mergeIntervalMs: number;
  /** Wait between reads of an idle shard (mappings and loader). @default 50 */
  readonly idlePollMs: number;
  /** Global-table replication delay between the Regions' replicas at start (see `dynamo.setReplicationDelay`). @default 20 */
  readonly replicationDelayMs: number;
  /** How often the mappings list their stream's shards to follow splits. @default 250 */
  readonly shardDiscoveryMs: number;
  /**
   * How stale an eventually consistent GetItem on a replica is (see `ReplicatedDynamoDbOptions.staleReadMs`): code
   * that needs the latest item must ask for a strongly consistent read, as on AWS. @default 250
   */
  readonly staleReadMs: number;
  /** The replicator's checkpoint interval (0: a write per invocation). @default - the config's replicator.checkpointIntervalMs */
  readonly checkpointIntervalMs: number;
}

export interface LocalPipelineOptions {
  readonly config: EnvironmentConfig;
  readonly tuning?: Partial<LocalTuning>;
  /** Every log line of the local functions, with the function's Region. @default - dropped */
  readonly onLog?: (region: string, line: string) => void;
  /** Every replicator invocation, with the mapping's Region. @default - none */
  readonly onInvocation?: (region: string, outcome: InvocationOutcome) => void;
  /**
   * Start the warehouse (PGlite, loader, merges). Without it, `loader` and `db` fail when used: for measuring
   * replication alone. @default true
   */
  readonly warehouse?: boolean;
}

export interface LocalStream {
  /** Logical name, e.g. `events`. */
  readonly name: string;
  /** Physical name, the same in every Region. */
  readonly physicalName: string;
  readonly shards: number;
}

export interface LocalPipeline {
  readonly config: EnvironmentConfig;
  readonly tuning: LocalTuning;
  /** Every Region, primary first. */
  readonly regions: readonly string[];
  readonly warehouseRegion: string;
  /** When each stream was made active in the primary Region, epoch ms. */
  readonly startedAt: number;
  readonly streams: readonly LocalStream[];
  readonly router: KinesisRegionRouter;
  /** The Regions' replicas of the global tables (delay, partitions, `settle`). */
  readonly dynamo: ReplicatedDynamoDb;
  /** The Regions' Lambda control planes (down, slow; reserved concurrency and mapping state). */
  readonly lambdaControlPlane: LambdaControlPlane;
  /** A Lambda client for a Region's control plane. */
  lambda(region: string): LambdaClient;
  /** A DynamoDB document client for a Region's own replica of the global tables. */
  documents(region: string): DynamoDBDocumentClient;
  /** Splits a shard of a stream in one Region (writes to it wait during the split); the mappings follow. */
  splitShard(region: string, physicalStreamName: string, shardId: string): Promise<SplitResult>;
  /** A Kinesis client for a Region, through the router (sees outages). */
  kinesis(region: string): KinesisClient;
  /** A Kinesis client for a Region's kinesalite directly (ignores outages; for reading streams in reports). */
  kinesisDirect(region: string): KinesisClient;
  readonly mappings: readonly EventSourceMapping[];
  /** The warehouse's schema (its tables are `<schema>.events`, `<schema>.rejects`, …). */
  readonly warehouse: { readonly schema: string };
  /** Queries against the warehouse (PGlite, in its worker). */
  readonly db: WarehouseQueries;
  readonly loader: WarehouseLoader;
  readonly failoverSettings: FailoverSettings;
  readonly failoverDeps: FailoverDeps;
  /** Batches the mappings gave up on (the on-failure destination); empty when all is well. */
  readonly discardedBatches: readonly KinesisBatchInfo[];
  /** A stream's active-Region item, as `region`'s replica holds it (strongly consistent there). @default primary Region */
  activeRegionItem(physicalName: string, region?: string): Promise<ActiveRegionItem | undefined>;
  /** Resolves when every mapping has delivered everything that arrived before `sinceMs`. */
  waitForMappings(sinceMs: number, options?: { timeoutMs?: number; regions?: readonly string[] }): Promise<void>;
  stop(): Promise<void>;
}

/** Read access to the warehouse. */
export interface WarehouseQueries {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

const REPLICATOR_ENTRY = path.resolve(__dirname, '..', 'lambda', 'replicator', 'index.ts');

/**
 * Pipelines starting or started and not yet stopped, so a command can stop them on a signal (DynamoDB Local is a child
 * process). A pipeline is in here from the first line of its start: a signal during the start (≈ 30 s on a laptop)
 * stops what exists so far and makes the start fail.
 */
const running = new Set<{ stop(): Promise<void> }>();

/** The start of a pipeline was stopped (stopAllPipelines during startLocalPipeline). */
export class PipelineStartCancelledError extends Error {
  constructor() {
    super('the local pipeline was stopped while it started');
    this.name = 'PipelineStartCancelledError';
  }
}

/** Stops every pipeline still running (for signal handlers). */
export async function stopAllPipelines(): Promise<void> {
  await Promise.allSettled([...running].map((p) => p.stop()));
}

/** Starts everything; on failure, stops what was started and rethrows. */
export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const config = options.config;
  const tuning: LocalTuning = {
    replicatorTimeoutMs: 3000,
    activeRegionCacheTtlMs: 250,
    resumeSafetyMarginMs: 1000,
    propagationTimeoutMs: 10_000,
    pollIntervalMs: 50,
    batchSize: config.replicator.batchSize,
    maxBatchingWindowMs: config.replicator.maxBatchingWindowSeconds * 1000,
    mergeIntervalMs: 500,
    idlePollMs: 50,
    replicationDelayMs: 20,
    shardDiscoveryMs: 250,
    staleReadMs: 250,
    checkpointIntervalMs: config.replicator.checkpointIntervalMs,
    ...options.tuning,
  };
  const regions = allRegions(config);
  const warehouseRegion = warehouseRegions(config)[0];
  const streams: LocalStream[] = config.streams.map((s) => ({ name: s.name, physicalName: physicalStreamName(config.name, s.name), shards: s.shards }));
  const tables = stateTablesFor(config);
  const cleanups: Array<() => Promise<unknown>> = [];
  const clients: KinesisClient[] = [];
  // Until the pipeline is returned, stopping it means: abort the start, stop what exists (the start's own catch then
  // stops anything it created after that).
  const aborter = new AbortController();
  const starting = {
    async stop(): Promise<void> {
      running.delete(starting);
      aborter.abort();
      await runCleanups(cleanups, clients);
    },
  };
  running.add(starting);
  /** Throws once the start was stopped; called between the steps of the start. */
  const checkNotCancelled = (): void => {
    if (aborter.signal.aborted) throw new PipelineStartCancelledError();
  };

  try {
    // The replicas' JVM takes longest to start: start it first and let the Regions' Kinesis come up meanwhile.
    const dynamoStarting = startReplicatedDynamoDb({ regions, replicationDelayMs: tuning.replicationDelayMs, staleReadMs: tuning.staleReadMs, signal: aborter.signal });
    cleanups.push(async () => (await dynamoStarting).stop());
    dynamoStarting.catch(() => undefined); // awaited below; a failure there is what is reported

    // Regions: a kinesalite each, one router.
    const kinesalites = new Map<string, RunningService>();
    for (const region of regions) {
      const k = await startKinesisWorker(region);
      kinesalites.set(region, k);
      cleanups.push(() => k.stop());
      checkNotCancelled();
    }
    const router = await startKinesisRegionRouter({ regions: Object.fromEntries([...kinesalites].map(([r, k]) => [r, k.endpoint])) });
    cleanups.push(() => router.stop());
    const viaRouter = perRegion((region) => {
      const c = localKinesisClient(router.endpoint, region);
      clients.push(c);
      return c;
    });
    const direct = perRegion((region) => {
      const k = kinesalites.get(region);
      if (!k) throw new Error(`no local Region ${region}`);
      const c = localKinesisClient(k.endpoint, region);
      clients.push(c);
      return c;
    });
    for (const region of regions) await createStreams(direct(region), streams.map((s) => ({ name: s.physicalName, shards: s.shards })));

    // State tables: a replica per Region; each stream active in the primary Region from now on.
    const dynamo = await dynamoStarting;
    checkNotCancelled();
    await createStateTables(dynamo, tables);
    const documents = perRegion((region) => {
      const c = DynamoDBDocumentClient.from(new DynamoDBClient({ region, endpoint: dynamo.endpoint, credentials: LOCAL_CREDENTIALS }), {
        marshallOptions: { removeUndefinedValues: true },
      });
      cleanups.push(async () => c.destroy());
      return c;
    });
    const startedAt = Date.now();
    for (const s of streams) {
      const item: ActiveRegionItem = {
        streamName: s.physicalName,
        activeRegion: config.primaryRegion,
        state: 'ACTIVE',
        epoch: 1,
        activatedAt: startedAt,
        reason: 'local pipeline start',
        updatedAt: startedAt,
      };
      await documents(config.primaryRegion).send(new PutCommand({ TableName: tables.activeRegionTableName, Item: item }));
    }
    // A deployed table has long replicated its first item: every Region starts seeing it.
    await dynamo.settle();

    // Lambda control planes, one endpoint for every Region.
    checkNotCancelled();
    const lambdaControlPlane = await startLambdaControlPlane({ regions });
    cleanups.push(() => lambdaControlPlane.stop());
    const lambdaClients = perRegion((region) => {
      const c = new LambdaClient({ region, endpoint: lambdaControlPlane.endpoint, credentials: LOCAL_CREDENTIALS });
      cleanups.push(async () => c.destroy());
      return c;
    });

    // Replicators: the real handler, one function per Region with that Region's environment.
    const functions: LocalFunction[] = [];
    const mappings: EventSourceMapping[] = [];
    const discardedBatches: KinesisBatchInfo[] = [];
    const relaxed = config.streams.filter((s) => s.ordering === 'relaxed').map((s) => physicalStreamName(config.name, s.name));
    const maxShards = Math.max(...streams.map((s) => s.shards));
    for (const region of regions) {
      const fn = await startWorkerFunction({
        entry: REPLICATOR_ENTRY,
        functionName: replicatorFunctionName(config.name), // the name the failover's fence addresses
        region,
        timeoutMs: tuning.replicatorTimeoutMs,
        memorySizeMiB: config.replicator.memorySizeMiB,
        maxConcurrency: maxShards * streams.length,
        environment: {
          TARGET_REGIONS: regions.filter((r) => r !== region).join(','),
          CHECKPOINT_TABLE_NAME: tables.checkpointTableName,
          ACTIVE_REGION_TABLE_NAME: tables.activeRegionTableName,
          ...(relaxed.length > 0 ? { RELAXED_ORDER_STREAMS: relaxed.join(',') } : {}),
          ACTIVE_REGION_CACHE_TTL_MS: String(tuning.activeRegionCacheTtlMs),
          DEADLINE_SAFETY_MARGIN_MS: String(Math.min(500, Math.floor(tuning.replicatorTimeoutMs / 4))),
          CALL_TIMEOUT_MS: String(Math.max(100, Math.min(1000, Math.floor(tuning.replicatorTimeoutMs / 3)))),
          RETRY_BASE_DELAY_MS: '20',
          RETRY_MAX_DELAY_MS: '200',
          // As lib/replicator.ts sets them: the interval, and the mapping's batch size that tells full batches apart.
          CHECKPOINT_INTERVAL_MS: String(tuning.checkpointIntervalMs),
          MAPPING_BATCH_SIZE: String(tuning.batchSize),
          POWERTOOLS_SERVICE_NAME: 'redstream-replicator',
          POWERTOOLS_LOG_LEVEL: 'WARN',
          AWS_ENDPOINT_URL_KINESIS: router.endpoint,
          AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
          AWS_ENDPOINT_URL_LAMBDA: lambdaControlPlane.endpoint,
        },
        onLog: options.onLog ? (line) => options.onLog?.(region, line) : undefined,
      });
      functions.push(fn);
      cleanups.push(() => fn.close());
      checkNotCancelled();
      const concurrency = lambdaControlPlane.registerFunction(region, fn);
      for (const s of streams) {
        const m = await startEventSourceMapping({
          kinesis: viaRouter(region),
          streamName: s.physicalName,
          region,
          target: fn,
          batchSize: tuning.batchSize,
          maxBatchingWindowMs: tuning.maxBatchingWindowMs,
          startingPosition: 'TRIM_HORIZON',
          reportBatchItemFailures: true,
          // As deployed (lib/replicator.ts): never give up on a batch; records are held until the target takes them.
          retryAttempts: -1,
          maxRecordAgeMs: -1,
          idlePollMs: tuning.idlePollMs,
          shardDiscoveryMs: tuning.shardDiscoveryMs,
          concurrency,
          retryBackoffMs: { min: 20, max: 500 },
          onFailure: (info) => void discardedBatches.push(info),
          onInvocation: options.onInvocation ? (o) => options.onInvocation?.(region, o) : undefined,
        });
        mappings.push(m);
        cleanups.push(() => m.stop());
        lambdaControlPlane.registerMapping(region, m);
      }
    }

    // Warehouse: PGlite with the rendered Postgres SQL, fed by the loader, in its own worker thread.
    let loader: WarehouseLoader;
    let warehouse: { schema: string };
    let db: WarehouseQueries;
    if (options.warehouse ?? true) {
      const warehouseWorker = await startWarehouseWorker({
        kinesisEndpoint: router.endpoint,
        region: warehouseRegion,
        streams,
        sql: {
          streams: streams.map((s) => ({ name: s.name, physicalName: s.physicalName })),
          region: warehouseRegion,
          dedupKeyPath: config.warehouse.dedupKeyPath,
          dedupWindowDays: config.warehouse.dedupWindowDays,
        },
        mergeIntervalMs: tuning.mergeIntervalMs,
        idlePollMs: tuning.idlePollMs,
      });
      cleanups.push(() => warehouseWorker.stop());
      checkNotCancelled();
      loader = warehouseWorker.loader;
      warehouse = { schema: warehouseWorker.schema };
      db = { query: (sql, params) => warehouseWorker.query(sql, params) };
    } else {
      const none = (): Promise<never> => Promise.reject(new Error('this local pipeline was started without a warehouse'));
      loader = {
        totals: { appended: 0, merges: 0, inserted: 0, duplicates: 0, rejected: 0, readErrors: 0, lastReadError: undefined },
        waitUntilCaughtUp: none,
        mergeNow: none,
        stop: () => Promise.resolve(),
      };
      warehouse = { schema: '' };
      db = { query: none };
    }

    const failoverSettings: FailoverSettings = {
      ...settingsFromConfig(config, { propagationTimeoutMs: tuning.propagationTimeoutMs, pollIntervalMs: tuning.pollIntervalMs }),
      replicatorTimeoutMs: tuning.replicatorTimeoutMs,
      activeRegionCacheTtlMs: tuning.activeRegionCacheTtlMs,
      resumeSafetyMarginMs: tuning.resumeSafetyMarginMs,
      replicatorConcurrency: undefined,
    };
    const failoverDeps = dynamoDbFailoverDeps(tables, { clients: documents, kinesisClients: viaRouter, lambdaClients });

    let stopped = false;
    const pipeline: LocalPipeline = {
      config,
      tuning,
      regions,
      warehouseRegion,
      startedAt,
      streams,
      router,
      dynamo,
      lambdaControlPlane,
      lambda: lambdaClients,
      documents,
      splitShard: (region, physicalStreamName, shardId) => router.splitShard(region, physicalStreamName, shardId),
      kinesis: viaRouter,
      kinesisDirect: direct,
      mappings,
      warehouse,
      db,
      loader,
      failoverSettings,
      failoverDeps,
      discardedBatches,
      async activeRegionItem(physicalName, region = config.primaryRegion) {
        const { Item } = await documents(region).send(
          new GetCommand({ TableName: tables.activeRegionTableName, Key: { streamName: physicalName }, ConsistentRead: true }),
        );
        return Item as ActiveRegionItem | undefined;
      },
      async waitForMappings(sinceMs, opts = {}) {
        const only = opts.regions;
        await Promise.all(mappings.filter((m) => !only || only.includes(m.region)).map((m) => m.waitUntilCaughtUp(sinceMs, { timeoutMs: opts.timeoutMs })));
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        running.delete(pipeline);
        await runCleanups(cleanups, clients);
      },
    };
    checkNotCancelled();
    running.delete(starting);
    running.add(pipeline);
    return pipeline;
  } catch (err) {
    running.delete(starting);
    await runCleanups(cleanups, clients).catch(() => undefined);
    throw aborter.signal.aborted ? new PipelineStartCancelledError() : err;
  }
}

/**
 * Runs cleanups in reverse order and takes them off the list (a second run, after a start was cancelled, runs only
 * what was added since); every one runs even when another fails; the first error is rethrown.
 */
async function runCleanups(cleanups: Array<() => Promise<unknown>>, clients: KinesisClient[]): Promise<void> {
  let first: unknown;
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch (err) {
      first ??= err;
    }
  }
  for (const c of clients.splice(0)) c.destroy();
  if (first !== undefined) throw first;
}
