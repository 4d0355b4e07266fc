/**
 * One scheduled merge: runs the merge statements as one Data API batch (one session, one transaction) and waits,
 * so a failing merge fails the invocation (visible as the function's Errors metric) with the database's error text;
 * then reads the run's counts from the batch's last statement (the latest merge_runs row, seen in the same
 * transaction).
 *
 * A merge that failed because a streaming view is missing (the erasure's scheduled step ended between its DROP and
 * its CREATE, or its CREATE kept failing) creates the missing views again ({@link restoreMissingStreamingViews}), so
 * the gap lasts one merge interval instead of waiting for the step's next run (a day by default, as long as the
 * streams' default retention: records would expire before any view read them).
 */
import { GetStatementResultCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { createdBeforeFailure, createMissingStreamingViews, StreamingViewCreateOptions } from '../archive/streaming-view-restore';
import { StreamingViewDefinition } from '../archive/streaming-views';
import { DataApiOptions, DataApiSession, DataApiTarget, fieldText, runBatch } from '../sql-runner/data-api';
import { StatementFailedError, WarehouseSqlError } from '../sql-runner/errors';
import { MergeRunCounts, parseMergeRunRow } from './metrics';

export interface MergeResult {
  readonly statementId: string;
  readonly run: MergeRunCounts;
}

export async function runMerge(client: RedshiftDataClient, target: DataApiTarget, sqls: readonly string[], options: DataApiOptions): Promise<MergeResult> {
  const statementId = await runBatch(client, target, 'redstream-merge', sqls, options);
  // The Data API names the n-th statement of a batch `<batch id>:<n>`.
  const result = await client.send(new GetStatementResultCommand({ Id: `${statementId}:${sqls.length}` }));
  const rows = (result.Records ?? []).map((record) => record.map(fieldText));
  return { statementId, run: parseMergeRunRow(rows) };
}

/**
 * Whether a merge's failure is, or may be, a missing streaming view. The Data API's DescribeStatement carries the
 * database's error text (lambda/sql-runner/data-api.ts waitForStatement → StatementFailedError.detail), for a view
 * dropped before the merge: `ERROR: relation "redstream.stream_events" does not exist` (the procedure names each view
 * schema-qualified). A relation some other object of the procedure lacks is not one of ours: no restore. A view
 * dropped while the merge ran may surface as `could not open relation with OID …`, naming no relation: the catalog
 * check then tells whether a view is missing. Pure.
 */
export function mayBeMissingStreamingView(err: unknown, views: readonly StreamingViewDefinition[]): boolean {
  if (!(err instanceof StatementFailedError) || views.length === 0) return false;
  if (/could not open relation with OID \d+/i.test(err.detail)) return true;
  return [...err.detail.matchAll(/relation "([^"]+)" does not exist/gi)].some(([, relation]) =>
    views.some((v) => relation === `${v.schema}.${v.name}` || relation === v.name),
  );
}

/** A merge failed on a missing streaming view, and creating it again failed too: the message carries both errors. */
export class StreamingViewRestoreError extends WarehouseSqlError {
  /** The views created again before the failure: they exist now, and the handler logs and counts them. */
  public readonly restored: readonly StreamingViewDefinition[];
  constructor(
    public readonly mergeError: Error,
    public readonly restoreError: Error,
  ) {
    super(`${mergeError.message}; creating the missing streaming views again failed too: ${restoreError.message}`);
    this.name = 'StreamingViewRestoreError';
    this.restored = createdBeforeFailure(restoreError);
  }
}

export interface RestoreOptions extends Omit<StreamingViewCreateOptions, 'whenStillMissing' | 'remainingMs'> {
  readonly pollIntervalMs: number;
  readonly remainingMs: () => number;
}

/**
 * After a failed merge: when the failure is or may be a missing streaming view ({@link mayBeMissingStreamingView}),
 * creates the configured views SVV_MV_INFO does not list, with the bootstrap's statements, and returns them (the
 * caller still fails with the merge's error, so the merge-errors alarm shows the gap; the next merge reads the new
 * view). Any other failure: nothing runs, none is returned. A CREATE that keeps failing throws a
 * {@link StreamingViewRestoreError}.
 *
 * The statements run in a session that turns on case-sensitive identifiers first, as the erasure step's and the
 * bootstrap's do: AUTO REFRESH runs with the workgroup's setting, and a view is created with the one its refreshes
 * use. They run as the merge's own database user, the bootstrap's (the admin secret by default, the views' owner).
 * The new view reads its stream from the oldest record the stream still holds; the merge's per-shard watermark skips
 * what was merged before (lambda/archive/streaming-views.ts says why a recreation is safe).
 */
export async function restoreMissingStreamingViews(
  client: RedshiftDataClient,
  target: DataApiTarget,
  views: readonly StreamingViewDefinition[],
  mergeError: unknown,
  options: RestoreOptions,
): Promise<StreamingViewDefinition[]> {
  if (!mayBeMissingStreamingView(mergeError, views)) return [];
  const session = new DataApiSession(client, target, {
    pollIntervalMs: options.pollIntervalMs,
    remainingMs: options.remainingMs,
    sleep: options.sleep,
    sessionSetup: ['SET enable_case_sensitive_identifier TO true'],
    // A CREATE still running at the deadline is left to finish, not cancelled: cancelled, it would roll back, and a
    // CREATE longer than the function's timeout would never complete, every merge cancelling the previous one's.
    cancelOnDeadline: false,
    // Restores are rare and short: an idle session need not outlive the invocation by long.
    sessionKeepAliveSeconds: 60,
  });
  const label = 'redstream-merge-restore-view';
  try {
    return await createMissingStreamingViews(
      {
        // existingViewsSql's columns, in order.
        rows: async (sql) => (await session.query(label, sql)).map(([schema_name, name]) => ({ schema_name, name })),
        execute: (sql) => session.execute(label, sql),
      },
      views,
      { ...options, whenStillMissing: "the next merge that fails on it tries again, and so does the next run of the erasure's scheduled step (now: npm run ops -- erase --finish)" },
    );
  } catch (err) {
    throw new StreamingViewRestoreError(mergeError as Error, err as Error);
  }
}
