/**
 * The merge runner as deployed (lambda/merge/index.ts): a merge that fails because a streaming view is missing creates
 * the missing view again with the bootstrap's statement, logs it, publishes StreamingViewsRestored and still fails
 * with the merge's error; any other failure runs nothing more. A stubbed Data API: no local Redshift exists.
 */
import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type * as MergeModule from '../../../lambda/merge/index';
import { renderLastMergeRunQuery, renderMergeCall, renderStreamingViews } from '../../../lib/sql/render';

const dataApi = mockClient(RedshiftDataClient);
const savedEnv = { ...process.env };
const VIEWS = renderStreamingViews({
  region: 'us-east-1',
  streams: [
    { name: 'events', physicalName: 'redstream-test-events' },
    { name: 'clicks', physicalName: 'redstream-test-clicks' },
  ],
});
const MISSING = 'ERROR: relation "redstream.stream_events" does not exist';
let handler: typeof MergeModule.handler;
let stdout: string[] = [];

beforeAll(() => {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    WORKGROUP_NAME: 'redstream-test',
    DATABASE_NAME: 'redstream',
    SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:admin-AbCdEf',
    POLL_INTERVAL_MS: '10',
    MERGE_SQL: JSON.stringify([...renderMergeCall({ dialect: 'redshift' }), renderLastMergeRunQuery()]),
    STREAMING_VIEWS: JSON.stringify(VIEWS),
    POWERTOOLS_SERVICE_NAME: 'redstream-merge',
    POWERTOOLS_METRICS_NAMESPACE: 'Redstream',
  });
  // After the environment: the module parses it when loaded. The same module registry, so the mocked client class.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  handler = (require('../../../lambda/merge/index') as typeof MergeModule).handler;
});
afterAll(() => {
  process.env = savedEnv;
});

beforeEach(() => {
  stdout = [];
  // EMF documents and INFO logs go to stdout, WARN logs to stderr (console.warn): both are read as one.
  for (const stream of [process.stdout, process.stderr]) {
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(...String(chunk).split('\n').filter((l) => l.length > 0));
      return true;
    });
  }
});
afterEach(() => jest.restoreAllMocks());

const context = (remainingMs = 600_000): Context =>
  ({ getRemainingTimeInMillis: () => remainingMs, functionName: 'redstream-test-merge', awsRequestId: 'r1' }) as unknown as Context;

/**
 * A merge batch that fails with `mergeError`, and a warehouse holding the views in `present`: SVV_MV_INFO lists them,
 * a CREATE adds its view unless `createFails` (then it fails with that text). Returns the statements sent one by one.
 */
function warehouse(mergeError: string, present: Set<string>, createFails?: string | ((view: string) => string | undefined)): Array<{ sql: string; sessionId?: string }> {
  dataApi.reset();
  const sent: Array<{ sql: string; sessionId?: string }> = [];
  const errors = new Map<string, string>();
  dataApi.on(BatchExecuteStatementCommand).resolves({ Id: 'batch-1' });
  dataApi.on(ExecuteStatementCommand).callsFake((input: { Sql: string; SessionId?: string }) => {
    const id = `s${sent.length + 1}`;
    sent.push({ sql: input.Sql, sessionId: input.SessionId });
    const created = /^CREATE MATERIALIZED VIEW (\S+) /.exec(input.Sql)?.[1];
    const fails = created && (typeof createFails === 'function' ? createFails(created) : createFails);
    if (created && fails) errors.set(id, fails);
    else if (created) present.add(created);
    return { Id: id, SessionId: 'session-1' };
  });
  dataApi.on(DescribeStatementCommand).callsFake((input: { Id: string }) => {
    if (input.Id === 'batch-1') {
      return { Status: 'FAILED', SubStatements: [{ Id: 'batch-1:1', Status: 'FINISHED' }, { Id: 'batch-1:2', Status: 'FAILED', Error: mergeError }] };
    }
    const error = errors.get(input.Id);
    return error ? { Status: 'FAILED', Error: error } : { Status: 'FINISHED' };
  });
  dataApi.on(GetStatementResultCommand).callsFake((input: { Id: string }) => {
    const sql = sent[Number(input.Id.slice(1)) - 1]?.sql ?? '';
    if (!sql.includes('svv_mv_info')) return { Records: [] };
    return { Records: [...present].map((v) => v.split('.').map((stringValue) => ({ stringValue }))) };
  });
  return sent;
}

function emf(metric: string): Array<Record<string, unknown>> {
  return stdout.filter((l) => l.includes('"_aws"') && l.includes(`"${metric}"`)).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('a merge failing on a missing streaming view: the view is created with the bootstrap statement, the metric published, the invocation still fails', async () => {
  const present = new Set(['redstream.stream_clicks']);
  const sent = warehouse(MISSING, present);

  await expect(handler({}, context())).rejects.toThrow(`statement redstream-merge FAILED: ${MISSING}`);

  expect(present).toEqual(new Set(['redstream.stream_clicks', 'redstream.stream_events']));
  expect(sent.map((s) => s.sql)).toEqual([
    // Case-sensitive identifiers first, in the same session: the setting the view's AUTO REFRESH runs with.
    'SET enable_case_sensitive_identifier TO true',
    "SELECT TRIM(schema_name) AS schema_name, TRIM(name) AS name FROM svv_mv_info WHERE TRIM(schema_name) IN ('redstream') AND TRIM(name) IN ('stream_events', 'stream_clicks')",
    VIEWS[0].sql,
  ]);
  expect(sent.slice(1).every((s) => s.sessionId === 'session-1')).toBe(true);
  expect(dataApi.commandCalls(ExecuteStatementCommand)[0]?.args[0].input).toMatchObject({ WorkgroupName: 'redstream-test', Database: 'redstream', SecretArn: process.env.SECRET_ARN });
  const [metric] = emf('StreamingViewsRestored');
  expect(metric).toMatchObject({ StreamingViewsRestored: 1, service: 'redstream-merge', workgroup: 'redstream-test' });
  expect((metric._aws as { CloudWatchMetrics: Array<{ Namespace: string }> }).CloudWatchMetrics[0].Namespace).toBe('Redstream');
  const logged = stdout.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.view !== undefined);
  expect(logged).toEqual([expect.objectContaining({ level: 'WARN', view: 'redstream.stream_events' })]);
  expect(emf('MergeInserted')).toEqual([]);
});

test.each([
  ['a failure that is not a missing relation', 'ERROR: could not serialize access due to concurrent update'],
  ['a missing relation that is not a streaming view', 'ERROR: relation "redstream.merge_state" does not exist'],
])('%s: no catalog query, no CREATE, the merge error as is', async (_name, error) => {
  const sent = warehouse(error, new Set());

  await expect(handler({}, context())).rejects.toThrow(`statement redstream-merge FAILED: ${error}`);

  expect(sent).toEqual([]);
  expect(emf('StreamingViewsRestored')).toEqual([]);
});

test('a missing streaming view whose CREATE fails: the error says both, and nothing is counted as restored', async () => {
  const present = new Set(['redstream.stream_clicks']);
  // No time left for a retry (the first needs its 1 s wait and 10 s): one CREATE.
  const sent = warehouse(MISSING, present, 'ERROR: permission denied for schema redstream');

  const err = await handler({}, context(10_500)).then(
    () => undefined,
    (e: unknown) => e as Error,
  );

  expect(err?.name).toBe('StreamingViewRestoreError');
  expect(err?.message).toContain(`statement redstream-merge FAILED: ${MISSING}`);
  expect(err?.message).toMatch(/creating the missing streaming views again failed too: streaming view redstream\.stream_events is missing: its CREATE failed 1 time\(s\) \(last: .*permission denied for schema redstream\)/);
  expect(sent.filter((s) => s.sql.startsWith('CREATE'))).toHaveLength(1);
  expect(present.has('redstream.stream_events')).toBe(false);
  expect(emf('StreamingViewsRestored')).toEqual([]);
});

test('two missing views, the second one\'s CREATE failing: the first is created, logged and counted all the same, and the invocation fails with both errors', async () => {
  const present = new Set<string>();
  const sent = warehouse(MISSING, present, (view) => (view === 'redstream.stream_clicks' ? 'ERROR: permission denied for schema redstream' : undefined));

  const err = await handler({}, context(10_500)).then(
    () => undefined,
    (e: unknown) => e as Error,
  );

  expect(err?.name).toBe('StreamingViewRestoreError');
  expect(err?.message).toMatch(/streaming view redstream\.stream_clicks is missing: its CREATE failed 1 time\(s\).*\(created again before it: redstream\.stream_events\)$/);
  expect(sent.filter((s) => s.sql.startsWith('CREATE'))).toHaveLength(2);
  expect(present).toEqual(new Set(['redstream.stream_events']));
  expect(emf('StreamingViewsRestored')).toEqual([expect.objectContaining({ StreamingViewsRestored: 1 })]);
  const logged = stdout.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.view !== undefined);
  expect(logged).toEqual([expect.objectContaining({ level: 'WARN', view: 'redstream.stream_events' })]);
});
