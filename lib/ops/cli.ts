/**
 * The operator CLI (`npm run ops -- <command>`), as a testable function: `runCli(argv, deps)` returns the exit code.
 * `bin/ops.ts` is a thin wrapper that passes the real process, cdk.json and AWS clients.
 *
 * Exit codes: 0 done (including a no-op and a dry run that would succeed); 1 refused, conflict, stalled or failed;
 * 2 bad usage (unknown command or option, missing value, unknown environment, Region or stream).
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { ConfigError, EnvironmentConfig, parseEnvironment, physicalStreamName } from '../config';
import {
  documentClients,
  DynamoDbActiveRegionStore,
  DynamoDbCheckpointStore,
  kinesisClients,
  KinesisShardLister,
  LambdaReservedConcurrency,
  perRegion,
  regionOfArn,
  RegionalClients,
  SnsResultPublisher,
} from '../../lambda/failover/adapters';
import { InvalidRequestError } from '../../lambda/failover/errors';
import { Clock, Sleep } from '../../lambda/failover/ports';
import { LowWaterMark } from '../../lambda/failover/decisions';
import { failback, failover, FailoverDeps, status, StatusReport, SwitchResult } from '../../lambda/failover/service';
import { settingsFromConfig, stateTablesFor } from './settings';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface CliDeps {
  /** Receives everything meant for stdout (results, help). */
  readonly stdout: (text: string) => void;
  /** Receives errors, warnings and progress. */
  readonly stderr: (text: string) => void;
  /** The `redstream:environments` context value of cdk.json. */
  readonly loadEnvironments: () => unknown;
  /** Process environment: REDSTREAM_ENV, REDSTREAM_CHECKPOINT_TABLE, REDSTREAM_ACTIVE_REGION_TABLE, REDSTREAM_RESULT_TOPIC_ARN. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** @default - default credential chain and endpoint variables, one client per Region */
  readonly dynamoClients?: RegionalClients<DynamoDBDocumentClient>;
  /** For ListShards. @default - default credential chain and endpoint variables, one HTTP/1.1 client per Region */
  readonly kinesisClients?: RegionalClients<KinesisClient>;
  /** @default - default credential chain, one client per Region */
  readonly lambdaClients?: RegionalClients<LambdaClient>;
  /** @default - default credential chain, one client per Region */
  readonly snsClients?: RegionalClients<SNSClient>;
  /** @default Date.now */
  readonly clock?: Clock;
  /** @default setTimeout */
  readonly sleep?: Sleep;
  /** @default crypto.randomUUID */
  readonly newSwitchId?: () => string;
}

export const USAGE = `Usage: npm run ops -- <command> [options]

Commands
  status                      active Region, epoch and replicas per stream; per-shard checkpoints, low-water mark, lag
  failover --to REGION        fenced switch of the streams to REGION (waits for every replica and in-flight forwarding)
  failback                    switch back to the primary Region; refused until reverse replication has caught up

Options
  --env NAME                  environment from cdk.json (or REDSTREAM_ENV)
  --streams A,B               streams by logical or physical name (default: all of the environment)
  --json                      machine-readable output on stdout
  --help, -h                  this text
  failover and failback:
  --to REGION                 target Region (failback: default the primary)
  --from REGION               the Region you expect to be active; refused if another is
  --reason TEXT               recorded in the table and the published result
  --dry-run                   show what would happen; write nothing
  --force                     failover: take over or redirect a switch under way, go on past unreachable replicas;
                              failback: skip the catch-up guard
  --topic-arn ARN             publish the result to this SNS topic (or REDSTREAM_RESULT_TOPIC_ARN)
  --propagation-timeout SECS  how long to wait for every replica to show the drain (default 120)
  status:
  --region REGION             replica to read (default: the first reachable, primary first)
  tables (default: the names the state stack gives them, redstream-<env>-checkpoints / -active-region):
  --checkpoint-table NAME     (or REDSTREAM_CHECKPOINT_TABLE)
  --active-region-table NAME  (or REDSTREAM_ACTIVE_REGION_TABLE)

Exit codes: 0 done (also: nothing to do, dry run OK), 1 refused / conflict / stalled / failed, 2 bad usage.
AWS access uses the default credential chain (DynamoDB, Kinesis ListShards, Lambda, SNS); AWS_ENDPOINT_URL_DYNAMODB,
AWS_ENDPOINT_URL_KINESIS etc. point it at local emulators.`;

const COMMANDS = ['status', 'failover', 'failback'] as const;
type Command = (typeof COMMANDS)[number];

const BOOLEAN_FLAGS = ['json', 'dry-run', 'force', 'help'] as const;
const VALUE_FLAGS = ['env', 'streams', 'to', 'from', 'reason', 'topic-arn', 'propagation-timeout', 'region', 'checkpoint-table', 'active-region-table'] as const;
const COMMON_FLAGS = ['env', 'streams', 'json', 'help', 'checkpoint-table', 'active-region-table'];
const ALLOWED: Record<Command, readonly string[]> = {
  status: [...COMMON_FLAGS, 'region'],
  failover: [...COMMON_FLAGS, 'to', 'from', 'reason', 'dry-run', 'force', 'topic-arn', 'propagation-timeout'],
  failback: [...COMMON_FLAGS, 'to', 'from', 'reason', 'dry-run', 'force', 'topic-arn', 'propagation-timeout'],
};

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface ParsedArgs {
  readonly command?: Command;
  readonly flags: Map<string, string | true>;
}

function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags = new Map<string, string | true>();
  let command: Command | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h') {
      flags.set('help', true);
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if ((BOOLEAN_FLAGS as readonly string[]).includes(name)) {
        if (eq !== -1) throw new UsageError(`option --${name} takes no value`);
        flags.set(name, true);
      } else if ((VALUE_FLAGS as readonly string[]).includes(name)) {
        const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
        if (value === undefined || value === '' || (eq === -1 && value.startsWith('--'))) throw new UsageError(`option --${name} needs a value`);
        flags.set(name, value);
      } else {
        throw new UsageError(`unknown option ${arg}`);
      }
      continue;
    }
    if (command !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    if (!(COMMANDS as readonly string[]).includes(arg)) throw new UsageError(`unknown command ${JSON.stringify(arg)} (commands: ${COMMANDS.join(', ')})`);
    command = arg as Command;
  }
  if (command !== undefined) {
    for (const name of flags.keys()) {
      if (!ALLOWED[command].includes(name)) throw new UsageError(`option --${name} does not apply to ${command}`);
    }
  }
  return { command, flags };
}

function resolveEnvironment(raw: unknown, name: string): EnvironmentConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UsageError('cdk.json has no redstream:environments context');
  }
  const envs = raw as Record<string, unknown>;
  if (!(name in envs)) throw new UsageError(`unknown environment ${JSON.stringify(name)} (environments: ${Object.keys(envs).join(', ')})`);
  return parseEnvironment(name, envs[name]);
}

function resolveStreams(config: EnvironmentConfig, list: string | undefined): string[] | undefined {
  if (list === undefined) return undefined;
  const physical = config.streams.map((s) => physicalStreamName(config.name, s.name));
  return list.split(',').map((raw) => {
    const name = raw.trim();
    if (physical.includes(name)) return name;
    if (config.streams.some((s) => s.name === name)) return physicalStreamName(config.name, name);
    throw new UsageError(`unknown stream ${JSON.stringify(name)} in ${config.name} (streams: ${config.streams.map((s) => s.name).join(', ')})`);
  });
}

function requireRegion(config: EnvironmentConfig, flag: string, region: string | undefined): string | undefined {
  const regions = [config.primaryRegion, ...config.standbyRegions];
  if (region !== undefined && !regions.includes(region)) {
    throw new UsageError(`--${flag} ${region} is not a Region of ${config.name} (Regions: ${regions.join(', ')})`);
  }
  return region;
}

/** Runs one CLI command; resolves to the exit code. Never throws. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(argv);
  } catch (err) {
    deps.stderr(`error: ${(err as Error).message}; run with --help for usage`);
    return EXIT_USAGE;
  }
  const { command, flags } = parsed;
  if (flags.has('help')) {
    deps.stdout(USAGE);
    return EXIT_OK;
  }
  if (command === undefined) {
    deps.stderr('error: no command given (commands: status, failover, failback); run with --help for usage');
    return EXIT_USAGE;
  }
  const str = (name: string): string | undefined => {
    const v = flags.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const json = flags.has('json');

  try {
    const envName = str('env') ?? deps.env.REDSTREAM_ENV;
    if (envName === undefined) throw new UsageError('no environment: pass --env NAME or set REDSTREAM_ENV');
    const config = resolveEnvironment(deps.loadEnvironments(), envName);
    const streams = resolveStreams(config, str('streams'));
    const defaults = stateTablesFor(config);
    const tables = {
      checkpointTableName: str('checkpoint-table') ?? deps.env.REDSTREAM_CHECKPOINT_TABLE ?? defaults.checkpointTableName,
      activeRegionTableName: str('active-region-table') ?? deps.env.REDSTREAM_ACTIVE_REGION_TABLE ?? defaults.activeRegionTableName,
    };
    let propagationTimeoutMs: number | undefined;
    const pt = str('propagation-timeout');
    if (pt !== undefined) {
      if (!/^\d+$/.test(pt) || Number(pt) < 1) throw new UsageError(`--propagation-timeout must be a whole number of seconds ≥ 1 (got ${JSON.stringify(pt)})`);
      propagationTimeoutMs = Number(pt) * 1000;
    }
    const settings = settingsFromConfig(config, { propagationTimeoutMs });
    const dynamo = deps.dynamoClients ?? documentClients();
    const clock = deps.clock ?? Date.now;
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const base = {
      activeRegions: new DynamoDbActiveRegionStore(dynamo, tables.activeRegionTableName),
      checkpoints: new DynamoDbCheckpointStore(dynamo, tables.checkpointTableName),
      shards: new KinesisShardLister(deps.kinesisClients ?? kinesisClients()),
      clock,
    };

    if (command === 'status') {
      const report = await status(settings, { streams, readRegion: requireRegion(config, 'region', str('region')) }, base);
      deps.stdout(json ? JSON.stringify(report, null, 2) : formatStatus(report));
      return EXIT_OK;
    }

    const topicArn = str('topic-arn') ?? deps.env.REDSTREAM_RESULT_TOPIC_ARN;
    const snsClients = deps.snsClients ?? perRegion((region) => new SNSClient({ region }));
    const switchDeps: FailoverDeps = {
      ...base,
      sleep,
      newSwitchId: deps.newSwitchId,
      concurrency: settings.replicatorConcurrency ? new LambdaReservedConcurrency(deps.lambdaClients ?? perRegion((region) => new LambdaClient({ region }))) : undefined,
      publisher: topicArn ? new SnsResultPublisher(snsClients(regionOfArn(topicArn)), topicArn) : undefined,
      onProgress: (line) => deps.stderr(line),
    };
    const options = {
      targetRegion: requireRegion(config, 'to', str('to')),
      expectedRegion: requireRegion(config, 'from', str('from')),
      streams,
      reason: str('reason'),
      force: flags.has('force'),
      dryRun: flags.has('dry-run'),
    };
    if (command === 'failover' && options.targetRegion === undefined) throw new UsageError('failover needs --to REGION');
    const result = command === 'failover' ? await failover(settings, options, switchDeps) : await failback(settings, options, switchDeps);
    deps.stdout(json ? JSON.stringify(result, null, 2) : formatSwitch(result));
    for (const w of result.warnings) deps.stderr(`warning: ${w}`);
    return result.ok ? EXIT_OK : EXIT_FAILED;
  } catch (err) {
    if (err instanceof UsageError || err instanceof InvalidRequestError || err instanceof ConfigError) {
      deps.stderr(`error: ${err.message}; run with --help for usage`);
      return EXIT_USAGE;
    }
    deps.stderr(`error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    return EXIT_FAILED;
  }
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString();
}

function secs(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

export function formatSwitch(r: SwitchResult): string {
  const verdict = r.dryRun ? (r.ok ? 'DRY RUN, would succeed' : 'DRY RUN, would not succeed') : r.ok ? 'OK' : 'NOT DONE';
  const lines = [`${r.action} to ${r.targetRegion} (${r.environment}, switch ${r.switchId}): ${verdict}`];
  for (const s of r.streams) {
    lines.push(`  ${s.streamName}: ${s.outcome}: ${s.message}`);
    if (s.outcome === 'switched') lines.push(`    activated at ${iso(s.activatedAt)}`);
    if (s.resumeTimestamp !== undefined && s.lowWaterMark) {
      lines.push(`    producers and consumers resume from ${iso(s.resumeTimestamp)} (${describeMark(s.lowWaterMark, s.fromRegion)})`);
      if (s.lowWaterMark.coverage === 'checkpointed-only') {
        lines.push(`    WARNING: checkpointed shards only: the shards of ${s.fromRegion ?? 'the old Region'} could not be listed (see the warning)`);
      }
    }
  }
  for (const m of r.concurrencyMoves) lines.push(`  replicator ${m.functionName} in ${m.region}: reserved concurrency ${m.reservedConcurrency ?? 'unreserved'}`);
  return lines.join('\n');
}

/** Where a resume timestamp comes from, for the line that prints it. */
function describeMark(mark: LowWaterMark, source: string | undefined): string {
  const t = `${iso(mark.timestamp)} minus the safety margin`;
  if (mark.uncheckpointedShards.length > 0) {
    return `activation time of ${source ?? 'the old Region'} ${t}: shard(s) ${mark.uncheckpointedShards.join(', ')} have no checkpoint`;
  }
  if (mark.basis === 'activation') return `activation time (no checkpoint) ${t}`;
  return `low-water mark of ${mark.shards} shard checkpoint(s) ${t}`;
}

export function formatStatus(report: StatusReport): string {
  const [primary, ...standby] = report.regions;
  const lines = [`environment ${report.environment}: primary ${primary}, standby ${standby.join(', ')} (read from ${report.readRegion} at ${iso(report.generatedAt)})`];
  for (const s of report.streams) {
    if (!s.item) {
      lines.push(`${s.streamName}: no active-Region item (deploy the state stack)`);
      continue;
    }
    const it = s.item;
    lines.push(
      `${s.streamName}: ${it.state} in ${it.activeRegion}${it.targetRegion && it.state === 'DRAINING' ? ` → ${it.targetRegion}` : ''}, epoch ${it.epoch}, activated ${iso(it.activatedAt)}` +
        (it.reason ? ` (${it.reason})` : ''),
    );
    lines.push(
      `  replicas: ${s.replicas.map((r) => (r.error ? `${r.region} unreachable (${r.error})` : `${r.region} ${r.state ?? '-'} ${r.activeRegion ?? '-'} epoch ${r.epoch ?? '-'}`)).join(' | ')}` +
        (s.replicasAgree ? '' : '  ← replicas disagree'),
    );
    if (s.lowWaterMark) {
      const m = s.lowWaterMark;
      lines.push(
        `  low-water mark from ${it.activeRegion}: ${iso(m.timestamp)} (${m.basis}, ${m.shards} shard(s)` +
          (m.uncheckpointedShards.length > 0 ? `; no checkpoint: ${m.uncheckpointedShards.join(', ')}` : '') +
          `); resume timestamp if failed over now: ${iso(s.resumeTimestamp)}; max lag ${secs(s.maxLagMs)}`,
      );
      if (m.warning !== undefined) lines.push(`  warning: ${m.warning}`);
    }
    for (const c of s.checkpoints) {
      lines.push(`  ${c.shardId}  seq ${c.sequenceNumber}  arrived ${iso(c.approximateArrivalTimestamp)}  lag ${secs(c.lagMs)}  age ${secs(c.ageMs)}`);
    }
    if (s.failback) {
      lines.push(s.failback.caughtUp ? `  failback to ${primary}: ready` : `  failback to ${primary}: not ready: ${s.failback.reasons.join('; ')}`);
    }
  }
  return lines.join('\n');
}
