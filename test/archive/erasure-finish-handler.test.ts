/**
 * The erasure's scheduled step as deployed (lambda/erasure-finish/index.ts): its statement waits see the function's
 * deadline (the context's remaining time), so a statement still running near it is cancelled and the run fails,
 * instead of waiting past the timeout. A stubbed Data API: no local Redshift exists.
 */
import { CancelStatementCommand, DescribeStatementCommand, ExecuteStatementCommand, GetStatementResultCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type * as FinishModule from '../../lambda/erasure-finish/index';
import { StatementTimeoutError } from '../../lambda/sql-runner/errors';
import { renderStreamingViews } from '../../lib/sql/render';

const dataApi = mockClient(RedshiftDataClient);
const savedEnv = { ...process.env };
let handler: typeof FinishModule.handler;

beforeAll(() => {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    WORKGROUP_NAME: 'redstream-test',
    DATABASE_NAME: 'redstream',
    POLL_INTERVAL_MS: '10',
    SCHEMA: 'redstream',
    SUBJECT_PATHS: 'userId,anonymousId',
    STREAMS: JSON.stringify([{ name: 'redstream-test-events', retentionHours: 24 }]),
    STREAMING_VIEWS: JSON.stringify(renderStreamingViews({ region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-test-events' }] })),
    ARCHIVE_BUCKET: 'redstream-test-archive',
    ARCHIVE_BUCKET_PARAMETER: '/redstream/test/archive-bucket-name',
    ARCHIVE_PREFIXES: JSON.stringify(['events/', 'errors/']),
    ARCHIVE_DELAY_MS: '1200000',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  // After the environment: the module parses it when loaded. The same module registry, so the mocked client class.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  handler = (require('../../lambda/erasure-finish/index') as typeof FinishModule).handler;
});
afterAll(() => {
  process.env = savedEnv;
});

const context = (remainingMs: number): Context => ({ getRemainingTimeInMillis: () => remainingMs, functionName: 'redstream-test-erasure-finish', awsRequestId: 'r1' }) as unknown as Context;

test("a statement still running near the function's deadline is cancelled and the run fails", async () => {
  const sql = new Map<string, string>();
  dataApi.on(ExecuteStatementCommand).callsFake((input: { Sql: string }) => {
    const id = `s${sql.size + 1}`;
    sql.set(id, input.Sql);
    return { Id: id, SessionId: 'session-1' };
  });
  let describes = 0;
  // Running at the first look, finished at every later one: waiting without the deadline, the run would go on (its
  // view exists, no erasure is due) and succeed.
  dataApi.on(DescribeStatementCommand).callsFake(() => (++describes === 1 ? { Status: 'STARTED' } : { Status: 'FINISHED', ResultRows: 0 }));
  dataApi.on(GetStatementResultCommand).callsFake((input: { Id: string }) =>
    sql.get(input.Id)?.includes('svv_mv_info')
      ? { ColumnMetadata: [{ name: 'schema_name' }, { name: 'name' }], Records: [[{ stringValue: 'redstream' }, { stringValue: 'stream_events' }]] }
      : { ColumnMetadata: [], Records: [] },
  );
  dataApi.on(CancelStatementCommand).resolves({ Status: true });

  // 4 s left: under waitForStatement's 5 s reserve.
  await expect(handler({}, context(4_000))).rejects.toBeInstanceOf(StatementTimeoutError);
  expect(dataApi.commandCalls(CancelStatementCommand).map((c) => c.args[0].input.Id)).toEqual(['s1']);
  // With time left, the same run succeeds.
  describes = 0;
  expect(await handler({}, context(600_000))).toMatchObject({ streamingViewsRestored: 0, finished: [], waiting: [], complete: true });
});
