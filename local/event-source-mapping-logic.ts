/**
 * Pure decision logic of the local Kinesis event source mapping (see `event-source-mapping.ts`): how a GetRecords
 * record becomes a Lambda `KinesisStreamRecord`, how a batch is cut from the records read so far, and what Lambda
 * does with a function's answer. No AWS I/O, no clock, no environment.
 *
 * Semantics follow the AWS Lambda Developer Guide ("Using Lambda with Kinesis Data Streams", "Configuring partial
 * batch response with Kinesis Data Streams and Lambda"):
 * - Without `ReportBatchItemFailures`, any answer of a function that did not throw is a complete success.
 * - With it, an empty or null `batchItemFailures` list, or an empty or null response, is a complete success; an empty
 *   or null `itemIdentifier` (or an item without that key) is a complete failure; otherwise Lambda checkpoints before
 *   the lowest reported sequence number and retries from that record.
 * - A failed batch is retried up to `retryAttempts` times (unbounded when undefined), counted while the checkpoint
 *   does not move; after that (or when the oldest record is older than the maximum record age) the batch's metadata
 *   goes to the on-failure destination and the mapping moves past it.
 */
import type { KinesisStreamBatchResponse, KinesisStreamRecord } from 'aws-lambda';

/** A record as read with GetRecords, reduced to what the mapping needs. */
export interface ShardRecord {
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** Arrival time in the stream, epoch milliseconds. */
  readonly approximateArrivalTimestampMs: number;
}

/** Where a mapping's records come from, for the event's fields. */
export interface RecordSource {
  readonly region: string;
  readonly eventSourceArn: string;
  readonly shardId: string;
  /** ARN of the function's execution role (`invokeIdentityArn`). */
  readonly invokeIdentityArn: string;
}

/** Converts one record into the shape Lambda passes to a Kinesis-triggered function. */
export function toLambdaRecord(record: ShardRecord, source: RecordSource): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.partitionKey,
      sequenceNumber: record.sequenceNumber,
      data: Buffer.from(record.data).toString('base64'),
      approximateArrivalTimestamp: record.approximateArrivalTimestampMs / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${source.shardId}:${record.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: source.invokeIdentityArn,
    awsRegion: source.region,
    eventSourceARN: source.eventSourceArn,
  };
}

/** Lambda's synchronous invocation payload limit, in bytes. */
export const MAX_EVENT_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Approximate size a record adds to the JSON event (base64 data plus the fixed fields). */
export function recordEventBytes(record: ShardRecord, source: RecordSource): number {
  const fixed = 400 + source.eventSourceArn.length + source.invokeIdentityArn.length + source.region.length + source.shardId.length;
  return fixed + Math.ceil(record.data.length / 3) * 4 + record.partitionKey.length * 2 + record.sequenceNumber.length * 2;
}

/**
 * How many of the `pending` records (oldest first) go into the next batch: at most `batchSize` and under the payload
 * limit, but always at least one record when any is pending.
 */
export function batchLength(pending: readonly ShardRecord[], batchSize: number, source: RecordSource, maxPayloadBytes = MAX_EVENT_PAYLOAD_BYTES): number {
  let bytes = 0;
  let n = 0;
  for (const r of pending) {
    if (n >= batchSize) break;
    const size = recordEventBytes(r, source);
    if (n > 0 && bytes + size > maxPayloadBytes) break;
    bytes += size;
    n++;
  }
  return n;
}

/**
 * Whether a batch should be invoked now: when it is full, when adding more would pass the payload limit, or when the
 * batching window (counted from the first pending record's read) has elapsed.
 */
export function isBatchReady(args: {
  pendingCount: number;
  batchSize: number;
  fullByPayload: boolean;
  firstPendingReadAtMs: number | undefined;
  nowMs: number;
  maxBatchingWindowMs: number;
}): boolean {
  if (args.pendingCount === 0 || args.firstPendingReadAtMs === undefined) return false;
  if (args.pendingCount >= args.batchSize || args.fullByPayload) return true;
  return args.nowMs - args.firstPendingReadAtMs >= args.maxBatchingWindowMs;
}

/** What the function's answer means for the batch. */
export type InvocationVerdict =
  /** Every record is done. */
  | { readonly kind: 'success' }
  /** The first `doneCount` records are done; retry from record `doneCount`. */
  | { readonly kind: 'partial'; readonly doneCount: number; readonly reason: string }
  /** Nothing is done; retry the whole batch. */
  | { readonly kind: 'failure'; readonly reason: string };

/** The outcome of one invocation as seen by the mapping. */
export type InvocationResult =
  | { readonly kind: 'returned'; readonly response: unknown }
  | { readonly kind: 'error'; readonly errorType: string; readonly message: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Interprets an invocation's result, per the partial batch response rules in the module comment. */
export function interpretInvocation(
  batchSequenceNumbers: readonly string[],
  result: InvocationResult,
  reportBatchItemFailures: boolean,
): InvocationVerdict {
  if (result.kind === 'error') return { kind: 'failure', reason: `${result.errorType}: ${result.message}` };
  if (!reportBatchItemFailures) return { kind: 'success' };
  const response = result.response;
  if (response === null || response === undefined) return { kind: 'success' };
  if (!isObject(response)) return { kind: 'failure', reason: `response is not an object (${JSON.stringify(response)})` };
  const failures = (response as Partial<KinesisStreamBatchResponse>).batchItemFailures;
  if (failures === null || failures === undefined) return { kind: 'success' };
  if (!Array.isArray(failures)) return { kind: 'failure', reason: 'batchItemFailures is not a list' };
  if (failures.length === 0) return { kind: 'success' };
  let lowest: bigint | undefined;
  for (const f of failures as unknown[]) {
    const id = isObject(f) ? f.itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '') {
      return { kind: 'failure', reason: `batchItemFailures has an item without an itemIdentifier (${JSON.stringify(f)})` };
    }
    if (!/^\d+$/.test(id)) return { kind: 'failure', reason: `itemIdentifier ${JSON.stringify(id)} is not a sequence number` };
    const n = BigInt(id);
    if (lowest === undefined || n < lowest) lowest = n;
  }
  const index = batchSequenceNumbers.findIndex((s) => BigInt(s) === lowest);
  if (index < 0) return { kind: 'failure', reason: `itemIdentifier ${String(lowest)} is not in the batch` };
  if (index === 0) return { kind: 'failure', reason: `first record ${String(lowest)} reported as failed` };
  return { kind: 'partial', doneCount: index, reason: `record ${String(lowest)} reported as failed` };
}

/** Why a batch went to the on-failure destination (Lambda's `requestContext.condition`). */
export type DiscardCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** What the mapping does after an invocation. */
export type NextStep =
  | { readonly kind: 'advance'; readonly count: number }
  | { readonly kind: 'retry'; readonly afterAdvance: number; readonly attempt: number }
  /** Skip `afterAdvance` records as done, then send the next `count` records to the on-failure destination. */
  | { readonly kind: 'discard'; readonly afterAdvance: number; readonly count: number; readonly condition: DiscardCondition };

/**
 * Decides the next step after an invocation.
 * @param attempt retries already made at the batch's first record (0 on the first try)
 * @param retryAttempts retries allowed; undefined retries until the records expire
 * @param oldestAgeMs age of the batch's first record now
 * @param maxRecordAgeMs records older than this are discarded instead of retried; undefined never
 */
export function nextStep(args: {
  verdict: InvocationVerdict;
  batchLength: number;
  attempt: number;
  retryAttempts: number | undefined;
  oldestAgeMs: number;
  maxRecordAgeMs: number | undefined;
}): NextStep {
  const { verdict } = args;
  if (verdict.kind === 'success') return { kind: 'advance', count: args.batchLength };
  if (verdict.kind === 'partial') {
    // The record at the new checkpoint has been tried once: the next invocation is its first retry.
    if (args.retryAttempts === 0) {
      return { kind: 'discard', afterAdvance: verdict.doneCount, count: args.batchLength - verdict.doneCount, condition: 'RetryAttemptsExhausted' };
    }
    return { kind: 'retry', afterAdvance: verdict.doneCount, attempt: 1 };
  }
  if (args.maxRecordAgeMs !== undefined && args.oldestAgeMs > args.maxRecordAgeMs) {
    return { kind: 'discard', afterAdvance: 0, count: args.batchLength, condition: 'RecordAgeExceeded' };
  }
  if (args.retryAttempts !== undefined && args.attempt >= args.retryAttempts) {
    return { kind: 'discard', afterAdvance: 0, count: args.batchLength, condition: 'RetryAttemptsExhausted' };
  }
  return { kind: 'retry', afterAdvance: 0, attempt: args.attempt + 1 };
}

/** Delay before retry number `attempt` (1-based): exponential from `minMs`, capped at `maxMs`. */
export function retryDelayMs(attempt: number, minMs: number, maxMs: number): number {
  if (attempt <= 0) return 0;
  return Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 30));
}

/** Metadata of a discarded batch, shaped like Lambda's on-failure record for a Kinesis source. */
export interface KinesisBatchInfo {
  readonly requestContext: { readonly condition: DiscardCondition; readonly approximateInvokeCount: number; readonly functionArn: string };
  readonly responseContext: { readonly functionError?: string };
  readonly KinesisBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
}

export function batchInfo(args: {
  batch: readonly ShardRecord[];
  source: RecordSource;
  condition: DiscardCondition;
  invokeCount: number;
  functionArn: string;
  lastError?: string;
}): KinesisBatchInfo {
  const first = args.batch[0];
  const last = args.batch[args.batch.length - 1];
  return {
    requestContext: { condition: args.condition, approximateInvokeCount: args.invokeCount, functionArn: args.functionArn },
    responseContext: args.lastError === undefined ? {} : { functionError: args.lastError },
    KinesisBatchInfo: {
      shardId: args.source.shardId,
      startSequenceNumber: first.sequenceNumber,
      endSequenceNumber: last.sequenceNumber,
      approximateArrivalOfFirstRecord: new Date(first.approximateArrivalTimestampMs).toISOString(),
      approximateArrivalOfLastRecord: new Date(last.approximateArrivalTimestampMs).toISOString(),
      batchSize: args.batch.length,
      streamArn: args.source.eventSourceArn,
    },
  };
}
