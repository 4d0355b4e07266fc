/**
 * The failover function's configuration, parsed once at cold start from the environment variables the ops stack
 * sets. A missing or malformed variable fails the cold start with its name.
 *
 * | variable | meaning |
 * |---|---|
 * | `REDSTREAM_ENVIRONMENT` | environment name |
 * | `REGIONS` | every Region, comma-separated, primary first |
 * | `STREAM_NAMES` | physical stream names, comma-separated |
 * | `CHECKPOINT_TABLE_NAME`, `ACTIVE_REGION_TABLE_NAME` | the two global tables |
 * | `REPLICATOR_TIMEOUT_SECONDS`, `ACTIVE_REGION_CACHE_TTL_SECONDS` | the in-flight wait |
 * | `PROPAGATION_TIMEOUT_SECONDS`, `POLL_INTERVAL_SECONDS` | the replica wait |
 * | `RESUME_SAFETY_MARGIN_SECONDS`, `FAILBACK_MAX_LAG_SECONDS` | resume timestamp and failback guard |
 * | `REPLICATOR_FENCE_FUNCTION_NAME` | the replicator function's name: what a forced switch fences |
 * | `MAX_CLOCK_SKEW_SECONDS` (optional) | assumed clock error when the target Region's clock cannot be read; default 30 |
 * | `STREAM_RETENTION_HOURS` (optional) | `name=hours` pairs, comma-separated: the low-water mark without a shard listing |
 * | `REPLICATOR_FUNCTION_NAME` (optional) | set: move reserved concurrency after a full switch |
 * | `REPLICATOR_RESERVED_CONCURRENCY` (optional) | the active Region's reservation; absent: unreserved |
 * | `RESULT_TOPIC_ARN` (optional) | SNS topic the result is published to |
 */
import { StateTables } from './adapters';
import { FailoverError } from './errors';
import { FailoverSettings } from './service';

export class EnvironmentVariableError extends FailoverError {
  constructor(name: string, problem: string) {
    super(`environment variable ${name} ${problem}`);
    this.name = 'EnvironmentVariableError';
  }
}

export interface FailoverFunctionEnv {
  readonly settings: FailoverSettings;
  readonly tables: StateTables;
  readonly resultTopicArn?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function required(env: Env, name: string): string {
  const v = env[name];
  if (v === undefined || v.trim() === '') throw new EnvironmentVariableError(name, 'is not set');
  return v.trim();
}

function list(env: Env, name: string): string[] {
  const items = required(env, name).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new EnvironmentVariableError(name, 'must list at least one value');
  return items;
}

function wholeNumber(env: Env, name: string, min: number): number {
  const raw = required(env, name);
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new EnvironmentVariableError(name, `must be a whole number ≥ ${min} (got ${JSON.stringify(raw)})`);
  return Number(raw);
}

export function parseFailoverEnv(env: Env): FailoverFunctionEnv {
  const regions = list(env, 'REGIONS');
  const functionName = env.REPLICATOR_FUNCTION_NAME?.trim() || undefined;
  const reserved = env.REPLICATOR_RESERVED_CONCURRENCY?.trim() ? wholeNumber(env, 'REPLICATOR_RESERVED_CONCURRENCY', 0) : undefined;
  const topic = env.RESULT_TOPIC_ARN?.trim() || undefined;
  if (topic !== undefined && !/^arn:[^:]+:sns:[^:]+:\d{12}:.+$/.test(topic)) {
    throw new EnvironmentVariableError('RESULT_TOPIC_ARN', `must be an SNS topic ARN (got ${JSON.stringify(topic)})`);
  }
  return {
    tables: { checkpointTableName: required(env, 'CHECKPOINT_TABLE_NAME'), activeRegionTableName: required(env, 'ACTIVE_REGION_TABLE_NAME') },
    resultTopicArn: topic,
    settings: {
      environment: required(env, 'REDSTREAM_ENVIRONMENT'),
      regions,
      primaryRegion: regions[0],
      streams: list(env, 'STREAM_NAMES'),
      replicatorTimeoutMs: wholeNumber(env, 'REPLICATOR_TIMEOUT_SECONDS', 1) * 1000,
      activeRegionCacheTtlMs: wholeNumber(env, 'ACTIVE_REGION_CACHE_TTL_SECONDS', 0) * 1000,
      propagationTimeoutMs: wholeNumber(env, 'PROPAGATION_TIMEOUT_SECONDS', 1) * 1000,
      pollIntervalMs: wholeNumber(env, 'POLL_INTERVAL_SECONDS', 1) * 1000,
      resumeSafetyMarginMs: wholeNumber(env, 'RESUME_SAFETY_MARGIN_SECONDS', 0) * 1000,
      failbackMaxLagMs: wholeNumber(env, 'FAILBACK_MAX_LAG_SECONDS', 1) * 1000,
      replicatorConcurrency: functionName ? { functionName, reservedConcurrency: reserved } : undefined,
      replicatorFunctionName: required(env, 'REPLICATOR_FENCE_FUNCTION_NAME'),
      maxClockSkewMs: env.MAX_CLOCK_SKEW_SECONDS?.trim() ? wholeNumber(env, 'MAX_CLOCK_SKEW_SECONDS', 0) * 1000 : undefined,
      streamRetentionMs: env.STREAM_RETENTION_HOURS?.trim() ? retention(env, 'STREAM_RETENTION_HOURS') : undefined,
    },
  };
}

function retention(env: Env, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of list(env, name)) {
    const m = /^([^=]+)=(\d+)$/.exec(pair);
    if (!m) throw new EnvironmentVariableError(name, `must be name=hours pairs (got ${JSON.stringify(pair)})`);
    out[m[1]] = Number(m[2]) * 3_600_000;
  }
  return out;
}

/** The variables for a settings object: the inverse of {@link parseFailoverEnv}, used by the ops stack. */
export function failoverEnvironment(settings: FailoverSettings, tables: StateTables, resultTopicArn?: string): Record<string, string> {
  const env: Record<string, string> = {
    REDSTREAM_ENVIRONMENT: settings.environment,
    REGIONS: settings.regions.join(','),
    STREAM_NAMES: settings.streams.join(','),
    CHECKPOINT_TABLE_NAME: tables.checkpointTableName,
    ACTIVE_REGION_TABLE_NAME: tables.activeRegionTableName,
    REPLICATOR_TIMEOUT_SECONDS: String(Math.ceil(settings.replicatorTimeoutMs / 1000)),
    ACTIVE_REGION_CACHE_TTL_SECONDS: String(Math.ceil(settings.activeRegionCacheTtlMs / 1000)),
    PROPAGATION_TIMEOUT_SECONDS: String(Math.ceil(settings.propagationTimeoutMs / 1000)),
    POLL_INTERVAL_SECONDS: String(Math.max(1, Math.ceil(settings.pollIntervalMs / 1000))),
    RESUME_SAFETY_MARGIN_SECONDS: String(Math.ceil(settings.resumeSafetyMarginMs / 1000)),
    FAILBACK_MAX_LAG_SECONDS: String(Math.ceil(settings.failbackMaxLagMs / 1000)),
    REPLICATOR_FENCE_FUNCTION_NAME: settings.replicatorFunctionName,
  };
  if (settings.maxClockSkewMs !== undefined) env.MAX_CLOCK_SKEW_SECONDS = String(Math.ceil(settings.maxClockSkewMs / 1000));
  if (settings.streamRetentionMs !== undefined) {
    env.STREAM_RETENTION_HOURS = Object.entries(settings.streamRetentionMs)
      .map(([name, ms]) => `${name}=${Math.floor(ms / 3_600_000)}`)
      .join(',');
  }
  if (settings.replicatorConcurrency) {
    env.REPLICATOR_FUNCTION_NAME = settings.replicatorConcurrency.functionName;
    if (settings.replicatorConcurrency.reservedConcurrency !== undefined) {
      env.REPLICATOR_RESERVED_CONCURRENCY = String(settings.replicatorConcurrency.reservedConcurrency);
    }
  }
  if (resultTopicArn !== undefined) env.RESULT_TOPIC_ARN = resultTopicArn;
  return env;
}
