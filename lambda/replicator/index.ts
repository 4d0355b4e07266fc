/**
 * Redstream replicator: copies every record of a Kinesis stream (read through its enhanced fan-out consumer) to the
 * same-named stream in each standby Region, in per-partition-key order, with checkpoints per source shard.
 *
 * Contract (issue #3; keep it stable):
 * - `handler(event: KinesisStreamEvent, context: Context): Promise<KinesisStreamBatchResponse>`; the event source
 *   mapping must have `ReportBatchItemFailures` on. A stopped batch returns its first unreplicated record as the
 *   single batch item failure; everything before it is checkpointed.
 * - Environment: see env.ts (`TARGET_REGIONS`, `CHECKPOINT_TABLE_NAME`, `ACTIVE_REGION_TABLE_NAME`, `AWS_REGION`,
 *   optional tuning). Endpoints: `AWS_ENDPOINT_URL_KINESIS`, `AWS_ENDPOINT_URL_DYNAMODB`.
 * - Tables: items as in lambda/shared/state-tables.ts. A missing active-Region item fails the invocation.
 * - Metrics: metrics.ts. Logs: Powertools JSON, one line per shard batch with stream, shard and sequence range.
 *
 * This module only wires: it parses the environment once, builds the clients and adapters, and hands each event to
 * {@link replicateEvent}.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { kinesisClientsFor, KinesisRecordWriter } from './adapters/kinesis';
import { CachedActiveRegionSource, DynamoActiveRegionSource, DynamoCheckpointStore } from './adapters/state';
import { parseReplicatorEnv } from './env';
import { METRICS_NAMESPACE, shardMetrics } from './metrics';
import { replicateEvent, ReplicationFailedError, type ReplicatorDeps, type ShardResult } from './replicate';

const env = parseReplicatorEnv(process.env);
const logger = new Logger();
const metrics = new Metrics({ namespace: METRICS_NAMESPACE });
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: env.ownRegion }));
const now = (): number => Date.now();

const deps: ReplicatorDeps = {
  settings: {
    ownRegion: env.ownRegion,
    targetRegions: env.targetRegions,
    relaxedStreams: env.relaxedStreams,
    maxRequestBytes: env.maxRequestBytes,
    maxAttempts: env.maxAttempts,
    backoff: { baseDelayMs: env.retryBaseDelayMs, maxDelayMs: env.retryMaxDelayMs },
    callTimeoutMs: env.callTimeoutMs,
    safetyMarginMs: env.safetyMarginMs,
    holdDelayMs: env.holdDelayMs,
    checkpointIntervalMs: env.checkpointIntervalMs,
    batchSize: env.mappingBatchSize,
  },
  writer: new KinesisRecordWriter(kinesisClientsFor(env.targetRegions, { connectionTimeoutMs: Math.min(env.callTimeoutMs, 3_000) })),
  checkpoints: new DynamoCheckpointStore(doc, env.checkpointTableName),
  activeRegions: new CachedActiveRegionSource(new DynamoActiveRegionSource(doc, env.activeRegionTableName), env.activeRegionCacheTtlMs, now),
  log: logger,
  now,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

function publish(results: readonly ShardResult[]): void {
  for (const r of results) {
    metrics.addDimensions({ stream: r.streamName, region: env.ownRegion });
    for (const m of shardMetrics(r)) metrics.addMetric(m.name, MetricUnit[m.unit], m.value);
    metrics.publishStoredMetrics();
  }
}

export async function handler(event: KinesisStreamEvent, context: Context): Promise<KinesisStreamBatchResponse> {
  logger.addContext(context);
  try {
    const { batchItemFailures, results } = await replicateEvent(event, context, deps);
    publish(results);
    return { batchItemFailures };
  } catch (err) {
    if (err instanceof ReplicationFailedError) publish([err.result]);
    logger.error('invocation failed; Lambda retries the batch', err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}
