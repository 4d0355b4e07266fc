/**
 * Replay planning, pure: the order records are written back in, which of them a PutRecords call may carry, the
 * stream's write budget, and the progress record that makes a replay resumable. No AWS I/O, no clock (callers pass
 * `now`).
 *
 * Order. Records of one partition key must reach the target in their source order. A key maps to one shard at a
 * time, and within a shard the sequence number is the order, so each source shard is kept in position order and
 * the shards are merged by arrival time (ties: Region, shard id). Per key this is the source order, across a
 * resharding too (a parent's records arrived before its children's).
 *
 * Calls. PutRecords applies entries independently (a failed entry does not stop the later ones), so a call carries
 * at most one record per key, and only a key's earliest record not yet written: a retried entry can never land
 * behind a later record of its key.
 *
 * Budget. A shard takes 1 MiB/s and 1000 records/s of writes; a replay takes a share of the stream's open shards'
 * total (default half: live producers keep the rest). On-demand streams are sharded too and have the same per-shard
 * limits; the replay counts the open shards when it starts and never asks the stream to scale. Keys are not spread
 * evenly over shards, so a hot shard can still throttle: throttled entries are retried after a back-off, in order.
 */
import { ArchiveRecord, compareShardPosition, recordId } from './format';

/** Per-shard write limits of Kinesis Data Streams (provisioned, and each shard of an on-demand stream). */
export const SHARD_WRITE_RECORDS_PER_SECOND = 1000;
export const SHARD_WRITE_BYTES_PER_SECOND = 1024 * 1024;
/** PutRecords: entries per call, and bytes per call (data plus partition keys) this replay stays under. */
export const PUT_RECORDS_MAX_ENTRIES = 500;
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;

/** Merges records from every source shard into replay order (see the module comment). Removes exact repeats. */
export function replayOrder(records: Iterable<ArchiveRecord>): ArchiveRecord[] {
  const byShard = new Map<string, ArchiveRecord[]>();
  const seen = new Set<string>();
  for (const r of records) {
    const id = recordId(r);
    // Firehose delivers at least once: a retried delivery repeats records in a second object.
    if (seen.has(id)) continue;
    seen.add(id);
    const shard = `${r.region}/${r.shardId}`;
    const list = byShard.get(shard);
    if (list) list.push(r);
    else byShard.set(shard, [r]);
  }
  const lanes = [...byShard.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, list]) => list.sort(compareShardPosition));
  const heads = lanes.map(() => 0);
  const out: ArchiveRecord[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < lanes.length; i++) {
      if (heads[i] >= lanes[i].length) continue;
      if (best < 0 || lanes[i][heads[i]].approximateArrivalTimestampMs < lanes[best][heads[best]].approximateArrivalTimestampMs) best = i;
    }
    if (best < 0) return out;
    out.push(lanes[best][heads[best]++]);
  }
}

/** Bytes a record counts for in a PutRecords request and against a shard's write limit. */
export function entryBytes(r: ArchiveRecord): number {
  return Buffer.byteLength(r.partitionKey, 'utf8') + Math.floor((r.data.length * 3) / 4) - (r.data.endsWith('==') ? 2 : r.data.endsWith('=') ? 1 : 0);
}

/**
 * The next PutRecords call: indexes into `pending` (replay order, not yet written) of at most
 * {@link PUT_RECORDS_MAX_ENTRIES} records and {@link PUT_RECORDS_MAX_BYTES} bytes, the earliest pending record of each
 * key, one per key. Looks at most `scanLimit` records ahead.
 */
export function nextCall(pending: readonly ArchiveRecord[], options: { maxEntries?: number; maxBytes?: number; scanLimit?: number } = {}): number[] {
  const maxEntries = options.maxEntries ?? PUT_RECORDS_MAX_ENTRIES;
  const maxBytes = options.maxBytes ?? PUT_RECORDS_MAX_BYTES;
  const scanLimit = Math.min(pending.length, options.scanLimit ?? 20_000);
  const keysSeen = new Set<string>();
  const picked: number[] = [];
  let bytes = 0;
  for (let i = 0; i < scanLimit && picked.length < maxEntries; i++) {
    const r = pending[i];
    if (keysSeen.has(r.partitionKey)) continue;
    // Whether picked or not, later records of this key must wait for this one.
    keysSeen.add(r.partitionKey);
    const b = entryBytes(r);
    if (picked.length > 0 && bytes + b > maxBytes) continue;
    picked.push(i);
    bytes += b;
  }
  return picked;
}

export interface WriteBudget {
  readonly openShards: number;
  /** Share of the stream's write limit the replay may use, (0, 1]. */
  readonly share: number;
  readonly recordsPerSecond: number;
  readonly bytesPerSecond: number;
}

export function writeBudget(openShards: number, share: number): WriteBudget {
  if (!Number.isInteger(openShards) || openShards < 1) throw new RangeError(`openShards must be a whole number of at least 1 (got ${openShards})`);
  if (!(share > 0 && share <= 1)) throw new RangeError(`share must be above 0 and at most 1 (got ${share})`);
  return {
    openShards,
    share,
    recordsPerSecond: openShards * SHARD_WRITE_RECORDS_PER_SECOND * share,
    bytesPerSecond: openShards * SHARD_WRITE_BYTES_PER_SECOND * share,
  };
}

/**
 * A token bucket over records and bytes. `take` returns how long to wait before sending a call of that size (0: now)
 * and books it. Its burst is what the share leaves of the stream's limit, at most one second of budget, so that over
 * any one second the replay never writes more than the stream's limit (share 0.5: one second of burst; share 1: none).
 */
export class Pacer {
  private recordTokens: number;
  private byteTokens: number;
  private last: number | undefined;
  private readonly burstSeconds: number;

  constructor(private readonly budget: WriteBudget) {
    this.burstSeconds = Math.max(0, Math.min(1, 1 / budget.share - 1));
    this.recordTokens = budget.recordsPerSecond * this.burstSeconds;
    this.byteTokens = budget.bytesPerSecond * this.burstSeconds;
  }

  take(now: number, records: number, bytes: number): number {
    if (this.last !== undefined) {
      const dt = Math.max(0, now - this.last) / 1000;
      this.recordTokens = Math.min(this.budget.recordsPerSecond * this.burstSeconds, this.recordTokens + dt * this.budget.recordsPerSecond);
      this.byteTokens = Math.min(this.budget.bytesPerSecond * this.burstSeconds, this.byteTokens + dt * this.budget.bytesPerSecond);
    }
    this.last = now;
    this.recordTokens -= records;
    this.byteTokens -= bytes;
    const wait = Math.max(-this.recordTokens / this.budget.recordsPerSecond, -this.byteTokens / this.budget.bytesPerSecond, 0);
    return Math.ceil(wait * 1000);
  }
}

/**
 * The progress record of a replay: written after every acknowledged call, read when the same replay starts again.
 * Per source shard, the position up to which every record of the window is written (`through`), plus the ids of
 * records written beyond it (a call writes up to one record per key, so done records are not always a prefix).
 * Identities, not counts: a resumed replay skips exactly what was written even if the source listing changed.
 */
export interface ReplayProgress {
  readonly version: 1;
  /** What replay this is: stream, window, source, target. A progress record is only used for the same request. */
  readonly request: ReplayRequestKey;
  /** Per `region/shardId`: every record at or below this position is written. `sequenceNumber/subsequenceNumber`. */
  readonly through: Record<string, string>;
  /** Record ids written above their shard's `through`. */
  readonly ahead: string[];
  readonly written: number;
  readonly calls: number;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly completedAt?: number;
}

export interface ReplayRequestKey {
  readonly environment: string;
  readonly stream: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly source: 'archive' | 'stream';
  readonly sourceRegion: string;
  readonly targetRegion: string;
}

export function sameRequest(a: ReplayRequestKey, b: ReplayRequestKey): boolean {
  return (
    a.environment === b.environment &&
    a.stream === b.stream &&
    a.fromMs === b.fromMs &&
    a.toMs === b.toMs &&
    a.source === b.source &&
    a.sourceRegion === b.sourceRegion &&
    a.targetRegion === b.targetRegion
  );
}

export function newProgress(request: ReplayRequestKey, now: number): ReplayProgress {
  return { version: 1, request, through: {}, ahead: [], written: 0, calls: 0, startedAt: now, updatedAt: now };
}

const positionOf = (r: ArchiveRecord): string => `${r.sequenceNumber}/${r.subsequenceNumber}`;

function positionAtOrBelow(r: ArchiveRecord, through: string | undefined): boolean {
  if (through === undefined) return false;
  const [seq, sub] = through.split('/');
  const s = BigInt(r.sequenceNumber);
  const t = BigInt(seq);
  return s < t || (s === t && r.subsequenceNumber <= Number(sub));
}

/** Whether the progress record says `r` is written. */
export function isWritten(progress: ReplayProgress, r: ArchiveRecord, ahead: ReadonlySet<string> = new Set(progress.ahead)): boolean {
  return positionAtOrBelow(r, progress.through[`${r.region}/${r.shardId}`]) || ahead.has(recordId(r));
}

/**
 * The progress after `written` (ids) were acknowledged. `window` is the replay's records in replay order; each
 * shard's `through` advances over its leading written records, the rest stay in `ahead`.
 */
export function advanceProgress(progress: ReplayProgress, window: readonly ArchiveRecord[], written: readonly ArchiveRecord[], now: number, calls = 1): ReplayProgress {
  const ahead = new Set(progress.ahead);
  for (const r of written) ahead.add(recordId(r));
  const through = { ...progress.through };
  const blocked = new Set<string>();
  for (const r of window) {
    const shard = `${r.region}/${r.shardId}`;
    if (blocked.has(shard)) continue;
    if (positionAtOrBelow(r, through[shard])) continue;
    const id = recordId(r);
    if (ahead.has(id)) {
      through[shard] = positionOf(r);
      ahead.delete(id);
    } else {
      blocked.add(shard);
    }
  }
  return { ...progress, through, ahead: [...ahead], written: progress.written + written.length, calls: progress.calls + calls, updatedAt: now };
}
