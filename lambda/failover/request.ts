/** The failover function's input: validated without I/O. */
import { InvalidRequestError } from './errors';
import { SwitchOptions } from './service';

/** What the function is invoked with (CLI-equivalent; the EventBridge rule of automatic mode sends `failover`). */
export interface FailoverEvent {
  /** @default 'failover'. `stray-check`: a dry-run reconcile of the last minutes (the schedule sends it). */
  readonly action?: 'failover' | 'failback' | 'status' | 'stray-check';
  readonly targetRegion?: string;
  readonly expectedRegion?: string;
  /** Physical stream names. @default - all */
  readonly streams?: string[];
  readonly reason?: string;
  readonly force?: boolean;
  readonly dryRun?: boolean;
  /** stray-check: length of the window checked, in minutes. @default 20 */
  readonly windowMinutes?: number;
  /** stray-check: how long before now the window ends (replication lag), in minutes. @default 5 */
  readonly lagMinutes?: number;
}

export interface ParsedRequest {
  readonly action: 'failover' | 'failback' | 'status' | 'stray-check';
  readonly options: SwitchOptions;
  /** stray-check only. */
  readonly window?: { readonly minutes: number; readonly lagMinutes: number };
}

function optMinutes(e: Record<string, unknown>, field: string, fallback: number): number {
  const v = e[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 24 * 60) throw new InvalidRequestError(field, `must be whole minutes from 0 to 1440 (got ${JSON.stringify(v)})`);
  return v;
}

function optString(e: Record<string, unknown>, field: string): string | undefined {
  const v = e[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new InvalidRequestError(field, `must be a non-empty string (got ${JSON.stringify(v)})`);
  return v;
}

function optBool(e: Record<string, unknown>, field: string): boolean | undefined {
  const v = e[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new InvalidRequestError(field, `must be true or false (got ${JSON.stringify(v)})`);
  return v;
}

export function parseFailoverEvent(event: unknown): ParsedRequest {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new InvalidRequestError('event', `must be an object like { "action": "failover", "targetRegion": "us-west-2" } (got ${JSON.stringify(event)})`);
  }
  const e = event as Record<string, unknown>;
  const known = ['action', 'targetRegion', 'expectedRegion', 'streams', 'reason', 'force', 'dryRun', 'windowMinutes', 'lagMinutes'];
  for (const key of Object.keys(e)) {
    if (!known.includes(key)) throw new InvalidRequestError(key, `unknown field; use ${known.join(', ')}`);
  }
  const action = optString(e, 'action') ?? 'failover';
  if (action !== 'failover' && action !== 'failback' && action !== 'status' && action !== 'stray-check') {
    throw new InvalidRequestError('action', `must be failover, failback, status or stray-check (got ${JSON.stringify(action)})`);
  }
  let streams: string[] | undefined;
  if (e.streams !== undefined && e.streams !== null) {
    if (!Array.isArray(e.streams) || e.streams.some((s) => typeof s !== 'string')) {
      throw new InvalidRequestError('streams', `must be a list of stream names (got ${JSON.stringify(e.streams)})`);
    }
    streams = e.streams as string[];
  }
  const options: SwitchOptions = {
    targetRegion: optString(e, 'targetRegion'),
    expectedRegion: optString(e, 'expectedRegion'),
    streams,
    reason: optString(e, 'reason'),
    force: optBool(e, 'force'),
    dryRun: optBool(e, 'dryRun'),
  };
  if (action === 'failover' && options.targetRegion === undefined) throw new InvalidRequestError('targetRegion', 'is required for a failover');
  if (action === 'stray-check') {
    const minutes = optMinutes(e, 'windowMinutes', 20);
    if (minutes < 1) throw new InvalidRequestError('windowMinutes', 'must be at least 1');
    return { action, options, window: { minutes, lagMinutes: optMinutes(e, 'lagMinutes', 5) } };
  }
  return { action, options };
}
