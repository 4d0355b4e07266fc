/**
 * The demo's failover drill, with its nemesis (local/nemesis.ts): the primary's Kinesis dies mid-stream, the fenced
 * failover runs with the real failover code against the per-Region replicas, producers resume in the new Region, the
 * primary comes back, failback, then `reconcile` copies into the active Region what producers wrote where nobody
 * forwarded it. Each fault of the nemesis is applied at the point of the drill where AWS would produce it.
 *
 * The checks of a nemesis run (beyond the demo's events and rejects): no record is forwarded in a loop (at most one
 * echo per write per Region), and each published resume timestamp is no later than the true low-water mark (the
 * arrival of the oldest record of the old Region that had not reached the new one when it was activated).
 */
import { KinesisTrustedClock } from '../lambda/failover/adapters';
import { failback, failover, FailoverDeps, SwitchResult } from '../lambda/failover/api';
import { recordIdentity } from '../lambda/failover/reconcile';
import { kinesisReconcileDeps, runReconcile } from '../lambda/failover/reconcile-run';
import { writeBudget } from '../lambda/archive/replay-plan';
import { NemesisPlan } from './nemesis';
import type { LocalPipeline } from './pipeline';
import type { Producer, ProducerLedger } from './producer';
import { readWholeStream } from './shard-reader';

export interface DrillSwitch {
  readonly from: string;
  readonly to: string;
  readonly outcome: string;
  readonly activatedAt: string | undefined;
  readonly resumeTimestamp: string | undefined;
  readonly replayed: number;
  readonly durationMs: number;
  /** Warnings of the switch (clock corrected, replicas forced through, fences). */
  readonly warnings?: readonly string[];
}

export interface DrillReport {
  readonly failoverAt: number;
  readonly failover: DrillSwitch;
  readonly failback: DrillSwitch | undefined;
  /** What `reconcile` found missing from the active Region and wrote there, after the failback. */
  readonly reconciled?: { readonly missing: number; readonly written: number };
  /** What each fault did. */
  readonly nemesis?: readonly string[];
}

export interface DrillContext {
  readonly pipeline: LocalPipeline;
  readonly producer: Producer;
  readonly streamName: string;
  readonly total: number;
  readonly failoverAt: number;
  readonly nemesis: NemesisPlan;
  readonly phase: (line: string) => void;
  readonly detail: (line: string) => void;
}

/** Where producers write, as the nemesis moves them (read by the producer's route). */
export type ProducerPhase = 'normal' | 'outage' | 'switched' | 'old-back' | 'failed-back';

export class DrillFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DrillFailedError';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(predicate: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new DrillFailedError(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * A producer route for the nemesis: early producers go to the standby once the primary fails, strays stay on the
 * primary once it is back but before the failback. `phase()` says where the drill is.
 */
export function nemesisRoute(plan: NemesisPlan, primary: string, standby: string, phase: () => ProducerPhase): (record: { partitionKey: string }) => string | undefined {
  return (record) => {
    const p = phase();
    if (p === 'outage' && plan.isEarly(record.partitionKey)) return standby;
    if (p === 'old-back' && plan.isStray(record.partitionKey)) return primary;
    return undefined;
  };
}

/** Runs the drill; the producer must already be running (paused by the drill at the failover point). */
export async function runDrill(ctx: DrillContext, setPhase: (p: ProducerPhase) => void): Promise<DrillReport> {
  const { pipeline, producer, streamName, nemesis } = ctx;
  const config = pipeline.config;
  const primary = config.primaryRegion;
  const standby = config.standbyRegions[0];
  const faults = nemesis.faults;
  const callerClock = (): number => Date.now() + nemesis.clockSkewMs;
  const deps = (): FailoverDeps => ({
    ...pipeline.failoverDeps,
    clock: callerClock,
    trustedClock: new KinesisTrustedClock((r) => pipeline.kinesis(r), streamName, callerClock),
    onProgress: (l) => ctx.detail(l),
  });

  if (faults.has('reshard')) {
    await producer.pauseAfterFirstWrites(Math.max(1, Math.floor(ctx.failoverAt / 2)));
    const split = await pipeline.splitShard(primary, streamName, 'shardId-000000000000');
    ctx.phase(`nemesis reshard: ${primary}'s shardId-000000000000 split into ${split.childShardIds.join(' and ')}`);
    producer.resume();
  }

  await producer.pauseAfterFirstWrites(ctx.failoverAt);
  ctx.phase(`drill: ${primary}'s Kinesis goes down after ${producer.ledger.firstWrites} records`);
  const failedBefore = producer.ledger.failedCalls;
  pipeline.router.setRegionDown(primary, true);
  if (nemesis.slowControlPlaneMs > 0) pipeline.router.setControlPlaneDelay(primary, nemesis.slowControlPlaneMs);
  setPhase('outage');
  producer.resume();
  await until(() => producer.ledger.failedCalls > failedBefore || producer.done, 'the producer to see the outage', 60_000);
  if (faults.has('partition-old-replica')) {
    pipeline.dynamo.partition(primary);
    ctx.detail(`nemesis partition-old-replica: ${primary}'s replica receives no replication`);
  }

  ctx.phase(`drill: failover to ${standby} (fenced switch; waits for in-flight forwarding)`);
  const t0 = Date.now();
  const request = { targetRegion: standby, expectedRegion: primary, reason: `demo drill: ${primary} Kinesis down`, force: faults.has('force') };
  let fo = await failover(pipeline.failoverSettings, request, deps());
  let oldBack = false;
  if (stream(fo, streamName).outcome === 'stalled') {
    // Not forced: the switch cannot see the old Region's replica. The old Region comes back (its replicator runs for a
    // moment on its stale replica: the new Region holds what it sends), the partition heals, and the operator takes
    // the stalled switch over, as its message says.
    ctx.detail(`failover stalled (${stream(fo, streamName).message}); bringing ${primary} back, then taking the switch over`);
    await bringBack(ctx, primary);
    oldBack = true;
    fo = await failover(pipeline.failoverSettings, { ...request, force: true }, deps());
  }
  const foStream = switched(fo, streamName);
  await producer.pause();
  const replayedOnFailover = producer.switchRegion(standby, foStream.resumeTimestamp!, { resend: !faults.has('no-resend') });
  setPhase(oldBack ? 'old-back' : 'switched');
  producer.rebaseRate();
  producer.resume();
  const failoverReport: DrillSwitch = {
    from: primary,
    to: standby,
    outcome: foStream.outcome,
    activatedAt: iso(foStream.activatedAt),
    resumeTimestamp: iso(foStream.resumeTimestamp),
    replayed: replayedOnFailover,
    durationMs: Date.now() - t0,
    warnings: fo.warnings,
  };
  ctx.phase(`drill: producers resume in ${standby} from ${failoverReport.resumeTimestamp} (${replayedOnFailover} records re-sent)`);

  if (nemesis.outageMs > 0) {
    ctx.detail(`nemesis long-outage: ${primary} stays down ${nemesis.outageMs / 1000} s while ${standby} forwards to it`);
    await sleep(nemesis.outageMs);
  }

  // Later: the primary comes back; reverse replication catches up; failback.
  const failbackAt = ctx.failoverAt + Math.floor((ctx.total - ctx.failoverAt) / 2);
  await producer.pauseAfterFirstWrites(failbackAt);
  if (!oldBack) {
    ctx.phase(`drill: ${primary} is back; waiting for ${standby} → ${primary} replication to catch up`);
    await bringBack(ctx, primary);
    setPhase('old-back');
  }
  if (faults.has('stray-producers')) {
    // Strays write to the old Region while it is up and not active.
    producer.resume();
    await sleep(1_000);
  }
  await producer.pause();
  await pipeline.waitForMappings(Date.now(), { regions: [standby], timeoutMs: 120_000 });
  ctx.phase(`drill: failback to ${primary}`);
  const t1 = Date.now();
  const fb = await failbackWhenCaughtUp(pipeline, deps, ctx);
  const fbStream = switched(fb, streamName);
  const replayedOnFailback = producer.switchRegion(primary, fbStream.resumeTimestamp!, { resend: !faults.has('no-resend') });
  setPhase('failed-back');
  producer.rebaseRate();
  producer.resume();
  ctx.phase(`drill: producers resume in ${primary} (${replayedOnFailback} records re-sent)`);
  return {
    failoverAt: ctx.failoverAt,
    failover: failoverReport,
    failback: {
      from: standby,
      to: primary,
      outcome: fbStream.outcome,
      activatedAt: iso(fbStream.activatedAt),
      resumeTimestamp: iso(fbStream.resumeTimestamp),
      replayed: replayedOnFailback,
      durationMs: Date.now() - t1,
      warnings: fb.warnings,
    },
  };
}

/** The old Region comes back: Kinesis first (its replicator runs on what its replica says), the replica a moment later. */
async function bringBack(ctx: DrillContext, region: string): Promise<void> {
  const { pipeline } = ctx;
  pipeline.router.setControlPlaneDelay(region, 0);
  pipeline.router.setRegionDown(region, false);
  if (pipeline.dynamo.isPartitioned(region)) {
    await sleep(1_500);
    pipeline.dynamo.heal(region);
    await pipeline.dynamo.settle(30_000);
  }
}

/** After production: copies into the active Region what is in another Region's stream and missing there. */
export async function reconcileAfterDrill(pipeline: LocalPipeline, streamName: string, fromMs: number): Promise<{ missing: number; written: number }> {
  const regions = pipeline.regions;
  const result = await runReconcile(
    { environment: pipeline.config.name, streamName, regions, window: { fromMs, toMs: Date.now() + 1 }, budget: writeBudget(1, 1) },
    kinesisReconcileDeps((r) => pipeline.kinesis(r), streamName, { activeRegions: pipeline.failoverDeps.activeRegions, clock: Date.now, sleep }),
  );
  return { missing: result.plan.missing, written: result.write.written };
}

function stream(result: SwitchResult, streamName: string): NonNullable<SwitchResult['streams'][number]> {
  const s = result.streams.find((x) => x.streamName === streamName);
  if (!s) throw new DrillFailedError(`${result.action} to ${result.targetRegion}: no result for ${streamName}`);
  return s;
}

function switched(result: SwitchResult, streamName: string): NonNullable<SwitchResult['streams'][number]> {
  const s = stream(result, streamName);
  if (s.outcome !== 'switched' || s.resumeTimestamp === undefined) {
    throw new DrillFailedError(`${result.action} to ${result.targetRegion} did not switch ${streamName}: ${s.outcome}: ${s.message}`);
  }
  return s;
}

async function failbackWhenCaughtUp(pipeline: LocalPipeline, deps: () => FailoverDeps, ctx: DrillContext): Promise<SwitchResult> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const fb = await failback(pipeline.failoverSettings, { reason: 'demo drill over' }, deps());
    const refused = fb.streams.filter((s) => s.outcome === 'refused');
    if (refused.length === 0 || Date.now() > deadline) return fb;
    ctx.detail(`failback refused, retrying: ${refused[0].message}`);
    await sleep(250);
  }
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

export interface NemesisChecks {
  /** Copies of a record in a Region beyond one per write of it (echoes: at most one per write). */
  readonly echoes: number;
  /** Records with more than two copies per write in some Region: forwarded in a loop. */
  readonly loopedRecords: number;
  /** Per switch: published resume timestamp minus the true low-water mark, ms (≤ 0 is safe); undefined when nothing was unreplicated. */
  readonly resumeErrorsMs: ReadonlyArray<{ readonly switch: string; readonly errorMs: number | undefined }>;
  readonly noLoop: boolean;
  readonly resumeNotLate: boolean;
}

/**
 * The loop and resume checks, from both Regions' streams and the producer's ledger. `extraWrites` are copies written
 * by reconcile (each a write like a producer's).
 */
export async function nemesisChecks(pipeline: LocalPipeline, streamName: string, ledger: ProducerLedger, drill: DrillReport, extraWrites: number): Promise<NemesisChecks> {
  const writes = new Map<string, number>();
  for (const w of ledger.writes) {
    const id = recordIdentity({ partitionKey: w.record.partitionKey, data: Buffer.from(w.record.data).toString('base64') });
    writes.set(id, (writes.get(id) ?? 0) + 1);
  }
  const byRegion = new Map<string, Array<{ id: string; arrivalMs: number }>>();
  for (const region of pipeline.regions) {
    const shards = await readWholeStream(pipeline.kinesisDirect(region), streamName);
    const list: Array<{ id: string; arrivalMs: number }> = [];
    for (const records of shards.values()) {
      for (const r of records) list.push({ id: recordIdentity({ partitionKey: r.partitionKey, data: Buffer.from(r.data).toString('base64') }), arrivalMs: r.approximateArrivalTimestampMs });
    }
    byRegion.set(region, list);
  }
  let echoes = 0;
  let looped = 0;
  for (const list of byRegion.values()) {
    const copies = new Map<string, number>();
    for (const r of list) copies.set(r.id, (copies.get(r.id) ?? 0) + 1);
    for (const [id, n] of copies) {
      // Reconcile's copies are writes too; they are few and spread over ids, so they widen the allowance of every id
      // only by what reconcile wrote in all (conservative against false alarms, still catches a loop's dozens).
      const w = (writes.get(id) ?? 0) + (extraWrites > 0 ? 1 : 0);
      if (n > w) echoes += n - w;
      if (n > 2 * Math.max(1, w)) looped++;
    }
  }
  const resumeErrorsMs: Array<{ switch: string; errorMs: number | undefined }> = [];
  // The old Region's tenure began at the previous switch's activation (the run's start for the failover): records of
  // that Region from before it belong to another tenure (early writes during the outage), which reconcile recovers.
  const tenureStart = { failover: Number.NEGATIVE_INFINITY, failback: drill.failover.activatedAt ? Date.parse(drill.failover.activatedAt) : Number.NEGATIVE_INFINITY };
  for (const [name, s] of [
    ['failover', drill.failover],
    ['failback', drill.failback],
  ] as const) {
    if (!s?.activatedAt || !s.resumeTimestamp) continue;
    const activatedAt = Date.parse(s.activatedAt);
    const inNew = new Set((byRegion.get(s.to) ?? []).filter((r) => r.arrivalMs < activatedAt).map((r) => r.id));
    let trueMark = Number.POSITIVE_INFINITY;
    for (const r of byRegion.get(s.from) ?? []) {
      if (r.arrivalMs >= tenureStart[name] && r.arrivalMs < activatedAt && !inNew.has(r.id) && r.arrivalMs < trueMark) trueMark = r.arrivalMs;
    }
    resumeErrorsMs.push({ switch: name, errorMs: Number.isFinite(trueMark) ? Date.parse(s.resumeTimestamp) - trueMark : undefined });
  }
  return {
    echoes,
    loopedRecords: looped,
    resumeErrorsMs,
    noLoop: looped === 0,
    resumeNotLate: resumeErrorsMs.every((e) => e.errorMs === undefined || e.errorMs <= 0),
  };
}
