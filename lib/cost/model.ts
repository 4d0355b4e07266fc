/**
 * Monthly cost model of one Redstream environment at a steady load. Pure: no AWS I/O, no clock, no environment
 * variables; prices come in as data (prices.json) and every assumption the arithmetic rests on is returned with the
 * estimate so the command can print it.
 *
 * The load is `eventsPerSecond` records of `bytesPerEvent` bytes written by producers to one stream (the
 * environment's first unless named) in the primary Region. The replicator copies every record to the same stream in
 * each standby Region, so every Region's stream ingests, archives and (where a warehouse runs) loads the same data.
 * The environment's other streams carry no load and cost only their fixed charges.
 */
import { archiveLineBytes } from '../../lambda/archive/format';
import { allRegions, type EnvironmentConfig, physicalStreamName, type StreamConfig, warehouseRegions } from '../config';
import { TOPOLOGY_LATENCIES } from './latencies';
import pricesJson from './prices.json';

export interface PriceEntry {
  readonly usd: number;
  readonly per: string;
  readonly source: string;
  readonly seen: string;
  /** False when no stored source confirmed the figure (the output marks it). */
  readonly found: boolean;
}

export interface PriceTable {
  readonly region: string;
  readonly currency: string;
  readonly compiledOn: string;
  readonly note: string;
  readonly prices: Readonly<Record<PriceKey, PriceEntry>>;
}

export type PriceKey =
  | 'kinesis.provisioned.shardHour'
  | 'kinesis.provisioned.putPayloadUnitsPerMillion'
  | 'kinesis.provisioned.extendedRetentionShardHour'
  | 'kinesis.provisioned.efoConsumerShardHour'
  | 'kinesis.provisioned.efoRetrievalGb'
  | 'kinesis.onDemand.streamHour'
  | 'kinesis.onDemand.dataInGb'
  | 'kinesis.onDemand.retrievalGb'
  | 'kinesis.onDemand.efoRetrievalGb'
  | 'kinesis.onDemand.extendedRetentionGbMonth'
  | 'kinesis.longTermRetentionGbMonth'
  | 'lambda.requestsPerMillion'
  | 'lambda.arm64GbSecond'
  | 'lambda.x86GbSecond'
  | 'dynamodb.onDemand.replicatedWritePerMillion'
  | 'dynamodb.onDemand.readPerMillion'
  | 'dataTransfer.interRegionGb'
  | 'firehose.ingestGb'
  | 's3.standardGbMonth'
  | 's3.putPerThousand'
  | 's3.glacierInstantRetrievalGbMonth'
  | 'redshiftServerless.rpuHour';

/** The shipped price table (us-east-1 list prices, with sources). */
export const PRICES: PriceTable = pricesJson as PriceTable;

export interface Workload {
  /** Records per second written by producers. Must be > 0. */
  readonly eventsPerSecond: number;
  /** Payload bytes per record. Valid range: 1–1048576 (Kinesis's default maximum record size). */
  readonly bytesPerEvent: number;
  /** Logical name of the stream that carries the load. @default - the environment's first stream */
  readonly stream?: string;
}

/** Figures the model cannot read from the configuration; each one is printed with the estimate. */
export interface CostAssumptions {
  /** Hours in a billing month (AWS's convention). */
  readonly hoursPerMonth: number;
  /**
   * Shards of an on-demand stream (not billed, but they set the replicator's invocations and checkpoint writes).
   * @default - max(4, 2 × the shards the load needs): a new on-demand stream starts with 4 MB/s, and on-demand keeps
   * room for twice the recent peak
   */
  readonly onDemandShards?: number;
  /** Hours per month the warehouse runs at its base capacity (a merge every minute keeps it busy). */
  readonly warehouseActiveHoursPerMonth: number;
  /** Archive bytes after GZIP over the archive lines' bytes (lambda/archive/format.ts: metadata + base64 data). */
  readonly archiveCompressionRatio: number;
  /** The archive's Firehose transformation: duration of one invocation (a 1 MB buffer of records) and its memory. */
  readonly archiveTransformInvocationMs: number;
  readonly archiveTransformMemoryMiB: number;
  /** Bytes of Lambda event JSON per Kinesis record besides its base64 data (ids, ARNs, sequence number). */
  readonly lambdaEventBytesPerRecord: number;
  /** Replicator work outside its AWS calls, per invocation and per record. */
  readonly handlerOverheadMs: number;
  readonly handlerMsPerRecord: number;
  /** Latencies of the calls an invocation waits for. */
  readonly crossRegionPutRecordsMs: number;
  readonly dynamoDbWriteMs: number;
  readonly dynamoDbReadMs: number;
  /** Partition key length in bytes (part of each PutRecords entry on the wire). */
  readonly partitionKeyBytes: number;
  /** JSON framing per PutRecords entry on the wire (field names, quotes). */
  readonly putRecordsEntryOverheadBytes: number;
  /** Size of a checkpoint item as replicated between Regions (no `replicatedAfter`: the steady state). */
  readonly checkpointItemBytes: number;
  /** Merge runner: duration of one run (it waits for its Data API batch) and its memory. */
  readonly mergeRunSeconds: number;
  readonly mergeRunnerMemoryMiB: number;
  /** With a 0 s batching window, how often records reach the function (the enhanced fan-out push interval). */
  readonly zeroWindowPushIntervalSeconds: number;
  /** Age at which the archive is priced when it never expires (it keeps growing). */
  readonly archiveAgeDaysWhenKeptForever: number;
}

export const DEFAULT_ASSUMPTIONS: CostAssumptions = {
  hoursPerMonth: 730,
  warehouseActiveHoursPerMonth: 730,
  archiveCompressionRatio: 0.25,
  archiveTransformInvocationMs: 100,
  archiveTransformMemoryMiB: 512,
  lambdaEventBytesPerRecord: 500,
  handlerOverheadMs: 5,
  handlerMsPerRecord: 0.01,
  crossRegionPutRecordsMs: TOPOLOGY_LATENCIES.crossRegionPutRecords.ms,
  dynamoDbWriteMs: TOPOLOGY_LATENCIES.sameRegionDynamoDbWrite.ms,
  dynamoDbReadMs: TOPOLOGY_LATENCIES.sameRegionDynamoDbRead.ms,
  partitionKeyBytes: 36,
  putRecordsEntryOverheadBytes: 40,
  checkpointItemBytes: 300,
  mergeRunSeconds: 5,
  mergeRunnerMemoryMiB: 256,
  zeroWindowPushIntervalSeconds: 0.07,
  archiveAgeDaysWhenKeptForever: 365,
};

/** One priced quantity. */
export interface CostLine {
  readonly component: CostComponent;
  readonly item: string;
  /** Regions the quantity is summed over. */
  readonly regions: readonly string[];
  readonly quantity: number;
  readonly unit: string;
  readonly priceKey: PriceKey;
  readonly unitPriceUsd: number;
  readonly monthlyUsd: number;
  /** The price was not confirmed from a stored source. */
  readonly unverifiedPrice: boolean;
}

export type CostComponent =
  | 'Kinesis streams'
  | 'Enhanced fan-out'
  | 'Lambda functions'
  | 'Global tables'
  | 'Cross-Region transfer'
  | 'Firehose and S3'
  | 'Redshift Serverless';

export const COMPONENTS: readonly CostComponent[] = [
  'Kinesis streams',
  'Enhanced fan-out',
  'Lambda functions',
  'Global tables',
  'Cross-Region transfer',
  'Firehose and S3',
  'Redshift Serverless',
];

/** What the replicator does per shard of one stream, at the steady state. */
export interface StreamReplication {
  readonly stream: string;
  readonly mode: StreamConfig['mode'];
  readonly shards: number;
  readonly recordsPerSecondPerShard: number;
  readonly recordsPerInvocation: number;
  readonly invocationsPerSecondPerShard: number;
  /** Checkpoint writes at steady state: see {@link checkpointWritesPerSecond}. */
  readonly checkpointWritesPerSecondPerShard: number;
  readonly invocationMs: number;
}

export interface CostEstimate {
  readonly environment: string;
  readonly regions: readonly string[];
  readonly workload: Required<Workload>;
  readonly lines: readonly CostLine[];
  readonly subtotals: ReadonlyArray<{ readonly component: CostComponent; readonly monthlyUsd: number }>;
  readonly totalMonthlyUsd: number;
  readonly replication: readonly StreamReplication[];
  /** Replicated write request units per second, summed over every Region (what the global table bills). */
  readonly checkpointRwruPerSecond: number;
  readonly assumptions: readonly string[];
  readonly warnings: readonly string[];
  readonly prices: PriceTable;
}

/** A workload or assumption the model cannot price. */
export class CostModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CostModelError';
  }
}

const GIB = 1024 ** 3;
const KIB = 1024;
const MIB = 1024 ** 2;
const PUT_PAYLOAD_UNIT_BYTES = 25 * KIB;
const FIREHOSE_ROUNDING_BYTES = 5 * KIB;
const LAMBDA_PAYLOAD_BYTES = 6 * MIB;
const PUT_RECORDS_MAX_ENTRIES = 500;
const SHARD_WRITE_BYTES_PER_SECOND = MIB;
const SHARD_WRITE_RECORDS_PER_SECOND = 1000;
const ON_DEMAND_INITIAL_SHARDS = 4;
const MAX_RECORD_BYTES = MIB;
/** The archive transformation's buffer (lib/archive-transform.ts: 1 MiB or 60 s, whichever first). */
const ARCHIVE_TRANSFORM_BUFFER_BYTES = MIB;
const ARCHIVE_TRANSFORM_BUFFER_SECONDS = 60;

/** Bytes of one archive line (NDJSON, with its newline) for a record of `bytes` bytes and a partition key of `keyBytes`. */
export function archiveLineBytesFor(streamName: string, region: string, bytes: number, keyBytes: number): number {
  return archiveLineBytes({
    stream: streamName,
    region,
    shardId: 'shardId-000000000000',
    // Kinesis sequence numbers have 56 digits.
    sequenceNumber: '4'.repeat(56),
    subsequenceNumber: 0,
    partitionKey: 'k'.repeat(keyBytes),
    approximateArrivalTimestampMs: 1_800_000_000_000,
    data: 'A'.repeat(4 * Math.ceil(bytes / 3)),
  });
}

const roundUp = (value: number, step: number): number => Math.ceil(value / step) * step;

/** Shards of a stream under a load of `recordsPerSecond` × `bytes`. */
export function shardsFor(stream: StreamConfig, recordsPerSecond: number, bytes: number, assumptions: CostAssumptions): number {
  if (stream.mode === 'PROVISIONED') return stream.shards;
  if (assumptions.onDemandShards !== undefined) return assumptions.onDemandShards;
  const needed = Math.max(Math.ceil((recordsPerSecond * bytes) / SHARD_WRITE_BYTES_PER_SECOND), Math.ceil(recordsPerSecond / SHARD_WRITE_RECORDS_PER_SECOND));
  return Math.max(ON_DEMAND_INITIAL_SHARDS, 2 * needed);
}

/**
 * Records per invocation and invocations per second for one shard: the event source mapping invokes when the batch
 * is full, when the 6 MB payload limit is reached, or when the batching window ends, whichever comes first.
 */
export function invocationShape(
  recordsPerSecondPerShard: number,
  bytes: number,
  batchSize: number,
  windowSeconds: number,
  assumptions: CostAssumptions,
): { recordsPerInvocation: number; invocationsPerSecond: number } {
  if (recordsPerSecondPerShard <= 0) return { recordsPerInvocation: 0, invocationsPerSecond: 0 };
  const eventBytesPerRecord = 4 * Math.ceil(bytes / 3) + assumptions.lambdaEventBytesPerRecord;
  const payloadCap = Math.max(1, Math.floor(LAMBDA_PAYLOAD_BYTES / eventBytesPerRecord));
  const window = windowSeconds > 0 ? windowSeconds : assumptions.zeroWindowPushIntervalSeconds;
  const recordsPerInvocation = Math.max(1, Math.min(batchSize, payloadCap, recordsPerSecondPerShard * window));
  return { recordsPerInvocation, invocationsPerSecond: recordsPerSecondPerShard / recordsPerInvocation };
}

/**
 * Checkpoint writes per second for one shard at steady state (`replicator.checkpointIntervalMs`): every invocation
 * whose batch is not full writes (the shard has caught up); while batches are full, evenly spaced invocations write
 * at the first one at least an interval after the last write, i.e. once every ⌈interval / spacing⌉ invocations.
 * An interval of 0 writes on every invocation.
 */
export function checkpointWritesPerSecond(
  shape: { readonly recordsPerInvocation: number; readonly invocationsPerSecond: number },
  batchSize: number,
  intervalMs: number,
): number {
  if (shape.invocationsPerSecond <= 0) return 0;
  if (intervalMs <= 0 || shape.recordsPerInvocation < batchSize) return shape.invocationsPerSecond;
  const spacingMs = 1000 / shape.invocationsPerSecond;
  return shape.invocationsPerSecond / Math.max(1, Math.ceil(intervalMs / spacingMs - 1e-9));
}

/**
 * Duration of one replicating invocation: checkpoint read, the PutRecords rounds of the batch (targets in parallel,
 * ⌈n/500⌉ rounds when no partition key has more than that many records in the batch), the checkpoint write on the
 * share `writeShare` of invocations that write it (the rest defer it), handler work.
 */
export function replicatingInvocationMs(recordsPerInvocation: number, assumptions: CostAssumptions, writeShare = 1): number {
  const rounds = Math.ceil(recordsPerInvocation / PUT_RECORDS_MAX_ENTRIES);
  return (
    assumptions.dynamoDbReadMs +
    rounds * assumptions.crossRegionPutRecordsMs +
    writeShare * assumptions.dynamoDbWriteMs +
    assumptions.handlerOverheadMs +
    assumptions.handlerMsPerRecord * recordsPerInvocation
  );
}

/** Builds the monthly estimate. Throws {@link CostModelError} on a workload it cannot price. */
export function estimateMonthlyCost(
  env: EnvironmentConfig,
  workload: Workload,
  prices: PriceTable = PRICES,
  assumptions: CostAssumptions = DEFAULT_ASSUMPTIONS,
): CostEstimate {
  const { eventsPerSecond, bytesPerEvent } = workload;
  if (!Number.isFinite(eventsPerSecond) || eventsPerSecond <= 0) throw new CostModelError(`eventsPerSecond must be a number above 0 (got ${eventsPerSecond})`);
  if (!Number.isInteger(bytesPerEvent) || bytesPerEvent < 1 || bytesPerEvent > MAX_RECORD_BYTES) {
    throw new CostModelError(`bytesPerEvent must be a whole number between 1 and ${MAX_RECORD_BYTES} (got ${bytesPerEvent})`);
  }
  const loaded = workload.stream ?? env.streams[0].name;
  if (!env.streams.some((s) => s.name === loaded)) {
    throw new CostModelError(`stream ${JSON.stringify(loaded)} is not a stream of ${env.name}; use one of ${env.streams.map((s) => s.name).join(', ')}`);
  }
  if (assumptions.onDemandShards !== undefined && (!Number.isInteger(assumptions.onDemandShards) || assumptions.onDemandShards < 1)) {
    throw new CostModelError(`onDemandShards must be a whole number of 1 or more (got ${assumptions.onDemandShards})`);
  }
  if (!(assumptions.warehouseActiveHoursPerMonth >= 0 && assumptions.warehouseActiveHoursPerMonth <= assumptions.hoursPerMonth)) {
    throw new CostModelError(`warehouseActiveHoursPerMonth must be between 0 and ${assumptions.hoursPerMonth} (got ${assumptions.warehouseActiveHoursPerMonth})`);
  }

  const H = assumptions.hoursPerMonth;
  const S = H * 3600;
  const regions = allRegions(env);
  const primary = env.primaryRegion;
  const standbys = env.standbyRegions;
  const warehouses = warehouseRegions(env);
  // With moveReservedConcurrency the failover keeps the standby replicators at concurrency 0, so they read nothing.
  const standbyReplicatorsRun = !env.failover.moveReservedConcurrency;
  const replicatingRegions = standbyReplicatorsRun ? regions : [primary];
  const lines: CostLine[] = [];
  const warnings: string[] = [];
  const price = (key: PriceKey): PriceEntry => prices.prices[key];
  const add = (component: CostComponent, item: string, lineRegions: readonly string[], quantity: number, unit: string, key: PriceKey, perUnits = 1): void => {
    if (quantity <= 0) return;
    const p = price(key);
    lines.push({
      component,
      item,
      regions: lineRegions,
      quantity,
      unit,
      priceKey: key,
      unitPriceUsd: p.usd,
      monthlyUsd: (quantity / perUnits) * p.usd,
      unverifiedPrice: !p.found,
    });
  };

  const replication: StreamReplication[] = [];
  let activeInvocationsPerSecond = 0;
  let checkpointWritesPerSecondTotal = 0;
  let activeReadsPerSecond = 0;
  let standbyInvocationsPerSecond = 0;
  let replicatorGbSeconds = 0;
  let archiveTransformInvocationsPerSecond = 0;
  for (const stream of env.streams) {
    const rps = stream.name === loaded ? eventsPerSecond : 0;
    const bps = rps * bytesPerEvent;
    const shards = shardsFor(stream, rps, bytesPerEvent, assumptions);
    const n = regions.length;
    const label = `${stream.name} (${stream.mode === 'PROVISIONED' ? `${shards} shards` : 'on-demand'})`;

    // Streams: the same in every Region, since every Region's stream receives every record.
    if (stream.mode === 'PROVISIONED') {
      if (rps > shards * SHARD_WRITE_RECORDS_PER_SECOND || bps > shards * SHARD_WRITE_BYTES_PER_SECOND) {
        const need = Math.max(Math.ceil(rps / SHARD_WRITE_RECORDS_PER_SECOND), Math.ceil(bps / SHARD_WRITE_BYTES_PER_SECOND));
        warnings.push(`${stream.name}: ${shards} provisioned shard(s) take at most ${shards * SHARD_WRITE_RECORDS_PER_SECOND} records/s and ${shards} MiB/s; this load needs ${need}: producers would be throttled (priced as configured)`);
      }
      add('Kinesis streams', `${label}: shard-hours`, regions, shards * H * n, 'shard-hours', 'kinesis.provisioned.shardHour');
      add('Kinesis streams', `${label}: PUT payload units (25 KB each)`, regions, rps * Math.ceil(bytesPerEvent / PUT_PAYLOAD_UNIT_BYTES) * S * n, 'units', 'kinesis.provisioned.putPayloadUnitsPerMillion', 1e6);
      if (stream.retentionHours > 24) {
        add('Kinesis streams', `${label}: extended retention (${stream.retentionHours} h)`, regions, shards * H * n, 'shard-hours', 'kinesis.provisioned.extendedRetentionShardHour');
      }
    } else {
      add('Kinesis streams', `${label}: stream-hours`, regions, H * n, 'stream-hours', 'kinesis.onDemand.streamHour');
      add('Kinesis streams', `${label}: data in (1 KB rounding)`, regions, (rps * roundUp(bytesPerEvent, KIB) * S * n) / GIB, 'GB', 'kinesis.onDemand.dataInGb');
      // Shared-throughput readers: Firehose everywhere, Redshift streaming ingestion where a warehouse runs.
      const sharedReaders = n + warehouses.length;
      add('Kinesis streams', `${label}: reads by Firehose and Redshift (${sharedReaders} readers)`, regions, (bps * S * sharedReaders) / GIB, 'GB', 'kinesis.onDemand.retrievalGb');
      if (stream.retentionHours > 24) {
        const hours = Math.min(stream.retentionHours, 168) - 24;
        add('Kinesis streams', `${label}: extended retention (${hours} h beyond 24 h)`, regions, (bps * hours * 3600 * n) / GIB, 'GB-month', 'kinesis.onDemand.extendedRetentionGbMonth');
      }
    }
    if (stream.retentionHours > 168) {
      add('Kinesis streams', `${stream.name}: long-term retention (${stream.retentionHours - 168} h beyond 7 days)`, regions, (bps * (stream.retentionHours - 168) * 3600 * n) / GIB, 'GB-month', 'kinesis.longTermRetentionGbMonth');
    }

    // Enhanced fan-out: the replicator's consumer is registered in every Region.
    if (stream.mode === 'PROVISIONED') {
      add('Enhanced fan-out', `${label}: replicator consumer`, regions, shards * H * n, 'consumer-shard-hours', 'kinesis.provisioned.efoConsumerShardHour');
    }
    add(
      'Enhanced fan-out',
      `${stream.name}: records pushed to the replicator`,
      replicatingRegions,
      (bps * S * replicatingRegions.length) / GIB,
      'GB',
      stream.mode === 'PROVISIONED' ? 'kinesis.provisioned.efoRetrievalGb' : 'kinesis.onDemand.efoRetrievalGb',
    );

    // Replicator invocations.
    const perShard = rps / shards;
    const shape = invocationShape(perShard, bytesPerEvent, env.replicator.batchSize, env.replicator.maxBatchingWindowSeconds, assumptions);
    if (shape.recordsPerInvocation > 0 && shape.recordsPerInvocation < Math.min(env.replicator.batchSize, perShard * (env.replicator.maxBatchingWindowSeconds || assumptions.zeroWindowPushIntervalSeconds))) {
      warnings.push(`${stream.name}: Lambda's 6 MB payload limit caps batches at ${Math.floor(shape.recordsPerInvocation)} records of ${bytesPerEvent} bytes (batch size ${env.replicator.batchSize})`);
    }
    const writesPerShard = checkpointWritesPerSecond(shape, env.replicator.batchSize, env.replicator.checkpointIntervalMs);
    const invocationMs = replicatingInvocationMs(shape.recordsPerInvocation, assumptions, shape.invocationsPerSecond > 0 ? writesPerShard / shape.invocationsPerSecond : 1);
    const perSecond = shape.invocationsPerSecond * shards;
    activeInvocationsPerSecond += perSecond;
    checkpointWritesPerSecondTotal += writesPerShard * shards;
    replicatorGbSeconds += perSecond * S * (invocationMs / 1000) * (env.replicator.memorySizeMiB / 1024);
    // Checkpoint read per invocation; the active-Region item once per cache lifetime per execution environment.
    const ttl = env.replicator.activeRegionCacheTtlSeconds;
    const itemReadsPerShard = ttl > 0 ? Math.min(shape.invocationsPerSecond, 1 / ttl) : shape.invocationsPerSecond;
    activeReadsPerSecond += perSecond + (rps > 0 ? itemReadsPerShard * shards : 0);
    if (standbyReplicatorsRun) {
      // Standbys receive replicas, which their replicator classifies as not-to-forward: no checkpoint, no PutRecords.
      const standbyMs = assumptions.handlerOverheadMs + assumptions.handlerMsPerRecord * shape.recordsPerInvocation;
      standbyInvocationsPerSecond += perSecond * standbys.length;
      replicatorGbSeconds += perSecond * standbys.length * S * (standbyMs / 1000) * (env.replicator.memorySizeMiB / 1024);
      // A standby skips a batch only on a fresh read of its own replica of the active-Region item: one per invocation.
      activeReadsPerSecond += perSecond * standbys.length;
    }
    replication.push({
      stream: stream.name,
      mode: stream.mode,
      shards,
      recordsPerSecondPerShard: perShard,
      recordsPerInvocation: shape.recordsPerInvocation,
      invocationsPerSecondPerShard: shape.invocationsPerSecond,
      checkpointWritesPerSecondPerShard: writesPerShard,
      invocationMs: shape.recordsPerInvocation > 0 ? invocationMs : 0,
    });

    // Archive: one delivery stream per stream per Region.
    add('Firehose and S3', `${stream.name}: Firehose ingestion (5 KB rounding)`, regions, (rps * roundUp(bytesPerEvent, FIREHOSE_ROUNDING_BYTES) * S * n) / GIB, 'GB', 'firehose.ingestGb');
    if (rps > 0) {
      const interval = env.archive.bufferingIntervalSeconds > 0 ? env.archive.bufferingIntervalSeconds : 1;
      const objectsPerSecond = Math.max(1 / interval, bps / (env.archive.bufferingSizeMiB * MIB));
      add('Firehose and S3', `${stream.name}: S3 PUTs (one object per buffer flush)`, regions, objectsPerSecond * S * n, 'requests', 's3.putPerThousand', 1000);
      const lineBytes = archiveLineBytesFor(physicalStreamName(env.name, stream.name), primary, bytesPerEvent, assumptions.partitionKeyBytes);
      const compressedPerDay = (rps * lineBytes * assumptions.archiveCompressionRatio * 86400) / GIB;
      // The transformation runs on each 1 MB (or 60 s) buffer of a delivery stream's records.
      const transformsPerSecond = Math.max(1 / ARCHIVE_TRANSFORM_BUFFER_SECONDS, bps / ARCHIVE_TRANSFORM_BUFFER_BYTES);
      archiveTransformInvocationsPerSecond += transformsPerSecond * n;
      const cold = env.archive.coldStorageAfterDays;
      const expire = env.archive.expireAfterDays;
      const standardDays = expire > 0 ? Math.min(cold, expire) : cold;
      add('Firehose and S3', `${stream.name}: archive in S3 Standard (last ${standardDays} days)`, regions, compressedPerDay * standardDays * n, 'GB-month', 's3.standardGbMonth');
      const coldDays = expire > 0 ? Math.max(0, expire - cold) : Math.max(0, assumptions.archiveAgeDaysWhenKeptForever - cold);
      add(
        'Firehose and S3',
        `${stream.name}: archive in Glacier Instant Retrieval (${coldDays} days${expire > 0 ? '' : `, at ${assumptions.archiveAgeDaysWhenKeptForever} days of age; it keeps growing`})`,
        regions,
        compressedPerDay * coldDays * n,
        'GB-month',
        's3.glacierInstantRetrievalGbMonth',
      );
    }

    // Cross-Region: each target receives every record, base64 in JSON on the wire.
    const wireBytes = 4 * Math.ceil(bytesPerEvent / 3) + assumptions.partitionKeyBytes + assumptions.putRecordsEntryOverheadBytes;
    add('Cross-Region transfer', `${stream.name}: replicator PutRecords to ${standbys.length} standby Region(s)`, [primary], (rps * wireBytes * S * standbys.length) / GIB, 'GB', 'dataTransfer.interRegionGb');
  }

  // The replicator and the merge runner (both arm64). The failover and SQL runner functions run on events only.
  add('Lambda functions', 'replicator: invocations', replicatingRegions, (activeInvocationsPerSecond + standbyInvocationsPerSecond) * S, 'requests', 'lambda.requestsPerMillion', 1e6);
  add('Lambda functions', `replicator: duration at ${env.replicator.memorySizeMiB} MiB`, replicatingRegions, replicatorGbSeconds, 'GB-seconds', 'lambda.arm64GbSecond');
  add('Lambda functions', 'archive transformation: one per 1 MB buffer', regions, archiveTransformInvocationsPerSecond * S, 'requests', 'lambda.requestsPerMillion', 1e6);
  add(
    'Lambda functions',
    `archive transformation: duration at ${assumptions.archiveTransformMemoryMiB} MiB`,
    regions,
    archiveTransformInvocationsPerSecond * S * (assumptions.archiveTransformInvocationMs / 1000) * (assumptions.archiveTransformMemoryMiB / 1024),
    'GB-seconds',
    'lambda.arm64GbSecond',
  );
  const mergeRuns = (H * 60 * warehouses.length) / env.warehouse.mergeIntervalMinutes;
  add('Lambda functions', `merge runner: one run every ${env.warehouse.mergeIntervalMinutes} min`, warehouses, mergeRuns, 'requests', 'lambda.requestsPerMillion', 1e6);
  add('Lambda functions', `merge runner: duration at ${assumptions.mergeRunnerMemoryMiB} MiB`, warehouses, mergeRuns * assumptions.mergeRunSeconds * (assumptions.mergeRunnerMemoryMiB / 1024), 'GB-seconds', 'lambda.arm64GbSecond');

  // Checkpoint table: a global table, so each write is billed as a replicated write in every Region.
  const checkpointRwruPerSecond = checkpointWritesPerSecondTotal * regions.length;
  const cadence = env.replicator.checkpointIntervalMs > 0 ? `every partial batch; full batches at most 1 per ${env.replicator.checkpointIntervalMs} ms per shard` : '1 per invocation';
  add('Global tables', `checkpoint writes (${cadence}) × ${regions.length} Regions`, regions, checkpointRwruPerSecond * S, 'rWRU', 'dynamodb.onDemand.replicatedWritePerMillion', 1e6);
  add('Global tables', 'checkpoint and active-Region reads (strongly consistent)', replicatingRegions, activeReadsPerSecond * S, 'RRU', 'dynamodb.onDemand.readPerMillion', 1e6);
  add('Cross-Region transfer', `checkpoint replication to ${standbys.length} Region(s)`, [primary], (checkpointWritesPerSecondTotal * assumptions.checkpointItemBytes * S * standbys.length) / GIB, 'GB', 'dataTransfer.interRegionGb');

  add('Redshift Serverless', `base capacity ${env.warehouse.baseCapacityRpus} RPUs × ${assumptions.warehouseActiveHoursPerMonth} h`, warehouses, env.warehouse.baseCapacityRpus * assumptions.warehouseActiveHoursPerMonth * warehouses.length, 'RPU-hours', 'redshiftServerless.rpuHour');

  const subtotals = COMPONENTS.map((component) => ({
    component,
    monthlyUsd: lines.filter((l) => l.component === component).reduce((sum, l) => sum + l.monthlyUsd, 0),
  }));
  const totalMonthlyUsd = subtotals.reduce((sum, s) => sum + s.monthlyUsd, 0);
  const loadedReplication = replication.find((r) => r.stream === loaded);

  const assumptionsText = [
    `Load: ${eventsPerSecond} records/s of ${bytesPerEvent} bytes written to ${loaded} in ${primary}; the replicator copies them to ${standbys.join(', ')}, so every Region's stream, archive and warehouse sees them. Other streams are idle (fixed charges only).`,
    `A month is ${H} hours. GB = 2^30 bytes. List prices of ${prices.region}, used for every Region; no free tier, no discounts.`,
    `On-demand shards (not billed; they set invocations and checkpoint writes): ${assumptions.onDemandShards ?? `max(4, 2 × the shards the load needs)`}${loadedReplication?.mode === 'ON_DEMAND' ? ` = ${loadedReplication.shards} for ${loaded}` : ''}.`,
    `Replicator invocations per shard: a batch closes at ${env.replicator.batchSize} records (batchSize), at Lambda's 6 MB payload (${assumptions.lambdaEventBytesPerRecord} bytes of event JSON per record besides its base64 data) or at the ${env.replicator.maxBatchingWindowSeconds} s batching window${env.replicator.maxBatchingWindowSeconds === 0 ? ` (0 s: one push every ${assumptions.zeroWindowPushIntervalSeconds} s assumed)` : ''}, whichever comes first.`,
    `One strongly consistent checkpoint read per replicating invocation; a checkpoint write (≤ 1 KB, 1 rWRU per Region) ` +
      (env.replicator.checkpointIntervalMs > 0
        ? `on every invocation whose batch is not full, and while batches are full at most once per replicator.checkpointIntervalMs (${env.replicator.checkpointIntervalMs} ms) per shard`
        : 'on every invocation (replicator.checkpointIntervalMs 0, the default)') +
      `; the active-Region item is read once per ${env.replicator.activeRegionCacheTtlSeconds} s cache lifetime per shard.`,
    `Invocation time = checkpoint read ${assumptions.dynamoDbReadMs} ms + ⌈n/500⌉ PutRecords rounds × ${assumptions.crossRegionPutRecordsMs} ms (targets in parallel; strict ordering costs more rounds when a key has more than ⌈n/500⌉ records in a batch) + checkpoint write ${assumptions.dynamoDbWriteMs} ms when written + ${assumptions.handlerOverheadMs} ms + ${assumptions.handlerMsPerRecord} ms/record; arm64 at ${env.replicator.memorySizeMiB} MiB.`,
    standbyReplicatorsRun
      ? `Standby replicators run (failover.moveReservedConcurrency is off): they receive every replica through their consumer and skip it after a fresh read of the active-Region item (${assumptions.handlerOverheadMs} ms + ${assumptions.handlerMsPerRecord} ms/record, no writes).`
      : `Standby replicators are held at reserved concurrency 0 (failover.moveReservedConcurrency), so only the primary's consumer reads records.`,
    `Enhanced fan-out consumer-shard-hours are billed for every registered consumer (every Region) on provisioned streams; on-demand streams bill EFO per GB only.`,
    `Cross-Region bytes per record = base64 payload + ${assumptions.partitionKeyBytes}-byte partition key + ${assumptions.putRecordsEntryOverheadBytes} bytes of JSON framing; checkpoint items ${assumptions.checkpointItemBytes} bytes.`,
    `Archive: one NDJSON line per record (lambda/archive/format.ts: metadata + base64 data, ${archiveLineBytesFor(physicalStreamName(env.name, loaded), primary, bytesPerEvent, assumptions.partitionKeyBytes)} bytes for these records), GZIP to ${assumptions.archiveCompressionRatio * 100} % of that (generated Segment-style events compress to 6 %; real payloads vary); the transformation runs ${assumptions.archiveTransformInvocationMs} ms per 1 MB buffer at ${assumptions.archiveTransformMemoryMiB} MiB; one S3 object per buffer flush (${env.archive.bufferingIntervalSeconds} s or ${env.archive.bufferingSizeMiB} MiB); Standard for ${env.archive.coldStorageAfterDays} days, then Glacier Instant Retrieval${env.archive.expireAfterDays > 0 ? ` until day ${env.archive.expireAfterDays}` : ` forever (priced at ${assumptions.archiveAgeDaysWhenKeptForever} days of age)`}.`,
    `Warehouse: ${warehouses.length} workgroup(s) (${warehouses.join(', ')}) at ${env.warehouse.baseCapacityRpus} RPUs, active ${assumptions.warehouseActiveHoursPerMonth} h/month (a merge every ${env.warehouse.mergeIntervalMinutes} min and AUTO REFRESH keep it busy; Serverless bills a 60 s minimum per start).`,
    `Merge runner: ${assumptions.mergeRunSeconds} s per run at ${assumptions.mergeRunnerMemoryMiB} MiB (it waits for its Data API batch).`,
    'Not modelled: KMS requests for stream and table encryption, CloudWatch metrics, logs and alarms, SQS, DynamoDB storage and PITR, Redshift managed storage, S3 lifecycle transitions and GETs, NAT or VPC endpoints, the failover, SQL runner and ops functions (event-driven).',
  ];
  const unverified = lines.filter((l) => l.unverifiedPrice).map((l) => l.priceKey);
  if (unverified.length > 0) {
    warnings.push(`prices not confirmed from a stored source (marked †): ${[...new Set(unverified)].join(', ')}`);
  }

  return {
    environment: env.name,
    regions,
    workload: { eventsPerSecond, bytesPerEvent, stream: loaded },
    lines,
    subtotals,
    totalMonthlyUsd,
    replication,
    checkpointRwruPerSecond,
    assumptions: assumptionsText,
    warnings,
    prices,
  };
}
