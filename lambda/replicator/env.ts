/**
 * The replicator's environment, parsed once at cold start (index.ts). A missing or malformed variable throws a
 * {@link ReplicatorConfigError} naming it.
 *
 * | variable | required | meaning |
 * |---|---|---|
 * | `AWS_REGION` | set by Lambda | the Region this function runs in; it forwards only while it is a stream's active Region |
 * | `TARGET_REGIONS` | yes | comma-separated standby Regions; each gets every record in the source stream's same-named stream |
 * | `CHECKPOINT_TABLE_NAME` | yes | checkpoint table (items: lambda/shared/state-tables.ts) |
 * | `ACTIVE_REGION_TABLE_NAME` | yes | active-Region table |
 * | `RELAXED_ORDER_STREAMS` | no | comma-separated physical stream names replicated without per-key order. Default: none |
 * | `ACTIVE_REGION_CACHE_TTL_MS` | no | how long an active-Region item is cached; keep it below the failover wait. 0–60000, default 5000 |
 * | `MAX_REQUEST_BYTES` | no | bytes per PutRecords call (payload + partition key). 1048832–10485760, default 5242880 (5 MiB); lib/replicator.ts sets it from the streams' largest maxRecordSizeKiB (putRecordsRequestBudgetBytes) |
 * | `MAX_ATTEMPTS` | no | sends of one record per invocation before the batch stops. 1–100, default 10 |
 * | `RETRY_BASE_DELAY_MS` | no | first backoff cap (full jitter, doubling). 1–10000, default 100 |
 * | `RETRY_MAX_DELAY_MS` | no | largest backoff cap. RETRY_BASE_DELAY_MS–60000, default 5000 |
 * | `CALL_TIMEOUT_MS` | no | longest one PutRecords attempt may take. 100–120000, default 10000 |
 * | `DEADLINE_SAFETY_MARGIN_MS` | no | time kept back from Lambda's deadline to checkpoint and reply. 0–60000, default 5000 |
 * | `HOLD_DELAY_MS` | no | pause before a held batch is reported while a switch toward this Region is under way. 0–10000, default 1000 |
 * | `CHECKPOINT_INTERVAL_MS` | no | while a shard's batches are full and complete, write its checkpoint at most this often (always on a stop, a batch that is not full, a first checkpoint and a new tenure). 0–60000, default 0 (every invocation); lib/replicator.ts sets it from `replicator.checkpointIntervalMs` |
 * | `MAPPING_BATCH_SIZE` | no | the event source mapping's batch size, so a batch with fewer records counts as not full. 1–10000, default none (every batch counts as not full); lib/replicator.ts sets it |
 * | `POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_LOG_LEVEL`, `POWERTOOLS_METRICS_DISABLED`, … | no | read by Powertools itself |
 *
 * Endpoints come from the SDK's standard `AWS_ENDPOINT_URL_KINESIS` and `AWS_ENDPOINT_URL_DYNAMODB` (read by the SDK).
 */
import { ReplicatorConfigError } from './errors';
import { PUT_RECORDS_MAX_REQUEST_BYTES } from './planner';

export interface ReplicatorEnv {
  readonly ownRegion: string;
  readonly targetRegions: readonly string[];
  readonly checkpointTableName: string;
  readonly activeRegionTableName: string;
  readonly relaxedStreams: ReadonlySet<string>;
  readonly activeRegionCacheTtlMs: number;
  readonly maxRequestBytes: number;
  readonly maxAttempts: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly callTimeoutMs: number;
  readonly safetyMarginMs: number;
  readonly holdDelayMs: number;
  readonly checkpointIntervalMs: number;
  readonly mappingBatchSize: number | undefined;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const STREAM_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
/** The largest Kinesis record (1 MiB) plus the longest partition key (256 bytes) must fit a request. */
const MIN_REQUEST_BYTES = 1024 * 1024 + 256;

type Vars = Readonly<Record<string, string | undefined>>;

function required(vars: Vars, name: string): string {
  const v = vars[name]?.trim();
  if (!v) throw new ReplicatorConfigError(name, 'is required and missing or empty');
  return v;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function integer(vars: Vars, name: string, min: number, max: number, fallback: number): number {
  const raw = vars[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ReplicatorConfigError(name, `must be an integer between ${min} and ${max} (got ${JSON.stringify(raw)})`);
  }
  return Number(raw);
}

/** Parses and validates the replicator's variables from `vars` (normally `process.env`). */
export function parseReplicatorEnv(vars: Vars): ReplicatorEnv {
  const ownRegion = required(vars, 'AWS_REGION');
  if (!REGION.test(ownRegion)) throw new ReplicatorConfigError('AWS_REGION', `is not a Region name (got ${JSON.stringify(ownRegion)})`);
  const targetRegions = list(required(vars, 'TARGET_REGIONS'));
  if (targetRegions.length === 0) throw new ReplicatorConfigError('TARGET_REGIONS', 'must name at least one Region');
  for (const r of targetRegions) {
    if (!REGION.test(r)) throw new ReplicatorConfigError('TARGET_REGIONS', `${JSON.stringify(r)} is not a Region name`);
    if (r === ownRegion) throw new ReplicatorConfigError('TARGET_REGIONS', `must not contain the function's own Region ${ownRegion}`);
  }
  if (new Set(targetRegions).size !== targetRegions.length) throw new ReplicatorConfigError('TARGET_REGIONS', `names a Region twice (got ${JSON.stringify(vars.TARGET_REGIONS)})`);
  const relaxed = list(vars.RELAXED_ORDER_STREAMS ?? '');
  for (const s of relaxed) {
    if (!STREAM_NAME.test(s)) throw new ReplicatorConfigError('RELAXED_ORDER_STREAMS', `${JSON.stringify(s)} is not a stream name`);
  }
  const retryBaseDelayMs = integer(vars, 'RETRY_BASE_DELAY_MS', 1, 10_000, 100);
  return {
    ownRegion,
    targetRegions,
    checkpointTableName: required(vars, 'CHECKPOINT_TABLE_NAME'),
    activeRegionTableName: required(vars, 'ACTIVE_REGION_TABLE_NAME'),
    relaxedStreams: new Set(relaxed),
    activeRegionCacheTtlMs: integer(vars, 'ACTIVE_REGION_CACHE_TTL_MS', 0, 60_000, 5_000),
    maxRequestBytes: integer(vars, 'MAX_REQUEST_BYTES', MIN_REQUEST_BYTES, 10 * 1024 * 1024, PUT_RECORDS_MAX_REQUEST_BYTES),
    maxAttempts: integer(vars, 'MAX_ATTEMPTS', 1, 100, 10),
    retryBaseDelayMs,
    retryMaxDelayMs: integer(vars, 'RETRY_MAX_DELAY_MS', retryBaseDelayMs, 60_000, Math.max(5_000, retryBaseDelayMs)),
    callTimeoutMs: integer(vars, 'CALL_TIMEOUT_MS', 100, 120_000, 10_000),
    safetyMarginMs: integer(vars, 'DEADLINE_SAFETY_MARGIN_MS', 0, 60_000, 5_000),
    holdDelayMs: integer(vars, 'HOLD_DELAY_MS', 0, 10_000, 1_000),
    checkpointIntervalMs: integer(vars, 'CHECKPOINT_INTERVAL_MS', 0, 60_000, 0),
    mappingBatchSize: vars.MAPPING_BATCH_SIZE?.trim() ? integer(vars, 'MAPPING_BATCH_SIZE', 1, 10_000, 0) : undefined,
  };
}
