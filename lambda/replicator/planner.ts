/**
 * Plans the PutRecords calls that copy one shard batch to one target Region, and tracks what each call confirmed.
 * Pure: no AWS I/O, no clock, no randomness. The executor (replicate.ts) asks {@link TargetPlan.nextCall} for the
 * entries of the next call, sends them, and hands the per-entry results back.
 *
 * ## Strict per-key order (default)
 * PutRecords does not stop at a failed entry: later entries of the same request are still written. If a request
 * carried two records of one partition key and the first failed, the second would land first. So a call carries at
 * most **one unconfirmed record per partition key**: each round takes, per key, the next unconfirmed record (the
 * key's head). A failed head stays the head, so it is re-sent before any later record of its key; a record whose
 * retries are exhausted (or that failed with a non-retryable error) blocks its key for the rest of the invocation.
 *
 * Keys with the most records left go first (ties: the earliest head first). For unit-size entries and chains of
 * records per key, this is Hu's longest-chain-first rule, which is optimal: when nothing fails a batch of N records
 * costs max(⌈N/maxEntries⌉, most records of one key) calls, unless the byte limit binds.
 *
 * ## Relaxed order (per-stream option)
 * Calls are packed in source order without regard to keys (≈ ⌈N/maxEntries⌉ calls); retried entries may land after
 * later records of their key.
 *
 * Both modes keep every call within `maxEntries` entries and `maxRequestBytes` bytes (payload plus partition key).
 */

export type OrderingMode = 'strict' | 'relaxed';

/** The PutRecords API's limits. The byte limit is 5 MiB in the SDK reference (newer quota pages say 10 MiB). */
export const PUT_RECORDS_MAX_ENTRIES = 500;
export const PUT_RECORDS_MAX_REQUEST_BYTES = 5 * 1024 * 1024;

export interface PlanOptions {
  readonly ordering: OrderingMode;
  /** Entries per call. Valid range: 1–500. @default 500 */
  readonly maxEntries?: number;
  /** Bytes per call, counting payloads and partition keys. @default 5 MiB */
  readonly maxRequestBytes?: number;
  /** Sends of one record before it counts as failed (retries exhausted). @default 10 */
  readonly maxAttempts?: number;
}

/** What the planner needs to know about a record. */
export interface PlannableRecord {
  readonly partitionKey: string;
  /** Payload plus UTF-8 partition key bytes. */
  readonly requestBytes: number;
}

/** The result of one entry of a PutRecords call, in request order. */
export type EntryResult = { readonly ok: true } | { readonly ok: false; readonly errorCode: string; readonly errorMessage?: string };

/** Entry error codes worth retrying; anything else is permanent for this invocation. */
export const RETRYABLE_ENTRY_ERROR_CODES: ReadonlySet<string> = new Set(['ProvisionedThroughputExceededException', 'InternalFailure']);

export type EntryState = 'unsent' | 'retrying' | 'confirmed' | 'failed';

/** Why a record failed for good in this invocation. */
export interface EntryFailure {
  readonly index: number;
  readonly reason: string;
}

/** What one call's results changed. */
export interface RoundOutcome {
  readonly confirmed: number;
  /** Entries that failed and will be re-sent. */
  readonly retried: number;
  /** Entries that failed for good (non-retryable, or retries exhausted). */
  readonly failed: number;
}

interface KeyQueue {
  readonly indexes: number[];
  /** Position in `indexes` of the first record not yet confirmed. */
  head: number;
}

export class TargetPlan {
  readonly maxEntries: number;
  readonly maxRequestBytes: number;
  readonly maxAttempts: number;
  private readonly states: EntryState[];
  private readonly attempts: number[];
  private readonly failures: EntryFailure[] = [];
  private readonly queues: KeyQueue[] = [];
  private readonly inFlight = new Set<number>();
  /** Relaxed mode: every index below it is confirmed or failed. */
  private cursor = 0;
  private confirmedCount = 0;
  private retriedCount = 0;

  constructor(
    private readonly records: readonly PlannableRecord[],
    private readonly options: PlanOptions,
  ) {
    this.maxEntries = options.maxEntries ?? PUT_RECORDS_MAX_ENTRIES;
    this.maxRequestBytes = options.maxRequestBytes ?? PUT_RECORDS_MAX_REQUEST_BYTES;
    this.maxAttempts = options.maxAttempts ?? 10;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1 || this.maxEntries > PUT_RECORDS_MAX_ENTRIES) {
      throw new RangeError(`maxEntries must be an integer between 1 and ${PUT_RECORDS_MAX_ENTRIES} (got ${this.maxEntries})`);
    }
    if (!Number.isInteger(this.maxRequestBytes) || this.maxRequestBytes < 1) {
      throw new RangeError(`maxRequestBytes must be a positive integer (got ${this.maxRequestBytes})`);
    }
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new RangeError(`maxAttempts must be a positive integer (got ${this.maxAttempts})`);
    }
    this.states = records.map(() => 'unsent');
    this.attempts = records.map(() => 0);
    const byKey = new Map<string, KeyQueue>();
    records.forEach((r, i) => {
      let q = byKey.get(r.partitionKey);
      if (!q) {
        q = { indexes: [], head: 0 };
        byKey.set(r.partitionKey, q);
        this.queues.push(q);
      }
      q.indexes.push(i);
      if (r.requestBytes > this.maxRequestBytes) {
        this.fail(i, `record of ${r.requestBytes} bytes exceeds the request limit of ${this.maxRequestBytes} bytes`);
      }
    });
  }

  get size(): number {
    return this.records.length;
  }

  state(index: number): EntryState {
    return this.states[index];
  }

  isConfirmed(index: number): boolean {
    return this.states[index] === 'confirmed';
  }

  /** Whether every record is confirmed. */
  get complete(): boolean {
    return this.confirmedCount === this.records.length;
  }

  /** Entries re-sent after a retryable failure, so far. */
  get retriedEntries(): number {
    return this.retriedCount;
  }

  /** Records that failed for good, in the order they failed. */
  get permanentFailures(): readonly EntryFailure[] {
    return this.failures;
  }

  /**
   * The record indexes (into the constructor's array) to send in the next call, in request order; empty when nothing
   * is left that may be sent (everything confirmed, or the rest blocked by failed records). Throws if the previous
   * call's results were not recorded.
   */
  nextCall(): number[] {
    if (this.inFlight.size > 0) throw new Error('nextCall() before the results of the previous call were recorded');
    const call = this.options.ordering === 'strict' ? this.nextStrictCall() : this.nextRelaxedCall();
    for (const i of call) this.inFlight.add(i);
    return call;
  }

  private nextStrictCall(): number[] {
    const heads: Array<{ index: number; remaining: number }> = [];
    for (const q of this.queues) {
      while (q.head < q.indexes.length && this.states[q.indexes[q.head]] === 'confirmed') q.head++;
      if (q.head === q.indexes.length) continue;
      const index = q.indexes[q.head];
      if (this.states[index] === 'failed') continue; // the key is blocked
      heads.push({ index, remaining: q.indexes.length - q.head });
    }
    heads.sort((a, b) => b.remaining - a.remaining || a.index - b.index);
    return this.pack(heads.map((h) => h.index));
  }

  private nextRelaxedCall(): number[] {
    while (this.cursor < this.states.length && (this.states[this.cursor] === 'confirmed' || this.states[this.cursor] === 'failed')) this.cursor++;
    const candidates: number[] = [];
    let bytes = 0;
    for (let i = this.cursor; i < this.states.length && candidates.length < this.maxEntries; i++) {
      const s = this.states[i];
      if (s === 'confirmed' || s === 'failed') continue;
      candidates.push(i);
      bytes += this.records[i].requestBytes;
      if (bytes > this.maxRequestBytes) break; // enough candidates to fill the byte budget
    }
    return this.pack(candidates);
  }

  /** Takes candidates in order while they fit the entry and byte limits (first fit). */
  private pack(candidates: readonly number[]): number[] {
    const call: number[] = [];
    let bytes = 0;
    for (const i of candidates) {
      if (call.length === this.maxEntries) break;
      const b = this.records[i].requestBytes;
      if (bytes + b > this.maxRequestBytes) continue;
      call.push(i);
      bytes += b;
    }
    return call;
  }

  /** Records the per-entry results of a call returned by {@link nextCall} (same order). */
  recordResults(call: readonly number[], results: readonly EntryResult[]): RoundOutcome {
    this.checkCall(call);
    if (results.length !== call.length) {
      throw new Error(`PutRecords returned ${results.length} results for ${call.length} entries`);
    }
    let confirmed = 0;
    let retried = 0;
    let failed = 0;
    call.forEach((i, j) => {
      const r = results[j];
      this.attempts[i]++;
      if (r.ok) {
        this.states[i] = 'confirmed';
        this.confirmedCount++;
        confirmed++;
      } else {
        const retryable = RETRYABLE_ENTRY_ERROR_CODES.has(r.errorCode);
        if (this.retryOrFail(i, retryable, retryable ? r.errorCode : `${r.errorCode}: ${r.errorMessage ?? ''}`.trim())) retried++;
        else failed++;
      }
    });
    this.inFlight.clear();
    return { confirmed, retried, failed };
  }

  /**
   * Records that a whole call failed (no per-entry results). Nothing in it is confirmed: a call that timed out may
   * still have written some entries, so a re-send can duplicate them, but never reorders a key (each key had at most
   * one entry in the call and it is re-sent before anything later of its key).
   */
  recordCallFailure(call: readonly number[], retryable: boolean, reason: string): RoundOutcome {
    this.checkCall(call);
    let retried = 0;
    let failed = 0;
    for (const i of call) {
      this.attempts[i]++;
      if (this.retryOrFail(i, retryable, reason)) retried++;
      else failed++;
    }
    this.inFlight.clear();
    return { confirmed: 0, retried, failed };
  }

  /** Gives back a call that was not sent (e.g. the deadline is near): nothing in it changes state. */
  cancel(call: readonly number[]): void {
    this.checkCall(call);
    this.inFlight.clear();
  }

  private checkCall(call: readonly number[]): void {
    if (call.length !== this.inFlight.size || call.some((i) => !this.inFlight.has(i))) {
      throw new Error('results recorded for a call that nextCall() did not return');
    }
  }

  /**
   * After a failed attempt at entry `index`: marks it for retry if the error is retryable and attempts remain
   * (returns true), else fails it with the reason (returns false).
   */
  private retryOrFail(index: number, retryable: boolean, reason: string): boolean {
    if (!retryable) {
      this.fail(index, reason);
      return false;
    }
    if (this.attempts[index] >= this.maxAttempts) {
      this.fail(index, `retries exhausted after ${this.attempts[index]} attempts (last: ${reason})`);
      return false;
    }
    this.states[index] = 'retrying';
    this.retriedCount++;
    return true;
  }

  private fail(index: number, reason: string): void {
    this.states[index] = 'failed';
    this.failures.push({ index, reason });
  }
}

/**
 * The fewest calls strict order allows for a batch without failures: max(⌈N/maxEntries⌉, most records of one key)
 * (invariant 3). Ignores the byte limit.
 */
export function strictCallFloor(partitionKeys: readonly string[], maxEntries = PUT_RECORDS_MAX_ENTRIES): number {
  const counts = new Map<string, number>();
  let most = 0;
  for (const k of partitionKeys) {
    const c = (counts.get(k) ?? 0) + 1;
    counts.set(k, c);
    if (c > most) most = c;
  }
  return Math.max(Math.ceil(partitionKeys.length / maxEntries), most);
}
