/**
 * What every `npm run ops` command shares: the dependencies the dispatcher passes in, the command contract, the
 * common options (--env, --streams, --json, the table names) and their resolution against cdk.json's config.
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { EnvironmentConfig, parseEnvironment, physicalStreamName } from '../../lib/config';
import { stateTablesFor } from '../../lib/ops/settings';
import { RegionalClients, StateTables } from '../failover/adapters';
import { Clock, Sleep, TrustedClock } from '../failover/ports';
import { OptionSpec, OptionValues, UsageError } from './command-line';
import type { EraseFactories } from './commands/erase';
import type { PreflightProbes } from './preflight';
import { ProgressOutput } from './progress';

export interface CliDeps {
  /** Receives everything meant for stdout (results, help). */
  readonly stdout: (text: string) => void;
  /** Receives errors, warnings and progress. */
  readonly stderr: (text: string) => void;
  /** The `redstream:environments` context value of cdk.json; throws a {@link ConfigurationError} if unreadable. */
  readonly loadEnvironments: () => unknown;
  /** Process environment: REDSTREAM_ENV, REDSTREAM_CHECKPOINT_TABLE, REDSTREAM_ACTIVE_REGION_TABLE, REDSTREAM_RESULT_TOPIC_ARN. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Whether stderr is a terminal: progress is drawn in place (bar, countdown) there and printed as plain lines
   * otherwise. @default false
   */
  readonly interactive?: boolean;
  /** Writes a chunk to stderr as is (for progress redrawn in place). @default - each chunk's line through `stderr` */
  readonly stderrWrite?: (chunk: string) => void;
  /** @default - default credential chain and endpoint variables, one client per Region */
  readonly dynamoClients?: RegionalClients<DynamoDBDocumentClient>;
  /** For ListShards. @default - default credential chain and endpoint variables, one HTTP/1.1 client per Region */
  readonly kinesisClients?: RegionalClients<KinesisClient>;
  /** @default - default credential chain, one client per Region */
  readonly lambdaClients?: RegionalClients<LambdaClient>;
  /** @default - default credential chain, one client per Region */
  readonly snsClients?: RegionalClients<SNSClient>;
  /** The read-only AWS lookups of `preflight`. @default - ./preflight-adapters.ts over default clients per Region */
  readonly preflightProbes?: PreflightProbes;
  /**
   * The endpoints' clock, which switches take their activation time from. @default - the Date header of Kinesis
   * DescribeStreamSummary in the target Region (lambda/failover/adapters.ts KinesisTrustedClock)
   */
  readonly trustedClock?: TrustedClock;
  /** @default Date.now */
  readonly clock?: Clock;
  /** @default setTimeout */
  readonly sleep?: Sleep;
  /** @default crypto.randomUUID */
  readonly newSwitchId?: () => string;
  /**
   * Where `erase` reaches the warehouses and archives (the local world's: local/serve-warehouse.ts).
   * @default - ./commands/erase.ts awsFactories: the Redshift Data API and S3, one client per Region
   */
  readonly eraseFactories?: EraseFactories;
}

/** One `ops` command. Register it in lambda/ops/cli.ts (see the comment there). */
export interface OpsCommand<O extends OptionSpec = OptionSpec> {
  /** The word after `npm run ops --`. */
  readonly name: string;
  /** One line for the command list of `npm run ops -- --help`. */
  readonly summary: string;
  /** The command's own options and notes, printed by `npm run ops -- <name> --help` and in the overall usage. */
  readonly usage: string;
  /** Every option the command accepts (include {@link COMMON_OPTIONS} if it uses them); `-h/--help` is added. */
  readonly options: O;
  /** Runs the command; resolves to the exit code. Throw {@link UsageError} for bad usage. */
  run(args: OptionValues<O>, deps: CliDeps): Promise<number>;
}

/** Keeps a command's option types while it is stored in the registry next to commands with other options. */
export function defineCommand<O extends OptionSpec>(command: OpsCommand<O>): OpsCommand {
  // Sound at run time: the dispatcher parses argv with this command's own `options`, so `run` gets exactly O's values.
  return command as unknown as OpsCommand;
}

/** Options every command that reads the state tables takes. */
export const COMMON_OPTIONS = {
  env: { type: 'string' },
  streams: { type: 'string' },
  json: { type: 'boolean' },
  'checkpoint-table': { type: 'string' },
  'active-region-table': { type: 'string' },
} as const;

export const COMMON_USAGE = `  --env NAME                  environment from cdk.json (or REDSTREAM_ENV)
  --streams A,B               streams by logical or physical name (default: all of the environment)
  --json                      machine-readable output on stdout
  --checkpoint-table NAME     (or REDSTREAM_CHECKPOINT_TABLE; default: the state stack's redstream-<env>-checkpoints)
  --active-region-table NAME  (or REDSTREAM_ACTIVE_REGION_TABLE; default: redstream-<env>-active-region)
  -h, --help                  this text`;

/** cdk.json cannot be read or has no usable environments: a configuration error (exit 1), not bad usage. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** The environment, streams and state tables a command works on. */
export interface Target {
  readonly config: EnvironmentConfig;
  /** Physical stream names; undefined: every stream of the environment. */
  readonly streams: string[] | undefined;
  readonly tables: StateTables;
}

/** Resolves --env, --streams and the table names against cdk.json and the process environment. */
export function resolveTarget(args: OptionValues<typeof COMMON_OPTIONS>, deps: CliDeps): Target {
  const envName = args.env ?? deps.env.REDSTREAM_ENV;
  if (envName === undefined) throw new UsageError('no environment: pass --env NAME or set REDSTREAM_ENV');
  const raw = deps.loadEnvironments();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigurationError('cdk.json has no redstream:environments context');
  }
  const envs = raw as Record<string, unknown>;
  if (!(envName in envs)) throw new UsageError(`unknown environment ${JSON.stringify(envName)} (environments: ${Object.keys(envs).join(', ')})`);
  const config = parseEnvironment(envName, envs[envName]);
  const defaults = stateTablesFor(config);
  return {
    config,
    streams: resolveStreams(config, args.streams),
    tables: {
      checkpointTableName: args['checkpoint-table'] ?? deps.env.REDSTREAM_CHECKPOINT_TABLE ?? defaults.checkpointTableName,
      activeRegionTableName: args['active-region-table'] ?? deps.env.REDSTREAM_ACTIVE_REGION_TABLE ?? defaults.activeRegionTableName,
    },
  };
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

/** `region` if it is one of the environment's Regions; bad usage naming `--flag` otherwise. */
export function requireRegion(config: EnvironmentConfig, flag: string, region: string | undefined): string | undefined {
  const regions = [config.primaryRegion, ...config.standbyRegions];
  if (region !== undefined && !regions.includes(region)) {
    throw new UsageError(`--${flag} ${region} is not a Region of ${config.name} (Regions: ${regions.join(', ')})`);
  }
  return region;
}

export function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString();
}

export function secs(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

/** Where a command's progress goes: drawn in place on a terminal, plain lines otherwise (./progress.ts). */
export function progressOutput(deps: CliDeps): ProgressOutput {
  const interactive = deps.interactive === true && deps.stderrWrite !== undefined;
  return {
    interactive,
    write: interactive ? (deps.stderrWrite as (chunk: string) => void) : (chunk) => deps.stderr(chunk.replace(/\n$/, '')),
    clock: deps.clock,
  };
}
