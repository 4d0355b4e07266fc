/**
 * Configuration of the erasure's scheduled step (lib/erasure-finish.ts sets it), parsed once at cold start; a missing
 * or malformed variable fails the cold start with its name.
 *
 * | variable | meaning |
 * |---|---|
 * | `WORKGROUP_NAME`, `DATABASE_NAME`, `SECRET_ARN`, `POLL_INTERVAL_MS` | the warehouse, as for the merge runner (lambda/sql-runner/env.ts) |
 * | `SCHEMA` | Redstream's schema |
 * | `SUBJECT_PATHS` | comma-separated JSON paths that name a subject (the merge's) |
 * | `STREAMS` | JSON list of `{ "name": <physical name>, "retentionHours": n }` |
 * | `STREAMING_VIEWS` | JSON list of `{ schema, name, sql }`: the bootstrap's CREATE of each streaming view |
 * | `ARCHIVE_BUCKET` | this Region's archive bucket |
 * | `ARCHIVE_BUCKET_PARAMETER` | the SSM parameter that names each Region's archive bucket (checked by every run) |
 * | `OTHER_ARCHIVES` | optional JSON list of `{ "region", "bucket" }`: Regions without a warehouse whose archives this step sweeps |
 * | `ARCHIVE_PREFIXES` | JSON list of the prefixes to sweep (each stream's `<name>/` and `errors/`) |
 * | `ARCHIVE_DELAY_MS` | how late Firehose can still deliver a record read before an erasure |
 */
import { parseStreamingViews, StreamingViewDefinition } from '../archive/streaming-views';
import { checkSubjectPaths } from '../archive/subject';
import { EnvironmentVariableError, parseWarehouseFunctionEnv, WarehouseFunctionEnv } from '../sql-runner/env';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The context key whose new value makes a deploy read other Regions' archive bucket names again (lib/erasure-finish.ts
 * sets the lookup's refresh from it; a run's error names it; README, "Erasure").
 */
export const ARCHIVE_BUCKET_LOOKUP_REFRESH_CONTEXT = 'redstream:refreshArchiveBucketLookup';

export interface ErasureFinishEnv extends WarehouseFunctionEnv {
  readonly region: string;
  readonly schema: string;
  readonly subjectPaths: readonly string[];
  readonly streams: ReadonlyArray<{ readonly name: string; readonly retentionHours: number }>;
  readonly streamingViews: readonly StreamingViewDefinition[];
  readonly archiveBucket: string;
  readonly archiveBucketParameter: string;
  /** Other Regions' archives this step sweeps (Regions without a warehouse of their own); empty when none. */
  readonly otherArchives: ReadonlyArray<{ readonly region: string; readonly bucket: string }>;
  readonly archivePrefixes: readonly string[];
  readonly archiveDelayMs: number;
}

function required(env: Env, name: string): string {
  const v = env[name]?.trim();
  if (!v) throw new EnvironmentVariableError(name, 'is not set');
  return v;
}

function json(env: Env, name: string): unknown {
  try {
    return JSON.parse(required(env, name));
  } catch (err) {
    if (err instanceof EnvironmentVariableError) throw err;
    throw new EnvironmentVariableError(name, 'is not JSON');
  }
}

export function parseErasureFinishEnv(env: Env): ErasureFinishEnv {
  const schema = required(env, 'SCHEMA');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new EnvironmentVariableError('SCHEMA', `must be a lower-case SQL identifier (got ${JSON.stringify(schema)})`);
  let subjectPaths: readonly string[];
  try {
    subjectPaths = checkSubjectPaths(required(env, 'SUBJECT_PATHS').split(','));
  } catch (err) {
    if (err instanceof EnvironmentVariableError) throw err;
    throw new EnvironmentVariableError('SUBJECT_PATHS', (err as Error).message);
  }
  const streams = json(env, 'STREAMS');
  if (!Array.isArray(streams) || streams.length === 0 || streams.some((s) => typeof s?.name !== 'string' || !Number.isInteger(s?.retentionHours) || s.retentionHours < 1)) {
    throw new EnvironmentVariableError('STREAMS', 'must be a non-empty JSON list of { name, retentionHours }');
  }
  let streamingViews: StreamingViewDefinition[];
  try {
    streamingViews = parseStreamingViews(required(env, 'STREAMING_VIEWS'), 'STREAMING_VIEWS');
  } catch (err) {
    if (err instanceof EnvironmentVariableError) throw err;
    throw new EnvironmentVariableError('STREAMING_VIEWS', (err as Error).message);
  }
  const prefixes = json(env, 'ARCHIVE_PREFIXES');
  if (!Array.isArray(prefixes) || prefixes.length === 0 || prefixes.some((p) => typeof p !== 'string' || !/^[A-Za-z0-9_.-]+\/$/.test(p))) {
    throw new EnvironmentVariableError('ARCHIVE_PREFIXES', 'must be a non-empty JSON list of prefixes such as "events/"');
  }
  const region = required(env, 'AWS_REGION');
  const others = env.OTHER_ARCHIVES?.trim() ? json(env, 'OTHER_ARCHIVES') : [];
  if (
    !Array.isArray(others) ||
    others.some((o) => typeof o?.region !== 'string' || !/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(o.region) || typeof o?.bucket !== 'string' || o.bucket === '' || o.region === region) ||
    new Set(others.map((o) => o.region)).size !== others.length
  ) {
    throw new EnvironmentVariableError('OTHER_ARCHIVES', `must be a JSON list of { region, bucket }, one per Region other than ${region}`);
  }
  const parameter = required(env, 'ARCHIVE_BUCKET_PARAMETER');
  if (!/^\/[A-Za-z0-9_.\/-]{1,1010}$/.test(parameter)) throw new EnvironmentVariableError('ARCHIVE_BUCKET_PARAMETER', `must be an SSM parameter name such as /redstream/dev/archive-bucket-name (got ${JSON.stringify(parameter)})`);
  const delay = required(env, 'ARCHIVE_DELAY_MS');
  if (!/^\d{1,9}$/.test(delay)) throw new EnvironmentVariableError('ARCHIVE_DELAY_MS', `must be a whole number of milliseconds (got ${JSON.stringify(delay)})`);
  return {
    ...parseWarehouseFunctionEnv(env),
    region,
    schema,
    subjectPaths,
    streams: streams as Array<{ name: string; retentionHours: number }>,
    streamingViews,
    archiveBucket: required(env, 'ARCHIVE_BUCKET'),
    archiveBucketParameter: parameter,
    otherArchives: (others as Array<{ region: string; bucket: string }>).map((o) => ({ region: o.region, bucket: o.bucket })),
    archivePrefixes: prefixes as string[],
    archiveDelayMs: Number(delay),
  };
}
