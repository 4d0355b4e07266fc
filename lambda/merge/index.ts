/**
 * Merge runner, invoked by the EventBridge Scheduler schedule of the WarehouseSql construct every merge interval.
 * Environment: see lambda/sql-runner/env.ts (`WORKGROUP_NAME`, `DATABASE_NAME`, `SECRET_ARN`, `POLL_INTERVAL_MS`,
 * `MERGE_SQL`). It shares the SQL runner's IAM role, so both act as the same database user (the objects' owner).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type { Context } from 'aws-lambda';
import { parseMergeSql, parseWarehouseFunctionEnv } from '../sql-runner/env';
import { MergeResult, runMerge } from './run';

const env = parseWarehouseFunctionEnv(process.env);
const mergeSql = parseMergeSql(process.env);
const logger = new Logger({ serviceName: 'redstream-merge' });
const client = new RedshiftDataClient({});

export const handler = async (_event: unknown, context: Context): Promise<MergeResult> => {
  logger.addContext(context);
  const result = await runMerge(client, env, mergeSql, {
    pollIntervalMs: env.pollIntervalMs,
    remainingMs: () => context.getRemainingTimeInMillis(),
    cancelOnDeadline: false,
  });
  logger.info('merge finished', { statementId: result.statementId });
  return result;
};
