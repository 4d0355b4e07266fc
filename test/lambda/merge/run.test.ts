/**
 * The merge runner against a stubbed Redshift Data API: one batch in one session, waited for, failures visible.
 */
import { BatchExecuteStatementCommand, CancelStatementCommand, DescribeStatementCommand, GetStatementResultCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import { MERGE_METRICS, mergeRunMetrics, parseMergeRunRow } from '../../../lambda/merge/metrics';
import { mayBeMissingStreamingView, runMerge } from '../../../lambda/merge/run';
import { parseMergeSql, parseMergeStreamingViews, parseWarehouseFunctionEnv } from '../../../lambda/sql-runner/env';
import { StatementFailedError, StatementTimeoutError } from '../../../lambda/sql-runner/errors';
import { renderLastMergeRunQuery, renderMergeCall, renderStreamingViews } from '../../../lib/sql/render';

const dataApi = mockClient(RedshiftDataClient);
const TARGET = { workgroupName: 'wg', database: 'redstream', secretArn: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:admin-AbCdEf' };
const SQL = [...renderMergeCall({ dialect: 'redshift' }), renderLastMergeRunQuery()];
const COUNTS_ROW = ['120', '100', '15', '5', '2', '3'].map((stringValue) => ({ stringValue }));
const client = new RedshiftDataClient({ region: 'us-east-1' });
const options = { pollIntervalMs: 1, remainingMs: () => 600_000, sleep: async () => undefined, cancelOnDeadline: false };

beforeEach(() => {
  dataApi.reset();
  dataApi.on(BatchExecuteStatementCommand).resolves({ Id: 'batch-1' });
  dataApi.on(GetStatementResultCommand, { Id: 'batch-1:3' }).resolves({ Records: [COUNTS_ROW] });
});

test('runs SET + CALL + the counts query as one batch with the secret, waits, and reads the counts from the last statement', async () => {
  dataApi.on(DescribeStatementCommand).resolvesOnce({ Status: 'STARTED' }).resolves({ Status: 'FINISHED' });

  const result = await runMerge(client, TARGET, SQL, options);

  expect(result).toEqual({ statementId: 'batch-1', run: { newRows: 120, inserted: 100, duplicates: 15, rejected: 5, skipped: 2, skippedReported: 3 } });
  expect(dataApi.commandCalls(BatchExecuteStatementCommand)[0]?.args[0].input).toEqual({
    WorkgroupName: 'wg',
    Database: 'redstream',
    SecretArn: TARGET.secretArn,
    Sqls: [
      'SET enable_case_sensitive_identifier TO true',
      'CALL redstream.merge_events()',
      'SELECT new_rows, inserted, duplicates, rejected, skipped, skipped_reported FROM redstream.merge_runs ORDER BY merged_at DESC LIMIT 1',
    ],
    StatementName: 'redstream-merge',
  });
  expect(dataApi.commandCalls(DescribeStatementCommand).length).toBe(2);
});

test('a failing merge fails the invocation with the sub-statement error text', async () => {
  dataApi.on(DescribeStatementCommand).resolves({
    Status: 'FAILED',
    SubStatements: [{ Id: 'batch-1:1', Status: 'FINISHED' }, { Id: 'batch-1:2', Status: 'FAILED', Error: 'ERROR: merge_events needs SET enable_case_sensitive_identifier TO true' }],
  });

  await expect(runMerge(client, TARGET, SQL, options)).rejects.toThrow(
    new StatementFailedError('redstream-merge', 'FAILED', 'ERROR: merge_events needs SET enable_case_sensitive_identifier TO true'),
  );
});

test('a merge outliving the function is not cancelled (it finishes in Redshift; the next run waits for its lock)', async () => {
  dataApi.on(DescribeStatementCommand).resolves({ Status: 'STARTED' });
  let remaining = 30_000;

  await expect(runMerge(client, TARGET, SQL, { ...options, remainingMs: () => (remaining -= 10_000) })).rejects.toThrow(StatementTimeoutError);
  expect(dataApi.commandCalls(CancelStatementCommand).length).toBe(0);
});

describe('which failures may be a missing streaming view (handler.test.ts: what then runs)', () => {
  const views = renderStreamingViews({ region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-test-events' }] });
  const failed = (detail: string): StatementFailedError => new StatementFailedError('redstream-merge', 'FAILED', detail);

  test.each<[string, boolean, unknown]>([
    ['the view, schema-qualified', true, failed('ERROR: relation "redstream.stream_events" does not exist')],
    ['the view, unqualified', true, failed('ERROR: Relation "stream_events" does not exist')],
    ['a relation dropped while the merge ran (by OID: the catalog check decides)', true, failed('ERROR: could not open relation with OID 123456')],
    ['another relation of the schema', false, failed('ERROR: relation "redstream.merge_state" does not exist')],
    ['a view of another schema', false, failed('ERROR: relation "other.stream_events" does not exist')],
    ['a serialization failure', false, failed('ERROR: 1023 DETAIL: Serializable isolation violation on table')],
    ['a timeout, not a statement failure', false, new StatementTimeoutError('redstream-merge', 'batch-1', false)],
    ['an SDK error naming the view', false, new Error('relation "redstream.stream_events" does not exist')],
  ])('%s → %s', (_name, expected, err) => {
    expect(mayBeMissingStreamingView(err, views)).toBe(expected);
  });

  test('without view definitions (warehouse.mergeRestoresStreamingViews false) nothing is', () => {
    expect(mayBeMissingStreamingView(failed('ERROR: relation "redstream.stream_events" does not exist'), [])).toBe(false);
  });
});

describe('environment', () => {
  test('STREAMING_VIEWS: optional (none restored without it), checked when set', () => {
    const views = renderStreamingViews({ region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-test-events' }] });
    expect(parseMergeStreamingViews({})).toEqual([]);
    expect(parseMergeStreamingViews({ STREAMING_VIEWS: JSON.stringify(views) })).toEqual(views);
    expect(() => parseMergeStreamingViews({ STREAMING_VIEWS: JSON.stringify([{ ...views[0], sql: 'DROP TABLE redstream.events' }]) })).toThrow(
      /environment variable STREAMING_VIEWS .*must start with "CREATE MATERIALIZED VIEW redstream.stream_events"/,
    );
  });

  test.each<[string, Record<string, string>, RegExp]>([
    ['no workgroup', { DATABASE_NAME: 'db' }, /WORKGROUP_NAME is not set/],
    ['no database', { WORKGROUP_NAME: 'wg' }, /DATABASE_NAME is not set/],
    ['a secret that is not an ARN', { WORKGROUP_NAME: 'wg', DATABASE_NAME: 'db', SECRET_ARN: 'admin' }, /SECRET_ARN must be a Secrets Manager secret ARN/],
    ['a poll interval of 0', { WORKGROUP_NAME: 'wg', DATABASE_NAME: 'db', POLL_INTERVAL_MS: '0' }, /POLL_INTERVAL_MS must be a whole number between 10 and 60000/],
  ])('%s fails with the variable name', (_name, env, message) => {
    expect(() => parseWarehouseFunctionEnv(env)).toThrow(message);
  });

  test('defaults: IAM authentication (no secret), 1 s polling', () => {
    expect(parseWarehouseFunctionEnv({ WORKGROUP_NAME: 'wg', DATABASE_NAME: 'db' })).toEqual({ workgroupName: 'wg', database: 'db', secretArn: undefined, pollIntervalMs: 1000 });
  });

  test.each([['not json', 'x'], ['an empty list', '[]'], ['a list with a number', '[1]']])('MERGE_SQL as %s is rejected', (_name, value) => {
    expect(() => parseMergeSql({ MERGE_SQL: value })).toThrow(/MERGE_SQL must be/);
  });
});

describe('metrics', () => {
  test('one count metric per merge_runs column; skipped records under the names the alarm watches', () => {
    const run = parseMergeRunRow([['10', '7', '1', '2', '4', '5']]);

    expect(mergeRunMetrics(run)).toEqual([
      { name: 'MergeNewRows', value: 10 },
      { name: 'MergeInserted', value: 7 },
      { name: 'MergeDuplicates', value: 1 },
      { name: 'MergeRejected', value: 2 },
      { name: MERGE_METRICS.ingestionSkipped, value: 4 },
      { name: MERGE_METRICS.ingestionSkippedReported, value: 5 },
    ]);
    expect([MERGE_METRICS.ingestionSkipped, MERGE_METRICS.ingestionSkippedReported]).toEqual(['IngestionSkippedRows', 'IngestionSkippedRowsReported']);
  });

  test.each<[string, Array<Array<string | null>>]>([
    ['no row', []],
    ['a NULL count', [['1', '1', '0', '0', null, '0']]],
    ['a negative count', [['1', '1', '0', '0', '-1', '0']]],
    ['too few fields', [['1', '1']]],
  ])('%s is an error (the merge committed, its counts are unknown)', (_name, rows) => {
    expect(() => parseMergeRunRow(rows)).toThrow(/merge_runs/);
  });
});
