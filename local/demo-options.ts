/**
 * The `npm run demo` command line: parsing and validation, with the conventions of every Redstream CLI
 * (lambda/ops/command-line.ts). Pure: a bad argument throws a {@link DemoUsageError} whose message is the one line
 * the command prints.
 */
import { parseCommandLine, UsageError } from '../lambda/ops/command-line';
import { NEMESIS_FAULTS, NemesisUsageError, parseNemesis } from './nemesis';

export interface DemoOptions {
  /** Records to generate (ignored with `input`). */
  readonly events: number;
  /** Records per second. */
  readonly rate: number;
  /** Share of producer re-sends (same messageId). */
  readonly duplicates: number;
  /** Share of malformed records. */
  readonly malformed: number;
  /** Records produced before the primary goes down; `'half'`: half of them; undefined: no failover drill. */
  readonly failoverAt: number | 'half' | undefined;
  /** Replay this file instead of generating. */
  readonly input: string | undefined;
  /** Write events.ndjson, rejects.ndjson and report.json here. */
  readonly out: string | undefined;
  /** Print the report as JSON. */
  readonly json: boolean;
  readonly help: boolean;
  /** Faults of the drill's nemesis, `FAULT[,FAULT…]` or `all` (local/nemesis.ts). @default - none */
  readonly nemesis?: string;
  /** Seed of the nemesis's draws (which producers move early or stay behind). @default 1 */
  readonly seed?: number;
  /** At the end, rebuild the events table from the archive and check it (README, "Rebuild"). @default false */
  readonly rebuildFromArchive?: boolean;
  /** At the end, erase this subject everywhere and check nothing of it remains (README, "Erasure"). */
  readonly eraseSubject?: string;
}

export const DEMO_DEFAULTS = {
  events: 3000,
  rate: 500,
  duplicates: 0.05,
  malformed: 0.02,
} as const;

export const DEMO_USAGE = `Usage: npm run demo -- [options]

Runs Redstream's whole data path locally (two Regions of kinesalite, DynamoDB Local, the real replicator and
failover code, the warehouse SQL in embedded Postgres), with a failover drill halfway, and prints a report.

Options:
  --events N         records to produce (default ${DEMO_DEFAULTS.events})
  --rate R           records per second (default ${DEMO_DEFAULTS.rate})
  --duplicates F     share of producer re-sends with the same messageId, 0-1 (default ${DEMO_DEFAULTS.duplicates})
  --malformed F      share of malformed records, 0-1 (default ${DEMO_DEFAULTS.malformed})
  --failover-at N    take the primary Region down after N records (default: half of them)
  --no-failover      no failover drill
  --input FILE       replay FILE instead of generating: one JSON object per line,
                     {"partitionKey": "...", "data": "<base64 of the record bytes>"}, sent in file order
  --out DIR          write events.ndjson, rejects.ndjson and report.json to DIR, and the archive objects
                     as they would be in S3 under DIR/archive/<bucket>/<key>
  --rebuild-from-archive  at the end, rebuild the events table from the archive (empty events, rejects and merge
                     state, replay, merge) and check one row per id with the same payloads
  --erase-subject ID at the end, erase ID (userId or anonymousId) from events, rejects and archive, and
                     check that nothing of it remains and every other id is intact
  --nemesis F[,F…]   faults for the drill, or all: ${NEMESIS_FAULTS.join(', ')}
                     (clock-skew=S, slow-control-plane=S and replica-lag=S take seconds); see the README, "Nemesis"
  --seed N           seed of the nemesis (same seed, same run; default 1)
  --json             print the report as JSON
  -h, --help         show this help
  --serve            no drill: keep the local world running for a game day with the ops CLI
                     (npm run demo -- --serve --help; README, "Game day")

Exit codes: 0 report OK, 1 the demo could not run (or the input file is unreadable), 2 bad usage,
3 the report's checks failed.`;

/** A bad `npm run demo` argument: the CLI prints its message on one line and exits 2. */
export class DemoUsageError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = 'DemoUsageError';
  }
}

const OPTIONS = {
  events: { type: 'string' },
  rate: { type: 'string' },
  duplicates: { type: 'string' },
  malformed: { type: 'string' },
  'failover-at': { type: 'string' },
  'no-failover': { type: 'boolean' },
  input: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  nemesis: { type: 'string' },
  seed: { type: 'string' },
  'rebuild-from-archive': { type: 'boolean' },
  'erase-subject': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function wholeNumber(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new DemoUsageError(`--${flag} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  }
  return Number(raw);
}

function fraction(flag: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new DemoUsageError(`--${flag} must be a number from 0 to 1 (got ${JSON.stringify(raw)})`);
  return n;
}

/** Parses the arguments after `npm run demo --`. */
export function parseDemoArgs(argv: readonly string[]): DemoOptions {
  let values;
  try {
    ({ values } = parseCommandLine(argv, OPTIONS));
  } catch (err) {
    throw err instanceof UsageError ? new DemoUsageError(err.message) : err;
  }
  if (values.help) return { ...DEMO_DEFAULTS, failoverAt: 'half', input: undefined, out: undefined, json: false, help: true };
  const input = values.input;
  for (const f of ['events', 'duplicates', 'malformed'] as const) {
    if (input !== undefined && values[f] !== undefined) throw new DemoUsageError(`--${f} cannot be used with --input (the file says what is sent)`);
  }
  const events = values.events !== undefined ? wholeNumber('events', values.events, 1, 10_000_000) : DEMO_DEFAULTS.events;
  const rateRaw = values.rate;
  const rate = rateRaw === undefined ? DEMO_DEFAULTS.rate : Number(rateRaw);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 1_000_000) throw new DemoUsageError(`--rate must be a number of records per second above 0 and at most 1000000 (got ${JSON.stringify(rateRaw)})`);
  const duplicates = values.duplicates !== undefined ? fraction('duplicates', values.duplicates) : DEMO_DEFAULTS.duplicates;
  const malformed = values.malformed !== undefined ? fraction('malformed', values.malformed) : DEMO_DEFAULTS.malformed;
  if (duplicates + malformed > 1) throw new DemoUsageError(`--duplicates plus --malformed must not exceed 1 (got ${duplicates} + ${malformed})`);
  if (values['no-failover'] && values['failover-at'] !== undefined) throw new DemoUsageError('--failover-at and --no-failover cannot be used together');
  let failoverAt: number | 'half' | undefined;
  if (values['failover-at'] !== undefined) {
    // With --input the upper bound is checked once the file is read.
    failoverAt = wholeNumber('failover-at', values['failover-at'], 1, input === undefined ? Math.max(1, events - 1) : 10_000_000);
    if (input === undefined && events < 2) throw new DemoUsageError('--failover-at needs --events of at least 2');
  } else if (!values['no-failover']) {
    failoverAt = input === undefined && events < 2 ? undefined : 'half';
  }
  if (values.nemesis !== undefined) {
    try {
      parseNemesis(values.nemesis, 1);
    } catch (err) {
      if (err instanceof NemesisUsageError) throw new DemoUsageError(err.message);
      throw err;
    }
    if (failoverAt === undefined) throw new DemoUsageError('--nemesis needs the failover drill (drop --no-failover)');
  }
  const seed = values.seed === undefined ? undefined : wholeNumber('seed', values.seed, 0, 2 ** 31 - 1);
  const archiveSteps = {
    ...(values.nemesis !== undefined ? { nemesis: values.nemesis } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(values['rebuild-from-archive'] ? { rebuildFromArchive: true } : {}),
    ...(values['erase-subject'] !== undefined ? { eraseSubject: values['erase-subject'] } : {}),
  };
  return { events, rate, duplicates, malformed, failoverAt, input, out: values.out, json: values.json === true, help: false, ...archiveSteps };
}
