/**
 * Merge runner, invoked by the EventBridge Scheduler schedule of the WarehouseSql construct every merge interval.
 * Environment: see lambda/sql-runner/env.ts (`WORKGROUP_NAME`, `DATABASE_NAME`, `SECRET_ARN`, `POLL_INTERVAL_MS`,
 * `MERGE_SQL`) and Powertools' `POWERTOOLS_SERVICE_NAME` / `POWERTOOLS_METRICS_NAMESPACE`. It shares the SQL runner's
 * IAM role, so both act as the same database user (the objects' owner). Metrics: lambda/merge/metrics.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type { Context } from 'aws-lambda';
import { parseMergeSql, parseWarehouseFunctionEnv } from '../sql-runner/env';
import { MERGE_METRICS_NAMESPACE, mergeRunMetrics } from './metrics';
import { MergeResult, runMerge } from './run';

const env = parseWarehouseFunctionEnv(process.env);
const mergeSql = parseMergeSql(process.env);
const logger = new Logger({ serviceName: 'redstream-merge' });
const metrics = new Metrics({ namespace: MERGE_METRICS_NAMESPACE });
const client = new RedshiftDataClient({});

export const handler = async (_event: unknown, context: Context): Promise<MergeResult> => {
  logger.addContext(context);
  const result = await runMerge(client, env, mergeSql, {
    pollIntervalMs: env.pollIntervalMs,
    remainingMs: () => context.getRemainingTimeInMillis(),
    cancelOnDeadline: false,
  });
  metrics.addDimensions({ workgroup: env.workgroupName });
  for (const m of mergeRunMetrics(result.run)) metrics.addMetric(m.name, MetricUnit.Count, m.value);
  metrics.publishStoredMetrics();
  if (result.run.skipped > 0 || result.run.skippedReported > 0) {
    logger.warn('streaming ingestion skipped records; they are in rejects as ingestion_skipped', { ...result.run });
  }
  logger.info('merge finished', { statementId: result.statementId, ...result.run });
  return result;
};
