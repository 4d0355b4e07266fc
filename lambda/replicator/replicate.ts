/**
 * The replicator's core: copies each shard batch of a Lambda Kinesis event to every target Region, checkpoints
 * progress and tells Lambda what to deliver again. It decides nothing itself (the pure modules do: forwarding.ts,
 * planner.ts, retry.ts, checkpoint.ts) and talks to AWS only through the small interfaces below, so tests run it
 * against local emulators or fault-injecting endpoints, with an injected clock, sleep and randomness.
 */
import type { Context, KinesisStreamBatchItemFailure, KinesisStreamEvent } from 'aws-lambda';
import { checkpointSortKey, padSequenceNumber, type ActiveRegionItem, type CheckpointItem } from '../shared/state-tables';
import {
  advancesCheckpoint,
  batchProgress,
  checkpointWriteDecision,
  isAtOrBelow,
  nextReplicatedAfter,
  sameReplicatedAfter,
  type CheckpointWriteReason,
  type RecordOutcome,
} from './checkpoint';
import { ActiveRegionItemMissingError, ReplicatorError } from './errors';
import { forwardingDecision, forwardsRecord, STALE_CACHE, type ForwardingDecision } from './forwarding';
import { TargetPlan, type EntryResult, type OrderingMode } from './planner';
import { toShardBatches, type ShardBatch, type SourceRecord } from './records';
import { backoffDelayMs, classifyCallError, Deadline, type BackoffOptions } from './retry';

/** One PutRecords call to the same-named stream in `region`. */
export interface PutRecordsRequest {
  readonly region: string;
  readonly streamName: string;
  readonly entries: ReadonlyArray<{ readonly data: Uint8Array; readonly partitionKey: string }>;
  /** Abort the call after this many milliseconds (it then counts as a retryable failure). */
  readonly timeoutMs: number;
}

/** Writes records to a target Region. Throws on a whole-call failure; returns one result per entry otherwise. */
export interface RecordWriter {
  putRecords(request: PutRecordsRequest): Promise<EntryResult[]>;
}

/** The checkpoint table. */
export interface CheckpointStore {
  get(streamName: string, shardSortKey: string): Promise<CheckpointItem | undefined>;
  /** Writes `item` unless the stored checkpoint is at or beyond it: `stale` means a newer one won (not an error). */
  advance(item: CheckpointItem): Promise<'written' | 'stale'>;
}

/** The active-Region table of this Region's replica (possibly cached). */
export interface ActiveRegionSource {
  /** The table's name, for error messages. */
  readonly tableName: string;
  /** The item, possibly from a cache. */
  get(streamName: string): Promise<ActiveRegionItem | undefined>;
  /**
   * The item read from the replica now (refreshing any cache). A source without it never caches: whatever `get`
   * returns counts as fresh. @default - `get` is fresh
   */
  getFresh?(streamName: string): Promise<ActiveRegionItem | undefined>;
}

/** The logging the core needs; Powertools' Logger satisfies it. */
export interface ReplicatorLog {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface ReplicatorSettings {
  /** The Region this function runs in (`AWS_REGION`). */
  readonly ownRegion: string;
  /** Standby Regions that receive every record. */
  readonly targetRegions: readonly string[];
  /** Physical stream names replicated with relaxed ordering; all others are strict. */
  readonly relaxedStreams: ReadonlySet<string>;
  /** Bytes per PutRecords call (payload plus partition key). */
  readonly maxRequestBytes: number;
  /** Sends of one record per invocation before it counts as failed. */
  readonly maxAttempts: number;
  readonly backoff: BackoffOptions;
  /** Longest a single PutRecords attempt may take, in milliseconds. */
  readonly callTimeoutMs: number;
  /** Time kept back from Lambda's deadline for the checkpoint write and the reply, in milliseconds. */
  readonly safetyMarginMs: number;
  /**
   * How long a held batch waits before the invocation reports it (so Lambda's immediate redelivery does not spin on
   * the table while a switch is under way), in milliseconds; cut short by the deadline. @default 0
   */
  readonly holdDelayMs?: number;
  /**
   * Checkpoint interval: while a shard's batches arrive full and complete, its checkpoint is written at most once per
   * this many milliseconds (timed by the stored checkpoint's `updatedAt`). It is always written when a batch stops
   * (a failure is returned or thrown), when a batch is not full (the shard has caught up), for a shard's first
   * checkpoint and the first of a tenure. 0 writes on every invocation. @default 0
   */
  readonly checkpointIntervalMs?: number;
  /**
   * The event source mapping's batch size: a batch with fewer records is not full. @default - unknown: every batch
   * counts as not full, so every invocation writes
   */
  readonly batchSize?: number;
}

export interface ReplicatorDeps {
  readonly settings: ReplicatorSettings;
  readonly writer: RecordWriter;
  readonly checkpoints: CheckpointStore;
  readonly activeRegions: ActiveRegionSource;
  readonly log: ReplicatorLog;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), for backoff jitter. */
  readonly random: () => number;
}

/** Why a shard batch stopped before every record was replicated. */
export type StopReason =
  /** Lambda's deadline (minus the safety margin) arrived. */
  | 'deadline'
  /** Records failed for good in this invocation: retries exhausted or a non-retryable entry error. */
  | 'records-failed'
  /** A whole call failed with a non-retryable error (access denied, missing stream, …). */
  | 'non-retryable-error'
  /** The loop guard could not be sure the records are not this Region's to forward (a switch toward it is under way). */
  | 'held';

/** What one shard batch did: the basis of the invocation's metrics and logs. */
export interface ShardResult {
  readonly streamName: string;
  readonly sourceRegion: string;
  readonly shardId: string;
  readonly records: number;
  /** Records at or below the stored checkpoint (redelivered), skipped. */
  readonly belowCheckpoint: number;
  /** Records the loop guard did not forward (not the active Region, or arrived before activation). */
  readonly notForwarded: number;
  /** Records held for redelivery because the loop guard could not decide yet (a switch toward this Region). */
  readonly held: number;
  /**
   * Records written to every target Region, up to the first unreplicated record (those beyond it count when the
   * redelivered batch completes them).
   */
  readonly replicated: number;
  /** Payload bytes of those records (counted once, not per target). */
  readonly bytesReplicated: number;
  /** PutRecords calls, summed over target Regions. */
  readonly putRecordsCalls: number;
  /** Entries re-sent after a retryable failure, summed over target Regions. */
  readonly retriedEntries: number;
  /** Now minus the arrival time of the last replicated record, when one was replicated. */
  readonly lagMs?: number;
  /**
   * `written` (or `stale`: a newer one was there), `deferred` (the checkpoint interval: not written; the table stays
   * behind until a later invocation of the shard writes past it), or `unchanged`.
   */
  readonly checkpoint: 'written' | 'stale' | 'deferred' | 'unchanged';
  /** Why the checkpoint was written or deferred, when it moved. */
  readonly checkpointReason?: CheckpointWriteReason | 'deferred';
  readonly checkpointSequenceNumber?: string;
  /** The first record not replicated, returned to Lambda as the batch item failure. */
  readonly firstPendingSequenceNumber?: string;
  readonly stopReason?: StopReason;
}

/** Thrown after progress is checkpointed when a target failed with a non-retryable error (so the Errors alarm fires). */
export class ReplicationFailedError extends ReplicatorError {
  constructor(
    readonly result: ShardResult,
    readonly reasons: readonly string[],
  ) {
    super(
      `replication of ${result.streamName} ${result.sourceRegion}/${result.shardId} failed with a non-retryable error ` +
        `(checkpoint ${result.checkpoint}, first unreplicated ${result.firstPendingSequenceNumber ?? '-'}): ${reasons.join('; ')}`,
    );
    this.name = 'ReplicationFailedError';
  }
}

interface TargetRun {
  readonly region: string;
  /** The records this target was sent (those it did not hold yet); the plan's indexes point into it. */
  readonly records: readonly SourceRecord[];
  readonly plan: TargetPlan;
  readonly calls: number;
  readonly stop?: StopReason;
  readonly fatal?: string;
}

/** Replicates every shard batch of `event`; the handler's whole job. */
export async function replicateEvent(
  event: KinesisStreamEvent,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  deps: ReplicatorDeps,
): Promise<{ batchItemFailures: KinesisStreamBatchItemFailure[]; results: ShardResult[] }> {
  const deadline = Deadline.fromRemaining(deps.now(), context.getRemainingTimeInMillis(), deps.settings.safetyMarginMs);
  const batchItemFailures: KinesisStreamBatchItemFailure[] = [];
  const results: ShardResult[] = [];
  for (const batch of toShardBatches(event.Records ?? [])) {
    const result = await replicateShardBatch(batch, deadline, deps);
    results.push(result);
    if (result.firstPendingSequenceNumber !== undefined) batchItemFailures.push({ itemIdentifier: result.firstPendingSequenceNumber });
  }
  return { batchItemFailures, results };
}

/** Replicates one shard's records; see the module comment of checkpoint.ts for the outcome of each record. */
export async function replicateShardBatch(batch: ShardBatch, deadline: Deadline, deps: ReplicatorDeps): Promise<ShardResult> {
  const { settings, log } = deps;
  const where = { stream: batch.streamName, sourceRegion: batch.sourceRegion, shard: batch.shardId };
  const range = {
    firstSequenceNumber: batch.records[0]?.sequenceNumber,
    lastSequenceNumber: batch.records[batch.records.length - 1]?.sequenceNumber,
  };
  const decision = await decideForwarding(batch.streamName, deps);
  if (decision.kind === 'hold') return holdBatch(batch, decision.reason, deadline, deps);

  const sortKey = checkpointSortKey(batch.sourceRegion, batch.shardId);
  // The table's checkpoint, read once, decides what is skipped, anchors the next one and times the checkpoint
  // interval. Nothing else does: a deferred checkpoint is not remembered anywhere, so the table may lag what reached
  // every target but never leads it, and each shard has one writer at a time (its current invocation).
  const stored = decision.kind === 'forward' ? await deps.checkpoints.get(batch.streamName, sortKey) : undefined;
  const outcomes: RecordOutcome[] = [];
  const toSend: SourceRecord[] = [];
  for (const r of batch.records) {
    if (isAtOrBelow(r.sequence, stored?.sequenceNumber)) outcomes.push('below-checkpoint');
    else if (decision.kind !== 'forward' || !forwardsRecord(decision, r.arrivalMs)) outcomes.push('not-forwarded');
    else {
      outcomes.push('pending');
      toSend.push(r);
    }
  }

  // Records a target already holds (written by an earlier invocation that stopped mid-batch) are not sent again.
  const ordering: OrderingMode = settings.relaxedStreams.has(batch.streamName) ? 'relaxed' : 'strict';
  const held = new Map(settings.targetRegions.map((region) => [region, new Set(stored?.replicatedAfter?.[region] ?? [])]));
  // allSettled, not all: if one target fails unexpectedly, the others must finish before the invocation ends
  // (a loop still sending after the handler returned would race the redelivered batch), then the first error wins.
  const settled =
    toSend.length === 0
      ? []
      : await Promise.allSettled(
          settings.targetRegions.map((region) => {
            const missing = toSend.filter((r) => !held.get(region)?.has(r.sequenceNumber));
            return replicateToTarget(batch.streamName, region, missing, ordering, deadline, deps);
          }),
        );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const runs = settled.map((s) => (s as PromiseFulfilledResult<Awaited<ReturnType<typeof replicateToTarget>>>).value);

  const confirmedPerRegion = new Map<string, bigint[]>(runs.map((run) => [run.region, [...held.get(run.region)!].map(BigInt)]));
  for (const run of runs) {
    run.records.forEach((r, i) => {
      if (run.plan.isConfirmed(i)) confirmedPerRegion.get(run.region)!.push(r.sequence);
    });
  }
  const reached = new Map([...confirmedPerRegion].map(([region, seqs]) => [region, new Set(seqs)]));
  for (const r of toSend) {
    if (settings.targetRegions.every((region) => reached.get(region)?.has(r.sequence))) outcomes[r.index] = 'replicated';
  }
  const progress = batchProgress(batch.records, outcomes);
  // Only the done prefix counts: a record beyond the first unreplicated one is counted by the invocation whose prefix
  // takes it in (the redelivered batch holds it already), so each record is counted once.
  const doneBefore = progress.firstPending?.index ?? batch.records.length;
  let replicated = 0;
  let bytesReplicated = 0;
  for (const r of toSend) {
    if (r.index < doneBefore && outcomes[r.index] === 'replicated') {
      replicated++;
      bytesReplicated += r.data.byteLength;
    }
  }

  // The checkpoint moves to the end of the replicated prefix; what reached a target beyond it is remembered in
  // replicatedAfter. Without any checkpoint yet, "just before this batch's first record" anchors it.
  let checkpoint: ShardResult['checkpoint'] = 'unchanged';
  let checkpointReason: ShardResult['checkpointReason'];
  const cp = progress.checkpoint;
  const advances = cp !== undefined && advancesCheckpoint(stored?.sequenceNumber, cp.sequenceNumber);
  const first = batch.records[0];
  const anchor = advances
    ? { sequenceNumber: cp.sequenceNumber, arrivalMs: cp.arrivalMs }
    : stored
      ? { sequenceNumber: stored.sequenceNumber, arrivalMs: stored.approximateArrivalTimestamp }
      : first
        ? { sequenceNumber: String(first.sequence - 1n), arrivalMs: first.arrivalMs - 1 }
        : undefined;
  const replicatedAfter = anchor ? nextReplicatedAfter(settings.targetRegions, BigInt(anchor.sequenceNumber), stored?.replicatedAfter, confirmedPerRegion) : {};
  const remembers = Object.keys(replicatedAfter).length > 0;
  const fatal = runs.filter((r) => r.fatal !== undefined).map((r) => `${r.region}: ${r.fatal}`);
  if (anchor && (advances || !sameReplicatedAfter(stored?.replicatedAfter, replicatedAfter)) && (advances || stored || remembers)) {
    const item: CheckpointItem = {
      streamName: batch.streamName,
      shardId: sortKey,
      sourceRegion: batch.sourceRegion,
      sourceShardId: batch.shardId,
      sequenceNumber: anchor.sequenceNumber,
      sequenceNumberPadded: padSequenceNumber(anchor.sequenceNumber),
      approximateArrivalTimestamp: anchor.arrivalMs,
      updatedAt: deps.now(),
      ...(remembers ? { replicatedAfter } : {}),
    };
    const write = checkpointWriteDecision({
      intervalMs: settings.checkpointIntervalMs ?? 0,
      // A fatal error always leaves a pending record, but the throw alone must force the write, whatever the plan says.
      stopped: progress.firstPending !== undefined || fatal.length > 0,
      records: batch.records.length,
      batchSize: settings.batchSize,
      stored,
      activatedAtMs: decision.kind === 'forward' ? decision.activatedAtMs : Number.POSITIVE_INFINITY,
      now: item.updatedAt,
    });
    checkpointReason = write.reason;
    checkpoint = write.write ? await deps.checkpoints.advance(item) : 'deferred';
  }

  const stopReason = runs.find((r) => r.stop === 'non-retryable-error')?.stop ?? runs.find((r) => r.stop)?.stop;
  const result: ShardResult = {
    streamName: batch.streamName,
    sourceRegion: batch.sourceRegion,
    shardId: batch.shardId,
    records: batch.records.length,
    belowCheckpoint: outcomes.filter((o) => o === 'below-checkpoint').length,
    notForwarded: outcomes.filter((o) => o === 'not-forwarded').length,
    held: 0,
    replicated,
    bytesReplicated,
    putRecordsCalls: runs.reduce((n, r) => n + r.calls, 0),
    retriedEntries: runs.reduce((n, r) => n + r.plan.retriedEntries, 0),
    lagMs: cp ? deps.now() - cp.arrivalMs : undefined,
    checkpoint,
    checkpointReason,
    checkpointSequenceNumber: advances ? cp.sequenceNumber : stored?.sequenceNumber,
    firstPendingSequenceNumber: progress.firstPending?.sequenceNumber,
    stopReason: progress.firstPending ? stopReason : undefined,
  };
  const summary = {
    ...where,
    ...range,
    ordering,
    forwarding: decision.kind === 'forward' ? `active since ${decision.activatedAtMs} (epoch ${decision.epoch})` : decision.reason,
    records: result.records,
    belowCheckpoint: result.belowCheckpoint,
    notForwarded: result.notForwarded,
    replicated: result.replicated,
    putRecordsCalls: result.putRecordsCalls,
    retriedEntries: result.retriedEntries,
    checkpoint: result.checkpoint,
    checkpointReason: result.checkpointReason,
    checkpointSequenceNumber: result.checkpointSequenceNumber,
    firstPendingSequenceNumber: result.firstPendingSequenceNumber,
  };
  if (fatal.length > 0) {
    log.error('replication failed with a non-retryable error; progress checkpointed', { ...summary, errors: fatal });
    throw new ReplicationFailedError(result, fatal);
  }
  if (progress.firstPending) {
    const failures = runs.flatMap((r) => r.plan.permanentFailures.slice(0, 5).map((f) => `${r.region}: ${r.records[f.index].sequenceNumber}: ${f.reason}`));
    log.warn('stopped before the batch was replicated; Lambda redelivers from the first unreplicated record', {
      ...summary,
      stopReason: result.stopReason,
      failures,
    });
  } else {
    log.info('batch done', summary);
  }
  return result;
}

/**
 * The loop guard's decision on the item of this Region's replica. A decision other than forwarding is never taken on a
 * cached item: the cache may predate this Region's activation, and a skip would consume records that are its to forward.
 */
async function decideForwarding(streamName: string, deps: ReplicatorDeps): Promise<ForwardingDecision> {
  const source = deps.activeRegions;
  const cached = await source.get(streamName);
  if (!cached) throw new ActiveRegionItemMissingError(streamName, source.tableName);
  const first = forwardingDecision(cached, deps.settings.ownRegion, source.getFresh === undefined);
  if (first.kind !== 'hold' || first.reason !== STALE_CACHE) return first;
  const fresh = await source.getFresh!(streamName);
  if (!fresh) throw new ActiveRegionItemMissingError(streamName, source.tableName);
  return forwardingDecision(fresh, deps.settings.ownRegion, true);
}

/** Reports the whole batch for redelivery (its first record as the failure) after a short, deadline-bounded pause. */
async function holdBatch(batch: ShardBatch, reason: string, deadline: Deadline, deps: ReplicatorDeps): Promise<ShardResult> {
  const pauseMs = Math.min(deps.settings.holdDelayMs ?? 0, Math.max(0, deadline.remainingMs(deps.now())));
  if (pauseMs > 0) await deps.sleep(pauseMs);
  const first = batch.records[0];
  deps.log.info('batch held: the loop guard cannot decide yet; Lambda delivers it again', {
    stream: batch.streamName,
    sourceRegion: batch.sourceRegion,
    shard: batch.shardId,
    firstSequenceNumber: first?.sequenceNumber,
    records: batch.records.length,
    reason,
  });
  return {
    streamName: batch.streamName,
    sourceRegion: batch.sourceRegion,
    shardId: batch.shardId,
    records: batch.records.length,
    belowCheckpoint: 0,
    notForwarded: 0,
    held: batch.records.length,
    replicated: 0,
    bytesReplicated: 0,
    putRecordsCalls: 0,
    retriedEntries: 0,
    checkpoint: 'unchanged',
    firstPendingSequenceNumber: first?.sequenceNumber,
    stopReason: first ? 'held' : undefined,
  };
}

/** Sends `records` to one target Region until all are confirmed, the rest is blocked, or the deadline nears. */
async function replicateToTarget(
  streamName: string,
  region: string,
  records: readonly SourceRecord[],
  ordering: OrderingMode,
  deadline: Deadline,
  deps: ReplicatorDeps,
): Promise<TargetRun> {
  const { settings } = deps;
  const plan = new TargetPlan(records, { ordering, maxRequestBytes: settings.maxRequestBytes, maxAttempts: settings.maxAttempts });
  let calls = 0;
  let failedRounds = 0;
  for (;;) {
    if (deadline.remainingMs(deps.now()) <= 0) return { region, records, plan, calls, stop: 'deadline' };
    const call = plan.nextCall();
    if (call.length === 0) return { region, records, plan, calls, stop: plan.complete ? undefined : 'records-failed' };
    if (failedRounds > 0) {
      const delay = backoffDelayMs(failedRounds, settings.backoff, deps.random);
      if (!deadline.allows(deps.now(), delay)) {
        plan.cancel(call);
        return { region, records, plan, calls, stop: 'deadline' };
      }
      await deps.sleep(delay);
    }
    const timeoutMs = Math.min(settings.callTimeoutMs, deadline.remainingMs(deps.now()));
    if (timeoutMs <= 0) {
      plan.cancel(call);
      return { region, records, plan, calls, stop: 'deadline' };
    }
    calls++;
    let results: EntryResult[];
    try {
      results = await deps.writer.putRecords({
        region,
        streamName,
        entries: call.map((i) => ({ data: records[i].data, partitionKey: records[i].partitionKey })),
        timeoutMs,
      });
    } catch (err) {
      const c = classifyCallError(err);
      plan.recordCallFailure(call, c.retryable, c.reason);
      if (!c.retryable) {
        return { region, records, plan, calls, stop: 'non-retryable-error', fatal: `${c.reason}: ${err instanceof Error ? err.message : String(err)}` };
      }
      failedRounds++;
      continue;
    }
    const round = plan.recordResults(call, results);
    failedRounds = round.retried > 0 ? failedRounds + 1 : 0;
  }
}
