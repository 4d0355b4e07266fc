/**
 * `npm run cost`: argument parsing and output of the cost estimate (node:util parseArgs). No AWS I/O; the entry
 * (bin/cost.ts) passes the process's streams and cdk.json. Exit codes: 0 printed, 2 usage or configuration error.
 */
import { parseArgs } from 'node:util';
import { ConfigError, ENVIRONMENTS_CONTEXT_KEY, resolveEnvironments } from '../config';
import { formatEstimate } from './format';
import { CostModelError, DEFAULT_ASSUMPTIONS, estimateMonthlyCost } from './model';

export const USAGE = `Usage: npm run cost -- --env ENV --events-per-second N --bytes B [options]

Estimates the monthly AWS cost of one Redstream environment (from cdk.json) at a steady load, per component,
with us-east-1 list prices from lib/cost/prices.json, and prints the assumptions.

  --env ENV                 environment in cdk.json (e.g. dev, staging, prod)
  --events-per-second N     records per second written by producers (above 0)
  --bytes B                 payload bytes per record (1-1048576)
  --stream NAME             stream that carries the load (default: the environment's first)
  --on-demand-shards N      shards of an on-demand stream (default: max(4, 2 x what the load needs))
  --warehouse-hours H       hours per month the warehouse runs at base capacity (default 730)
  --json                    print the estimate as JSON
  -h, --help                show this help
`;

class UsageError extends Error {}

function positiveNumber(name: string, raw: string | undefined, options: { integer?: boolean; min?: number } = {}): number {
  if (raw === undefined) throw new UsageError(`--${name} is required`);
  const v = Number(raw);
  const min = options.min ?? 0;
  if (raw.trim() === '' || !Number.isFinite(v) || (options.integer && !Number.isInteger(v)) || v < min || (min === 0 && v === 0)) {
    throw new UsageError(`--${name} must be ${options.integer ? 'a whole number' : 'a number'} ${min === 0 ? 'above 0' : `of ${min} or more`} (got ${JSON.stringify(raw)})`);
  }
  return v;
}

/** Where the command writes and how it reads cdk.json (injected so tests run it in-process). */
export interface CostCommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The parsed cdk.json. */
  readonly readCdkJson: () => { context?: Record<string, unknown> };
}

/** Runs `npm run cost` with `argv` (without the node and script paths); returns the exit code. */
export function runCostCommand(argv: readonly string[], io: CostCommandIo): number {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        env: { type: 'string' },
        'events-per-second': { type: 'string' },
        bytes: { type: 'string' },
        stream: { type: 'string' },
        'on-demand-shards': { type: 'string' },
        'warehouse-hours': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    // parseArgs throws Node's own TypeError (another realm under jest, so no instanceof): take its message.
    const message = typeof err === 'object' && err !== null && 'message' in err ? String(err.message) : String(err);
    io.stderr(`cost: ${message.split('\n')[0]} (see --help)\n`);
    return 2;
  }
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  try {
    const envName = values.env;
    if (typeof envName !== 'string' || envName === '') throw new UsageError('--env is required');
    const eventsPerSecond = positiveNumber('events-per-second', values['events-per-second'] as string | undefined);
    const bytesPerEvent = positiveNumber('bytes', values.bytes as string | undefined, { integer: true, min: 1 });
    const onDemandShards = values['on-demand-shards'] === undefined ? undefined : positiveNumber('on-demand-shards', values['on-demand-shards'] as string, { integer: true, min: 1 });
    const warehouseHours = values['warehouse-hours'] === undefined ? DEFAULT_ASSUMPTIONS.warehouseActiveHoursPerMonth : Number(values['warehouse-hours']);
    if (!Number.isFinite(warehouseHours) || warehouseHours < 0 || warehouseHours > DEFAULT_ASSUMPTIONS.hoursPerMonth) {
      throw new UsageError(`--warehouse-hours must be between 0 and ${DEFAULT_ASSUMPTIONS.hoursPerMonth} (got ${JSON.stringify(values['warehouse-hours'])})`);
    }
    const cdk = io.readCdkJson();
    const [env] = resolveEnvironments(cdk.context?.[ENVIRONMENTS_CONTEXT_KEY], envName);
    const estimate = estimateMonthlyCost(
      env,
      { eventsPerSecond, bytesPerEvent, stream: values.stream as string | undefined },
      undefined,
      { ...DEFAULT_ASSUMPTIONS, onDemandShards, warehouseActiveHoursPerMonth: warehouseHours },
    );
    io.stdout(values.json ? `${JSON.stringify(estimate, null, 2)}\n` : formatEstimate(estimate));
    return 0;
  } catch (err) {
    if (err instanceof UsageError || err instanceof CostModelError || err instanceof ConfigError) {
      io.stderr(`cost: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

