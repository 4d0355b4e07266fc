/**
 * Merge runner, invoked by the EventBridge Scheduler schedule of the WarehouseSql construct every merge interval.
 * Environment: see lambda/sql-runner/env.ts (`WORKGROUP_NAME`, `DATABASE_NAME`, `SECRET_ARN`, `POLL_INTERVAL_MS`,
 * `MERGE_SQL`, `STREAMING_VIEWS`) and Powertools' `POWERTOOLS_SERVICE_NAME` / `POWERTOOLS_METRICS_NAMESPACE`. It
 * shares the SQL runner's IAM role, so both act as the same database user (the objects' owner), which may create a
 * streaming view found missing after a failed merge (./run.ts). Metrics: lambda/merge/metrics.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type { Context } from 'aws-lambda';
import type { StreamingViewDefinition } from '../archive/streaming-views';
import { parseMergeSql, parseMergeStreamingViews, parseWarehouseFunctionEnv } from '../sql-runner/env';
import { MERGE_METRICS, MERGE_METRICS_NAMESPACE, mergeRunMetrics } from './metrics';
import { MergeResult, restoreMissingStreamingViews, runMerge, StreamingViewRestoreError } from './run';

const env = parseWarehouseFunctionEnv(process.env);
const mergeSql = parseMergeSql(process.env);
const streamingViews = parseMergeStreamingViews(process.env);
const logger = new Logger({ serviceName: 'redstream-merge' });
// A default dimension, not one added per invocation: an invocation that publishes nothing (a failed merge) would
// leave it stored, and the next one's add would warn of a duplicate key.
const metrics = new Metrics({ namespace: MERGE_METRICS_NAMESPACE, defaultDimensions: { workgroup: env.workgroupName } });
const client = new RedshiftDataClient({});

function reportRestored(restored: readonly StreamingViewDefinition[]): void {
  if (restored.length === 0) return;
  for (const v of restored) logger.warn('created a missing streaming view again; the next merge reads it', { view: `${v.schema}.${v.name}` });
  metrics.addMetric(MERGE_METRICS.streamingViewsRestored, MetricUnit.Count, restored.length);
  metrics.publishStoredMetrics();
}

export const handler = async (_event: unknown, context: Context): Promise<MergeResult> => {
  logger.addContext(context);
  const remainingMs = (): number => context.getRemainingTimeInMillis();
  let result: MergeResult;
  try {
    result = await runMerge(client, env, mergeSql, { pollIntervalMs: env.pollIntervalMs, remainingMs, cancelOnDeadline: false });
  } catch (err) {
    // A missing streaming view is created again now, not at the erasure step's next run; the invocation still fails
    // with the merge's error (the merge-errors alarm shows the gap), and the next merge reads the new view.
    let restored: readonly StreamingViewDefinition[];
    try {
      restored = await restoreMissingStreamingViews(client, env, streamingViews, err, { pollIntervalMs: env.pollIntervalMs, remainingMs });
    } catch (restoreErr) {
      // Views created before another's CREATE failed exist again: they count as restored all the same.
      if (restoreErr instanceof StreamingViewRestoreError) reportRestored(restoreErr.restored);
      throw restoreErr;
    }
    reportRestored(restored);
    throw err;
  }
  for (const m of mergeRunMetrics(result.run)) metrics.addMetric(m.name, MetricUnit.Count, m.value);
  metrics.publishStoredMetrics();
  if (result.run.skipped > 0 || result.run.skippedReported > 0) {
    logger.warn('streaming ingestion skipped records; they are in rejects as ingestion_skipped', { ...result.run });
  }
  logger.info('merge finished', { statementId: result.statementId, ...result.run });
  return result;
};
