/**
 * Replay: writes the records of a time window back into the active Region's stream, in per-key order, within a
 * share of the stream's write limit, resumable from a progress record. The plan is pure (./replay-plan.ts); this
 * module runs it against small ports, with adapters for the archive (S3), a source stream and the target stream
 * (Kinesis) and a progress file.
 *
 * Duplicates are expected: records still in the stream, or written again after an interruption between a call and
 * its progress write, reach the warehouse twice, and the merge keeps one row per event id.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import { ArchiveRecord, recordId } from './format';
import { hourPrefixesForWindow, processingFailedPrefix } from './layout';
import { processingFailedRecords } from './processing-failed';
import {
  advanceProgress,
  entryBytes,
  isWritten,
  newProgress,
  nextCall,
  Pacer,
  ReplayProgress,
  ReplayRequestKey,
  replayOrder,
  sameRequest,
  WriteBudget,
} from './replay-plan';
import { ArchiveStore, archiveObjectText, decodeArchiveObject } from './store';

/** Where the window's records come from. */
export interface ReplaySource {
  /** Every record that arrived in [fromMs, toMs) (any order; repeats allowed). */
  read(fromMs: number, toMs: number): Promise<ArchiveRecord[]>;
  /** For messages: `archive s3://…` or `stream … in <region>`. */
  readonly description: string;
}

export type PutOutcome = { readonly ok: true } | { readonly ok: false; readonly retryable: boolean; readonly error: string };

/** The active Region's stream. */
export interface ReplayTarget {
  /** One PutRecords call; one outcome per entry, in order. A whole-call failure throws. */
  put(records: readonly ArchiveRecord[]): Promise<PutOutcome[]>;
  readonly description: string;
}

export interface ProgressStore {
  load(): Promise<ReplayProgress | undefined>;
  save(progress: ReplayProgress): Promise<void>;
}

export interface ReplayEvent {
  readonly slice: { readonly fromMs: number; readonly toMs: number; readonly index: number; readonly count: number };
  /** Records of the window found so far (slices read so far). */
  readonly found: number;
  /** Written in this run. */
  readonly written: number;
  /** Skipped because a previous run wrote them. */
  readonly skipped: number;
  readonly retried: number;
  readonly elapsedMs: number;
}

export interface ReplayOptions {
  readonly request: ReplayRequestKey;
  readonly budget: WriteBudget;
  /** Length of the slices the window is read in (memory: one slice's records at a time). @default 1 hour */
  readonly sliceMs?: number;
  /** Count and order only; write nothing, save no progress. */
  readonly dryRun?: boolean;
  /** Stop (as an interruption would) once this returns true; checked before every call. */
  readonly shouldStop?: () => boolean;
  /** Retry back-off bounds, ms. @default { min: 100, max: 5000 } */
  readonly backoffMs?: { readonly min: number; readonly max: number };
  /** Give up after this many consecutive failed attempts of one call. @default 20 */
  readonly maxAttempts?: number;
  readonly onProgress?: (e: ReplayEvent) => void;
}

export interface ReplayDeps {
  readonly source: ReplaySource;
  readonly target: ReplayTarget;
  readonly progress: ProgressStore;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
}

export interface ReplayResult {
  readonly outcome: 'completed' | 'dry-run' | 'interrupted';
  readonly found: number;
  readonly written: number;
  /** Written by an earlier, interrupted run of the same replay. */
  readonly skipped: number;
  readonly calls: number;
  readonly retriedEntries: number;
  readonly bytes: number;
  readonly durationMs: number;
  /** Records per second written, over the run. */
  readonly recordsPerSecond: number;
  readonly budget: WriteBudget;
  readonly resumed: boolean;
}

export class ReplayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayError';
  }
}

const HOUR_MS = 3_600_000;

/** Runs (or resumes) a replay. Throws {@link ReplayError} when an entry fails for good; progress up to it is saved. */
export async function runReplay(options: ReplayOptions, deps: ReplayDeps): Promise<ReplayResult> {
  const { request } = options;
  const started = deps.clock();
  const sliceMs = options.sliceMs ?? HOUR_MS;
  const backoff = options.backoffMs ?? { min: 100, max: 5000 };
  const maxAttempts = options.maxAttempts ?? 20;
  const random = deps.random ?? Math.random;

  const stored = options.dryRun ? undefined : await deps.progress.load();
  if (stored !== undefined && !sameRequest(stored.request, request)) {
    throw new ReplayError(`the progress record belongs to another replay (${JSON.stringify(stored.request)}); remove it or use another --progress-file`);
  }
  let progress = stored ?? newProgress(request, started);
  const resumed = stored !== undefined;
  if (progress.completedAt !== undefined) {
    return { outcome: 'completed', found: 0, written: 0, skipped: progress.written, calls: 0, retriedEntries: 0, bytes: 0, durationMs: 0, recordsPerSecond: 0, budget: options.budget, resumed };
  }
  const pacer = new Pacer(options.budget);
  let found = 0;
  let written = 0;
  let skipped = 0;
  let calls = 0;
  let retried = 0;
  let bytes = 0;
  const slices: Array<[number, number]> = [];
  for (let t = request.fromMs; t < request.toMs; t = Math.min(request.toMs, t + sliceMs)) slices.push([t, Math.min(request.toMs, t + sliceMs)]);

  const result = (outcome: ReplayResult['outcome']): ReplayResult => {
    const durationMs = deps.clock() - started;
    return { outcome, found, written, skipped, calls, retriedEntries: retried, bytes, durationMs, recordsPerSecond: durationMs > 0 ? (written * 1000) / durationMs : 0, budget: options.budget, resumed };
  };

  for (let si = 0; si < slices.length; si++) {
    const [from, to] = slices[si];
    const window = replayOrder((await deps.source.read(from, to)).filter((r) => r.approximateArrivalTimestampMs >= from && r.approximateArrivalTimestampMs < to));
    found += window.length;
    const ahead = new Set(progress.ahead);
    let pending = window.filter((r) => !isWritten(progress, r, ahead));
    skipped += window.length - pending.length;
    const report = (): void =>
      options.onProgress?.({ slice: { fromMs: from, toMs: to, index: si, count: slices.length }, found, written, skipped, retried, elapsedMs: deps.clock() - started });
    report();
    if (options.dryRun) continue;

    let attempts = 0;
    while (pending.length > 0) {
      if (options.shouldStop?.()) {
        await deps.progress.save(progress);
        return result('interrupted');
      }
      const picked = nextCall(pending);
      const batch = picked.map((i) => pending[i]);
      const batchBytes = batch.reduce((n, r) => n + entryBytes(r), 0);
      const wait = pacer.take(deps.clock(), batch.length, batchBytes);
      if (wait > 0) await deps.sleep(wait);
      let outcomes: PutOutcome[];
      try {
        outcomes = await deps.target.put(batch);
        calls++;
      } catch (err) {
        // A whole call failed (throttled request, network): nothing is known written; retry the same call.
        attempts++;
        if (attempts >= maxAttempts) {
          await deps.progress.save(progress);
          throw new ReplayError(`PutRecords to ${deps.target.description} failed ${attempts} times in a row: ${err instanceof Error ? err.message : String(err)}`);
        }
        await deps.sleep(backoffDelay(attempts, backoff, random));
        continue;
      }
      const done: ArchiveRecord[] = [];
      const permanent: string[] = [];
      outcomes.forEach((o, i) => {
        if (o.ok) done.push(batch[i]);
        else if (o.retryable) retried++;
        else permanent.push(`${recordId(batch[i])}: ${o.error}`);
      });
      written += done.length;
      bytes += done.reduce((n, r) => n + entryBytes(r), 0);
      if (done.length > 0) {
        progress = advanceProgress(progress, window, done, deps.clock());
        await deps.progress.save(progress);
        const doneIds = new Set(done.map(recordId));
        pending = pending.filter((r) => !doneIds.has(recordId(r)));
      }
      report();
      if (permanent.length > 0) throw new ReplayError(`${permanent.length} record(s) cannot be written to ${deps.target.description}; first: ${permanent[0]}. Progress is saved: fix the cause and run the same command again.`);
      if (done.length < batch.length) {
        attempts++;
        if (attempts >= maxAttempts) throw new ReplayError(`entries to ${deps.target.description} kept failing (${attempts} attempts); progress is saved, run the same command again later`);
        await deps.sleep(backoffDelay(attempts, backoff, random));
      } else {
        attempts = 0;
      }
    }
  }
  if (options.dryRun) return result('dry-run');
  progress = { ...progress, completedAt: deps.clock(), updatedAt: deps.clock() };
  await deps.progress.save(progress);
  return result('completed');
}

function backoffDelay(attempt: number, bounds: { min: number; max: number }, random: () => number): number {
  const cap = Math.min(bounds.max, bounds.min * 2 ** Math.min(attempt - 1, 16));
  return Math.floor(bounds.min / 2 + random() * (cap - bounds.min / 2));
}

// ---------------------------------------------------------------------------------------------------------------
// Adapters

/**
 * Reads a window from a Region's archive bucket: the hourly prefixes around it, filtered to the stream, and the
 * records the transformation failed on, which Firehose wrote as `processing-failed` documents under the error prefix
 * (./processing-failed.ts: their bytes are exact, their partition key and position are not in the document).
 */
export class ArchiveReplaySource implements ReplaySource {
  readonly description: string;
  /** Records read from processing-failed documents so far. */
  processingFailed = 0;

  constructor(
    private readonly store: ArchiveStore,
    private readonly bucket: string,
    /** The logical stream name: the archive prefix. */
    private readonly streamPrefix: string,
    private readonly physicalStreamName: string,
    private readonly lagHours = 1,
    /** The archive bucket's Region (the `region` of records read from error documents). @default '' */
    private readonly region = '',
  ) {
    this.description = `archive s3://${bucket}/${streamPrefix}/ (and errors/${streamPrefix}/processing-failed/)`;
  }

  async read(fromMs: number, toMs: number): Promise<ArchiveRecord[]> {
    const out: ArchiveRecord[] = [];
    const last = Math.max(fromMs, toMs - 1);
    for (const prefix of hourPrefixesForWindow(this.streamPrefix, fromMs, last, this.lagHours)) {
      for (const key of await this.store.listKeys(this.bucket, prefix)) {
        const records = await decodeArchiveObject((await this.store.get(this.bucket, key)).body, `s3://${this.bucket}/${key}`);
        for (const r of records) {
          if (r.stream === this.physicalStreamName && r.approximateArrivalTimestampMs >= fromMs && r.approximateArrivalTimestampMs < toMs) out.push(r);
        }
      }
    }
    for (const prefix of hourPrefixesForWindow(processingFailedPrefix(this.streamPrefix), fromMs, last, this.lagHours)) {
      for (const key of await this.store.listKeys(this.bucket, prefix)) {
        const text = await archiveObjectText((await this.store.get(this.bucket, key)).body);
        for (const r of processingFailedRecords(text, { stream: this.physicalStreamName, region: this.region, where: `s3://${this.bucket}/${key}` })) {
          if (r.approximateArrivalTimestampMs >= fromMs && r.approximateArrivalTimestampMs < toMs) {
            out.push(r);
            this.processingFailed++;
          }
        }
      }
    }
    return out;
  }
}

/** Reads a window from a stream (records still within its retention), every shard from `fromMs` on. */
export class StreamReplaySource implements ReplaySource {
  readonly description: string;

  constructor(
    private readonly client: KinesisClient,
    private readonly streamName: string,
    private readonly region: string,
  ) {
    this.description = `stream ${streamName} in ${region}`;
  }

  async read(fromMs: number, toMs: number): Promise<ArchiveRecord[]> {
    const out: ArchiveRecord[] = [];
    let nextToken: string | undefined;
    const shardIds: string[] = [];
    do {
      const page = await this.client.send(new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: this.streamName }));
      for (const s of page.Shards ?? []) if (s.ShardId) shardIds.push(s.ShardId);
      nextToken = page.NextToken;
    } while (nextToken);
    for (const shardId of shardIds) {
      const it = await this.client.send(
        new GetShardIteratorCommand({ StreamName: this.streamName, ShardId: shardId, ShardIteratorType: ShardIteratorType.AT_TIMESTAMP, Timestamp: new Date(fromMs) }),
      );
      let iterator = it.ShardIterator;
      while (iterator) {
        const page = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10000 }));
        let past = false;
        for (const r of page.Records ?? []) {
          const arrival = r.ApproximateArrivalTimestamp?.getTime() ?? 0;
          if (arrival >= toMs) {
            past = true;
            break;
          }
          if (arrival < fromMs) continue;
          out.push({
            stream: this.streamName,
            region: this.region,
            shardId,
            sequenceNumber: r.SequenceNumber ?? '0',
            subsequenceNumber: 0,
            partitionKey: r.PartitionKey ?? '',
            approximateArrivalTimestampMs: arrival,
            data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
          });
        }
        if (past || ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0)) break;
        iterator = page.NextShardIterator;
      }
    }
    return out;
  }
}

const RETRYABLE = new Set(['ProvisionedThroughputExceededException', 'InternalFailure', 'InternalFailureException', 'ServiceUnavailable']);

/** PutRecords into a stream. */
export class KinesisReplayTarget implements ReplayTarget {
  readonly description: string;

  constructor(
    private readonly client: KinesisClient,
    private readonly streamName: string,
    region: string,
  ) {
    this.description = `stream ${streamName} in ${region}`;
  }

  async put(records: readonly ArchiveRecord[]): Promise<PutOutcome[]> {
    const out = await this.client.send(
      new PutRecordsCommand({ StreamName: this.streamName, Records: records.map((r) => ({ PartitionKey: r.partitionKey, Data: Buffer.from(r.data, 'base64') })) }),
    );
    const entries = out.Records ?? [];
    if (entries.length !== records.length) throw new Error(`PutRecords returned ${entries.length} results for ${records.length} entries`);
    return entries.map((e) =>
      e.ErrorCode ? { ok: false, retryable: RETRYABLE.has(e.ErrorCode), error: `${e.ErrorCode}: ${e.ErrorMessage ?? ''}` } : { ok: true },
    );
  }
}

/** Open shards of a stream (no ending sequence number): what the write budget counts. */
export async function countOpenShards(client: KinesisClient, streamName: string): Promise<number> {
  let open = 0;
  let nextToken: string | undefined;
  do {
    const page = await client.send(new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: streamName }));
    for (const s of page.Shards ?? []) if (!s.SequenceNumberRange?.EndingSequenceNumber) open++;
    nextToken = page.NextToken;
  } while (nextToken);
  return open;
}

/**
 * The progress record as a local JSON file, replaced atomically (write, then rename) after every acknowledged call.
 * A file, not an item in the state tables: a replay is one operator's action from one machine, the checkpoint table's
 * items are read by the replicator and the failover (an item of another shape there would be misread), and a file
 * can be inspected, copied to another machine or removed to start over.
 */
export class FileProgressStore implements ProgressStore {
  constructor(readonly file: string) {}

  async load(): Promise<ReplayProgress | undefined> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const p = JSON.parse(text) as ReplayProgress;
    if (p.version !== 1) throw new ReplayError(`${this.file} is not a replay progress record this version reads`);
    return p;
  }

  async save(progress: ReplayProgress): Promise<void> {
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await fs.promises.writeFile(tmp, `${JSON.stringify(progress)}\n`);
    await fs.promises.rename(tmp, this.file);
  }
}

/** The default progress file of a request: one per (environment, stream, window, source, target). */
export function defaultProgressFile(dir: string, r: ReplayRequestKey): string {
  const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[:.]/g, '');
  return path.join(dir, `replay-${r.environment}-${r.stream}-${stamp(r.fromMs)}-${stamp(r.toMs)}-${r.source}-${r.sourceRegion}-to-${r.targetRegion}.json`);
}
