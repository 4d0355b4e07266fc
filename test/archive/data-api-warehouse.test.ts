/**
 * The erasure's Data API adapter: every statement in one session that turns on case-sensitive identifiers first, and
 * the scheduled step's recreation of the streaming views (DROP, then the bootstrap's CREATE). A stubbed Data API: no
 * local Redshift exists.
 */
import { DescribeStatementCommand, ExecuteStatementCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import { DataApiErasureWarehouse } from '../../lambda/archive/data-api-warehouse';
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
