/**
 * Redstream configuration: the typed shape of one environment, its defaults, and a pure validation function.
 *
 * Environments live in `cdk.json` under the context key `redstream:environments`, one object per environment
 * name. Only `bin/` reads context; it calls {@link resolveEnvironments} and hands the typed result to the stacks.
 * Every rule here fails with a {@link ConfigError} whose message names the field, the value received and the fix.
 */

/** How a Kinesis data stream is billed and scaled. */
export type StreamMode = 'PROVISIONED' | 'ON_DEMAND';

/**
 * Whether the replicator keeps per-partition-key order in the standby Regions.
 * - `strict`: records of one partition key land in source order (costs up to one PutRecords call per record of the
 *   busiest key in a batch).
 * - `relaxed`: records may be reordered when entries are retried; batches cost about ⌈N/500⌉ calls.
 */
export type OrderingMode = 'strict' | 'relaxed';

/** Whether the health alarm may start a failover on its own. */
export type FailoverMode = 'manual' | 'automatic';

export interface StreamConfig {
  /** Logical stream name, unique in the environment. The physical name is `redstream-<env>-<name>` in every Region. */
  readonly name: string;
  /** Capacity mode. @default 'ON_DEMAND' */
  readonly mode: StreamMode;
  /** Shard count; only for `PROVISIONED` streams. Valid range: 1–10000. @default 1 */
  readonly shards: number;
  /** Retention period in hours. Valid range: 24–8760. @default 24 */
  readonly retentionHours: number;
  /** Per-key ordering guarantee of the replicator for this stream. @default 'strict' */
  readonly ordering: OrderingMode;
  /**
   * Largest record (data plus partition key) the stream accepts, in KiB. Every Region's copy of the stream gets the
   * same value, so a record a producer could write is one the replicator can copy. Valid range: 1024–10240.
   * @default 1024 (Kinesis's default of 1 MiB)
   */
  readonly maxRecordSizeKiB: number;
}

export interface ArchiveConfig {
  /** Firehose buffering interval in seconds. Valid range: 0–900. @default 300 */
  readonly bufferingIntervalSeconds: number;
  /** Firehose buffering size in MiB. Valid range: 1–128. @default 64 */
  readonly bufferingSizeMiB: number;
  /** Days after which archived objects move to S3 Glacier Instant Retrieval. Valid range: ≥ 30. @default 90 */
  readonly coldStorageAfterDays: number;
  /** Days after which archived objects expire; 0 keeps them forever. @default 0 */
  readonly expireAfterDays: number;
}

export interface ReplicatorConfig {
  /** Records per Lambda invocation. Valid range: 1–10000. @default 1000 */
  readonly batchSize: number;
  /** Batching window in seconds. Valid range: 0–300. @default 1 */
  readonly maxBatchingWindowSeconds: number;
  /** Function timeout in seconds. Valid range: 10–900. @default 120 */
  readonly timeoutSeconds: number;
  /** Function memory in MiB. Valid range: 128–10240. @default 512 */
  readonly memorySizeMiB: number;
  /**
   * Reserved concurrency. Opt-in: a reservation must leave the account 100 unreserved executions, which a new
   * account's quota (often 10 or 50) cannot. Without `failover.moveReservedConcurrency` the template sets it in every
   * Region; with it, the template leaves it alone and the failover gives it to the new active Region (and 0 to the
   * others), so a deploy never undoes a failover's fence. Valid range: 1–1000.
   * @default - unreserved
   */
  readonly reservedConcurrency?: number;
  /** How long the active-Region item is cached, in seconds. Must stay below the failover wait. Valid range: 0–60. @default 5 */
  readonly activeRegionCacheTtlSeconds: number;
  /**
   * Checkpoint interval in milliseconds, opt-in: while a shard's batches arrive full, its checkpoint (a replicated
   * global-table write, paid in every Region) is written at most once per interval. It is always written when a batch
   * stops (the function returns a failure or throws), when a batch is not full (the shard has caught up), for a
   * shard's first checkpoint and the first of a tenure. Off by default: with a batch size of 1000 or more and a 1 s
   * window a shard (≤ 1000 records/s, 1 MiB/s) fills at most one batch a second, so a write per invocation is already at
   * most one per second per shard; the interval is for smaller batch sizes. Residuals: a shard idle after a deferred
   * full batch keeps its checkpoint up to an interval behind until its next record, and a closed parent shard (a split
   * or merge; automatic on on-demand streams) whose last batch was deferred keeps it for good: earlier resume
   * timestamps, and a failback guard that refuses naming the shard until its records leave retention (README,
   * configuration reference). 0 writes on every invocation. Valid range: 0–60000, and at most half of
   * `failover.failbackMaxLagSeconds`.
   * @default 0
   */
  readonly checkpointIntervalMs: number;
}

export interface WarehouseConfig {
  /** Regions that run a warehouse: `primary`, `all`, or an explicit list. @default 'primary' */
  readonly regions: 'primary' | 'all' | readonly string[];
  /** Workgroup base capacity in RPUs. Valid values: 8–512 in steps of 8. @default 8 */
  readonly baseCapacityRpus: number;
  /** Database name. @default 'redstream' */
  readonly databaseName: string;
  /** JSON path of the dedup key inside each event, dot-separated. @default 'messageId' */
  readonly dedupKeyPath: string;
  /** Days of event time within which duplicates are removed. Valid range: 1–365. @default 7 */
  readonly dedupWindowDays: number;
  /** Minutes between merges. Valid range: 1–1440. @default 1 */
  readonly mergeIntervalMinutes: number;
  /**
   * Hours between runs of the erasure's scheduled step in each warehouse Region (it finishes the erasures whose
   * streams' retention has passed: recreates the streaming views, sweeps late archive objects). 0 turns it off (then
   * run `npm run ops -- erase --finish` yourself). Valid range: 0–166 (its missed-run alarm watches the interval plus 2 hours,
   * and a CloudWatch alarm looks back at most 7 days). @default 24
   */
  readonly erasureFinishIntervalHours: number;
  /**
   * Whether a merge that fails because a streaming view is missing creates it again (with the bootstrap's statement;
   * the invocation still fails). Its view definitions travel in the merge function's environment (Lambda's 4 KB):
   * false drops them, and a missing view then waits for the erasure step's next run. @default true
   */
  readonly mergeRestoresStreamingViews: boolean;
  /** VPC CIDR block. @default '10.40.0.0/16' */
  readonly vpcCidr: string;
  /**
   * Availability Zone IDs (e.g. `use1-az2`), three distinct ones per warehouse Region: the workgroup needs three
   * subnets in three zones Redshift Serverless supports. IDs, not names: `us-east-1a` is a different physical zone in
   * each account, while `use1-az2` is the same everywhere. Required for every Region that runs a warehouse
   * (checked at synth; `npm run ops -- preflight` checks that they exist in the account).
   * @default {} (no Region configured)
   */
  readonly availabilityZoneIds: Readonly<Record<string, readonly string[]>>;
}

export interface AlarmConfig {
  /** Producer error rate (failed + throttled records over all records), in percent, that makes a Region unhealthy. @default 1 */
  readonly producerErrorRatePercent: number;
  /** Period over which the producer error rate is evaluated, in minutes. Valid range: 1–60. @default 5 */
  readonly producerErrorRateMinutes: number;
  /** Replication lag, in seconds, that raises the lag alarm. @default 300 */
  readonly replicationLagSeconds: number;
  /** Iterator age alarm threshold as a percentage of the stream's retention. Valid range: 1–100. @default 50 */
  readonly iteratorAgeRetentionPercent: number;
  /** Archive data freshness, in seconds, that raises the freshness alarm. @default 900 */
  readonly archiveFreshnessSeconds: number;
  /** E-mail address subscribed to the alarm topic. @default - no subscription */
  readonly notificationEmail?: string;
}

export interface FailoverConfig {
  /** `automatic` lets the health alarm start a failover. @default 'manual' */
  readonly mode: FailoverMode;
  /** Seconds subtracted from the checkpoint low-water mark to compute the resume timestamp. @default 60 */
  readonly resumeSafetyMarginSeconds: number;
  /** Failback is refused while replication lag is above this many seconds. @default 60 */
  readonly failbackMaxLagSeconds: number;
  /**
   * How often the primary's failover function checks for records in a Region that did not forward them and that the
   * active Region lacks (a dry-run reconcile of the last 20 minutes, ending 5 minutes ago), in minutes; it reads that
   * window of every stream in every Region each time. 0 turns the check and its alarm off. Valid range: 0, 5–1440.
   * @default 15
   */
  readonly strayCheckIntervalMinutes: number;
  /** Move replicator reserved concurrency to the new active Region. @default false */
  readonly moveReservedConcurrency: boolean;
}

/** One fully-resolved environment. */
export interface EnvironmentConfig {
  /** Environment name, e.g. `dev`. Lower-case letters, digits and dashes. */
  readonly name: string;
  /** 12-digit AWS account id. */
  readonly account: string;
  /** Region where producers write while all is well, and where the state and ops resources live. */
  readonly primaryRegion: string;
  /** Regions that receive replicas and can take over. At least one. */
  readonly standbyRegions: readonly string[];
  readonly streams: readonly StreamConfig[];
  readonly archive: ArchiveConfig;
  readonly replicator: ReplicatorConfig;
  readonly warehouse: WarehouseConfig;
  readonly alarms: AlarmConfig;
  readonly failover: FailoverConfig;
  /** What happens to stateful resources (tables, bucket, namespace, keys) when a stack is deleted. @default 'retain' */
  readonly removalPolicy: 'retain' | 'destroy';
  /** Extra tags for every resource. @default {} */
  readonly tags: Readonly<Record<string, string>>;
}

/** The context key under which environments are declared. */
export const ENVIRONMENTS_CONTEXT_KEY = 'redstream:environments';

export const STREAM_DEFAULTS: Omit<StreamConfig, 'name'> = {
  mode: 'ON_DEMAND',
  shards: 1,
  retentionHours: 24,
  ordering: 'strict',
  maxRecordSizeKiB: 1024,
};

/** Kinesis's range for a stream's maximum record size (UpdateMaxRecordSize, AWS::Kinesis::Stream MaxRecordSizeInKiB). */
export const MAX_RECORD_SIZE_KIB_RANGE = { min: 1024, max: 10240 } as const;

/** Defaults for every optional field, in one place. */
export const ENVIRONMENT_DEFAULTS = {
  archive: {
    bufferingIntervalSeconds: 300,
    bufferingSizeMiB: 64,
    coldStorageAfterDays: 90,
    expireAfterDays: 0,
  } satisfies ArchiveConfig,
  replicator: {
    batchSize: 1000,
    maxBatchingWindowSeconds: 1,
    timeoutSeconds: 120,
    memorySizeMiB: 512,
    activeRegionCacheTtlSeconds: 5,
    checkpointIntervalMs: 0,
  } satisfies ReplicatorConfig,
  warehouse: {
    regions: 'primary',
    baseCapacityRpus: 8,
    databaseName: 'redstream',
    dedupKeyPath: 'messageId',
    dedupWindowDays: 7,
    mergeIntervalMinutes: 1,
    erasureFinishIntervalHours: 24,
    mergeRestoresStreamingViews: true,
    vpcCidr: '10.40.0.0/16',
    availabilityZoneIds: {},
  } satisfies WarehouseConfig,
  alarms: {
    producerErrorRatePercent: 1,
    producerErrorRateMinutes: 5,
    replicationLagSeconds: 300,
    iteratorAgeRetentionPercent: 50,
    archiveFreshnessSeconds: 900,
  } satisfies AlarmConfig,
  failover: {
    mode: 'manual',
    resumeSafetyMarginSeconds: 60,
    failbackMaxLagSeconds: 60,
    strayCheckIntervalMinutes: 15,
    moveReservedConcurrency: false,
  } satisfies FailoverConfig,
  removalPolicy: 'retain',
  tags: {},
} as const;

/** A configuration error: names the field, the value and the fix. */
export class ConfigError extends Error {
  constructor(
    public readonly field: string,
    message: string,
  ) {
    super(`Invalid Redstream configuration: ${field}: ${message}`);
    this.name = 'ConfigError';
  }
}

const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
const ENV_NAME_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;
const STREAM_NAME_PATTERN = /^[a-zA-Z0-9_.-]+$/;
const ACCOUNT_PATTERN = /^\d{12}$/;
/** Kinesis stream names are at most 128 characters; the physical name adds `redstream-<env>-`. */
const MAX_STREAM_NAME_LENGTH = 100;

/** Physical name of a stream: identical in every Region so the replicator can address its target by name. */
export function physicalStreamName(envName: string, streamName: string): string {
  return `redstream-${envName}-${streamName}`;
}

/** Every Region of an environment, primary first. */
export function allRegions(env: EnvironmentConfig): string[] {
  return [env.primaryRegion, ...env.standbyRegions];
}

/** The Regions that run a warehouse. */
export function warehouseRegions(env: EnvironmentConfig): string[] {
  const w = env.warehouse.regions;
  if (w === 'primary') return [env.primaryRegion];
  if (w === 'all') return allRegions(env);
  return [...w];
}

/**
 * The Regions whose archives the erasure's scheduled step in `warehouseRegion` sweeps for late deliveries: its own,
 * and every Region without a warehouse when this is the warehouse Region that looks after them (the primary, or the
 * first warehouse Region when the primary has none). Every Region has an archive but the step runs only where a
 * warehouse is (it needs the audit table), so without this a standby Region's archive would never be swept.
 */
export function erasureSweepRegions(env: EnvironmentConfig, warehouseRegion: string): string[] {
  const warehouses = warehouseRegions(env);
  if (!warehouses.includes(warehouseRegion)) return [];
  const keeper = warehouses.includes(env.primaryRegion) ? env.primaryRegion : warehouses[0];
  const orphans = warehouseRegion === keeper ? allRegions(env).filter((r) => !warehouses.includes(r)) : [];
  return [warehouseRegion, ...orphans];
}

/**
 * The prefix of a Region's AZ IDs: `us-east-1` → `use1`, `ap-northeast-1` → `apne1`, `us-gov-west-1` → `usgw1`.
 * Undefined for a Region whose direction word is not known here (then only the ID's shape is checked).
 */
export function availabilityZoneIdPrefix(region: string): string | undefined {
  const m = /^([a-z]{2})-(gov-)?([a-z]+)-(\d+)$/.exec(region);
  if (!m) return undefined;
  const direction: Record<string, string> = {
    north: 'n', south: 's', east: 'e', west: 'w', central: 'c', northeast: 'ne', northwest: 'nw', southeast: 'se', southwest: 'sw',
  };
  const d = direction[m[3]];
  return d === undefined ? undefined : `${m[1]}${m[2] ? 'g' : ''}${d}${m[4]}`;
}

const AZ_ID_PATTERN = /^[a-z]+\d+-az\d+$/;

/**
 * The AZ IDs the warehouse VPC uses in a Region. Throws a {@link ConfigError} naming the field when the Region has
 * none: there is no safe default, because which zones Redshift Serverless supports differs per Region.
 */
export function availabilityZoneIdsFor(env: EnvironmentConfig, region: string): string[] {
  const ids = env.warehouse.availabilityZoneIds[region];
  if (ids === undefined) {
    const prefix = availabilityZoneIdPrefix(region) ?? 'xxx1';
    throw new ConfigError(
      `${ENVIRONMENTS_CONTEXT_KEY}.${env.name}.warehouse.availabilityZoneIds.${region}`,
      `missing: ${region} runs a warehouse, whose workgroup needs three subnets in three zones Redshift Serverless supports; ` +
        `fix: list three AZ IDs of ${region}, e.g. ["${prefix}-az1", "${prefix}-az2", "${prefix}-az3"] ` +
        `(\`aws ec2 describe-availability-zones --region ${region} --query "AvailabilityZones[].ZoneId"\` lists them; the Redshift Serverless console lists the supported ones), then run \`npm run ops -- preflight --env ${env.name}\``,
    );
  }
  return [...ids];
}

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: Json): string {
  return v === undefined ? 'undefined' : JSON.stringify(v);
}

/** How much longer than its interval the erasure step's missed-run alarm waits: the schedule's 1 h event age and a run's 15 min. */
export const ERASURE_MISSED_RUN_GRACE_HOURS = 2;
/**
 * The erasure step's longest interval: an alarm's Period × EvaluationPeriods can't be more than 604,800 seconds (7
 * days, CloudWatch API Reference, PutMetricAlarm), and the missed-run alarm watches the interval plus
 * {@link ERASURE_MISSED_RUN_GRACE_HOURS}.
 */
export const ERASURE_FINISH_MAX_INTERVAL_HOURS = 7 * 24 - ERASURE_MISSED_RUN_GRACE_HOURS;

/** The erasure's schedule: whole hours, 0 (off) to {@link ERASURE_FINISH_MAX_INTERVAL_HOURS}, with the fix spelled out. */
function erasureFinishIntervalHours(w: FieldReader): number {
  const v = w.raw('erasureFinishIntervalHours') ?? ENVIRONMENT_DEFAULTS.warehouse.erasureFinishIntervalHours;
  const max = ERASURE_FINISH_MAX_INTERVAL_HOURS;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new ConfigError(
      w.fieldName('erasureFinishIntervalHours'),
      `must be a whole number of hours between 0 and ${max} (got ${show(v)}); fix: 24 runs the erasure's scheduled step daily, ${max} is the longest (a week less the ${ERASURE_MISSED_RUN_GRACE_HOURS} hours its missed-run alarm allows), 0 turns it off (then run npm run ops -- erase --finish yourself)`,
    );
  }
  return v;
}

class FieldReader {
  constructor(
    private readonly obj: Record<string, Json>,
    private readonly path: string,
  ) {}

  private field(key: string): string {
    return `${this.path}.${key}`;
  }

  /** The full name of a field of this section, for errors raised outside the reader. */
  fieldName(key: string): string {
    return this.field(key);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  raw(key: string): Json {
    return this.obj[key];
  }

  section(key: string): FieldReader {
    const v = this.obj[key];
    if (v === undefined) return new FieldReader({}, this.field(key));
    if (!isObject(v)) throw new ConfigError(this.field(key), `expected an object (got ${show(v)}); fix: use { ... } or remove the field to take the defaults`);
    return new FieldReader(v, this.field(key));
  }

  rejectUnknown(known: readonly string[]): void {
    for (const key of Object.keys(this.obj)) {
      if (!known.includes(key)) {
        throw new ConfigError(this.field(key), `unknown field; fix: remove it or use one of ${known.join(', ')}`);
      }
    }
  }

  string(key: string, fallback: string | undefined, pattern?: RegExp, hint?: string): string {
    const v = this.obj[key] ?? fallback;
    if (typeof v !== 'string' || v.length === 0) {
      throw new ConfigError(this.field(key), `expected a non-empty string (got ${show(v)}); fix: ${hint ?? 'set a value'}`);
    }
    if (pattern && !pattern.test(v)) {
      throw new ConfigError(this.field(key), `${show(v)} is not valid; fix: ${hint ?? `match ${pattern}`}`);
    }
    return v;
  }

  optionalString(key: string, pattern: RegExp, hint: string): string | undefined {
    return this.obj[key] === undefined ? undefined : this.string(key, undefined, pattern, hint);
  }

  int(key: string, fallback: number | undefined, min: number, max: number, unit = ''): number {
    const v = this.obj[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(this.field(key), `must be a whole number between ${min} and ${max}${unit} (got ${show(v)}); fix: choose a value in that range`);
    }
    return v;
  }

  optionalInt(key: string, min: number, max: number): number | undefined {
    return this.obj[key] === undefined ? undefined : this.int(key, undefined, min, max);
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.obj[key] ?? fallback;
    if (typeof v !== 'boolean') throw new ConfigError(this.field(key), `expected true or false (got ${show(v)}); fix: use a boolean`);
    return v;
  }

  oneOf<T extends string>(key: string, fallback: T, allowed: readonly T[]): T {
    const v = this.obj[key] ?? fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      throw new ConfigError(this.field(key), `must be one of ${allowed.map((a) => `'${a}'`).join(', ')} (got ${show(v)}); fix: use one of those`);
    }
    return v as T;
  }
}

const REGION_HINT = "use an AWS Region code such as 'us-east-1'";

function checkRegion(field: string, v: Json): string {
  if (typeof v !== 'string' || !REGION_PATTERN.test(v)) {
    throw new ConfigError(field, `${show(v)} is not an AWS Region name; fix: ${REGION_HINT}`);
  }
  return v;
}

function parseStream(raw: Json, path: string): StreamConfig {
  if (!isObject(raw)) throw new ConfigError(path, `expected a stream object (got ${show(raw)}); fix: use { "name": "events" }`);
  const r = new FieldReader(raw, path);
  r.rejectUnknown(['name', 'mode', 'shards', 'retentionHours', 'ordering', 'maxRecordSizeKiB']);
  const name = r.string('name', undefined, STREAM_NAME_PATTERN, 'use letters, digits, dots, dashes and underscores');
  if (name.length > MAX_STREAM_NAME_LENGTH) {
    throw new ConfigError(`${path}.name`, `${show(name)} is longer than ${MAX_STREAM_NAME_LENGTH} characters; fix: shorten it`);
  }
  const mode = r.oneOf<StreamMode>('mode', STREAM_DEFAULTS.mode, ['PROVISIONED', 'ON_DEMAND']);
  if (mode === 'ON_DEMAND' && r.has('shards')) {
    throw new ConfigError(`${path}.shards`, `is set on an ON_DEMAND stream (got ${show(r.raw('shards'))}); fix: remove shards or set mode to 'PROVISIONED'`);
  }
  const shards = mode === 'PROVISIONED' ? r.int('shards', STREAM_DEFAULTS.shards, 1, 10000) : STREAM_DEFAULTS.shards;
  const retentionHours = r.int('retentionHours', STREAM_DEFAULTS.retentionHours, 24, 8760, ' hours');
  const ordering = r.oneOf<OrderingMode>('ordering', STREAM_DEFAULTS.ordering, ['strict', 'relaxed']);
  const maxRecordSizeKiB = r.int('maxRecordSizeKiB', STREAM_DEFAULTS.maxRecordSizeKiB, MAX_RECORD_SIZE_KIB_RANGE.min, MAX_RECORD_SIZE_KIB_RANGE.max, ' KiB');
  return { name, mode, shards, retentionHours, ordering, maxRecordSizeKiB };
}

function parseAvailabilityZoneIds(field: string, region: string, ids: Json, known: readonly string[]): string[] {
  if (!known.includes(region)) throw new ConfigError(field, `${show(region)} is not a Region of this environment; fix: use one of ${known.join(', ')}`);
  const prefix = availabilityZoneIdPrefix(region);
  const example = `["${prefix ?? 'xxx1'}-az1", "${prefix ?? 'xxx1'}-az2", "${prefix ?? 'xxx1'}-az3"]`;
  if (!Array.isArray(ids) || ids.length !== 3) {
    throw new ConfigError(field, `expected exactly three AZ IDs of ${region} (got ${show(ids)}); fix: a Redshift Serverless workgroup needs three subnets in three zones, e.g. ${example}`);
  }
  ids.forEach((id, i) => {
    if (typeof id !== 'string' || !AZ_ID_PATTERN.test(id)) {
      throw new ConfigError(`${field}[${i}]`, `${show(id)} is not an AZ ID; fix: use an ID such as ${prefix ?? 'use1'}-az1 (an AZ ID, not a zone name like ${region}a)`);
    }
    if (prefix !== undefined && !id.startsWith(`${prefix}-`)) {
      throw new ConfigError(`${field}[${i}]`, `${show(id)} is not a zone of ${region} (its IDs start with ${prefix}-); fix: use an AZ ID of ${region}, e.g. ${prefix}-az1`);
    }
    if (ids.indexOf(id) !== i) {
      throw new ConfigError(`${field}[${i}]`, `${show(id)} is listed twice; fix: list three distinct AZ IDs of ${region}`);
    }
  });
  return ids as string[];
}

/**
 * Validates one environment's raw context object and merges the defaults.
 * Pure: no I/O, throws {@link ConfigError} on the first invalid field.
 */
export function parseEnvironment(name: string, raw: Json): EnvironmentConfig {
  const path = `${ENVIRONMENTS_CONTEXT_KEY}.${name}`;
  if (!ENV_NAME_PATTERN.test(name)) {
    throw new ConfigError(path, `environment name ${show(name)} is not valid; fix: use 1–20 lower-case letters, digits and dashes, starting with a letter`);
  }
  if (!isObject(raw)) throw new ConfigError(path, `expected an object (got ${show(raw)}); fix: see README "Configuration reference"`);
  const r = new FieldReader(raw, path);
  r.rejectUnknown(['account', 'primaryRegion', 'standbyRegions', 'streams', 'archive', 'replicator', 'warehouse', 'alarms', 'failover', 'removalPolicy', 'tags']);

  const account = r.string('account', undefined, ACCOUNT_PATTERN, 'use the 12-digit AWS account id');
  const primaryRegion = checkRegion(`${path}.primaryRegion`, r.raw('primaryRegion'));

  const standbyRaw = r.raw('standbyRegions');
  if (!Array.isArray(standbyRaw) || standbyRaw.length === 0) {
    throw new ConfigError(`${path}.standbyRegions`, `expected a non-empty list of Regions (got ${show(standbyRaw)}); fix: name at least one standby Region, e.g. ["us-west-2"]`);
  }
  const standbyRegions = standbyRaw.map((v, i) => checkRegion(`${path}.standbyRegions[${i}]`, v));
  standbyRegions.forEach((region, i) => {
    if (region === primaryRegion) {
      throw new ConfigError(`${path}.standbyRegions[${i}]`, `${show(region)} equals primaryRegion; fix: choose a standby Region different from the primary`);
    }
    if (standbyRegions.indexOf(region) !== i) {
      throw new ConfigError(`${path}.standbyRegions[${i}]`, `${show(region)} is listed twice; fix: list each standby Region once`);
    }
  });

  const streamsRaw = r.raw('streams');
  if (!Array.isArray(streamsRaw) || streamsRaw.length === 0) {
    throw new ConfigError(`${path}.streams`, `expected a non-empty list of streams (got ${show(streamsRaw)}); fix: declare at least one stream, e.g. [{ "name": "events" }]`);
  }
  const streams = streamsRaw.map((s, i) => parseStream(s, `${path}.streams[${i}]`));
  streams.forEach((s, i) => {
    if (streams.findIndex((o) => o.name === s.name) !== i) {
      throw new ConfigError(`${path}.streams[${i}].name`, `${show(s.name)} is declared twice; fix: give each stream a unique name`);
    }
  });

  const a = r.section('archive');
  a.rejectUnknown(Object.keys(ENVIRONMENT_DEFAULTS.archive));
  const archive: ArchiveConfig = {
    bufferingIntervalSeconds: a.int('bufferingIntervalSeconds', ENVIRONMENT_DEFAULTS.archive.bufferingIntervalSeconds, 0, 900, ' seconds'),
    bufferingSizeMiB: a.int('bufferingSizeMiB', ENVIRONMENT_DEFAULTS.archive.bufferingSizeMiB, 1, 128, ' MiB'),
    coldStorageAfterDays: a.int('coldStorageAfterDays', ENVIRONMENT_DEFAULTS.archive.coldStorageAfterDays, 30, 36500, ' days'),
    expireAfterDays: a.int('expireAfterDays', ENVIRONMENT_DEFAULTS.archive.expireAfterDays, 0, 36500, ' days'),
  };
  if (archive.expireAfterDays !== 0 && archive.expireAfterDays <= archive.coldStorageAfterDays) {
    throw new ConfigError(`${path}.archive.expireAfterDays`, `${archive.expireAfterDays} is not after coldStorageAfterDays (${archive.coldStorageAfterDays}); fix: expire later than the move to cold storage, or use 0 to keep objects`);
  }

  const rp = r.section('replicator');
  for (const retired of ['retryAttempts', 'maxRecordAgeSeconds']) {
    if (rp.has(retired)) {
      throw new ConfigError(
        `${path}.replicator.${retired}`,
        'is no longer configurable: the replicator retries a batch until its records expire (a bounded budget let Lambda skip batches the replicator never ' +
          'replicated, and the checkpoint passed them); fix: remove the field (a stuck target raises the iterator-age and replication-lag alarms instead)',
      );
    }
  }
  rp.rejectUnknown([...Object.keys(ENVIRONMENT_DEFAULTS.replicator), 'reservedConcurrency']);
  const replicator: ReplicatorConfig = {
    batchSize: rp.int('batchSize', ENVIRONMENT_DEFAULTS.replicator.batchSize, 1, 10000),
    maxBatchingWindowSeconds: rp.int('maxBatchingWindowSeconds', ENVIRONMENT_DEFAULTS.replicator.maxBatchingWindowSeconds, 0, 300, ' seconds'),
    timeoutSeconds: rp.int('timeoutSeconds', ENVIRONMENT_DEFAULTS.replicator.timeoutSeconds, 10, 900, ' seconds'),
    memorySizeMiB: rp.int('memorySizeMiB', ENVIRONMENT_DEFAULTS.replicator.memorySizeMiB, 128, 10240, ' MiB'),
    reservedConcurrency: rp.optionalInt('reservedConcurrency', 1, 1000),
    activeRegionCacheTtlSeconds: rp.int('activeRegionCacheTtlSeconds', ENVIRONMENT_DEFAULTS.replicator.activeRegionCacheTtlSeconds, 0, 60, ' seconds'),
    checkpointIntervalMs: rp.int('checkpointIntervalMs', ENVIRONMENT_DEFAULTS.replicator.checkpointIntervalMs, 0, 60000, ' ms'),
  };

  const w = r.section('warehouse');
  if (w.has('availabilityZones')) {
    throw new ConfigError(`${path}.warehouse.availabilityZones`, `zone names are no longer accepted: a name maps to a different physical zone in each account; fix: replace it with availabilityZoneIds, e.g. { "us-east-1": ["use1-az1", "use1-az2", "use1-az4"] }`);
  }
  w.rejectUnknown(Object.keys(ENVIRONMENT_DEFAULTS.warehouse));
  const regionsRaw = w.raw('regions') ?? ENVIRONMENT_DEFAULTS.warehouse.regions;
  let regions: WarehouseConfig['regions'];
  const known = [primaryRegion, ...standbyRegions];
  if (regionsRaw === 'primary' || regionsRaw === 'all') {
    regions = regionsRaw;
  } else if (Array.isArray(regionsRaw) && regionsRaw.length > 0) {
    regions = regionsRaw.map((v, i) => {
      const region = checkRegion(`${path}.warehouse.regions[${i}]`, v);
      if (!known.includes(region)) {
        throw new ConfigError(`${path}.warehouse.regions[${i}]`, `${show(region)} is neither the primary nor a standby Region; fix: use one of ${known.join(', ')}`);
      }
      return region;
    });
  } else {
    throw new ConfigError(`${path}.warehouse.regions`, `expected 'primary', 'all' or a non-empty list of Regions (got ${show(regionsRaw)}); fix: use one of those`);
  }
  const baseCapacityRpus = w.int('baseCapacityRpus', ENVIRONMENT_DEFAULTS.warehouse.baseCapacityRpus, 8, 512, ' RPUs');
  if (baseCapacityRpus % 8 !== 0) {
    throw new ConfigError(`${path}.warehouse.baseCapacityRpus`, `must be a multiple of 8 (got ${baseCapacityRpus}); fix: use 8, 16, 24, … 512`);
  }
  const azRaw = w.raw('availabilityZoneIds') ?? {};
  if (!isObject(azRaw)) {
    throw new ConfigError(`${path}.warehouse.availabilityZoneIds`, `expected an object of Region → AZ ID list (got ${show(azRaw)}); fix: e.g. { "us-east-1": ["use1-az1", "use1-az2", "use1-az4"] }`);
  }
  const availabilityZoneIds: Record<string, string[]> = {};
  for (const [region, ids] of Object.entries(azRaw)) {
    availabilityZoneIds[region] = parseAvailabilityZoneIds(`${path}.warehouse.availabilityZoneIds.${region}`, region, ids, known);
  }
  const warehouse: WarehouseConfig = {
    regions,
    baseCapacityRpus,
    databaseName: w.string('databaseName', ENVIRONMENT_DEFAULTS.warehouse.databaseName, /^[a-z_][a-z0-9_]{0,62}$/, 'use lower-case letters, digits and underscores, starting with a letter'),
    dedupKeyPath: w.string('dedupKeyPath', ENVIRONMENT_DEFAULTS.warehouse.dedupKeyPath, /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, "use a dot-separated path of field names, e.g. 'messageId' or 'context.eventId'"),
    dedupWindowDays: w.int('dedupWindowDays', ENVIRONMENT_DEFAULTS.warehouse.dedupWindowDays, 1, 365, ' days'),
    mergeIntervalMinutes: w.int('mergeIntervalMinutes', ENVIRONMENT_DEFAULTS.warehouse.mergeIntervalMinutes, 1, 1440, ' minutes'),
    erasureFinishIntervalHours: erasureFinishIntervalHours(w),
    mergeRestoresStreamingViews: w.bool('mergeRestoresStreamingViews', ENVIRONMENT_DEFAULTS.warehouse.mergeRestoresStreamingViews),
    vpcCidr: w.string('vpcCidr', ENVIRONMENT_DEFAULTS.warehouse.vpcCidr, /^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-4])$/, "use an IPv4 CIDR between /16 and /24, e.g. '10.40.0.0/16'"),
    availabilityZoneIds,
  };

  const al = r.section('alarms');
  al.rejectUnknown([...Object.keys(ENVIRONMENT_DEFAULTS.alarms), 'notificationEmail']);
  const producerErrorRatePercent = al.raw('producerErrorRatePercent') ?? ENVIRONMENT_DEFAULTS.alarms.producerErrorRatePercent;
  if (typeof producerErrorRatePercent !== 'number' || !(producerErrorRatePercent > 0 && producerErrorRatePercent <= 100)) {
    throw new ConfigError(`${path}.alarms.producerErrorRatePercent`, `must be a number above 0 and at most 100 (got ${show(producerErrorRatePercent)}); fix: e.g. 1 for 1 %`);
  }
  const alarms: AlarmConfig = {
    producerErrorRatePercent,
    producerErrorRateMinutes: al.int('producerErrorRateMinutes', ENVIRONMENT_DEFAULTS.alarms.producerErrorRateMinutes, 1, 60, ' minutes'),
    replicationLagSeconds: al.int('replicationLagSeconds', ENVIRONMENT_DEFAULTS.alarms.replicationLagSeconds, 1, 86400, ' seconds'),
    iteratorAgeRetentionPercent: al.int('iteratorAgeRetentionPercent', ENVIRONMENT_DEFAULTS.alarms.iteratorAgeRetentionPercent, 1, 100, ' %'),
    archiveFreshnessSeconds: al.int('archiveFreshnessSeconds', ENVIRONMENT_DEFAULTS.alarms.archiveFreshnessSeconds, 60, 86400, ' seconds'),
    notificationEmail: al.optionalString('notificationEmail', /^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'use an e-mail address or remove the field'),
  };

  const f = r.section('failover');
  f.rejectUnknown(Object.keys(ENVIRONMENT_DEFAULTS.failover));
  const failover: FailoverConfig = {
    mode: f.oneOf<FailoverMode>('mode', ENVIRONMENT_DEFAULTS.failover.mode, ['manual', 'automatic']),
    resumeSafetyMarginSeconds: f.int('resumeSafetyMarginSeconds', ENVIRONMENT_DEFAULTS.failover.resumeSafetyMarginSeconds, 0, 86400, ' seconds'),
    failbackMaxLagSeconds: f.int('failbackMaxLagSeconds', ENVIRONMENT_DEFAULTS.failover.failbackMaxLagSeconds, 1, 86400, ' seconds'),
    strayCheckIntervalMinutes: f.int('strayCheckIntervalMinutes', ENVIRONMENT_DEFAULTS.failover.strayCheckIntervalMinutes, 0, 1440, ' minutes'),
    moveReservedConcurrency: f.bool('moveReservedConcurrency', ENVIRONMENT_DEFAULTS.failover.moveReservedConcurrency),
  };
  // The failback guard reads a shard's lag from its checkpoint: one deferred for most of the threshold would refuse
  // every failback of a busy stream.
  if (replicator.checkpointIntervalMs * 2 > failover.failbackMaxLagSeconds * 1000) {
    throw new ConfigError(
      `${path}.replicator.checkpointIntervalMs`,
      `${replicator.checkpointIntervalMs} ms is more than half of failover.failbackMaxLagSeconds (${failover.failbackMaxLagSeconds} s): the failback guard would see a busy shard lag by up to the interval; ` +
        `fix: lower checkpointIntervalMs to at most ${failover.failbackMaxLagSeconds * 500}, or raise failover.failbackMaxLagSeconds`,
    );
  }
  if (failover.moveReservedConcurrency && replicator.reservedConcurrency === undefined) {
    throw new ConfigError(`${path}.failover.moveReservedConcurrency`, `is true but replicator.reservedConcurrency is not set; fix: set replicator.reservedConcurrency or turn moveReservedConcurrency off`);
  }

  const removalPolicy = r.oneOf<'retain' | 'destroy'>('removalPolicy', ENVIRONMENT_DEFAULTS.removalPolicy, ['retain', 'destroy']);
  const tagsRaw = r.raw('tags') ?? {};
  if (!isObject(tagsRaw) || Object.values(tagsRaw).some((v) => typeof v !== 'string')) {
    throw new ConfigError(`${path}.tags`, `expected an object of string values (got ${show(tagsRaw)}); fix: e.g. { "team": "data" }`);
  }

  return {
    name,
    account,
    primaryRegion,
    standbyRegions,
    streams,
    archive,
    replicator,
    warehouse,
    alarms,
    failover,
    removalPolicy,
    tags: tagsRaw as Record<string, string>,
  };
}

/**
 * Resolves the environments to synthesize from the raw context.
 * @param rawEnvironments the `redstream:environments` context value
 * @param selected the `env` context value; undefined selects every environment
 */
export function resolveEnvironments(rawEnvironments: Json, selected?: string): EnvironmentConfig[] {
  if (!isObject(rawEnvironments) || Object.keys(rawEnvironments).length === 0) {
    throw new ConfigError(ENVIRONMENTS_CONTEXT_KEY, `no environments declared (got ${show(rawEnvironments)}); fix: add at least one environment to cdk.json context`);
  }
  const names = Object.keys(rawEnvironments);
  if (selected !== undefined) {
    if (!names.includes(selected)) {
      throw new ConfigError('env', `unknown environment ${show(selected)}; fix: use -c env=<one of ${names.join(', ')}> or add it under ${ENVIRONMENTS_CONTEXT_KEY} in cdk.json`);
    }
    return [parseEnvironment(selected, rawEnvironments[selected])];
  }
  return names.map((n) => parseEnvironment(n, rawEnvironments[n]));
}
