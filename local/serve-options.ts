/**
 * The command lines of the demo's serve mode (`npm run demo -- --serve`) and of its control client
 * (`npm run demo -- ctl <action>`), the control requests they exchange over HTTP, and the keys of the serve terminal.
 * Pure: a bad argument or request throws a {@link DemoUsageError} whose message is the one line the CLI prints.
 */
import { parseCommandLine, UsageError } from '../lambda/ops/command-line';
import { DemoUsageError } from './demo-options';

export interface ServeOptions {
  /** The cdk.json environment the local world runs. @default 'dev' */
  readonly env: string;
  /** Records per second of the producer. */
  readonly rate: number;
  /** Share of producer re-sends. */
  readonly duplicates: number;
  /** Share of malformed records. */
  readonly malformed: number;
  /** Seconds between plain status lines when stderr is not a terminal. */
  readonly statusEverySeconds: number;
  readonly help: boolean;
}

export const SERVE_DEFAULTS = { env: 'dev', rate: 50, duplicates: 0.05, malformed: 0.02, statusEverySeconds: 5 } as const;

export const SERVE_USAGE = `Usage: npm run demo -- --serve [options]
       npm run demo -- ctl <action> [arguments]

--serve starts the local world (both Regions' streams, the replicas of the state tables, the replicators, the
archive, the warehouse) with a producer and no drill, and keeps it running until Ctrl-C. It prints the lines that
point \`npm run ops\` at it (or use \`npm run ops -- <command> --local\`) and a live status line. See the README,
"Game day".

Options of --serve:
  --env NAME         environment of cdk.json to run (default ${SERVE_DEFAULTS.env})
  --rate R           records per second of the producer (default ${SERVE_DEFAULTS.rate})
  --duplicates F     share of producer re-sends, 0-1 (default ${SERVE_DEFAULTS.duplicates})
  --malformed F      share of malformed records, 0-1 (default ${SERVE_DEFAULTS.malformed})
  --status-every S   seconds between status lines when stderr is not a terminal (default ${SERVE_DEFAULTS.statusEverySeconds})

Keys on the serve terminal: k/K primary/standby Kinesis down or back up; p/P partition or heal the primary's/standby's
replica; + / - skew the operator's clock by 5 s, 0 reset it; v verify the warehouse; ? these keys; q or Ctrl-C stop.

ctl actions (from another terminal, while --serve runs):
  env                    print the lines that point the ops CLI at the local world (for eval)
  status                 the status line, and what is broken
  kinesis-down REGION    the Region's Kinesis answers 503 to every call (producers, replicators, ops)
  kinesis-up REGION      the Region's Kinesis is back
  partition REGION       the Region's replica of the state tables neither sends nor receives replication
  heal REGION            replication with that replica resumes (and catches up)
  clock-skew SECONDS     the operator's clock (what \`npm run ops\` reads) runs SECONDS ahead (negative: behind); 0 resets
  replica-lag SECONDS    global-table replication between the replicas takes SECONDS
  verify                 pause the producer, wait for replication and the warehouse, merge, and check that the
                         events table holds every unique id produced; the producer then goes on (exit 1 if not)

Exit codes: 0 done, 1 the serve mode is not running or an action failed, 2 bad usage.`;

const SERVE_OPTIONS = {
  serve: { type: 'boolean' },
  env: { type: 'string' },
  rate: { type: 'string' },
  duplicates: { type: 'string' },
  malformed: { type: 'string' },
  'status-every': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function fraction(flag: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new DemoUsageError(`--${flag} must be a number from 0 to 1 (got ${JSON.stringify(raw)})`);
  return n;
}

/** Whether the demo's arguments ask for the serve mode (then {@link parseServeArgs} parses them). */
export function isServe(argv: readonly string[]): boolean {
  return argv.some((a) => a === '--serve' || a.startsWith('--serve='));
}

/** Options of the drill that make no sense in the serve mode: named in the error. */
const DRILL_ONLY = ['events', 'failover-at', 'no-failover', 'input', 'out', 'json', 'nemesis', 'seed', 'rebuild-from-archive', 'erase-subject'];

/** Parses `npm run demo -- --serve …`. */
export function parseServeArgs(argv: readonly string[]): ServeOptions {
  let values;
  try {
    ({ values } = parseCommandLine(argv, SERVE_OPTIONS, 0, (name) => (DRILL_ONLY.includes(name) ? `--${name} belongs to the drill and does not apply to --serve` : undefined)));
  } catch (err) {
    throw err instanceof UsageError ? new DemoUsageError(err.message) : err;
  }
  if (values.help) return { ...SERVE_DEFAULTS, help: true };
  const env = values.env ?? SERVE_DEFAULTS.env;
  if (!/^[a-z][a-z0-9-]*$/i.test(env)) throw new DemoUsageError(`--env must be an environment name of cdk.json (got ${JSON.stringify(env)})`);
  const rate = values.rate === undefined ? SERVE_DEFAULTS.rate : Number(values.rate);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 5000) throw new DemoUsageError(`--rate must be a number of records per second above 0 and at most 5000 (got ${JSON.stringify(values.rate)})`);
  const duplicates = values.duplicates !== undefined ? fraction('duplicates', values.duplicates) : SERVE_DEFAULTS.duplicates;
  const malformed = values.malformed !== undefined ? fraction('malformed', values.malformed) : SERVE_DEFAULTS.malformed;
  if (duplicates + malformed > 1) throw new DemoUsageError(`--duplicates plus --malformed must not exceed 1 (got ${duplicates} + ${malformed})`);
  const every = values['status-every'] === undefined ? SERVE_DEFAULTS.statusEverySeconds : Number(values['status-every']);
  if (!Number.isFinite(every) || every < 0.2 || every > 3600) throw new DemoUsageError(`--status-every must be a number of seconds from 0.2 to 3600 (got ${JSON.stringify(values['status-every'])})`);
  return { env, rate, duplicates, malformed, statusEverySeconds: every, help: false };
}

/** What the control endpoint of the serve mode can be asked. */
export type CtlRequest =
  | { readonly action: 'env' | 'status' | 'verify' }
  | { readonly action: 'kinesis-down' | 'kinesis-up' | 'partition' | 'heal'; readonly region: string }
  | { readonly action: 'clock-skew' | 'replica-lag'; readonly seconds: number };

export type CtlAction = CtlRequest['action'];

const REGION_ACTIONS = ['kinesis-down', 'kinesis-up', 'partition', 'heal'] as const;
const SECONDS_ACTIONS = ['clock-skew', 'replica-lag'] as const;
const PLAIN_ACTIONS = ['env', 'status', 'verify'] as const;
export const CTL_ACTIONS: readonly CtlAction[] = [...PLAIN_ACTIONS, ...REGION_ACTIONS, ...SECONDS_ACTIONS];

function isOneOf<T extends string>(list: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (list as readonly string[]).includes(value);
}

function seconds(action: string, raw: string): number {
  const n = Number(raw);
  const min = action === 'clock-skew' ? -300 : 0;
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > 300) {
    throw new DemoUsageError(`${action} takes seconds from ${min} to 300 (got ${JSON.stringify(raw)})`);
  }
  return n;
}

/** Parses `npm run demo -- ctl <action> [argument]` (the arguments after `ctl`). `help: true` for -h/--help. */
export function parseCtlArgs(argv: readonly string[]): CtlRequest | { readonly help: true } {
  if (argv.includes('-h') || argv.includes('--help')) return { help: true };
  // parseArgs would take "-5" for an option; the positional form is all ctl has.
  const [action, ...rest] = argv;
  if (action === undefined) throw new DemoUsageError(`ctl needs an action (${CTL_ACTIONS.join(', ')})`);
  if (action.startsWith('-')) throw new DemoUsageError(`unknown option ${action}`);
  const extra = (n: number): void => {
    if (rest.length > n) throw new DemoUsageError(`unexpected argument ${JSON.stringify(rest[n])}`);
  };
  if (isOneOf(PLAIN_ACTIONS, action)) {
    extra(0);
    return { action };
  }
  if (isOneOf(REGION_ACTIONS, action)) {
    if (rest[0] === undefined) throw new DemoUsageError(`${action} needs a REGION`);
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(rest[0])) throw new DemoUsageError(`${action}: ${JSON.stringify(rest[0])} is not a Region name such as us-east-1`);
    extra(1);
    return { action, region: rest[0] };
  }
  if (isOneOf(SECONDS_ACTIONS, action)) {
    if (rest[0] === undefined) throw new DemoUsageError(`${action} needs SECONDS`);
    extra(1);
    return { action, seconds: seconds(action, rest[0]) };
  }
  throw new DemoUsageError(`unknown ctl action ${JSON.stringify(action)} (actions: ${CTL_ACTIONS.join(', ')})`);
}

/**
 * Validates a request body received by the control endpoint against the served Regions; throws a
 * {@link DemoUsageError} naming what is wrong (the endpoint answers 400 with it).
 */
export function validateCtlRequest(body: unknown, regions: readonly string[]): CtlRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new DemoUsageError('the request must be a JSON object with an "action"');
  const b = body as Record<string, unknown>;
  const action = b.action;
  if (isOneOf(PLAIN_ACTIONS, action)) return { action };
  if (isOneOf(REGION_ACTIONS, action)) {
    if (typeof b.region !== 'string' || !regions.includes(b.region)) {
      throw new DemoUsageError(`${action}: ${JSON.stringify(b.region)} is not a Region of the local world (Regions: ${regions.join(', ')})`);
    }
    return { action, region: b.region };
  }
  if (isOneOf(SECONDS_ACTIONS, action)) {
    if (typeof b.seconds !== 'number') throw new DemoUsageError(`${action} needs "seconds" (a number)`);
    return { action, seconds: seconds(action, String(b.seconds)) };
  }
  throw new DemoUsageError(`unknown action ${JSON.stringify(action)} (actions: ${CTL_ACTIONS.join(', ')})`);
}

/** What the serve terminal's keys act on. */
export interface KeyContext {
  readonly primary: string;
  readonly standby: string;
  readonly down: ReadonlySet<string>;
  readonly partitioned: ReadonlySet<string>;
  readonly clockSkewMs: number;
}

export const KEYS_HELP =
  'keys: k/K primary/standby Kinesis down/up · p/P partition/heal primary/standby replica · +/- operator clock ±5 s, 0 reset · v verify · q quit';

/** The request a key stands for; `quit`, `help` or undefined (ignored). */
export function keyToRequest(key: string, ctx: KeyContext): CtlRequest | 'quit' | 'help' | undefined {
  const skewStepS = 5;
  switch (key) {
    case 'k':
    case 'K': {
      const region = key === 'k' ? ctx.primary : ctx.standby;
      return { action: ctx.down.has(region) ? 'kinesis-up' : 'kinesis-down', region };
    }
    case 'p':
    case 'P': {
      const region = key === 'p' ? ctx.primary : ctx.standby;
      return { action: ctx.partitioned.has(region) ? 'heal' : 'partition', region };
    }
    case '+':
    case '=':
      return { action: 'clock-skew', seconds: Math.min(300, Math.round(ctx.clockSkewMs / 1000) + skewStepS) };
    case '-':
      return { action: 'clock-skew', seconds: Math.max(-300, Math.round(ctx.clockSkewMs / 1000) - skewStepS) };
    case '0':
      return { action: 'clock-skew', seconds: 0 };
    case 'v':
      return { action: 'verify' };
    case '?':
    case 'h':
      return 'help';
    case 'q':
    case '\u0003': // Ctrl-C in raw mode (bin/demo.ts takes it first and ends as SIGINT does, exit 130)
    case '\u0004': // Ctrl-D
      return 'quit';
    default:
      return undefined;
  }
}
