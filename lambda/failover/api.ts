/**
 * Programmatic API of failover and failback, for the local demo, drills and scripts (the CLI and the Lambda handler
 * use the same functions):
 *
 * ```ts
 * const settings = settingsFromConfig(config, { propagationTimeoutMs: 5_000 });    // lib/ops/settings.ts
 * const deps = dynamoDbFailoverDeps(stateTablesFor(config), { clock: () => now, sleep: fastSleep });
 * await failover(settings, { targetRegion: 'us-west-2', expectedRegion: 'us-east-1', reason: 'drill' }, deps);
 * await status(settings, {}, deps);
 * await failback(settings, { reason: 'drill over' }, deps);
 * ```
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  documentClients,
  DynamoDbActiveRegionStore,
  DynamoDbCheckpointStore,
  kinesisClients,
  KinesisShardInspector,
  KinesisTrustedClock,
  LambdaReplicatorFence,
  RegionalClients,
  StateTables,
} from './adapters';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { Clock, ReplicatorFence, ReservedConcurrencyControl, ResultPublisher, ShardInspector, Sleep, TrustedClock } from './ports';
import { FailoverDeps } from './service';

export { failback, failover, status, staleAfterMs } from './service';
export type { FailoverDeps, FailoverSettings, StatusReport, StreamStatus, StreamSwitchResult, SwitchOptions, SwitchResult, StreamOutcome } from './service';
export type { StateTables } from './adapters';
export type { ShardInspector, ShardLister, TrustedClock, ReplicatorFence } from './ports';
export { observeShards } from './service';
export { inFlightWaitMs, lowWaterMark, resumeTimestamp, probeStart } from './decisions';

/**
 * Deps over the two DynamoDB tables and Kinesis ListShards (one client per Region; SDK endpoint variables apply:
 * without `kinesisClients` or `shards`, AWS_ENDPOINT_URL_KINESIS must point a local run at its Kinesis).
 */
export function dynamoDbFailoverDeps(
  tables: StateTables,
  options: {
    /** @default - default credential chain and endpoint variables */
    clients?: RegionalClients<DynamoDBDocumentClient>;
    /** Kinesis clients for ListShards. @default - default credential chain and endpoint variables (HTTP/1.1) */
    kinesisClients?: RegionalClients<KinesisClient>;
    /** The shard port itself (wins over kinesisClients). @default - ListShards and GetRecords through kinesisClients */
    shards?: ShardInspector;
    /** @default - the Date header of DescribeStreamSummary on `trustedClockStream` through kinesisClients, when given */
    trustedClock?: TrustedClock;
    /** A stream that exists in every Region, for the default trusted clock. @default - no trusted clock */
    trustedClockStream?: string;
    /** Lambda clients for fencing. @default - no fence: a forced switch that must fence refuses */
    lambdaClients?: RegionalClients<LambdaClient>;
    fence?: ReplicatorFence;
    /** @default Date.now */
    clock?: Clock;
    /** @default setTimeout */
    sleep?: Sleep;
    concurrency?: ReservedConcurrencyControl;
    publisher?: ResultPublisher;
    onProgress?: (line: string) => void;
  } = {},
): FailoverDeps {
  const clients = options.clients ?? documentClients();
  const kinesis = options.kinesisClients ?? kinesisClients();
  return {
    activeRegions: new DynamoDbActiveRegionStore(clients, tables.activeRegionTableName),
    checkpoints: new DynamoDbCheckpointStore(clients, tables.checkpointTableName),
    shards: options.shards ?? new KinesisShardInspector(kinesis),
    // The offset is measured against the caller's clock that the switch then corrects, not against Date.now.
    trustedClock: options.trustedClock ?? (options.trustedClockStream ? new KinesisTrustedClock(kinesis, options.trustedClockStream, options.clock) : undefined),
    fence: options.fence ?? (options.lambdaClients ? new LambdaReplicatorFence(options.lambdaClients) : undefined),
    clock: options.clock ?? Date.now,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    concurrency: options.concurrency,
    publisher: options.publisher,
    onProgress: options.onProgress,
  };
}
