/**
 * The merge runner's CloudWatch metrics (EMF through Powertools): names, namespace and dimensions are a contract
 * for the alarm in lib/warehouse-sql.ts. Each run emits one EMF document with dimensions `service`
 * (`POWERTOOLS_SERVICE_NAME`) and `workgroup`. Pure.
 */
export const MERGE_METRICS_NAMESPACE = 'Redstream';
export const MERGE_POWERTOOLS_SERVICE_NAME = 'redstream-merge';

export const MERGE_METRICS = {
  /** MV rows the run read. Count. */
  newRows: 'MergeNewRows',
  /** Events inserted. Count. */
  inserted: 'MergeInserted',
  /** Rows that were copies of events already merged. Count. */
  duplicates: 'MergeDuplicates',
  /** Rows rejected (every copy). Count. */
  rejected: 'MergeRejected',
  /** Records streaming ingestion skipped that the run turned into `ingestion_skipped` rejects. Count. */
  ingestionSkipped: 'IngestionSkippedRows',
  /** Records streaming ingestion reported skipped (SYS_STREAM_SCAN_STATES) since the previous run. Count. */
  ingestionSkippedReported: 'IngestionSkippedRowsReported',
  /** Streaming views a failed merge found missing and created again (lambda/merge/run.ts); emitted only then. Count. */
  streamingViewsRestored: 'StreamingViewsRestored',
} as const;

/** The counts of one merge run, as merge_runs holds them. */
export interface MergeRunCounts {
  readonly newRows: number;
  readonly inserted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly skipped: number;
  readonly skippedReported: number;
}

export class MergeResultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MergeResultError';
  }
}

/**
 * Reads the row of `SELECT new_rows, inserted, duplicates, rejected, skipped, skipped_reported ...` (fields as text).
 * A missing row or a field that is not a whole number is an error: the merge committed, but its counts are unknown.
 */
export function parseMergeRunRow(rows: ReadonlyArray<ReadonlyArray<string | null>>): MergeRunCounts {
  const row = rows[0];
  if (!row || row.length !== 6) throw new MergeResultError(`expected one merge_runs row of 6 fields (got ${JSON.stringify(rows).slice(0, 200)})`);
  const n = row.map((f, i) => {
    if (f === null || !/^\d+$/.test(f)) throw new MergeResultError(`merge_runs field ${i + 1} is not a count (got ${JSON.stringify(f)})`);
    return Number(f);
  });
  return { newRows: n[0], inserted: n[1], duplicates: n[2], rejected: n[3], skipped: n[4], skippedReported: n[5] };
}

/** The metrics of one run, as (name, value); all are counts. */
export function mergeRunMetrics(run: MergeRunCounts): Array<{ name: string; value: number }> {
  return [
    { name: MERGE_METRICS.newRows, value: run.newRows },
    { name: MERGE_METRICS.inserted, value: run.inserted },
    { name: MERGE_METRICS.duplicates, value: run.duplicates },
    { name: MERGE_METRICS.rejected, value: run.rejected },
    { name: MERGE_METRICS.ingestionSkipped, value: run.skipped },
    { name: MERGE_METRICS.ingestionSkippedReported, value: run.skippedReported },
  ];
}
