/** The failover function's input: validated without I/O. */
import { InvalidRequestError } from './errors';
import { SwitchOptions } from './service';

/** What the function is invoked with (CLI-equivalent; the EventBridge rule of automatic mode sends `failover`). */
export interface FailoverEvent {
  /** @default 'failover' */
  readonly action?: 'failover' | 'failback' | 'status';
  readonly targetRegion?: string;
  readonly expectedRegion?: string;
  /** Physical stream names. @default - all */
  readonly streams?: string[];
  readonly reason?: string;
  readonly force?: boolean;
  readonly dryRun?: boolean;
}

export interface ParsedRequest {
  readonly action: 'failover' | 'failback' | 'status';
  readonly options: SwitchOptions;
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
  const known = ['action', 'targetRegion', 'expectedRegion', 'streams', 'reason', 'force', 'dryRun'];
  for (const key of Object.keys(e)) {
    if (!known.includes(key)) throw new InvalidRequestError(key, `unknown field; use ${known.join(', ')}`);
  }
  const action = optString(e, 'action') ?? 'failover';
  if (action !== 'failover' && action !== 'failback' && action !== 'status') {
    throw new InvalidRequestError('action', `must be failover, failback or status (got ${JSON.stringify(action)})`);
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
  return { action, options };
}
