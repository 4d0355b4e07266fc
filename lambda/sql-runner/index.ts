/**
 * Custom resource handler (provider framework `onEvent`) that applies the warehouse SQL through the Redshift Data
 * API. Properties: `Statements` (rendered by lib/sql/render.ts, see {@link StatementProperty}). A failing
 * statement fails the deployment with the database's error text; Delete keeps every object and its data.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type { Context } from 'aws-lambda';
import { handleSqlRunnerEvent, SESSION_SETUP, SqlRunnerEvent, SqlRunnerResponse } from './apply';
import { DataApiSession } from './data-api';
import { parseWarehouseFunctionEnv } from './env';
import { truncateReason } from './plan';

export type { StatementProperty } from './plan';

const env = parseWarehouseFunctionEnv(process.env);
const logger = new Logger({ serviceName: 'redstream-sql-runner' });
const client = new RedshiftDataClient({});

export const handler = async (event: SqlRunnerEvent, context: Context): Promise<SqlRunnerResponse> => {
  logger.addContext(context);
  const session = new DataApiSession(client, env, {
    pollIntervalMs: env.pollIntervalMs,
    remainingMs: () => context.getRemainingTimeInMillis(),
    sessionSetup: SESSION_SETUP,
  });
  try {
    return await handleSqlRunnerEvent(event, session, env, { info: (message, details) => logger.info(message, { ...details }) });
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    logger.error('warehouse SQL failed', { error: message });
    // The provider framework reports this message to CloudFormation as the failure reason.
    throw new Error(truncateReason(message));
  }
};
