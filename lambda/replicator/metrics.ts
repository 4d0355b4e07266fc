/**
 * The replicator's CloudWatch metrics (EMF through Powertools): names, namespace and dimensions are a contract for
 * the alarms and the dashboard. Each shard batch emits one EMF document with dimensions `service` (Powertools'
 * `POWERTOOLS_SERVICE_NAME`), `stream` (physical name) and `region` (the function's Region).
 */
import type { ShardResult } from './replicate';

export const METRICS_NAMESPACE = 'Redstream';

export const REPLICATOR_METRICS = {
  /** Records written to every target Region. Count. */
  recordsReplicated: 'RecordsReplicated',
  /** Payload bytes of those records (once, not per target). Bytes. */
  bytesReplicated: 'BytesReplicated',
  /** PutRecords calls, summed over target Regions. Count. */
  putRecordsCalls: 'PutRecordsCalls',
  /** Entries re-sent after a retryable failure. Count. */
  retriedEntries: 'RetriedEntries',
  /** Records the loop guard did not forward. Count. */
  recordsNotForwarded: 'RecordsNotForwarded',
  /** Records held for redelivery while a switch toward this Region is under way. Count. */
  recordsHeld: 'RecordsHeld',
  /** Redelivered records at or below the checkpoint, skipped. Count. */
  recordsBelowCheckpoint: 'RecordsBelowCheckpoint',
  /** 1 when a batch stopped before every record was replicated. Count. */
  incompleteBatches: 'IncompleteBatches',
  /** Now minus the arrival time of the last replicated record. Seconds. */
  replicationLag: 'ReplicationLagSeconds',
} as const;

export type MetricUnitName = 'Count' | 'Bytes' | 'Seconds';

/** The metrics of one shard batch, as (name, unit, value). Pure. */
export function shardMetrics(r: ShardResult): Array<{ name: string; unit: MetricUnitName; value: number }> {
  const m: Array<{ name: string; unit: MetricUnitName; value: number }> = [
    { name: REPLICATOR_METRICS.recordsReplicated, unit: 'Count', value: r.replicated },
    { name: REPLICATOR_METRICS.bytesReplicated, unit: 'Bytes', value: r.bytesReplicated },
    { name: REPLICATOR_METRICS.putRecordsCalls, unit: 'Count', value: r.putRecordsCalls },
    { name: REPLICATOR_METRICS.retriedEntries, unit: 'Count', value: r.retriedEntries },
    { name: REPLICATOR_METRICS.recordsNotForwarded, unit: 'Count', value: r.notForwarded },
    { name: REPLICATOR_METRICS.recordsHeld, unit: 'Count', value: r.held },
    { name: REPLICATOR_METRICS.recordsBelowCheckpoint, unit: 'Count', value: r.belowCheckpoint },
    { name: REPLICATOR_METRICS.incompleteBatches, unit: 'Count', value: r.firstPendingSequenceNumber === undefined ? 0 : 1 },
  ];
  if (r.lagMs !== undefined) m.push({ name: REPLICATOR_METRICS.replicationLag, unit: 'Seconds', value: Math.max(0, r.lagMs) / 1000 });
  return m;
}
