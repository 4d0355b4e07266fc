/**
 * A local producer: writes records with PutRecords to the active Region's stream at a chosen rate, keeps a ledger of
 * everything it wrote, and after a failover re-sends, in the new Region, every record it wrote since the resume
 * timestamp (the merge removes the duplicates this creates).
 *
 * Writes go through the Region router, so a Region taken down makes calls fail: the producer keeps the records and
 * retries them with backoff (counting the errors, the producers' health signal) until it is told to switch Regions.
 * Failed entries of a successful call (throttling) are retried too.
 */
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { RejectReason } from '../lib/sql/render';
import { classifyRecord, ClassifierOptions } from './record-classifier';
import type { OutgoingRecord, RecordOrigin } from './segment-events';

/** A record to produce, with what it is (for the ledger). */
export interface ProducerRecord extends OutgoingRecord {
  /** @default - classified from the bytes */
  readonly origin?: RecordOrigin;
}

/** One successful write. */
export interface Write {
  readonly region: string;
  /** When the PutRecords call that wrote it returned, epoch ms (at or after the record's arrival time). */
  readonly writtenAtMs: number;
  readonly record: OutgoingRecord;
  /** First send of this record by the source, or a re-send after a switch of Regions. */
  readonly replay: boolean;
  readonly shardId: string;
  readonly sequenceNumber: string;
}

/** What the producer wrote. */
export class ProducerLedger {
  readonly writes: Write[] = [];
  /** Records taken from the source (each counted once, however often it was written). */
  produced = 0;
  /** Of those, valid records whose id was produced before (producer re-sends). */
  resends = 0;
  /** Of those, malformed records (each counted, even when the same bytes come again). */
  malformedCount = 0;
  /** Records written again after a switch of Regions. */
  replays = 0;
  /** Records written for the first time (not replays). */
  firstWrites = 0;
  readonly validIds = new Set<string>();
  /** Malformed records taken from the source, by base64 of their bytes. */
  readonly malformed = new Map<string, { readonly reason: RejectReason; readonly record: OutgoingRecord }>();
  failedCalls = 0;
  failedEntries = 0;
  lastError: string | undefined;

  malformedByReason(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { reason } of this.malformed.values()) out[reason] = (out[reason] ?? 0) + 1;
    return out;
  }
}

export interface ProducerProps {
  /** Records to write, in order. */
  readonly source: Iterable<ProducerRecord>;
  readonly streamName: string;
  /** Region written to first. */
  readonly region: string;
  /** Kinesis client of a Region (through the router). */
  readonly clientFor: (region: string) => KinesisClient;
  /** Records per second; 0 or Infinity writes as fast as possible. */
  readonly ratePerSecond: number;
  /** How records the source does not describe are classified. */
  readonly classifier?: ClassifierOptions;
  /** @default Date.now */
  readonly clock?: () => number;
  /** Records per PutRecords call. Valid range: 1–500. @default 500 */
  readonly maxBatch?: number;
  /** Longest wait between retries of a failing call, ms. @default 500 */
  readonly maxBackoffMs?: number;
  /** Called after each successful call. */
  readonly onWrite?: (ledger: ProducerLedger) => void;
  /**
   * Where one record goes instead of the producer's current Region: a share of the producers that move early or stay
   * behind (the demo's nemesis). Records of one call always go to one Region. @default - the current Region
   */
  readonly route?: (record: OutgoingRecord, currentRegion: string) => string | undefined;
}

const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Pending {
  readonly record: OutgoingRecord;
  readonly replay: boolean;
}

export class Producer {
  readonly ledger = new ProducerLedger();
  private readonly iterator: Iterator<ProducerRecord>;
  private readonly clock: () => number;
  private region: string;
  /** Records to write before taking more from the source: retries and replays. */
  private queue: Pending[] = [];
  private exhausted = false;
  private paused = false;
  private stopped = false;
  private running: Promise<void> | undefined;
  private loopRunning = false;
  private rateStarted = false;
  private idle: (() => void) | undefined;
  private startedAt = 0;
  private rateBase = 0;

  constructor(private readonly props: ProducerProps) {
    this.iterator = props.source[Symbol.iterator]();
    this.clock = props.clock ?? Date.now;
    this.region = props.region;
  }

  get currentRegion(): string {
    return this.region;
  }

  /** Every record has been taken from the source and written. */
  get done(): boolean {
    return this.exhausted && this.queue.length === 0;
  }

  /**
   * Starts writing (or returns the run under way); resolves when the source is exhausted and everything queued is
   * written, or on stop. After a switch of Regions, {@link resume} writes the replays even when the run had ended.
   */
  run(): Promise<void> {
    if (!this.loopRunning) {
      this.loopRunning = true;
      this.running = this.loop().finally(() => {
        this.loopRunning = false;
      });
    }
    return this.running!;
  }

  /** Stops taking and writing records after the call in flight; resolves when it has returned. */
  async pause(): Promise<void> {
    this.paused = true;
    await new Promise<void>((resolve) => {
      if (!this.inFlight) resolve();
      else this.idle = resolve;
    });
  }

  /**
   * Pauses by itself once `count` records have been written for the first time (calls are cut so none goes past it);
   * resolves then, or when everything is written.
   */
  pauseAfterFirstWrites(count: number): Promise<void> {
    this.pauseAt = count;
    return new Promise((resolve) => {
      this.onPausedAt = resolve;
      this.checkPauseAt();
    });
  }

  private pauseAt: number | undefined;
  private onPausedAt: (() => void) | undefined;

  private checkPauseAt(): void {
    if (this.pauseAt !== undefined && (this.ledger.firstWrites >= this.pauseAt || this.done)) {
      this.paused = this.ledger.firstWrites >= this.pauseAt;
      this.pauseAt = undefined;
      const notify = this.onPausedAt;
      this.onPausedAt = undefined;
      notify?.();
    }
  }

  resume(): void {
    this.paused = false;
    if (!this.done && !this.stopped) void this.run();
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Moves to `region` and queues, before anything else, every record written to the old Region at or after
   * `resumeTimestampMs` (as a replay), keeping their order. Call while paused (or while the old Region is down).
   */
  switchRegion(region: string, resumeTimestampMs: number, options: { resend?: boolean } = {}): number {
    const old = this.region;
    const replays =
      options.resend === false
        ? []
        : this.ledger.writes.filter((w) => w.region !== region && w.writtenAtMs >= resumeTimestampMs && (w.region === old || this.props.route !== undefined)).map((w) => ({ record: w.record, replay: true }));
    this.queue = [...replays, ...this.queue];
    this.region = region;
    return replays.length;
  }

  /** The Region a queued record goes to. */
  private regionOf(p: Pending): string {
    return this.props.route?.(p.record, this.region) ?? this.region;
  }

  private inFlight = false;

  private async loop(): Promise<void> {
    if (!this.rateStarted) {
      this.rateStarted = true;
      this.startedAt = this.clock();
      this.rateBase = 0;
    }
    let failures = 0;
    const maxBatch = this.props.maxBatch ?? 500;
    while (!this.stopped && !this.done) {
      this.checkPauseAt();
      if (this.paused) {
        await sleep(10);
        continue;
      }
      // Take new records from the source as the rate allows.
      const allowed = this.allowance();
      while (!this.exhausted && this.queue.length < maxBatch && this.ledger.produced < allowed) {
        const next = this.iterator.next();
        if (next.done) {
          this.exhausted = true;
          break;
        }
        this.take(next.value);
      }
      if (this.queue.length === 0) {
        if (!this.exhausted) await sleep(this.waitForAllowanceMs());
        continue;
      }
      const batch = this.cut(maxBatch);
      if (batch.length === 0) continue;
      this.inFlight = true;
      const region = this.props.route !== undefined ? (this.batchRegion ?? this.regionOf(batch[0])) : this.region;
      try {
        const out = await this.props.clientFor(region).send(
          new PutRecordsCommand({ StreamName: this.props.streamName, Records: batch.map((p) => ({ PartitionKey: p.record.partitionKey, Data: p.record.data })) }),
        );
        const at = this.clock();
        const retry: Pending[] = [];
        (out.Records ?? []).forEach((r, i) => {
          const p = batch[i];
          if (r.ErrorCode || !r.SequenceNumber) {
            retry.push(p);
            this.ledger.failedEntries++;
            this.ledger.lastError = `${r.ErrorCode}: ${r.ErrorMessage}`;
          } else {
            this.ledger.writes.push({ region, writtenAtMs: at, record: p.record, replay: p.replay, shardId: r.ShardId ?? '', sequenceNumber: r.SequenceNumber });
            if (p.replay) this.ledger.replays++;
            else this.ledger.firstWrites++;
          }
        });
        // Entries that failed go first again (a producer that cares about per-key order would also hold later ones).
        this.queue = [...retry, ...batch.slice(out.Records?.length ?? batch.length), ...this.queue];
        failures = retry.length > 0 ? failures + 1 : 0;
        this.lastFailedRegion = retry.length > 0 ? region : undefined;
        this.props.onWrite?.(this.ledger);
      } catch (err) {
        this.ledger.failedCalls++;
        this.ledger.lastError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        this.queue = [...batch, ...this.queue];
        failures++;
        this.lastFailedRegion = region;
      } finally {
        this.inFlight = false;
        this.idle?.();
        this.idle = undefined;
      }
      if (failures > 0) await sleep(Math.min(this.props.maxBackoffMs ?? 500, 10 * 2 ** Math.min(failures, 10)));
    }
  }

  private take(record: ProducerRecord): void {
    const origin = record.origin ?? originOf(record, this.props.classifier);
    this.ledger.produced++;
    if (origin.kind === 'event' || origin.kind === 'resend') {
      if (this.ledger.validIds.has(origin.messageId)) this.ledger.resends++;
      this.ledger.validIds.add(origin.messageId);
    } else {
      this.ledger.malformedCount++;
      this.ledger.malformed.set(Buffer.from(record.data).toString('base64'), { reason: origin.reason, record: { partitionKey: record.partitionKey, data: record.data } });
    }
    this.queue.push({ record: { partitionKey: record.partitionKey, data: record.data }, replay: false });
  }

  /** Records the rate allows by now (since the last resume of the rate). */
  private allowance(): number {
    const rate = this.props.ratePerSecond;
    if (!(rate > 0) || !Number.isFinite(rate)) return Number.POSITIVE_INFINITY;
    return this.rateBase + Math.floor(((this.clock() - this.startedAt) / 1000) * rate) + 1;
  }

  private waitForAllowanceMs(): number {
    const rate = this.props.ratePerSecond;
    if (!(rate > 0) || !Number.isFinite(rate)) return 0;
    return Math.max(1, Math.min(50, Math.ceil(1000 / rate)));
  }

  /** The next call's records: up to maxBatch and under the request byte limit. */
  private cut(maxBatch: number): Pending[] {
    let bytes = 0;
    let n = 0;
    if (this.props.route !== undefined && this.queue.length > 0) return this.cutRouted(maxBatch);
    for (const p of this.queue) {
      const size = p.record.data.byteLength + Buffer.byteLength(p.record.partitionKey);
      if (n >= maxBatch || (n > 0 && bytes + size > PUT_RECORDS_MAX_BYTES)) break;
      bytes += size;
      n++;
    }
    if (this.pauseAt !== undefined) {
      // Stop the call at the pause point: count only first writes.
      let firsts = this.ledger.firstWrites;
      let k = 0;
      while (k < n && (this.queue[k].replay || firsts < this.pauseAt)) {
        if (!this.queue[k].replay) firsts++;
        k++;
      }
      n = Math.max(k, 0);
    }
    const batch = this.queue.slice(0, n);
    this.queue = this.queue.slice(n);
    return batch;
  }

  /**
   * With a route, the producers are several: one call goes to one Region, and a Region whose last call failed does not
   * hold up the others (those producers are independent). The call takes the queued records routed to the chosen
   * Region, in queue order; records routed elsewhere keep their places (a key is routed as a whole, so per-key order
   * holds).
   */
  private cutRouted(maxBatch: number): Pending[] {
    const regions = this.queue.map((p) => this.regionOf(p));
    let region = regions[0];
    if (region === this.lastFailedRegion) region = regions.find((r) => r !== this.lastFailedRegion) ?? region;
    const taken: Pending[] = [];
    const rest: Pending[] = [];
    let bytes = 0;
    let firsts = this.ledger.firstWrites;
    let full = false;
    this.queue.forEach((p, i) => {
      const size = p.record.data.byteLength + Buffer.byteLength(p.record.partitionKey);
      const fits = taken.length < maxBatch && (taken.length === 0 || bytes + size <= PUT_RECORDS_MAX_BYTES);
      const beforePause = this.pauseAt === undefined || p.replay || firsts < this.pauseAt;
      if (!full && regions[i] === region && fits && beforePause) {
        taken.push(p);
        bytes += size;
        if (!p.replay) firsts++;
      } else {
        if (regions[i] === region) full = true; // keep the Region's order: nothing of it after a record left behind
        rest.push(p);
      }
    });
    this.queue = rest;
    this.batchRegion = region;
    return taken;
  }

  private lastFailedRegion: string | undefined;

  /** The Region of the last call, when it failed (cleared by the next call that writes every record). */
  get failingRegion(): string | undefined {
    return this.lastFailedRegion;
  }
  private batchRegion: string | undefined;

  /**
   * Re-bases the rate after a pause, so the producer does not burst to catch up on the time it was paused or blocked.
   */
  rebaseRate(): void {
    this.rateBase = this.ledger.produced;
    this.startedAt = this.clock();
  }
}

/** The ledger origin of a record from its bytes (for input files and sources that do not say). */
export function originOf(record: OutgoingRecord, classifier?: ClassifierOptions): RecordOrigin {
  const c = classifyRecord(record.data, classifier);
  return c.kind === 'event' ? { kind: 'event', messageId: c.id } : { kind: 'malformed', reason: c.reason };
}
