/**
 * Runs a reconcile (./reconcile.ts) for one stream: reads the window from every Region's stream, plans what the active
 * Region lacks, and writes it there with the replay writer (lambda/archive/replay.ts: per-key order, a share of the
 * stream's write limit, retries). Used by `npm run ops -- reconcile` and the demo's drill.
 */
import { ArchiveRecord } from '../archive/format';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { KinesisReplayTarget, ProgressStore, ReplayEvent, ReplayResult, ReplaySource, ReplayTarget, runReplay, StreamReplaySource } from '../archive/replay';
import { ReplayProgress, WriteBudget } from '../archive/replay-plan';
import { ActiveRegionStore } from './ports';
import { DEFAULT_ACTIVE_WINDOW_MARGIN_MS, planReconcile, ReconcilePlan, ReconcileWindow } from './reconcile';

export interface ReconcileDeps {
  readonly activeRegions: ActiveRegionStore;
  /** The stream's records in [fromMs, toMs) in a Region. */
  readonly read: (region: string, fromMs: number, toMs: number) => Promise<ArchiveRecord[]>;
  /** The active Region's stream. */
  readonly target: (region: string) => ReplayTarget;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly onProgress?: (e: ReplayEvent) => void;
}

/** Reconcile over Kinesis: reads each Region's stream and writes to the active one through `kinesis(region)`. */
export function kinesisReconcileDeps(
  kinesis: (region: string) => KinesisClient,
  streamName: string,
  rest: Omit<ReconcileDeps, 'read' | 'target'>,
): ReconcileDeps {
  return {
    ...rest,
    read: (region, from, to) => new StreamReplaySource(kinesis(region), streamName, region).read(from, to),
    target: (region) => new KinesisReplayTarget(kinesis(region), streamName, region),
  };
}

export interface ReconcileOptions {
  readonly environment: string;
  readonly streamName: string;
  /** Every Region of the environment. */
  readonly regions: readonly string[];
  readonly window: ReconcileWindow;
  readonly budget: WriteBudget;
  readonly dryRun?: boolean;
  /** @default DEFAULT_ACTIVE_WINDOW_MARGIN_MS */
  readonly activeWindowMarginMs?: number;
}

export interface ReconcileResult {
  readonly streamName: string;
  readonly activeRegion: string;
  readonly window: ReconcileWindow;
  readonly plan: Pick<ReconcilePlan, 'found' | 'missingByRegion'> & { readonly missing: number };
  readonly write: ReplayResult;
}

export class ReconcileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReconcileError';
  }
}

/** Reconciles one stream; refuses while a switch is under way (the active Region is about to change). */
export async function runReconcile(options: ReconcileOptions, deps: ReconcileDeps): Promise<ReconcileResult> {
  const { streamName, window } = options;
  const item = await firstReadable(options.regions, (region) => deps.activeRegions.read(region, streamName));
  if (item === undefined) throw new ReconcileError(`${streamName}: no active-Region item (deploy the state stack first)`);
  if (item.state !== 'ACTIVE') {
    throw new ReconcileError(`${streamName}: a switch to ${item.targetRegion ?? '?'} is under way (epoch ${item.epoch}); reconcile once it is ACTIVE`);
  }
  const active = item.activeRegion;
  const margin = options.activeWindowMarginMs ?? DEFAULT_ACTIVE_WINDOW_MARGIN_MS;
  // Every Region must be readable: a Region that cannot be read may hold exactly the records reconcile is for.
  // Up to now at least: copies an earlier run wrote land at the time of that run, however old the window.
  const activeRecords = await deps.read(active, window.fromMs - margin, Math.max(window.toMs + margin, deps.clock() + 1));
  const others = [];
  for (const region of options.regions) {
    if (region === active) continue;
    others.push({ region, records: await deps.read(region, window.fromMs, window.toMs) });
  }
  const plan = planReconcile(active, activeRecords, others);
  const source: ReplaySource = {
    description: `records of ${others.map((o) => o.region).join(', ')} missing from ${active}`,
    read: async () => plan.missing,
  };
  const write = await runReplay(
    {
      request: {
        environment: options.environment,
        stream: streamName,
        source: 'stream',
        sourceRegion: others.map((o) => o.region).join('+'),
        targetRegion: active,
        fromMs: window.fromMs,
        toMs: window.toMs,
      },
      budget: options.budget,
      // One slice: the plan is already in memory.
      sliceMs: Math.max(1, window.toMs - window.fromMs),
      dryRun: options.dryRun,
      onProgress: deps.onProgress,
    },
    { source, target: deps.target(active), progress: new MemoryProgressStore(), clock: deps.clock, sleep: deps.sleep },
  );
  return { streamName, activeRegion: active, window, plan: { found: plan.found, missingByRegion: plan.missingByRegion, missing: plan.missing.length }, write };
}

/** Reconcile needs no progress record (a re-run finds nothing left); the writer's progress lives for one run. */
class MemoryProgressStore implements ProgressStore {
  private progress: ReplayProgress | undefined;
  async load(): Promise<ReplayProgress | undefined> {
    return this.progress;
  }
  async save(progress: ReplayProgress): Promise<void> {
    this.progress = progress;
  }
}

async function firstReadable<T>(regions: readonly string[], read: (region: string) => Promise<T>): Promise<T> {
  let last: unknown;
  for (const region of regions) {
    try {
      return await read(region);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}
