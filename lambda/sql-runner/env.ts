/**
 * Configuration of the SQL runner and the merge runner, parsed once at cold start. A missing or malformed variable
 * fails the cold start with its name.
 *
 * | variable | meaning |
 * |---|---|
 * | `WORKGROUP_NAME` | Redshift Serverless workgroup the Data API runs statements in |
 * | `DATABASE_NAME` | database |
 * | `SECRET_ARN` (optional) | admin secret for the Data API; absent: the function's IAM identity (GetCredentials) |
 * | `POLL_INTERVAL_MS` (optional) | delay between DescribeStatement calls; default 1000 |
 * | `MERGE_SQL` (merge runner only) | JSON list of the statements that run one merge |
 * | `STREAMING_VIEWS` (merge runner only, optional) | JSON list of `{ schema, name, sql }`: the bootstrap's CREATE of each streaming view, created again when a merge fails because one is missing; absent: none is |
 */
import { parseStreamingViews, StreamingViewDefinition } from '../archive/streaming-views';

export class EnvironmentVariableError extends Error {
  constructor(name: string, problem: string) {
    super(`environment variable ${name} ${problem}`);
    this.name = 'EnvironmentVariableError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export interface WarehouseFunctionEnv {
  readonly workgroupName: string;
  readonly database: string;
  readonly secretArn?: string;
  readonly pollIntervalMs: number;
}

function required(env: Env, name: string): string {
  const v = env[name]?.trim();
  if (!v) throw new EnvironmentVariableError(name, 'is not set');
  return v;
}

export function parseWarehouseFunctionEnv(env: Env): WarehouseFunctionEnv {
  const secretArn = env.SECRET_ARN?.trim() || undefined;
  if (secretArn !== undefined && !/^arn:[^:]+:secretsmanager:[^:]+:\d{12}:secret:.+$/.test(secretArn)) {
    throw new EnvironmentVariableError('SECRET_ARN', `must be a Secrets Manager secret ARN (got ${JSON.stringify(secretArn)})`);
  }
  const pollRaw = env.POLL_INTERVAL_MS?.trim() || '1000';
  if (!/^\d+$/.test(pollRaw) || Number(pollRaw) < 10 || Number(pollRaw) > 60000) {
    throw new EnvironmentVariableError('POLL_INTERVAL_MS', `must be a whole number between 10 and 60000 (got ${JSON.stringify(pollRaw)})`);
  }
  return {
    workgroupName: required(env, 'WORKGROUP_NAME'),
    database: required(env, 'DATABASE_NAME'),
    secretArn,
    pollIntervalMs: Number(pollRaw),
  };
}

/** The merge runner's statements (e.g. `["SET enable_case_sensitive_identifier TO true","CALL redstream.merge_events()"]`). */
export function parseMergeSql(env: Env): string[] {
  const raw = required(env, 'MERGE_SQL');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new EnvironmentVariableError('MERGE_SQL', `must be a JSON list of SQL strings (got ${JSON.stringify(raw.slice(0, 100))})`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.some((s) => typeof s !== 'string' || s.trim() === '')) {
    throw new EnvironmentVariableError('MERGE_SQL', 'must be a non-empty JSON list of SQL strings');
  }
  return parsed as string[];
}

/** The streaming views the merge runner creates again when one is missing (lambda/merge/run.ts); none without the variable. */
export function parseMergeStreamingViews(env: Env): StreamingViewDefinition[] {
  const raw = env.STREAMING_VIEWS?.trim();
  if (!raw) return [];
  try {
    return parseStreamingViews(raw, 'STREAMING_VIEWS');
  } catch (err) {
    throw new EnvironmentVariableError('STREAMING_VIEWS', (err as Error).message);
  }
}
