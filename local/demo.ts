/**
 * `npm run demo`: produces events into the local pipeline (local/pipeline.ts), optionally runs the failover drill
 * (the primary's Kinesis goes down, failover with the real failover API, producers resume in the new Region from the
 * resume timestamp, the primary comes back, failback), waits for replication and the warehouse to catch up, merges,
 * checks the warehouse against what was produced, and reports.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EnvironmentConfig } from '../lib/config';
import { DemoOptions } from './demo-options';
import { DrillFailedError, DrillReport, NemesisChecks, nemesisChecks, nemesisRoute, ProducerPhase, reconcileAfterDrill, runDrill } from './drill';
import { describeNemesis, parseNemesis } from './nemesis';
import { readInputFile } from './input-file';
import { matchReplicationLag, percentile, TimedRecord } from './lag';
import { LocalPipeline, LocalTuning, startLocalPipeline } from './pipeline';
import { PipelineArchive, startPipelineArchive } from './archive';
import { DemoArchiveReport, formatArchiveLines, runArchiveSteps } from './rebuild';
import { Producer, ProducerLedger, ProducerRecord } from './producer';
import { classifyRecord } from './record-classifier';
import { segmentEvents } from './segment-events';
import { readWholeStream } from './shard-reader';

export interface DemoIo {
  /** Progress output (stderr). */
  progress(line: string): void;
  /** Whether progress may redraw one line. */
  readonly interactive: boolean;
  /** Log lines of the local functions. @default - dropped */
  readonly functionLog?: (region: string, line: string) => void;
}

export type { DrillSwitch } from './drill';

export interface DemoReport {
  readonly environment: string;
  readonly regions: readonly string[];
  readonly stream: string;
  readonly source: 'generated' | 'input';
  readonly produced: {
    /** Records taken from the source. */
    readonly records: number;
    readonly uniqueIds: number;
    /** Records whose id was produced before (producer re-sends). */
    readonly resends: number;
    readonly malformed: number;
    readonly malformedByReason: Record<string, number>;
    /** Records written again after a switch of Regions. */
    readonly replayed: number;
    /** PutRecords calls that failed (e.g. while the primary was down). */
    readonly failedCalls: number;
  };
  readonly warehouse: {
    readonly events: number;
    readonly rejects: number;
    readonly rejectsByReason: Record<string, number>;
    readonly duplicatesRemoved: number;
    readonly rowsIngested: number;
    readonly merges: number;
  };
  readonly replication: {
    readonly lagP50Ms: number | undefined;
    readonly lagP99Ms: number | undefined;
    readonly samples: number;
    /** Batches the event source mappings gave up on (should be 0). */
    readonly discardedBatches: number;
  };
  readonly drill: DrillReport | undefined;
  /** The nemesis run's own checks (no replication loop, resume timestamps never late); undefined without a drill. */
  readonly nemesis?: NemesisChecks;
  readonly checks: {
    /** The events table holds exactly the unique valid ids produced. */
    readonly eventsExact: boolean;
    readonly missingIds: number;
    readonly unexpectedIds: number;
    /** Every malformed record in the warehouse stream is one reject with the expected reason, and nothing else. */
    readonly rejectsExact: boolean;
    /** Every malformed record produced reached the rejects. */
    readonly everyMalformedRejected: boolean;
  };
  readonly ok: boolean;
  readonly durationMs: number;
  /** The archive check, and the rebuild and erasure when asked (local/rebuild.ts). */
  readonly archive?: DemoArchiveReport;
}

/** What runDemo returns: the report and the rows written by --out. */
export interface DemoResult {
  readonly report: DemoReport;
}

export class DemoFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemoFailedError';
  }
}



/** Runs the demo against `config` (cdk.json's environment); throws {@link DemoFailedError} when the pipeline cannot run. */
export async function runDemo(options: DemoOptions, config: EnvironmentConfig, io: DemoIo, tuning: Partial<LocalTuning> = {}): Promise<DemoResult> {
  const started = Date.now();
  const inputRecords = options.input === undefined ? undefined : readInputFile(options.input);
  const total = inputRecords?.length ?? options.events;
  const failoverAt = options.failoverAt === 'half' ? Math.floor(total / 2) : options.failoverAt;
  if (failoverAt !== undefined && (failoverAt < 1 || failoverAt >= total)) {
    throw new DemoFailedError(`--failover-at must be between 1 and ${total - 1} (the input has ${total} records)`);
  }
  if (config.standbyRegions.length === 0) throw new DemoFailedError(`environment ${config.name} has no standby Region`);

  const progress = new Progress(io);
  progress.phase('starting local Regions, DynamoDB Local, replicators and the warehouse');
  const pipeline = await startLocalPipeline({ config, tuning, onLog: io.functionLog });
  let archive: PipelineArchive | undefined;
  try {
    archive = await startPipelineArchive(pipeline);
    const stream = pipeline.streams[0];
    const primary = config.primaryRegion;
    const standby = config.standbyRegions[0];
    const classifier = { dedupKeyPath: config.warehouse.dedupKeyPath };
    const source: Iterable<ProducerRecord> =
      inputRecords ??
      segmentEvents({ count: options.events, duplicateFraction: options.duplicates, malformedFraction: options.malformed, clock: Date.now, seed: 1 });
    const nemesis = parseNemesis(options.nemesis, options.seed ?? 1);
    if (nemesis.replicaLagMs !== undefined) pipeline.dynamo.setReplicationDelay(nemesis.replicaLagMs);
    let producerPhase: ProducerPhase = 'normal';
    const route = nemesis.faults.size > 0 ? nemesisRoute(nemesis, primary, standby, () => producerPhase) : undefined;
    const producer = new Producer({ source, streamName: stream.physicalName, region: primary, clientFor: (r) => pipeline.kinesis(r), ratePerSecond: options.rate, classifier, route });
    const stats = (): string =>
      `written ${producer.ledger.firstWrites}/${total} (+${producer.ledger.replays} re-sent) → ${producer.currentRegion} · warehouse rows ${pipeline.loader.totals.appended} · events ${pipeline.loader.totals.inserted}`;
    progress.ticker(stats);
    progress.phase(`producing ${total} records at ${options.rate}/s into ${stream.physicalName} in ${primary}`);
    const production = producer.run();

    let drill: DemoReport['drill'];
    if (failoverAt !== undefined) {
      try {
        drill = await runDrill(
          { pipeline, producer, streamName: stream.physicalName, total, failoverAt, nemesis, phase: (l) => progress.phase(l), detail: (l) => progress.detail(l) },
          (p) => (producerPhase = p),
        );
      } catch (err) {
        if (err instanceof DrillFailedError) throw new DemoFailedError(err.message);
        throw err;
      }
      if (nemesis.faults.size > 0) drill = { ...drill, nemesis: describeNemesis(nemesis) };
    }

    await production;
    await producer.run(); // replays queued by the last switch, if the first run had already ended
    progress.phase('waiting for replication and the warehouse to catch up');
    let producedAt = Date.now();
    await pipeline.waitForMappings(producedAt, { timeoutMs: 120_000 });
    if (drill !== undefined) {
      // Every Region is reachable again: copy into the active Region what producers wrote where nobody forwarded it.
      progress.phase('reconcile: records in another Region and missing from the active one');
      const reconciled = await reconcileAfterDrill(pipeline, stream.physicalName, started - 60_000);
      drill = { ...drill, reconciled };
      progress.detail(`reconcile: ${reconciled.missing} missing, ${reconciled.written} written`);
      producedAt = Date.now();
      await pipeline.waitForMappings(producedAt, { timeoutMs: 120_000 });
    }
    const replicatedAt = Date.now();
    await pipeline.loader.waitUntilCaughtUp(replicatedAt, { timeoutMs: 120_000 });
    await pipeline.loader.mergeNow();
    progress.stop();

    const built = await buildReport({ pipeline, producer: producer.ledger, drill, started, source: inputRecords ? 'input' : 'generated', streamIndex: 0 });
    const checks = drill === undefined ? undefined : await nemesisChecks(pipeline, stream.physicalName, producer.ledger, drill, drill.reconciled?.written ?? 0);
    // After the drill's checks: a rebuild replays the archive into the streams, which the loop check would count.
    const archived = await runArchiveSteps(pipeline, archive, options, (l) => progress.detail(l));
    const nemesisOk = checks === undefined || (checks.noLoop && checks.resumeNotLate);
    const report: DemoReport = { ...built, ...(checks ? { nemesis: checks } : {}), archive: archived, ok: built.ok && archived.ok && nemesisOk, durationMs: Date.now() - started };
    if (options.out !== undefined) {
      await writeOut(options.out, pipeline, report);
      archive.s3.writeTo(path.join(options.out, 'archive'));
    }
    return { report };
  } finally {
    progress.stop();
    await archive?.stop();
    await pipeline.stop();
  }
}




interface EventRow {
  event_id: string;
  stream_name: string;
  event_type: string | null;
  user_id: string | null;
  event_time: string;
  source_region: string;
  shard_id: string;
  sequence_number: string;
  payload: unknown;
}

interface RejectRow {
  stream_name: string;
  shard_id: string;
  sequence_number: string;
  partition_key: string;
  approximate_arrival_timestamp: string;
  reason: string;
  raw: Uint8Array | null;
}

async function buildReport(args: {
  pipeline: LocalPipeline;
  producer: ProducerLedger;
  drill: DemoReport['drill'];
  started: number;
  source: 'generated' | 'input';
  streamIndex: number;
}): Promise<DemoReport> {
  const { pipeline, producer: ledger } = args;
  const stream = pipeline.streams[args.streamIndex];
  const schema = pipeline.warehouse.schema;
  const events = (await pipeline.db.query<{ event_id: string }>(`SELECT event_id FROM ${schema}.events WHERE stream_name = $1`, [stream.name])).rows;
  const rejects = (await pipeline.db.query<RejectRow>(`SELECT shard_id, sequence_number, reason, raw FROM ${schema}.rejects WHERE stream_name = $1`, [stream.name])).rows;

  // Events: exactly the unique valid ids produced.
  const eventIds = new Set(events.map((e) => e.event_id));
  const missingIds = [...ledger.validIds].filter((id) => !eventIds.has(id)).length;
  const unexpectedIds = [...eventIds].filter((id) => !ledger.validIds.has(id)).length;
  const eventsExact = missingIds === 0 && unexpectedIds === 0 && eventIds.size === events.length;

  // Rejects: exactly one per distinct malformed record (partition key and bytes) in the warehouse stream, however
  // many copies retries and replays made, with the expected reason. A reject's first position names its record (the
  // warehouse keeps the bytes only of records that did not parse).
  const warehouseStream = await readWholeStream(pipeline.kinesisDirect(pipeline.warehouseRegion), stream.physicalName);
  const expected = new Map<string, string>();
  const recordAt = new Map<string, { key: string; data: Uint8Array }>();
  for (const [shardId, records] of warehouseStream) {
    for (const r of records) {
      const c = classifyRecord(r.data, { dedupKeyPath: pipeline.config.warehouse.dedupKeyPath });
      const key = `${r.partitionKey}/${Buffer.from(r.data).toString('base64')}`;
      recordAt.set(`${shardId}/${r.sequenceNumber}`, { key, data: r.data });
      if (c.kind === 'reject') expected.set(key, c.reason);
    }
  }
  let rejectsExact = rejects.length === expected.size;
  const rejectedRaw = new Set<string>();
  const rejectedKeys = new Set<string>();
  for (const r of rejects) {
    const record = recordAt.get(`${r.shard_id}/${r.sequence_number}`);
    if (!record || expected.get(record.key) !== r.reason || rejectedKeys.has(record.key)) rejectsExact = false;
    if (record) {
      rejectedKeys.add(record.key);
      rejectedRaw.add(Buffer.from(record.data).toString('base64'));
    }
  }
  const everyMalformedRejected = [...ledger.malformed.keys()].every((k) => rejectedRaw.has(k)) && [...rejectedRaw].every((k) => ledger.malformed.has(k));
  const rejectsByReason: Record<string, number> = {};
  for (const r of rejects) rejectsByReason[r.reason] = (rejectsByReason[r.reason] ?? 0) + 1;

  // Replication lag, from the streams.
  const lags = await replicationLags(pipeline, stream.physicalName, args.drill);
  const durationMs = Date.now() - args.started;
  const checks = { eventsExact, missingIds, unexpectedIds, rejectsExact, everyMalformedRejected };
  return {
    environment: pipeline.config.name,
    regions: pipeline.regions,
    stream: stream.physicalName,
    source: args.source,
    produced: {
      records: ledger.produced,
      uniqueIds: ledger.validIds.size,
      resends: ledger.resends,
      malformed: ledger.malformedCount,
      malformedByReason: ledger.malformedByReason(),
      replayed: ledger.replays,
      failedCalls: ledger.failedCalls,
    },
    warehouse: {
      events: events.length,
      rejects: rejects.length,
      rejectsByReason,
      duplicatesRemoved: pipeline.loader.totals.duplicates,
      rowsIngested: pipeline.loader.totals.appended,
      merges: pipeline.loader.totals.merges,
    },
    replication: {
      lagP50Ms: percentile(lags, 50),
      lagP99Ms: percentile(lags, 99),
      samples: lags.length,
      discardedBatches: pipeline.discardedBatches.length,
    },
    drill: args.drill,
    checks,
    ok: eventsExact && rejectsExact && everyMalformedRejected && pipeline.discardedBatches.length === 0,
    durationMs,
  };
}

/** Per-record replication lag over the drill's timeline (who was active when). */
async function replicationLags(pipeline: LocalPipeline, physicalName: string, drill: DemoReport['drill']): Promise<number[]> {
  const records = new Map<string, TimedRecord[]>();
  for (const region of pipeline.regions) {
    const byShard = await readWholeStream(pipeline.kinesisDirect(region), physicalName);
    records.set(
      region,
      [...byShard.values()].flat().map((r) => ({ partitionKey: r.partitionKey, dataKey: Buffer.from(r.data).toString('base64'), arrivalMs: r.approximateArrivalTimestampMs })),
    );
  }
  const primary = pipeline.config.primaryRegion;
  const segments: Array<{ region: string; from: number; to: number }> = [];
  const start = pipeline.startedAt;
  if (!drill) {
    segments.push({ region: primary, from: start, to: Number.POSITIVE_INFINITY });
  } else {
    const fo = Date.parse(drill.failover.activatedAt!);
    const fb = drill.failback?.activatedAt ? Date.parse(drill.failback.activatedAt) : Number.POSITIVE_INFINITY;
    segments.push({ region: primary, from: start, to: fo }, { region: drill.failover.to, from: fo, to: fb });
    if (Number.isFinite(fb)) segments.push({ region: primary, from: fb, to: Number.POSITIVE_INFINITY });
  }
  const lags: number[] = [];
  for (const seg of segments) {
    for (const target of pipeline.regions) {
      if (target === seg.region) continue;
      const nextActivation = segments.find((s) => s.region === target && s.from > seg.from)?.from ?? Number.POSITIVE_INFINITY;
      lags.push(...matchReplicationLag(records.get(seg.region) ?? [], records.get(target) ?? [], { fromMs: seg.from, toMs: seg.to, targetActiveFromMs: nextActivation }));
    }
  }
  return lags;
}

async function writeOut(dir: string, pipeline: LocalPipeline, report: DemoReport): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const schema = pipeline.warehouse.schema;
  const events = (
    await pipeline.db.query<EventRow>(
      `SELECT event_id, stream_name, event_type, user_id, event_time, source_region, shard_id, sequence_number, payload FROM ${schema}.events ORDER BY event_time, event_id`,
    )
  ).rows;
  writeNdjson(
    path.join(dir, 'events.ndjson'),
    events.map((e) => ({
      eventId: e.event_id,
      stream: e.stream_name,
      eventType: e.event_type,
      userId: e.user_id,
      eventTime: toIso(e.event_time),
      sourceRegion: e.source_region,
      shardId: e.shard_id,
      sequenceNumber: e.sequence_number,
      payload: e.payload,
    })),
  );
  const rejects = (
    await pipeline.db.query<RejectRow>(
      `SELECT stream_name, shard_id, sequence_number, partition_key, approximate_arrival_timestamp, reason, raw FROM ${schema}.rejects ORDER BY approximate_arrival_timestamp, shard_id, sequence_number`,
    )
  ).rows;
  // The warehouse keeps the bytes only of records that did not parse; the others' bytes are read back from the
  // stream at the reject's (first) position, so the file always carries each bad record's bytes.
  const bytesAt = new Map<string, Uint8Array>();
  for (const stream of rejects.some((r) => !r.raw) ? pipeline.streams : []) {
    for (const [shardId, records] of await readWholeStream(pipeline.kinesisDirect(pipeline.warehouseRegion), stream.physicalName)) {
      for (const rec of records) bytesAt.set(`${stream.name}/${shardId}/${rec.sequenceNumber}`, rec.data);
    }
  }
  writeNdjson(
    path.join(dir, 'rejects.ndjson'),
    rejects.map((r) => ({
      stream: r.stream_name,
      reason: r.reason,
      raw: ((b) => (b ? Buffer.from(b).toString('base64') : null))(r.raw ?? bytesAt.get(`${r.stream_name}/${r.shard_id}/${r.sequence_number}`)),
      partitionKey: r.partition_key,
      shardId: r.shard_id,
      sequenceNumber: r.sequence_number,
      approximateArrivalTimestamp: toIso(r.approximate_arrival_timestamp),
    })),
  );
  fs.writeFileSync(path.join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
}

function toIso(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** The report as text. */
export function formatReport(r: DemoReport): string {
  const ms = (v: number | undefined): string => (v === undefined ? 'n/a' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);
  const reasons = (m: Record<string, number>): string =>
    Object.keys(m).length === 0 ? 'none' : Object.entries(m).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(', ');
  const lines = [
    `Redstream local demo — environment ${r.environment}, Regions ${r.regions.join(' → ')}, stream ${r.stream}`,
    '',
    `  events produced        ${r.produced.records}${r.source === 'input' ? ' (from --input)' : ''}`,
    `  unique ids             ${r.produced.uniqueIds}`,
    `  producer re-sends      ${r.produced.resends}`,
    `  malformed produced     ${r.produced.malformed} (${reasons(r.produced.malformedByReason)})`,
    `  re-sent after switches ${r.produced.replayed}`,
    `  rows in events         ${r.warehouse.events}`,
    `  rejects by reason      ${r.warehouse.rejects} (${reasons(r.warehouse.rejectsByReason)})`,
    `  duplicates removed     ${r.warehouse.duplicatesRemoved} (of ${r.warehouse.rowsIngested} rows ingested, ${r.warehouse.merges} merges)`,
    `  replication lag        p50 ${ms(r.replication.lagP50Ms)}, p99 ${ms(r.replication.lagP99Ms)} (${r.replication.samples} records)`,
  ];
  if (r.drill) {
    lines.push(
      `  failover drill         after ${r.drill.failoverAt} records: ${r.drill.failover.from} → ${r.drill.failover.to} in ${ms(r.drill.failover.durationMs)}, ` +
        `${r.drill.failover.replayed} re-sent from ${r.drill.failover.resumeTimestamp}`,
    );
    if (r.drill.failback) {
      lines.push(
        `  failback               ${r.drill.failback.from} → ${r.drill.failback.to} in ${ms(r.drill.failback.durationMs)}, ${r.drill.failback.replayed} re-sent from ${r.drill.failback.resumeTimestamp}`,
      );
    }
    if (r.drill.reconciled) lines.push(`  reconcile              ${r.drill.reconciled.missing} missing from the active Region, ${r.drill.reconciled.written} written`);
    for (const n of r.drill.nemesis ?? []) lines.push(`  nemesis                ${n}`);
    if (r.nemesis) {
      const errors = r.nemesis.resumeErrorsMs.map((e) => `${e.switch} ${e.errorMs === undefined ? 'nothing unreplicated' : `${(e.errorMs / 1000).toFixed(2)} s`}`).join(', ');
      lines.push(
        `  loops and echoes       ${r.nemesis.loopedRecords} looped, ${r.nemesis.echoes} echoes`,
        `  resume vs true mark    ${errors} (≤ 0: never later than the oldest unreplicated record)`,
      );
    }
  } else {
    lines.push('  failover drill         not run (--no-failover)');
  }
  if (r.archive) lines.push(...formatArchiveLines(r.archive));
  lines.push(`  time taken             ${ms(r.durationMs)}`, '');
  if (r.ok) {
    lines.push('OK: the events table holds exactly one row per unique id produced, and every malformed record is a reject with its reason.');
  } else {
    const why: string[] = [];
    if (!r.checks.eventsExact) why.push(`events table differs from the ids produced (${r.checks.missingIds} missing, ${r.checks.unexpectedIds} unexpected)`);
    if (!r.checks.rejectsExact) why.push('rejects differ from the malformed records in the warehouse stream');
    if (!r.checks.everyMalformedRejected) why.push('some malformed records produced are not in the rejects');
    if (r.replication.discardedBatches > 0) why.push(`${r.replication.discardedBatches} replication batches were discarded`);
    if (r.nemesis && !r.nemesis.noLoop) why.push(`${r.nemesis.loopedRecords} record(s) were forwarded in a loop`);
    if (r.nemesis && !r.nemesis.resumeNotLate) why.push('a published resume timestamp was later than the true low-water mark');
    if (r.archive && !r.archive.ok) why.push('the archive checks failed');
    lines.push(`FAILED: ${why.join('; ')}`);
  }
  return lines.join('\n');
}

/** Progress on stderr: a redrawn status line when interactive, phase lines otherwise. */
class Progress {
  private timer: NodeJS.Timeout | undefined;
  private status: (() => string) | undefined;

  constructor(private readonly io: DemoIo) {}

  phase(text: string): void {
    this.clearLine();
    this.io.progress(`• ${text}\n`);
    this.draw();
  }

  detail(text: string): void {
    this.clearLine();
    this.io.progress(`    ${text}\n`);
    this.draw();
  }

  ticker(status: () => string): void {
    this.status = status;
    if (this.io.interactive) this.timer ??= setInterval(() => this.draw(), 200);
    else this.timer ??= setInterval(() => this.io.progress(`    ${status()}\n`), 5000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clearLine();
    this.status = undefined;
  }

  private draw(): void {
    if (this.io.interactive && this.status) this.io.progress(`\r\u001b[2K  ${this.status()}`);
  }

  private clearLine(): void {
    if (this.io.interactive && this.status) this.io.progress('\r\u001b[2K');
  }
}

/** Writes one JSON document per line. */
function writeNdjson(file: string, rows: readonly unknown[]): void {
  fs.writeFileSync(file, rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
}
