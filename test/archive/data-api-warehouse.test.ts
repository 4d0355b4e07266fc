/**
 * The erasure's Data API adapter: every statement in one session that turns on case-sensitive identifiers first, and
 * the scheduled step's recreation of the streaming views (DROP, then the bootstrap's CREATE). A stubbed Data API: no
 * local Redshift exists.
 */
import { CancelStatementCommand, DescribeStatementCommand, ExecuteStatementCommand, GetStatementResultCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import { DataApiErasureWarehouse } from '../../lambda/archive/data-api-warehouse';
import { StatementTimeoutError } from '../../lambda/sql-runner/errors';
import { renderStreamingViews } from '../../lib/sql/render';

const dataApi = mockClient(RedshiftDataClient);

beforeEach(() => {
  dataApi.reset();
  let n = 0;
  dataApi.on(ExecuteStatementCommand).callsFake(() => ({ Id: `s${++n}`, SessionId: 'session-1' }));
  dataApi.on(DescribeStatementCommand).resolves({ Status: 'FINISHED', ResultRows: 0 });
});

test('recreates each streaming view from the bootstrap statement, in the session that set case-sensitive identifiers', async () => {
  const views = renderStreamingViews({ region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-prod-events' }, { name: 'Click.Stream', physicalName: 'redstream-prod-Click.Stream' }] });
  const wh = new DataApiErasureWarehouse(new RedshiftDataClient({ region: 'us-east-1' }), 'us-east-1', { workgroupName: 'redstream-prod', database: 'redstream' }, 'redstream', {
    streamingViews: views,
    pollIntervalMs: 1,
  });
  expect(await wh.clearStreamingViews()).toEqual({ recreated: 2, rowsRemoved: undefined });
  const sent = dataApi.commandCalls(ExecuteStatementCommand).map((c) => c.args[0].input);
  expect(sent[0]).toMatchObject({ WorkgroupName: 'redstream-prod', Database: 'redstream', Sql: 'SET enable_case_sensitive_identifier TO true' });
  expect(sent.slice(1).map((i) => [i.SessionId, i.Sql])).toEqual([
    ['session-1', 'DROP MATERIALIZED VIEW IF EXISTS redstream.stream_events'],
    ['session-1', views[0].sql],
    ['session-1', 'DROP MATERIALIZED VIEW IF EXISTS redstream.stream_click_stream'],
    ['session-1', views[1].sql],
  ]);
  expect(views[1].sql).toContain('FROM redstream_kinesis."redstream-prod-Click.Stream"');
});

test('without view definitions (ops rebuild) nothing is recreated', async () => {
  const wh = new DataApiErasureWarehouse(new RedshiftDataClient({ region: 'us-east-1' }), 'us-east-1', { workgroupName: 'w', database: 'd' }, 'redstream');
  expect(await wh.clearStreamingViews()).toEqual({ recreated: 0, rowsRemoved: undefined });
  expect(dataApi.commandCalls(ExecuteStatementCommand)).toHaveLength(0);
});

test('a statement refused because the session closed (a warm container, idle past SessionKeepAliveSeconds) starts a new session once and runs again', async () => {
  let n = 0;
  let refused = 0;
  dataApi.on(ExecuteStatementCommand).callsFake((input: { SessionId?: string }) => {
    if (input.SessionId === 'session-1' && refused++ === 0) {
      throw Object.assign(new Error('Session session-1 is not available: it is closed'), { name: 'ValidationException' });
    }
    return { Id: `s${++n}`, SessionId: n === 1 ? 'session-1' : input.SessionId ?? 'session-2' };
  });
  const wh = new DataApiErasureWarehouse(new RedshiftDataClient({ region: 'us-east-1' }), 'us-east-1', { workgroupName: 'w', database: 'd' }, 'redstream', { pollIntervalMs: 1 });
  expect(await wh.change('DELETE FROM redstream.events WHERE false')).toBe(0);
  const sent = dataApi.commandCalls(ExecuteStatementCommand).map((c) => c.args[0].input);
  expect(sent.map((i) => [i.SessionId, i.Sql])).toEqual([
    [undefined, 'SET enable_case_sensitive_identifier TO true'],
    ['session-1', 'DELETE FROM redstream.events WHERE false'],
    [undefined, 'SET enable_case_sensitive_identifier TO true'],
    ['session-2', 'DELETE FROM redstream.events WHERE false'],
  ]);
});

test('any other refusal is not retried', async () => {
  dataApi.on(ExecuteStatementCommand).callsFake((input: { SessionId?: string }) => {
    if (input.SessionId !== undefined) throw Object.assign(new Error('syntax error'), { name: 'ValidationException' });
    return { Id: 's1', SessionId: 'session-1' };
  });
  const wh = new DataApiErasureWarehouse(new RedshiftDataClient({ region: 'us-east-1' }), 'us-east-1', { workgroupName: 'w', database: 'd' }, 'redstream', { pollIntervalMs: 1 });
  await expect(wh.change('DELETE')).rejects.toThrow('syntax error');
  expect(dataApi.commandCalls(ExecuteStatementCommand)).toHaveLength(2);
});

/**
 * A Data API double that keeps the warehouse's streaming views: DROP removes one, CREATE adds one unless `failCreate`
 * says this attempt fails (FAILED, with the database's error), and a query of SVV_MV_INFO answers the views present.
 */
function viewsDouble(present: Set<string>, failCreate: (view: string, attempt: number) => boolean): string[] {
  const sent: string[] = [];
  const statements = new Map<string, { sql: string; error?: string }>();
  const creates = new Map<string, number>();
  let n = 0;
  dataApi.on(ExecuteStatementCommand).callsFake((input: { Sql: string }) => {
    const id = `s${++n}`;
    sent.push(input.Sql);
    const drop = /^DROP MATERIALIZED VIEW IF EXISTS (\S+)$/.exec(input.Sql);
    const create = /^CREATE MATERIALIZED VIEW (\S+) /.exec(input.Sql);
    let error: string | undefined;
    if (drop) present.delete(drop[1]);
    if (create) {
      const attempt = (creates.get(create[1]) ?? 0) + 1;
      creates.set(create[1], attempt);
      if (failCreate(create[1], attempt)) error = 'ERROR: could not complete because of conflict with concurrent transaction';
      else present.add(create[1]);
    }
    statements.set(id, { sql: input.Sql, error });
    return { Id: id, SessionId: 'session-1' };
  });
  dataApi.on(DescribeStatementCommand).callsFake((input: { Id: string }) => {
    const s = statements.get(input.Id)!;
    return s.error ? { Status: 'FAILED', Error: s.error } : { Status: 'FINISHED', ResultRows: 0 };
  });
  dataApi.on(GetStatementResultCommand).callsFake((input: { Id: string }) => {
    const s = statements.get(input.Id)!;
    if (!s.sql.includes('svv_mv_info')) return { ColumnMetadata: [], Records: [] };
    return {
      ColumnMetadata: [{ name: 'schema_name' }, { name: 'name' }],
      Records: [...present].map((v) => v.split('.').map((x) => ({ stringValue: x }))),
    };
  });
  return sent;
}

const twoViews = (): ReturnType<typeof renderStreamingViews> =>
  renderStreamingViews({ region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-prod-events' }, { name: 'clicks', physicalName: 'redstream-prod-clicks' }] });

test('a CREATE that fails right after its DROP is retried after a short wait: the view ends up created', async () => {
  const present = new Set(['redstream.stream_events', 'redstream.stream_clicks']);
  const sent = viewsDouble(present, (view, attempt) => view === 'redstream.stream_events' && attempt === 1);
  const waits: number[] = [];
  const wh = new DataApiErasureWarehouse(new RedshiftDataClient({ region: 'us-east-1' }), 'us-east-1', { workgroupName: 'w', database: 'd' }, 'redstream', {
    streamingViews: twoViews(),
    pollIntervalMs: 1,
    sleep: async (ms) => void waits.push(ms),
  });
  expect(await wh.clearStreamingViews()).toEqual({ recreated: 2, rowsRemoved: undefined });
  expect(present).toEqual(new Set(['redstream.stream_events', 'redstream.stream_clicks']));
  expect(waits).toEqual([1_000]);
  expect(sent.slice(1).map((q) => (q.startsWith('DROP') ? q : q.split(' ').slice(0, 4).join(' ')))).toEqual([
    'DROP MATERIALIZED VIEW IF EXISTS redstream.stream_events',
    'CREATE MATERIALIZED VIEW redstream.stream_events',
    // Before the retry: did the failed CREATE run after all?
    'SELECT TRIM(schema_name) AS schema_name,',
    'CREATE MATERIALIZED VIEW redstream.stream_events',
    'DROP MATERIALIZED VIEW IF EXISTS redstream.stream_clicks',
    'CREATE MATERIALIZED VIEW redstream.stream_clicks',
  ]);
});

test('a CREATE that keeps failing: the error names the missing view and says the next failing merge and the next run create it', async () => {
  const present = new Set(['redstream.stream_events', 'redstream.stream_clicks']);
  const sent = viewsDouble(present, (view) => view === 'redstream.stream_events');
  const wh = new DataApiErasureWarehouse(new RedshiftDataClient({ region: 'us-east-1' }), 'us-east-1', { workgroupName: 'w', database: 'd' }, 'redstream', {
    streamingViews: twoViews(),
    pollIntervalMs: 1,
    createRetryDelaysMs: [1, 2],
    sleep: async () => undefined,
  });
  const err = await wh.clearStreamingViews().then(() => undefined, (e: unknown) => e as Error);
  expect(err?.message).toMatch(/^streaming view redstream\.stream_events is missing: its CREATE failed 3 time\(s\) \(last: .*conflict with concurrent transaction\)/);
  expect(err?.message).toContain("the next merge that fails on it creates it (warehouse.mergeRestoresStreamingViews), and the next run of the erasure's scheduled step creates it first");
  expect(sent.filter((q) => q.startsWith('CREATE MATERIALIZED VIEW redstream.stream_events '))).toHaveLength(3);
  expect(present.has('redstream.stream_events')).toBe(false);

  // The next run: the view is created before anything else.
  dataApi.reset();
  viewsDouble(present, () => false);
  expect(await wh.restoreStreamingViews()).toEqual(['redstream.stream_events']);
  expect(present).toEqual(new Set(['redstream.stream_events', 'redstream.stream_clicks']));
});

test('restoreStreamingViews creates only the configured views SVV_MV_INFO does not list, from the bootstrap statement', async () => {
  const present = new Set(['redstream.stream_clicks']);
  const sent = viewsDouble(present, () => false);
  const views = twoViews();
  const wh = new DataApiErasureWarehouse(new RedshiftDataClient({ region: 'us-east-1' }), 'us-east-1', { workgroupName: 'w', database: 'd' }, 'redstream', { streamingViews: views, pollIntervalMs: 1 });
  expect(await wh.restoreStreamingViews()).toEqual(['redstream.stream_events']);
  expect(sent.slice(1)).toEqual([
    "SELECT TRIM(schema_name) AS schema_name, TRIM(name) AS name FROM svv_mv_info WHERE TRIM(schema_name) IN ('redstream') AND TRIM(name) IN ('stream_events', 'stream_clicks')",
    views[0].sql,
  ]);
  expect(await wh.restoreStreamingViews()).toEqual([]);
});

test('statement waits see the caller\'s deadline: a statement still running when it runs low is cancelled and the call fails', async () => {
  let describes = 0;
  // Running at the first look, finished at the next: without the deadline the call would succeed.
  dataApi.on(DescribeStatementCommand).callsFake(() => (++describes === 1 ? { Status: 'STARTED' } : { Status: 'FINISHED', ResultRows: 0 }));
  dataApi.on(CancelStatementCommand).resolves({ Status: true });
  const wh = new DataApiErasureWarehouse(new RedshiftDataClient({ region: 'us-east-1' }), 'us-east-1', { workgroupName: 'w', database: 'd' }, 'redstream', {
    pollIntervalMs: 1,
    remainingMs: () => 4_000,
  });
  await expect(wh.change('DELETE FROM redstream.events WHERE false')).rejects.toBeInstanceOf(StatementTimeoutError);
  expect(dataApi.commandCalls(CancelStatementCommand).map((c) => c.args[0].input.Id)).toEqual(['s1']);
});
