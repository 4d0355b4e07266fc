/**
 * One scheduled merge: runs the merge statements as one Data API batch (one session, one transaction) and waits,
 * so a failing merge fails the invocation (visible as the function's Errors metric) with the database's error text.
 */
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { DataApiOptions, DataApiTarget, runBatch } from '../sql-runner/data-api';

export interface MergeResult {
  readonly statementId: string;
}

export async function runMerge(client: RedshiftDataClient, target: DataApiTarget, sqls: readonly string[], options: DataApiOptions): Promise<MergeResult> {
  const statementId = await runBatch(client, target, 'redstream-merge', sqls, options);
  return { statementId };
}
