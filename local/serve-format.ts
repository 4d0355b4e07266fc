/**
 * What the serve mode writes and prints, as pure functions: the environment it serves (cdk.json's, with laptop
 * timings), the state file another terminal reads (`npm run ops -- … --local`, `npm run demo -- ctl …`), the lines to
 * paste there, and the live status line.
 */

/** The timings the served environment runs with instead of cdk.json's (a switch then waits ≈ 12 s, not minutes). */
export const SERVE_TIMINGS = {
  /** The config's minimum; the failover's in-flight wait is this plus the cache TTL plus 1 s. */
  replicatorTimeoutSeconds: 10,
  activeRegionCacheTtlSeconds: 1,
  /** One clock on one machine: a small margin is safe here, not in AWS. */
  resumeSafetyMarginSeconds: 1,
} as const;

type JsonObject = Record<string, unknown>;

function asObject(value: unknown): JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};
}

/**
 * The raw cdk.json environment the local world serves: `raw` with the {@link SERVE_TIMINGS}. The ops CLI reads the same
 * file (REDSTREAM_CDK_JSON), so its waits and margins are the local world's, as a deployed CLI's are its deployment's.
 */
export function servedEnvironment(raw: unknown): JsonObject {
  const env = asObject(raw);
  return {
    ...env,
    replicator: { ...asObject(env.replicator), timeoutSeconds: SERVE_TIMINGS.replicatorTimeoutSeconds, activeRegionCacheTtlSeconds: SERVE_TIMINGS.activeRegionCacheTtlSeconds },
    failover: { ...asObject(env.failover), resumeSafetyMarginSeconds: SERVE_TIMINGS.resumeSafetyMarginSeconds },
  };
}

/** The state file of a running serve mode (`.redstream/serve.json`), removed when it stops. */
export interface ServeState {
  readonly version: 1;
  readonly pid: number;
  readonly environment: string;
  readonly regions: readonly string[];
  /** The control endpoint (`npm run demo -- ctl`, and the operator's clock for `npm run ops`). */
  readonly control: string;
  /** The variables that point the ops CLI at the local world, in print order. */
  readonly env: Readonly<Record<string, string>>;
  readonly startedAt: string;
}

export class ServeStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServeStateError';
  }
}

/** Parses a state file's text; throws a {@link ServeStateError} naming what is wrong. */
export function parseServeState(text: string, file: string): ServeState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ServeStateError(`${file} is not JSON: remove it and start \`npm run demo -- --serve\` again`);
  }
  const o = asObject(raw);
  const env = asObject(o.env);
  const ok =
    o.version === 1 &&
    typeof o.pid === 'number' &&
    typeof o.environment === 'string' &&
    Array.isArray(o.regions) &&
    o.regions.every((r) => typeof r === 'string') &&
    typeof o.control === 'string' &&
    /^http:\/\/127\.0\.0\.1:\d+$/.test(o.control) &&
    typeof o.startedAt === 'string' &&
    Object.values(env).every((v) => typeof v === 'string') &&
    typeof env.REDSTREAM_LOCAL_WORLD_TOKEN === 'string';
  if (!ok) throw new ServeStateError(`${file} is not a state file of this version of the serve mode: remove it and start \`npm run demo -- --serve\` again`);
  return o as unknown as ServeState;
}

/** Shell-quotes a value when it needs it. */
function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@=,+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The control endpoint's token of a state file. */
export function stateToken(state: Pick<ServeState, 'env'>): string {
  return state.env.REDSTREAM_LOCAL_WORLD_TOKEN ?? '';
}

/** The lines to paste into another terminal (POSIX shells), one `export` per variable. */
export function exportLines(state: Pick<ServeState, 'env'>): string[] {
  return Object.entries(state.env).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
}

/** The variables of the state file: what the SDK and the ops CLI read. */
export function serveVariables(args: {
  kinesis: string;
  dynamodb: string;
  lambda: string;
  s3: string;
  control: string;
  /** The control endpoint's token (local/serve-auth.ts). */
  token: string;
  cdkJson: string;
  archiveBuckets: Readonly<Record<string, string>>;
}): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_KINESIS: args.kinesis,
    AWS_ENDPOINT_URL_DYNAMODB: args.dynamodb,
    AWS_ENDPOINT_URL_LAMBDA: args.lambda,
    AWS_ENDPOINT_URL_S3: args.s3,
    // The stand-ins check no signature; any key works, but a real one must not be sent to them (or anywhere else).
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    REDSTREAM_CDK_JSON: args.cdkJson,
    ...Object.fromEntries(Object.entries(args.archiveBuckets).map(([region, bucket]) => [`REDSTREAM_ARCHIVE_BUCKET_${region.toUpperCase().replace(/-/g, '_')}`, bucket])),
    REDSTREAM_LOCAL_WORLD: args.control,
    REDSTREAM_LOCAL_WORLD_TOKEN: args.token,
  };
}

/** What the status line shows. */
export interface ServeSnapshot {
  readonly uptimeMs: number;
  /** The active-Region item with the highest epoch any replica holds. */
  readonly active: { readonly region: string; readonly state: string; readonly epoch: number } | undefined;
  readonly producerRegion: string;
  /** Records written per Region (first writes and re-sends). */
  readonly writtenByRegion: Readonly<Record<string, number>>;
  readonly failedCalls: number;
  /** Records the active Region's replicator has read and not yet replicated. */
  readonly replicationPending: number;
  /** How late the oldest record of the active Region's last replicated batch reached the other Regions, ms. */
  readonly replicationLagMs: number | undefined;
  /** With records pending: how long since the active Region's replicator last finished a batch, ms. */
  readonly replicationStalledMs: number | undefined;
  readonly warehouseRows: number;
  readonly warehouseEvents: number;
  /** Faults now in force, e.g. `us-east-1 Kinesis down`. */
  readonly faults: readonly string[];
}

/** No batch replicated for this long while records wait: the status line says stalled (a batching window is 1 s). */
export const STALLED_AFTER_MS = 5_000;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** One status line, e.g. `00:42 active us-east-1 epoch 1 · producer → us-east-1 · written us-east-1 2010, us-west-2 0 · …`. */
export function formatStatusLine(s: ServeSnapshot): string {
  const total = Math.floor(s.uptimeMs / 1000);
  const clock = `${String(Math.floor(total / 60)).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;
  const active = s.active === undefined ? 'active ?' : s.active.state === 'ACTIVE' ? `active ${s.active.region} epoch ${s.active.epoch}` : `${s.active.state} from ${s.active.region} epoch ${s.active.epoch}`;
  const written = Object.entries(s.writtenByRegion)
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');
  const lag = s.replicationLagMs === undefined ? '' : `, last batch lag ${seconds(s.replicationLagMs)}`;
  const replication =
    s.replicationPending === 0
      ? `replication caught up${lag}`
      : s.replicationStalledMs !== undefined && s.replicationStalledMs >= STALLED_AFTER_MS
        ? `replication stalled ${seconds(s.replicationStalledMs)} (${s.replicationPending} pending)`
        : `replication ${s.replicationPending} pending${lag}`;
  return [
    `${clock} ${active}`,
    `producer → ${s.producerRegion}`,
    `written ${written}${s.failedCalls > 0 ? ` (${s.failedCalls} failed calls)` : ''}`,
    replication,
    `warehouse rows ${s.warehouseRows}, events ${s.warehouseEvents}`,
    ...(s.faults.length > 0 ? [`faults: ${s.faults.join(', ')}`] : []),
  ].join(' · ');
}
