/**
 * A local emulation of Lambda's Kinesis event source mapping, over kinesalite (GetShardIterator / GetRecords; kinesalite
 * has no enhanced fan-out, so the mapping polls as a standard consumer does).
 *
 * What it keeps of Lambda's behaviour (decisions in `event-source-mapping-logic.ts`):
 * - One poller per shard, **one invocation at a time per shard**, batches in shard order.
 * - `batchSize` records at most per batch, under the 6 MB payload limit; `maxBatchingWindowMs` to gather records
 *   before invoking (0: invoke with what one read returned).
 * - `reportBatchItemFailures`: resume from the lowest reported sequence number; the rest of Lambda's success and
 *   failure conditions for partial batch responses.
 * - Bounded retries (`retryAttempts`, `maxRecordAgeMs`) then the batch's metadata to `onFailure`, shaped like Lambda's
 *   on-failure record, and the mapping moves on. Retries wait with exponential backoff.
 * - Records shaped exactly as Lambda delivers them (see `toLambdaRecord`).
 * Not emulated: bisect on error, parallelization factor, tumbling windows, filters, resharding (the shards that exist
 * at start are read).
 *
 * Errors reading the stream (a Region taken down by the router, throttling, expired iterators) are retried with
 * backoff and never lose the position.
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import {
  batchInfo,
  batchLength,
  interpretInvocation,
  isBatchReady,
  KinesisBatchInfo,
  MAX_EVENT_PAYLOAD_BYTES,
  nextStep,
  RecordSource,
  retryDelayMs,
  ShardRecord,
  toLambdaRecord,
  InvocationResult,
  InvocationVerdict,
} from './event-source-mapping-logic';
import { LOCAL_ACCOUNT_ID, LocalFunction } from './local-function';
import { listShardIds, ShardReader, StartingPosition, streamArn } from './shard-reader';

export interface EventSourceMappingProps {
  /** Client that reads the stream; its Region is the mapping's Region (use the router's endpoint to honour outages). */
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  /** The mapping's Region (`awsRegion` of every record). */
  readonly region: string;
  /** The function to invoke. */
  readonly target: LocalFunction;
  /** Records per batch. Valid range: 1–10000. @default 100 */
  readonly batchSize?: number;
  /** How long to gather records before invoking, in milliseconds. Valid range: 0–300000. @default 0 */
  readonly maxBatchingWindowMs?: number;
  /** Where a shard without a checkpoint starts. @default 'TRIM_HORIZON' */
  readonly startingPosition?: StartingPosition;
  /** Honour partial batch responses (`FunctionResponseTypes: ['ReportBatchItemFailures']`). @default false */
  readonly reportBatchItemFailures?: boolean;
  /** Retries of a failed batch before it is discarded. @default - unbounded (until `maxRecordAgeMs`) */
  readonly retryAttempts?: number;
  /** Records older than this are discarded instead of retried, in milliseconds. @default - never */
  readonly maxRecordAgeMs?: number;
  /** Receives the metadata of each discarded batch (the on-failure destination). @default - dropped */
  readonly onFailure?: (info: KinesisBatchInfo) => void | Promise<void>;
  /** Called after every invocation, for progress displays and tests. @default - none */
  readonly onInvocation?: (outcome: InvocationOutcome) => void;
  /** Wait between reads of a shard that returned nothing, in milliseconds. @default 100 */
  readonly idlePollMs?: number;
  /** First and longest wait before a retry (of an invocation or a failed read), in milliseconds. @default 50, 2000 */
  readonly retryBackoffMs?: { readonly min: number; readonly max: number };
  /** `eventSourceARN` of the records. @default - the stream's ARN */
  readonly eventSourceArn?: string;
  /** `invokeIdentityArn` of the records. @default - a local role ARN named after the function */
  readonly invokeIdentityArn?: string;
  /** Clock for record ages and batching windows, epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
}

/** One invocation as the mapping saw it. */
export interface InvocationOutcome {
  readonly shardId: string;
  readonly records: readonly ShardRecord[];
  readonly result: InvocationResult;
  readonly verdict: InvocationVerdict;
  /** Retries made at this batch's first record before this invocation. */
  readonly attempt: number;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
}

export interface ShardStatus {
  readonly shardId: string;
  /** Records read and not yet done (pending invocation or retry). */
  readonly pending: number;
  /** Sequence number of the last record done (successful or discarded). */
  readonly checkpoint: string | undefined;
  readonly recordsDone: number;
  readonly recordsDiscarded: number;
  readonly invocations: number;
  readonly failedInvocations: number;
  /** When a read that found nothing new last finished while nothing was pending, epoch ms. */
  readonly idleSinceMs: number | undefined;
  /** The last error reading the stream, cleared by the next successful read. */
  readonly readError: string | undefined;
}

export interface EventSourceMapping {
  readonly streamName: string;
  readonly region: string;
  status(): ShardStatus[];
  /**
   * Resolves when every shard has, after `sinceMs`, read nothing new with nothing pending: everything written
   * before `sinceMs` has been delivered successfully or discarded.
   */
  waitUntilCaughtUp(sinceMs: number, options?: { timeoutMs?: number }): Promise<void>;
  /** Stops polling after the invocations in flight; does not close the function. */
  stop(): Promise<void>;
}

/** Thrown for invalid mapping props and by `waitUntilCaughtUp` on timeout. */
export class EventSourceMappingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventSourceMappingError';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function validate(props: EventSourceMappingProps): void {
  const check = (name: string, v: number | undefined, min: number, max: number): void => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) {
      throw new EventSourceMappingError(`${name} must be a whole number between ${min} and ${max} (got ${v})`);
    }
  };
  check('batchSize', props.batchSize, 1, 10000);
  check('maxBatchingWindowMs', props.maxBatchingWindowMs, 0, 300000);
  check('retryAttempts', props.retryAttempts, 0, 10000);
  check('maxRecordAgeMs', props.maxRecordAgeMs, 1, 604800000);
}

/** Starts polling every shard of the stream and invoking `target` (see the module comment). */
export async function startEventSourceMapping(props: EventSourceMappingProps): Promise<EventSourceMapping> {
  validate(props);
  const clock = props.clock ?? Date.now;
  const batchSize = props.batchSize ?? 100;
  const windowMs = props.maxBatchingWindowMs ?? 0;
  const idlePollMs = props.idlePollMs ?? 100;
  const backoff = props.retryBackoffMs ?? { min: 50, max: 2000 };
  const arn = props.eventSourceArn ?? (await streamArn(props.kinesis, props.streamName));
  const invokeIdentityArn = props.invokeIdentityArn ?? `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${props.target.functionName}-role`;
  const shardIds = await listShardIds(props.kinesis, props.streamName);
  let stopping = false;
  const wakeups = new Set<() => void>();
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        wakeups.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      wakeups.add(done);
    });

  type MutableStatus = { -readonly [K in keyof ShardStatus]: ShardStatus[K] };
  const statuses: MutableStatus[] = [];

  async function runShard(shardId: string, status: MutableStatus): Promise<void> {
    const reader = new ShardReader(props.kinesis, props.streamName, shardId, props.startingPosition ?? 'TRIM_HORIZON');
    const source: RecordSource = { region: props.region, eventSourceArn: arn, shardId, invokeIdentityArn };
    let pending: ShardRecord[] = [];
    let readAt: number[] = []; // when each pending record was read: the batching window starts at the first one
    let attempt = 0;
    let readFailures = 0;
    let lastError: string | undefined;
    let invokeCount = 0;

    while (!stopping) {
      // 1. Read while the next batch is not ready.
      const n = batchLength(pending, batchSize, source);
      const fullByPayload = n < pending.length;
      const ready = isBatchReady({ pendingCount: pending.length, batchSize, fullByPayload, firstPendingReadAtMs: readAt[0], nowMs: clock(), maxBatchingWindowMs: windowMs });
      if (!ready) {
        const readStartedAt = clock();
        try {
          const out = await reader.read(Math.max(1, batchSize - pending.length));
          readFailures = 0;
          status.readError = undefined;
          if (out.records.length > 0) {
            const at = clock();
            pending = pending.concat(out.records);
            readAt = readAt.concat(out.records.map(() => at));
            status.pending = pending.length;
            status.idleSinceMs = undefined;
          }
          if (out.records.length === 0) {
            if (pending.length === 0) {
              status.idleSinceMs = readStartedAt;
              await pause(idlePollMs);
              continue;
            }
            // Something pending and nothing new: wait out the rest of the window, then invoke.
            const left = windowMs - (clock() - readAt[0]);
            if (left > 0) await pause(Math.min(left, idlePollMs));
          }
          continue;
        } catch (err) {
          readFailures++;
          status.readError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
          await pause(retryDelayMs(readFailures, backoff.min, backoff.max));
          continue;
        }
      }
      if (pending.length === 0) continue;

      // 2. Invoke with the next batch.
      const batch = pending.slice(0, Math.max(1, n));
      const event: KinesisStreamEvent = { Records: batch.map((r) => toLambdaRecord(r, source)) };
      const startedAt = clock();
      const result = await props.target.invoke(event);
      invokeCount++;
      const endedAt = clock();
      const verdict = interpretInvocation(
        batch.map((r) => r.sequenceNumber),
        result,
        props.reportBatchItemFailures ?? false,
      );
      status.invocations++;
      if (verdict.kind !== 'success') {
        status.failedInvocations++;
        lastError = verdict.reason;
      }
      props.onInvocation?.({ shardId, records: batch, result, verdict, attempt, startedAtMs: startedAt, endedAtMs: endedAt });
      const step = nextStep({
        verdict,
        batchLength: batch.length,
        attempt,
        retryAttempts: props.retryAttempts,
        oldestAgeMs: clock() - batch[0].approximateArrivalTimestampMs,
        maxRecordAgeMs: props.maxRecordAgeMs,
      });

      // 3. Apply the step.
      const advance = (count: number): void => {
        if (count <= 0) return;
        status.checkpoint = pending[count - 1].sequenceNumber;
        pending = pending.slice(count);
        readAt = readAt.slice(count);
        status.pending = pending.length;
      };
      if (step.kind === 'advance') {
        advance(step.count);
        status.recordsDone += step.count;
        attempt = 0;
        invokeCount = 0;
      } else if (step.kind === 'retry') {
        if (step.afterAdvance > 0) {
          advance(step.afterAdvance);
          status.recordsDone += step.afterAdvance;
          invokeCount = 0;
        }
        attempt = step.attempt;
        await pause(retryDelayMs(attempt, backoff.min, backoff.max));
      } else {
        advance(step.afterAdvance);
        status.recordsDone += step.afterAdvance;
        const discarded = pending.slice(0, step.count);
        const info = batchInfo({ batch: discarded, source, condition: step.condition, invokeCount, functionArn: props.target.functionArn, lastError });
        advance(step.count);
        status.recordsDiscarded += step.count;
        attempt = 0;
        invokeCount = 0;
        await props.onFailure?.(info);
      }
    }
  }

  const loops = shardIds.map((shardId) => {
    const status: MutableStatus = {
      shardId,
      pending: 0,
      checkpoint: undefined,
      recordsDone: 0,
      recordsDiscarded: 0,
      invocations: 0,
      failedInvocations: 0,
      idleSinceMs: undefined,
      readError: undefined,
    };
    statuses.push(status);
    return runShard(shardId, status);
  });
  let fatal: unknown;
  const all = Promise.all(loops.map((l) => l.catch((err: unknown) => {
    fatal ??= err;
    throw err;
  })));
  all.catch(() => undefined); // surfaced by waitUntilCaughtUp() and stop()

  return {
    streamName: props.streamName,
    region: props.region,
    status: () => statuses.map((s) => ({ ...s })),
    async waitUntilCaughtUp(sinceMs, options = {}) {
      const deadline = Date.now() + (options.timeoutMs ?? 60_000);
      while (!statuses.every((s) => s.pending === 0 && s.idleSinceMs !== undefined && s.idleSinceMs >= sinceMs)) {
        if (fatal !== undefined) throw fatal;
        if (Date.now() > deadline) {
          throw new EventSourceMappingError(
            `${props.streamName} in ${props.region} did not catch up within ${options.timeoutMs ?? 60_000} ms: ${JSON.stringify(statuses)}`,
          );
        }
        await sleep(20);
      }
    },
    async stop() {
      stopping = true;
      for (const wake of [...wakeups]) wake();
      await all;
    },
  };
}

export { MAX_EVENT_PAYLOAD_BYTES };
export type { KinesisBatchInfo, ShardRecord, StartingPosition };
