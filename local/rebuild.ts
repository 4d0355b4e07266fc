/**
 * The demo's archive steps, called by local/demo.ts at the end of a run:
 *
 * - {@link checkArchive}: every record of every Region's stream is in that Region's archive, once, with its partition
 *   key and exact bytes (malformed and binary ones included), and the archive's overhead per record;
 * - {@link rebuildFromArchive}: the rebuild runbook (README, "Rebuild"): empty the warehouse's events, rejects and
 *   merge state (and the streaming view, as recreating it over an expired stream would), replay the archive into the
 *   active Region's stream with `ops replay`'s code, merge, and check that the events table again holds exactly one
 *   row per id with the same payloads;
 * - {@link eraseSubjectInDemo}: `ops erase`'s code against the local warehouse and archive, then checks that nothing
 *   of the subject remains in events, rejects or archive and that every other id is intact.
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { ArchiveRecord, recordBytes } from '../lambda/archive/format';
import { erase, ErasureReport } from '../lambda/archive/erase';
import { ArchiveReplaySource, KinesisReplayTarget, ReplayResult, runReplay } from '../lambda/archive/replay';
import { countOpenShards } from '../lambda/archive/replay';
import { newProgress, ReplayProgress, writeBudget } from '../lambda/archive/replay-plan';
import { S3ArchiveStore, decodeArchiveObject } from '../lambda/archive/store';
import { DEFAULT_SUBJECT_PATHS, recordHasSubject, subjectValues } from '../lambda/archive/subject';
import { mvName } from '../lib/sql/render';
import type { PipelineArchive } from './archive';
import { localErasureWarehouse } from './erase';
import { readWholeStream } from './shard-reader';

/** What the demo's pipeline offers these steps (a subset of LocalPipeline). */
export interface DemoPipeline {
  readonly config: { readonly name: string; readonly streams: ReadonlyArray<{ readonly name: string; readonly retentionHours: number }> };
  readonly regions: readonly string[];
  readonly warehouseRegion: string;
  readonly startedAt: number;
  readonly streams: ReadonlyArray<{ readonly name: string; readonly physicalName: string }>;
  kinesisDirect(region: string): KinesisClient;
  kinesis(region: string): KinesisClient;
  readonly warehouse: { readonly schema: string };
  readonly db: { query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> };
  readonly loader: { waitUntilCaughtUp(sinceMs: number, options?: { timeoutMs?: number }): Promise<void>; mergeNow(): Promise<unknown> };
  activeRegionItem(physicalName: string): Promise<{ readonly activeRegion: string; readonly state: string } | undefined>;
}

export interface ArchiveCheck {
  /** Per Region: records in the stream, records in the archive, and whether they are the same multiset. */
  readonly regions: ReadonlyArray<{ readonly region: string; readonly streamRecords: number; readonly archivedRecords: number; readonly exact: boolean }>;
  readonly objects: number;
  /** Average raw record, archive line and GZIP bytes per record. */
  readonly rawBytesPerRecord: number;
  readonly lineBytesPerRecord: number;
  readonly gzipBytesPerRecord: number;
  readonly ok: boolean;
}

/** Every archived record of a Region's bucket (current versions). */
export async function archivedRecords(archive: PipelineArchive, region: string): Promise<ArchiveRecord[]> {
  const store = new S3ArchiveStore(archive.client);
  const bucket = archive.bucketFor(region);
  const out: ArchiveRecord[] = [];
  for (const key of await store.listKeys(bucket, '')) {
    if (key.startsWith('errors/')) continue;
    out.push(...(await decodeArchiveObject((await store.get(bucket, key)).body, key)));
  }
  return out;
}

/** Waits for the archive to catch up, then compares it with every Region's streams. */
export async function checkArchive(pipeline: DemoPipeline, archive: PipelineArchive): Promise<ArchiveCheck> {
  await archive.archive.waitUntilCaughtUp(Date.now(), { timeoutMs: 120_000 });
  const regions = [];
  for (const region of pipeline.regions) {
    const fromStreams: string[] = [];
    for (const s of pipeline.streams) {
      for (const [shardId, records] of await readWholeStream(pipeline.kinesisDirect(region), s.physicalName)) {
        for (const r of records) fromStreams.push(`${s.physicalName}|${shardId}|${r.sequenceNumber}|${r.partitionKey}|${Buffer.from(r.data).toString('base64')}`);
      }
    }
    const archived = (await archivedRecords(archive, region)).map((r) => `${r.stream}|${r.shardId}|${r.sequenceNumber}|${r.partitionKey}|${r.data}`);
    fromStreams.sort();
    archived.sort();
    regions.push({ region, streamRecords: fromStreams.length, archivedRecords: archived.length, exact: fromStreams.length === archived.length && fromStreams.every((k, i) => k === archived[i]) });
  }
  const t = archive.archive.totals;
  const per = (bytes: number): number => (t.records > 0 ? Math.round((bytes / t.records) * 10) / 10 : 0);
  return {
    regions,
    objects: t.objects,
    rawBytesPerRecord: per(t.rawBytes),
    lineBytesPerRecord: per(t.lineBytes),
    gzipBytesPerRecord: per(t.objectBytes),
    ok: regions.every((r) => r.exact) && t.failedRecords === 0,
  };
}

export interface RebuildReport {
  readonly eventsBefore: number;
  readonly eventsAfter: number;
  readonly rejectsBefore: number;
  readonly rejectsAfter: number;
  readonly replay: Pick<ReplayResult, 'found' | 'written' | 'calls' | 'durationMs' | 'recordsPerSecond'> & { readonly writeLimitRecordsPerSecond: number };
  readonly durationMs: number;
  /** Exactly one row per id, the same ids with the same payloads as before. */
  readonly exact: boolean;
  readonly missingIds: number;
  readonly changedPayloads: number;
}

/** The rebuild runbook against the local warehouse. */
export async function rebuildFromArchive(pipeline: DemoPipeline, archive: PipelineArchive, say: (line: string) => void = () => undefined): Promise<RebuildReport> {
  const started = Date.now();
  const schema = pipeline.warehouse.schema;
  const snapshot = async (): Promise<Map<string, string>> => {
    const { rows } = await pipeline.db.query<{ k: string; payload: string }>(`SELECT stream_name || '/' || event_id AS k, payload::text AS payload FROM ${schema}.events`);
    return new Map(rows.map((r) => [r.k, r.payload]));
  };
  const count = async (table: string): Promise<number> => Number((await pipeline.db.query<{ n: string }>(`SELECT COUNT(*)::text AS n FROM ${schema}.${table}`)).rows[0].n);
  const before = await snapshot();
  const rejectsBefore = await count('rejects');

  // 1. Empty events, rejects and merge state; the streaming view too (a view recreated over a stream whose records
  //    have expired is empty: the archive is then the only copy).
  say('rebuild: emptying events, rejects, merge state and the streaming view');
  await pipeline.loader.mergeNow();
  const tables = ['events', 'rejects', 'merge_state', 'merge_streams', 'merge_runs', ...pipeline.streams.map((s) => mvName(s.name))];
  await pipeline.db.query(`TRUNCATE ${tables.map((t) => `${schema}.${t}`).join(', ')}`);

  // 2. Replay every stream's archive window into the active Region, as `ops replay --source archive` does.
  let replay: RebuildReport['replay'] | undefined;
  for (const s of pipeline.streams) {
    const item = await pipeline.activeRegionItem(s.physicalName);
    if (!item || item.state !== 'ACTIVE') throw new Error(`rebuild: ${s.physicalName} has no ACTIVE Region`);
    const target = item.activeRegion;
    const shards = await countOpenShards(pipeline.kinesis(target), s.physicalName);
    const budget = writeBudget(shards, 1);
    const request = { environment: pipeline.config.name, stream: s.physicalName, fromMs: pipeline.startedAt - 60_000, toMs: Date.now() + 1, source: 'archive' as const, sourceRegion: pipeline.warehouseRegion, targetRegion: target };
    let progress: ReplayProgress = newProgress(request, Date.now());
    say(`rebuild: replaying the ${pipeline.warehouseRegion} archive of ${s.physicalName} into ${target} (budget ${budget.recordsPerSecond} records/s)`);
    const result = await runReplay(
      { request, budget },
      {
        source: new ArchiveReplaySource(new S3ArchiveStore(archive.client), archive.bucketFor(pipeline.warehouseRegion), s.name, s.physicalName, 1, pipeline.warehouseRegion),
        target: new KinesisReplayTarget(pipeline.kinesis(target), s.physicalName, target),
        progress: { load: async () => undefined, save: async (p) => void (progress = p) },
        clock: Date.now,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      },
    );
    void progress;
    replay = { found: result.found, written: result.written, calls: result.calls, durationMs: result.durationMs, recordsPerSecond: Math.round(result.recordsPerSecond), writeLimitRecordsPerSecond: budget.recordsPerSecond };
  }

  // 3. Merge what the replay brought.
  say('rebuild: waiting for the warehouse to ingest the replay, then merging');
  await pipeline.loader.waitUntilCaughtUp(Date.now(), { timeoutMs: 120_000 });
  await pipeline.loader.mergeNow();
  const after = await snapshot();
  let missingIds = 0;
  let changedPayloads = 0;
  for (const [k, payload] of before) {
    const now = after.get(k);
    if (now === undefined) missingIds++;
    else if (now !== payload) changedPayloads++;
  }
  const { rows: dup } = await pipeline.db.query<{ n: string }>(`SELECT COUNT(*)::text AS n FROM (SELECT stream_name, event_id FROM ${schema}.events GROUP BY 1, 2 HAVING COUNT(*) > 1) d`);
  const exact = missingIds === 0 && changedPayloads === 0 && after.size === before.size && Number(dup[0].n) === 0;
  return {
    eventsBefore: before.size,
    eventsAfter: after.size,
    rejectsBefore,
    rejectsAfter: await count('rejects'),
    replay: replay ?? { found: 0, written: 0, calls: 0, durationMs: 0, recordsPerSecond: 0, writeLimitRecordsPerSecond: 0 },
    durationMs: Date.now() - started,
    exact,
    missingIds,
    changedPayloads,
  };
}

export interface DemoErasureReport {
  readonly subject: string;
  readonly erasure: ErasureReport;
  readonly subjectEventsBefore: number;
  readonly otherEventsBefore: number;
  readonly otherEventsAfter: number;
  /** Rows or records of the subject still present after the erasure (all must be 0). */
  readonly remaining: { readonly events: number; readonly rejects: number; readonly archive: number };
  /** Every other id is still there, with its payload. */
  readonly othersIntact: boolean;
  readonly ok: boolean;
}

/** Runs an erasure of `subject` against the local warehouse and every Region's archive, then checks it. */
export async function eraseSubjectInDemo(pipeline: DemoPipeline, archive: PipelineArchive, subject: string, say: (line: string) => void = () => undefined): Promise<DemoErasureReport> {
  const schema = pipeline.warehouse.schema;
  const paths = DEFAULT_SUBJECT_PATHS;
  await pipeline.loader.mergeNow();
  const events = async (): Promise<Array<{ k: string; payload: string }>> =>
    (await pipeline.db.query<{ k: string; payload: string }>(`SELECT stream_name || '/' || event_id AS k, payload::text AS payload FROM ${schema}.events`)).rows;
  const isSubject = (payload: string): boolean => subjectValues(JSON.parse(payload) as unknown, paths).includes(subject);
  const before = await events();
  const others = new Map(before.filter((e) => !isSubject(e.payload)).map((e) => [e.k, e.payload]));

  const retentionHours = Math.max(...pipeline.config.streams.map((s) => s.retentionHours));
  const warehouse = localErasureWarehouse({
    name: pipeline.warehouseRegion,
    db: pipeline.db,
    schema,
    streamingViews: pipeline.streams.map((s) => `${schema}.${mvName(s.name)}`),
    retentionMs: retentionHours * 3_600_000,
    clock: Date.now,
  });
  // Anything still buffered in the local Firehose is written first, as Firehose would have by the erasure's sweep.
  await archive.archive.waitUntilCaughtUp(Date.now(), { timeoutMs: 120_000 });
  const erasure = await erase(
    { subject, paths },
    {
      warehouses: [warehouse],
      archives: pipeline.regions.map((region) => ({ region, bucket: archive.bucketFor(region), prefixes: [...pipeline.streams.map((s) => `${s.name}/`), 'errors/'] })),
      store: new S3ArchiveStore(archive.client),
      streams: pipeline.streams.map((s) => ({ name: s.physicalName, retentionHours: pipeline.config.streams.find((c) => c.name === s.name)?.retentionHours ?? retentionHours })),
      archiveDelayMs: 20 * 60_000,
    },
    { clock: Date.now, onProgress: (l) => say(`erase: ${l}`) },
  );
  // A merge after the erasure must not bring anything back (the streaming view still holds the subject's rows).
  await pipeline.loader.mergeNow();

  const after = await events();
  const remainingEvents = after.filter((e) => isSubject(e.payload)).length;
  const { rows: rejects } = await pipeline.db.query<{ payload: string | null; raw: Uint8Array | null }>(`SELECT payload::text AS payload, raw FROM ${schema}.rejects`);
  const remainingRejects = rejects.filter((r) => (r.payload !== null && recordHasSubject(Buffer.from(r.payload), subject, paths)) || (r.raw !== null && recordHasSubject(r.raw, subject, paths))).length;
  let remainingArchive = 0;
  for (const region of pipeline.regions) remainingArchive += (await archivedRecords(archive, region)).filter((r) => recordHasSubject(recordBytes(r), subject, paths)).length;
  const afterMap = new Map(after.map((e) => [e.k, e.payload]));
  const othersIntact = [...others].every(([k, p]) => afterMap.get(k) === p) && after.length - remainingEvents === others.size;
  return {
    subject,
    erasure,
    subjectEventsBefore: before.length - others.size,
    otherEventsBefore: others.size,
    otherEventsAfter: after.length - remainingEvents,
    remaining: { events: remainingEvents, rejects: remainingRejects, archive: remainingArchive },
    othersIntact,
    ok: remainingEvents === 0 && remainingRejects === 0 && remainingArchive === 0 && othersIntact,
  };
}

/** The archive part of the demo's report. */
export interface DemoArchiveReport {
  readonly check: ArchiveCheck;
  readonly rebuild?: RebuildReport;
  readonly erasure?: DemoErasureReport;
  readonly ok: boolean;
}

/** The demo's archive steps in order: check the archive, then rebuild and erase if asked. */
export async function runArchiveSteps(
  pipeline: DemoPipeline,
  archive: PipelineArchive,
  options: { readonly rebuildFromArchive?: boolean; readonly eraseSubject?: string },
  say: (line: string) => void = () => undefined,
): Promise<DemoArchiveReport> {
  say('archive: waiting for the local Firehose and comparing every Region\'s archive with its streams');
  const check = await checkArchive(pipeline, archive);
  const rebuild = options.rebuildFromArchive ? await rebuildFromArchive(pipeline, archive, say) : undefined;
  const erasure = options.eraseSubject !== undefined ? await eraseSubjectInDemo(pipeline, archive, options.eraseSubject, say) : undefined;
  return { check, rebuild, erasure, ok: check.ok && (rebuild?.exact ?? true) && (erasure?.ok ?? true) };
}

/** Report lines for the archive steps. */
export function formatArchiveLines(r: DemoArchiveReport): string[] {
  const c = r.check;
  const lines = [
    `  archive                ${c.regions.map((x) => `${x.region} ${x.archivedRecords}/${x.streamRecords} records${x.exact ? '' : ' (DIFFERS)'}`).join(', ')} in ${c.objects} objects; ` +
      `per record ${c.rawBytesPerRecord} B raw, ${c.lineBytesPerRecord} B as a line, ${c.gzipBytesPerRecord} B gzipped`,
  ];
  if (r.rebuild) {
    const b = r.rebuild;
    lines.push(
      `  rebuild from archive   ${b.eventsAfter}/${b.eventsBefore} events, ${b.rejectsAfter}/${b.rejectsBefore} rejects in ${(b.durationMs / 1000).toFixed(1)} s; ` +
        `replayed ${b.replay.written} records at ${b.replay.recordsPerSecond}/s (limit ${b.replay.writeLimitRecordsPerSecond}/s)` +
        (b.exact ? '' : ` — FAILED: ${b.missingIds} missing, ${b.changedPayloads} changed`),
    );
  }
  if (r.erasure) {
    const e = r.erasure;
    const w = e.erasure.warehouses[0];
    lines.push(
      `  erasure of ${e.subject.padEnd(11)} ${w?.eventsDeleted ?? 0} events, ${w?.rejectsDeleted ?? 0} rejects, ${e.erasure.archive.recordsRemoved} archive records ` +
        `(${e.erasure.archive.objectsRewritten} objects rewritten, ${e.erasure.archive.versionsDeleted} old versions deleted) in ${e.erasure.durationMs} ms; ` +
        `left: ${e.remaining.events}/${e.remaining.rejects}/${e.remaining.archive}; others intact: ${e.othersIntact ? 'yes' : 'NO'}`,
      `                         pending: ${e.erasure.pending.map((p) => `${p.place} until ${p.clearAt}`).join('; ')}`,
    );
  }
  if (!r.ok) lines.push('  archive checks FAILED (see above)');
  return lines;
}
