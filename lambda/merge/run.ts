/**
 * One scheduled merge: runs the merge statements as one Data API batch (one session, one transaction) and waits,
 * so a failing merge fails the invocation (visible as the function's Errors metric) with the database's error text;
 * then reads the run's counts from the batch's last statement (the latest merge_runs row, seen in the same
 * transaction).
 */
import { GetStatementResultCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { DataApiOptions, DataApiTarget, fieldText, runBatch } from '../sql-runner/data-api';
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
