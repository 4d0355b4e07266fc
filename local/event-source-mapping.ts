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
 *   on-failure record, and the mapping moves on; -1 for either means never give up. Retries wait with exponential
 *   backoff.
 * - Throttles (the function's reserved concurrency is 0 or in use, see `concurrency`): no invocation, retried without
 *   spending a retry attempt until the records pass the maximum record age.
 * - Enabled / disabled (`setEnabled`): a disabled mapping neither reads nor invokes and keeps its position; an
 *   invocation in flight finishes.
 * - Resharding: new shards are found by listing the stream every `shardDiscoveryMs` (and when a shard ends); a child
 *   shard is read only once its parents have been read to their end and every record of them is done.
 * - Records shaped exactly as Lambda delivers them (see `toLambdaRecord`).
 * Not emulated: bisect on error, parallelization factor, tumbling windows, filters.
 *
 * Errors reading the stream (a Region taken down by the router, throttling, expired iterators) are retried with
 * backoff and never lose the position.
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { randomUUID } from 'node:crypto';
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
  DiscardCondition,
  InvocationResult,
  InvocationVerdict,
} from './event-source-mapping-logic';
import { LOCAL_ACCOUNT_ID, LocalFunction } from './local-function';
import { listShards, ShardReader, ShardSummary, StartingPosition, streamArn } from './shard-reader';

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
  /**
   * Retries of a failed batch before it is discarded; -1 (Lambda's `MaximumRetryAttempts: -1`) retries until the
   * records expire. Valid range: -1–10000. @default - unbounded (until `maxRecordAgeMs`)
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this are discarded instead of retried, in milliseconds; -1 (Lambda's
   * `MaximumRecordAgeInSeconds: -1`) never. @default - never
   */
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
  /** The mapping's id (`UUID` in the Lambda API). @default - a random UUID */
  readonly uuid?: string;
  /** Whether the mapping starts enabled (`Enabled`). @default true */
  readonly enabled?: boolean;
  /**
   * The target function's concurrency: before each invocation the mapping asks for a slot; none (reserved concurrency
   * 0, or every reserved slot in use) is a throttle. @default - never throttled
   */
  readonly concurrency?: FunctionConcurrencyGate;
  /** How often the stream's shards are listed to find the children of a split or merge, in milliseconds. @default 1000 */
  readonly shardDiscoveryMs?: number;
  /** How long the mapping stays `Enabling` / `Disabling` after `setEnabled`, in milliseconds. @default 50 */
  readonly stateTransitionMs?: number;
}

/** Concurrency slots of a function, as the Lambda service hands them out. */
export interface FunctionConcurrencyGate {
  /** A slot for one invocation (call the result when it ends), or undefined when the function is throttled. */
  tryAcquire(): (() => void) | undefined;
}

/** `State` of an event source mapping in the Lambda API (the subset a local mapping goes through). */
export type EventSourceMappingState = 'Enabling' | 'Enabled' | 'Disabling' | 'Disabled';

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
  /** `ParentShardId` and `AdjacentParentShardId`, when the shard came from a split or merge. */
  readonly parentShardIds: readonly string[];
  /** The poller waits for a parent shard to be done (Lambda reads a parent to its end before its children). */
  readonly waitingForParent: boolean;
  /** The shard is closed and every record of it is done. */
  readonly ended: boolean;
  /** Records read and not yet done (pending invocation or retry). */
  readonly pending: number;
  /** Sequence number of the last record done (successful or discarded). */
  readonly checkpoint: string | undefined;
  readonly recordsDone: number;
  readonly recordsDiscarded: number;
  readonly invocations: number;
  readonly failedInvocations: number;
  /** Invocations not made because the function was throttled. */
  readonly throttles: number;
  /** When a read that found nothing new last finished while nothing was pending, epoch ms. */
  readonly idleSinceMs: number | undefined;
  /** The last error reading the stream, cleared by the next successful read. */
  readonly readError: string | undefined;
}

export interface EventSourceMapping {
  /** `UUID` in the Lambda API. */
  readonly uuid: string;
  readonly streamName: string;
  readonly region: string;
  readonly eventSourceArn: string;
  readonly functionArn: string;
  readonly batchSize: number;
  readonly maximumBatchingWindowMs: number;
  readonly startingPosition: StartingPosition;
  /** -1: never give up. */
  readonly retryAttempts: number;
  /** -1: never. */
  readonly maxRecordAgeMs: number;
  /** `['ReportBatchItemFailures']` when partial batch responses are honoured. */
  readonly functionResponseTypes: readonly string[];
  state(): EventSourceMappingState;
  /** When the mapping was last enabled or disabled. */
  lastModified(): Date;
  /**
   * Enables or disables polling (`UpdateEventSourceMapping` `Enabled`). A disabled mapping starts no invocation and
   * keeps its position; an invocation in flight finishes and its answer is honoured, as on AWS.
   */
  setEnabled(enabled: boolean): void;
  /** Invocations running now. */
  inFlight(): number;
  /** Lists the stream's shards now (the mapping also does so every `shardDiscoveryMs`). */
  discoverShards(): Promise<void>;
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
  check('retryAttempts', props.retryAttempts, -1, 10000);
  if (props.maxRecordAgeMs !== -1) check('maxRecordAgeMs', props.maxRecordAgeMs, 1, 604800000);
  check('shardDiscoveryMs', props.shardDiscoveryMs, 1, 3600000);
}

/** Starts polling every shard of the stream and invoking `target` (see the module comment). */
export async function startEventSourceMapping(props: EventSourceMappingProps): Promise<EventSourceMapping> {
  validate(props);
  const clock = props.clock ?? Date.now;
  const batchSize = props.batchSize ?? 100;
  const windowMs = props.maxBatchingWindowMs ?? 0;
  const idlePollMs = props.idlePollMs ?? 100;
  const discoveryMs = props.shardDiscoveryMs ?? 1000;
  const backoff = props.retryBackoffMs ?? { min: 50, max: 2000 };
  // -1 is Lambda's "never give up" (MaximumRetryAttempts / MaximumRecordAgeInSeconds).
  const retryAttempts = props.retryAttempts === -1 ? undefined : props.retryAttempts;
  const maxRecordAgeMs = props.maxRecordAgeMs === -1 ? undefined : props.maxRecordAgeMs;
  const arn = props.eventSourceArn ?? (await streamArn(props.kinesis, props.streamName));
  const invokeIdentityArn = props.invokeIdentityArn ?? `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${props.target.functionName}-role`;
  const uuid = props.uuid ?? randomUUID();
  const initialShards = await listShards(props.kinesis, props.streamName);
  let stopping = false;
  let enabled = props.enabled ?? true;
  let state: EventSourceMappingState = enabled ? 'Enabled' : 'Disabled';
  let stateTimer: NodeJS.Timeout | undefined;
  let lastModified = new Date();
  let inFlight = 0;
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
  const wakeAll = (): void => {
    for (const wake of [...wakeups]) wake();
  };

  type MutableStatus = { -readonly [K in keyof ShardStatus]: ShardStatus[K] };
  const statuses: MutableStatus[] = [];
  const shards = new Map<string, MutableStatus>();
  /** When the last listing of the stream's shards started (that listing succeeded). */
  let discoveredAtMs = clock();

  /** Whether every parent of the shard has been read to its end and done (a parent no longer listed is gone: done). */
  const parentsDone = (status: MutableStatus): boolean => status.parentShardIds.every((p) => shards.get(p)?.ended ?? true);

  async function runShard(shardId: string, status: MutableStatus, start: StartingPosition): Promise<void> {
    // Lambda processes a parent shard's records before its children's: wait until the parents are done.
    while (!stopping && !parentsDone(status)) await pause(idlePollMs);
    if (stopping) return;
    status.waitingForParent = false;
    const reader = new ShardReader(props.kinesis, props.streamName, shardId, start);
    const source: RecordSource = { region: props.region, eventSourceArn: arn, shardId, invokeIdentityArn };
    let pending: ShardRecord[] = [];
    let readAt: number[] = []; // when each pending record was read: the batching window starts at the first one
    let attempt = 0;
    let readFailures = 0;
    let throttles = 0;
    let lastError: string | undefined;
    let invokeCount = 0;
    let endOfShard = false;

    const advance = (count: number): void => {
      if (count <= 0) return;
      status.checkpoint = pending[count - 1].sequenceNumber;
      pending = pending.slice(count);
      readAt = readAt.slice(count);
      status.pending = pending.length;
    };
    const discard = async (afterAdvance: number, count: number, condition: DiscardCondition): Promise<void> => {
      advance(afterAdvance);
      status.recordsDone += afterAdvance;
      const discarded = pending.slice(0, count);
      const info = batchInfo({ batch: discarded, source, condition, invokeCount, functionArn: props.target.functionArn, lastError });
      advance(count);
      status.recordsDiscarded += count;
      attempt = 0;
      invokeCount = 0;
      await props.onFailure?.(info);
    };

    while (!stopping) {
      // 0. A disabled mapping stops polling and invoking; what it read is kept and resumed from.
      if (!enabled) {
        await pause(idlePollMs);
        continue;
      }
      if (endOfShard && pending.length === 0) {
        // The parent is done: its children may start.
        status.ended = true;
        void discover();
        return;
      }
      // 1. Read while the next batch is not ready.
      const n = batchLength(pending, batchSize, source);
      const fullByPayload = n < pending.length;
      const ready =
        (endOfShard && pending.length > 0) ||
        isBatchReady({ pendingCount: pending.length, batchSize, fullByPayload, firstPendingReadAtMs: readAt[0], nowMs: clock(), maxBatchingWindowMs: windowMs });
      if (!ready) {
        const readStartedAt = clock();
        try {
          const out = await reader.read(Math.max(1, batchSize - pending.length));
          readFailures = 0;
          status.readError = undefined;
          endOfShard = out.endOfShard;
          if (out.records.length > 0) {
            const at = clock();
            pending = pending.concat(out.records);
            readAt = readAt.concat(out.records.map(() => at));
            status.pending = pending.length;
            status.idleSinceMs = undefined;
          }
          if (out.records.length === 0 && !endOfShard) {
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

      // 2. Invoke with the next batch, unless the function is throttled (reserved concurrency 0 or all in use).
      //    A throttle is an error before invocation: Lambda retries it until the records pass the maximum record
      //    age, without spending a retry attempt ("Retain discarded batch records for a Kinesis Data Streams event
      //    source", Lambda Developer Guide).
      const release = props.concurrency ? props.concurrency.tryAcquire() : () => undefined;
      if (!release) {
        throttles++;
        status.throttles++;
        if (maxRecordAgeMs !== undefined && clock() - pending[0].approximateArrivalTimestampMs > maxRecordAgeMs) {
          await discard(0, Math.max(1, n), 'RecordAgeExceeded');
        } else {
          await pause(retryDelayMs(throttles, backoff.min, backoff.max));
        }
        continue;
      }
      throttles = 0;
      const batch = pending.slice(0, Math.max(1, n));
      const event: KinesisStreamEvent = { Records: batch.map((r) => toLambdaRecord(r, source)) };
      const startedAt = clock();
      inFlight++;
      let result: InvocationResult;
      try {
        result = await props.target.invoke(event);
      } finally {
        inFlight--;
        release();
      }
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
        retryAttempts,
        oldestAgeMs: clock() - batch[0].approximateArrivalTimestampMs,
        maxRecordAgeMs,
      });

      // 3. Apply the step.
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
        await discard(step.afterAdvance, step.count, step.condition);
      }
    }
  }

  const loops: Array<Promise<void>> = [];
  let fatal: unknown;
  /**
   * Starts polling a shard. The shards of the first listing start at the mapping's starting position; a shard found
   * later (a split's or merge's child) is read from its start, so no record written to it is skipped.
   */
  function track(shard: ShardSummary, start: StartingPosition): void {
    if (shards.has(shard.shardId)) return;
    const status: MutableStatus = {
      shardId: shard.shardId,
      parentShardIds: shard.parentShardIds,
      waitingForParent: true,
      ended: false,
      pending: 0,
      checkpoint: undefined,
      recordsDone: 0,
      recordsDiscarded: 0,
      invocations: 0,
      failedInvocations: 0,
      throttles: 0,
      idleSinceMs: undefined,
      readError: undefined,
    };
    statuses.push(status);
    shards.set(shard.shardId, status);
    const loop = runShard(shard.shardId, status, start).catch((err: unknown) => {
      fatal ??= err;
      throw err;
    });
    loop.catch(() => undefined); // surfaced by waitUntilCaughtUp() and stop()
    loops.push(loop);
  }

  /** Lists the stream's shards and starts a poller for each new one (its parents first); a failed listing waits. */
  let discovering: Promise<void> | undefined;
  function discover(): Promise<void> {
    discovering ??= (async () => {
      const startedAt = clock();
      try {
        for (const shard of await listShards(props.kinesis, props.streamName)) track(shard, 'TRIM_HORIZON');
        discoveredAtMs = startedAt;
      } catch {
        // The Region's Kinesis is down or throttling: the next round lists again.
      } finally {
        discovering = undefined;
      }
    })();
    return discovering;
  }
  for (const shard of initialShards) track(shard, props.startingPosition ?? 'TRIM_HORIZON');
  const discoveryLoop = (async () => {
    while (!stopping) {
      await pause(discoveryMs);
      if (!stopping && enabled) await discover();
    }
  })();

  const transition = (to: boolean): void => {
    if (to === enabled && state === (to ? 'Enabled' : 'Disabled')) return;
    enabled = to;
    lastModified = new Date();
    state = to ? 'Enabling' : 'Disabling';
    if (stateTimer) clearTimeout(stateTimer);
    // The state settles after a short while whatever is in flight: as on AWS, nothing promises that "Disabled" means
    // no invocation is still running (wait for the function's timeout for that).
    stateTimer = setTimeout(() => {
      state = enabled ? 'Enabled' : 'Disabled';
      stateTimer = undefined;
    }, props.stateTransitionMs ?? 50);
    wakeAll();
  };

  return {
    uuid,
    streamName: props.streamName,
    region: props.region,
    eventSourceArn: arn,
    functionArn: props.target.functionArn,
    batchSize,
    maximumBatchingWindowMs: windowMs,
    startingPosition: props.startingPosition ?? 'TRIM_HORIZON',
    retryAttempts: retryAttempts ?? -1,
    maxRecordAgeMs: maxRecordAgeMs ?? -1,
    functionResponseTypes: props.reportBatchItemFailures ? ['ReportBatchItemFailures'] : [],
    state: () => state,
    lastModified: () => lastModified,
    setEnabled: transition,
    inFlight: () => inFlight,
    status: () => statuses.map((s) => ({ ...s })),
    discoverShards: () => discover(),
    async waitUntilCaughtUp(sinceMs, options = {}) {
      const deadline = Date.now() + (options.timeoutMs ?? 60_000);
      const caughtUp = (): boolean =>
        discoveredAtMs >= sinceMs && statuses.every((s) => s.ended || (s.pending === 0 && s.idleSinceMs !== undefined && s.idleSinceMs >= sinceMs));
      while (!caughtUp()) {
        if (fatal !== undefined) throw fatal;
        if (Date.now() > deadline) {
          throw new EventSourceMappingError(
            `${props.streamName} in ${props.region} did not catch up within ${options.timeoutMs ?? 60_000} ms: ${JSON.stringify(statuses)}`,
          );
        }
        if (discoveredAtMs < sinceMs) await discover();
        else await sleep(20);
      }
    },
    async stop() {
      stopping = true;
      if (stateTimer) clearTimeout(stateTimer);
      wakeAll();
      await discoveryLoop;
      await discovering;
      // Pollers of shards found while stopping are in `loops` too.
      for (let i = 0; i < loops.length; i++) await loops[i];
    },
  };
}

export { MAX_EVENT_PAYLOAD_BYTES };
export type { KinesisBatchInfo, ShardRecord, StartingPosition };
