/**
 * The SQL runner against a stubbed Redshift Data API (there is no local Redshift): success, a failing statement,
 * a re-run on update, delete, and the asynchronous wait.
 */
import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  ExecuteStatementCommandInput,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import type { Context } from 'aws-lambda';
import * as redshiftData from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import { handleSqlRunnerEvent, SESSION_SETUP, SqlRunnerEvent } from '../../../lambda/sql-runner/apply';
import { DataApiSession } from '../../../lambda/sql-runner/data-api';
import { StatementFailedError, StatementTimeoutError } from '../../../lambda/sql-runner/errors';
import { definitionHash, planMaterializedView, StatementProperty, truncateReason } from '../../../lambda/sql-runner/plan';
import { renderSql } from '../../../lib/sql/render';

const dataApi = mockClient(RedshiftDataClient);
const TARGET = { workgroupName: 'redstream-dev', database: 'redstream', secretArn: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:admin-AbCdEf' };
const MV_SQL = 'CREATE MATERIALIZED VIEW redstream.stream_events AUTO REFRESH YES AS SELECT 1';

interface FakeDb {
  /** SQL of every ExecuteStatement, in order. */
  executed: string[];
  inputs: ExecuteStatementCommandInput[];
}

/**
 * A fake Data API: every statement finishes after `pollsBeforeDone` DescribeStatement calls, a statement matching
 * `fail` fails with `failText`, and queries answer from `mvExists` / `recordedHash`.
 */
type DataApiMock = typeof dataApi;

function fakeDataApi(
  o: { mvExists?: boolean; recordedHash?: string; fail?: RegExp; failOnce?: RegExp; failText?: string; pollsBeforeDone?: number; neverFinish?: boolean } = {},
  api: DataApiMock = dataApi,
  sdk: typeof redshiftData = redshiftData,
): FakeDb {
  const db: FakeDb = { executed: [], inputs: [] };
  const byId = new Map<string, { sql: string; polls: number }>();
  const failedOnce = new Set<string>();
  api.reset();
  api.on(sdk.ExecuteStatementCommand).callsFake((input: ExecuteStatementCommandInput) => {
    const id = `stmt-${db.executed.length + 1}`;
    db.executed.push(input.Sql ?? '');
    db.inputs.push(input);
    byId.set(id, { sql: input.Sql ?? '', polls: 0 });
    return { Id: id, SessionId: input.SessionId ?? 'session-1' };
  });
  api.on(sdk.DescribeStatementCommand).callsFake(({ Id }: { Id: string }) => {
    const s = byId.get(Id);
    if (!s) throw new Error(`unknown statement ${Id}`);
    s.polls += 1;
    if (o.neverFinish || s.polls <= (o.pollsBeforeDone ?? 0)) return { Id, Status: 'STARTED' };
    if (o.fail?.test(s.sql)) return { Id, Status: 'FAILED', Error: o.failText ?? 'ERROR: failed' };
    if (o.failOnce?.test(s.sql) && !failedOnce.has(s.sql)) {
      failedOnce.add(s.sql);
      return { Id, Status: 'FAILED', Error: o.failText ?? 'ERROR: failed' };
    }
    return { Id, Status: 'FINISHED' };
  });
  api.on(sdk.GetStatementResultCommand).callsFake(({ Id }: { Id: string }) => {
    const sql = byId.get(Id)?.sql ?? '';
    if (sql.includes('svv_mv_info')) return { Records: [[{ longValue: o.mvExists ? 1 : 0 }]] };
    if (sql.includes('deployed_objects')) return { Records: o.recordedHash ? [[{ stringValue: o.recordedHash }]] : [] };
    return { Records: [] };
  });
  api.on(sdk.CancelStatementCommand).resolves({ Status: true });
  return db;
}

const STATEMENTS: StatementProperty[] = [
  { Id: '001_schema.sql', Sql: 'CREATE SCHEMA IF NOT EXISTS redstream;', Kind: 'statement' },
  { Id: '020_stream_mv.redshift.sql:events', Sql: MV_SQL, Kind: 'materialized-view', SchemaName: 'redstream', ObjectName: 'stream_events' },
  { Id: '030_events.sql', Sql: 'CREATE TABLE IF NOT EXISTS redstream.events (a INT);', Kind: 'statement' },
];

function event(requestType: SqlRunnerEvent['RequestType'], statements: unknown = STATEMENTS, physicalId?: string): SqlRunnerEvent {
  return { RequestType: requestType, PhysicalResourceId: physicalId, ResourceProperties: { ServiceToken: 'arn:token', Statements: statements } };
}

function session(o: { remainingMs?: () => number; sleep?: (ms: number) => Promise<void> } = {}): DataApiSession {
  return new DataApiSession(new RedshiftDataClient({ region: 'us-east-1' }), TARGET, {
    pollIntervalMs: 1,
    remainingMs: o.remainingMs ?? (() => 600_000),
    sleep: o.sleep ?? (async () => undefined),
    sessionSetup: SESSION_SETUP,
  });
}

const quiet = { info: () => undefined };

describe('Create', () => {
  test('applies the statements in order in one session, creates the missing MV and records its hash', async () => {
    const db = fakeDataApi({ mvExists: false });

    const out = await handleSqlRunnerEvent(event('Create'), session(), TARGET, quiet);

    expect(db.executed.map((s) => s.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      'SET enable_case_sensitive_identifier TO',
      'CREATE SCHEMA IF',
      'SELECT COUNT(*) FROM',
      'SELECT definition_hash FROM',
      'CREATE MATERIALIZED VIEW',
      'DELETE FROM redstream.deployed_objects',
      'INSERT INTO redstream.deployed_objects',
      'CREATE TABLE IF',
    ]);
    expect(db.inputs[6]?.Parameters).toEqual([{ name: 'name', value: 'stream_events' }, { name: 'hash', value: definitionHash(MV_SQL) }]);
    expect(out).toEqual({
      PhysicalResourceId: 'redstream-warehouse-sql:redstream-dev/redstream',
      Data: { StatementsApplied: '3', MaterializedViews: 'stream_events:create' },
    });
  });

  test('opens the session with the target and the secret, then reuses it; credentials never appear in SQL', async () => {
    const db = fakeDataApi();

    await handleSqlRunnerEvent(event('Create'), session(), TARGET, quiet);

    expect(db.inputs[0]).toMatchObject({ WorkgroupName: 'redstream-dev', Database: 'redstream', SecretArn: TARGET.secretArn, SessionKeepAliveSeconds: 900 });
    for (const input of db.inputs.slice(1)) {
      expect(input.SessionId).toBe('session-1');
      expect(input.WorkgroupName).toBeUndefined();
    }
  });

  test('waits while a statement is running (the Data API is asynchronous)', async () => {
    fakeDataApi({ pollsBeforeDone: 3 });
    const sleeps: number[] = [];

    await handleSqlRunnerEvent(event('Create'), session({ sleep: async (ms) => void sleeps.push(ms) }), TARGET, quiet);

    const describes = dataApi.commandCalls(DescribeStatementCommand).length;
    expect(sleeps.length).toBe(describes - dataApi.commandCalls(ExecuteStatementCommand).length);
    expect(sleeps.length).toBeGreaterThan(0);
  });

  test('the real rendered Redshift statements are accepted and applied in their order', async () => {
    const db = fakeDataApi();
    const rendered = renderSql(
      { region: 'us-east-1', streamingRoleArn: 'arn:aws:iam::111111111111:role/streaming', streams: [{ name: 'events', physicalName: 'redstream-dev-events' }] },
      { dialect: 'redshift' },
    );
    const props: StatementProperty[] = rendered.map((s) => ({ Id: s.id, Sql: s.sql, Kind: s.kind, SchemaName: s.schemaName, ObjectName: s.objectName }));

    await handleSqlRunnerEvent(event('Create', props), session(), TARGET, quiet);

    const applied = db.executed.filter((sql) => rendered.some((r) => r.sql === sql));
    expect(applied).toEqual(rendered.map((r) => r.sql));
  });
});

describe('a failing statement', () => {
  test('stops the run and carries the database error text to CloudFormation', async () => {
    const db = fakeDataApi({ fail: /CREATE SCHEMA/, failText: 'ERROR: permission denied for database redstream' });

    const run = handleSqlRunnerEvent(event('Create'), session(), TARGET, quiet);

    await expect(run).rejects.toThrow(new StatementFailedError('001_schema.sql', 'FAILED', 'ERROR: permission denied for database redstream'));
    expect(db.executed.some((s) => s.includes('CREATE TABLE'))).toBe(false);
  });

  test('a statement that outlives the function is cancelled and fails the deployment', async () => {
    fakeDataApi({ neverFinish: true });
    let remaining = 60_000;

    const run = handleSqlRunnerEvent(event('Create'), session({ remainingMs: () => (remaining -= 20_000) }), TARGET, quiet);

    await expect(run).rejects.toThrow(StatementTimeoutError);
    expect(dataApi.commandCalls(CancelStatementCommand).length).toBe(1);
  });

  test.each([
    ['no statements', []],
    ['an entry without SQL', [{ Id: 'x', Kind: 'statement' }]],
    ['an unknown kind', [{ Id: 'x', Sql: 'SELECT 1', Kind: 'view' }]],
    ['an unreplaced placeholder', [{ Id: 'x', Sql: 'CREATE SCHEMA {{schema}}', Kind: 'statement' }]],
    ['a view without its name', [{ Id: 'x', Sql: MV_SQL, Kind: 'materialized-view' }]],
  ])('invalid properties (%s) fail before any SQL runs', async (_name, statements) => {
    const db = fakeDataApi();

    await expect(handleSqlRunnerEvent(event('Create', statements), session(), TARGET, quiet)).rejects.toThrow(/invalid custom resource properties/);
    expect(db.executed).toEqual([]);
  });
});

describe('Update (re-run)', () => {
  test('re-runs the idempotent statements and skips an MV whose definition did not change', async () => {
    const db = fakeDataApi({ mvExists: true, recordedHash: definitionHash(MV_SQL) });

    const out = await handleSqlRunnerEvent(event('Update', STATEMENTS, 'redstream-warehouse-sql:redstream-dev/redstream'), session(), TARGET, quiet);

    expect(db.executed.some((s) => s.startsWith('CREATE MATERIALIZED VIEW'))).toBe(false);
    expect(db.executed.some((s) => s.startsWith('DROP'))).toBe(false);
    expect(db.executed.filter((s) => s.startsWith('CREATE SCHEMA') || s.startsWith('CREATE TABLE')).length).toBe(2);
    expect(out.PhysicalResourceId).toBe('redstream-warehouse-sql:redstream-dev/redstream');
    expect(out.Data?.MaterializedViews).toBe('stream_events:skip');
  });

  test('drops and recreates an MV whose definition changed', async () => {
    const db = fakeDataApi({ mvExists: true, recordedHash: 'an-older-definition' });

    const out = await handleSqlRunnerEvent(event('Update'), session(), TARGET, quiet);

    const drop = db.executed.indexOf('DROP MATERIALIZED VIEW redstream.stream_events');
    expect(drop).toBeGreaterThan(0);
    expect(db.executed[drop + 1]).toBe(MV_SQL);
    expect(out.Data?.MaterializedViews).toBe('stream_events:recreate');
  });

  test('a view the merge restored between the DROP and the CREATE (from the old definition) is dropped and created again, not a failed update', async () => {
    const db = fakeDataApi({ mvExists: true, recordedHash: 'an-older-definition', failOnce: /^CREATE MATERIALIZED VIEW/, failText: 'ERROR: relation "stream_events" already exists' });

    const out = await handleSqlRunnerEvent(event('Update'), session(), TARGET, quiet);

    const creates = db.executed.filter((s) => s === MV_SQL);
    expect(creates).toHaveLength(2);
    expect(db.executed[db.executed.lastIndexOf(MV_SQL) - 1]).toBe('DROP MATERIALIZED VIEW IF EXISTS redstream.stream_events');
    expect(out.Data?.MaterializedViews).toBe('stream_events:recreate');
  });

  test('any other failure of the CREATE still fails the update', async () => {
    fakeDataApi({ mvExists: true, recordedHash: 'an-older-definition', failOnce: /^CREATE MATERIALIZED VIEW/, failText: 'ERROR: permission denied for schema redstream' });
    await expect(handleSqlRunnerEvent(event('Update'), session(), TARGET, quiet)).rejects.toThrow(/permission denied/);
  });
});

describe('Delete', () => {
  test('keeps every object and its data: no SQL runs, the physical id is unchanged', async () => {
    const db = fakeDataApi();

    const out = await handleSqlRunnerEvent(event('Delete', STATEMENTS, 'redstream-warehouse-sql:wg/db'), session(), TARGET, quiet);

    expect(out).toEqual({ PhysicalResourceId: 'redstream-warehouse-sql:wg/db' });
    expect(db.executed).toEqual([]);
    expect(dataApi.commandCalls(BatchExecuteStatementCommand).length).toBe(0);
  });
});

describe('the Lambda entry point', () => {
  const context = { getRemainingTimeInMillis: () => 600_000 } as unknown as Context;

  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  /** Loads the entry point in a fresh module registry (it parses env at load time), with its own Data API stub. */
  async function loadHandler(env: Record<string, string>, fake: Parameters<typeof fakeDataApi>[0] = {}): Promise<(e: SqlRunnerEvent, c: Context) => Promise<unknown>> {
    Object.assign(process.env, env);
    let mod: { handler: (e: SqlRunnerEvent, c: Context) => Promise<unknown> } | undefined;
    jest.isolateModules(() => {
      /* eslint-disable @typescript-eslint/no-require-imports -- a fresh registry needs require */
      const isolated = require('@aws-sdk/client-redshift-data') as typeof redshiftData;
      fakeDataApi(fake, mockClient(isolated.RedshiftDataClient) as unknown as DataApiMock, isolated);
      mod = require('../../../lambda/sql-runner/index');
      /* eslint-enable @typescript-eslint/no-require-imports */
    });
    if (!mod) throw new Error('handler module did not load');
    return mod.handler;
  }

  test('fails the deployment with the statement error, cut to fit the custom resource response', async () => {
    const handler = await loadHandler(
      { WORKGROUP_NAME: 'wg', DATABASE_NAME: 'db', POLL_INTERVAL_MS: '10', AWS_REGION: 'us-east-1', POWERTOOLS_LOG_LEVEL: 'SILENT' },
      { fail: /CREATE TABLE/, failText: `ERROR: ${'x'.repeat(5000)}` },
    );

    const failure = await handler(event('Create'), context).then(() => undefined, (e: unknown) => e);

    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toContain('statement 030_events.sql FAILED: ERROR: xxx');
    expect(message.length).toBeLessThanOrEqual(1500);
  });

  test('a missing variable fails the cold start with its name', async () => {
    await expect(loadHandler({ WORKGROUP_NAME: '', DATABASE_NAME: 'db' })).rejects.toThrow('environment variable WORKGROUP_NAME is not set');
  });
});

describe('pure decisions', () => {
  test.each<[boolean, string | undefined, ReturnType<typeof planMaterializedView>]>([
    [false, undefined, 'create'],
    [false, 'h', 'create'],
    [true, 'h', 'skip'],
    [true, 'other', 'recreate'],
    [true, undefined, 'recreate'],
  ])('MV exists=%s recorded=%s → %s', (exists, recorded, expected) => {
    expect(planMaterializedView(exists, recorded, 'h')).toBe(expected);
  });

  test('short reasons stay whole; long ones are cut', () => {
    expect(truncateReason('short')).toBe('short');
    const cut = truncateReason('y'.repeat(4000));
    expect(cut.length).toBeLessThanOrEqual(1500);
    expect(cut).toMatch(/^y+ … \(truncated\)$/);
  });
});

test('DataApiSession.query reads every page of a result (the SDK paginator follows NextToken)', async () => {
  fakeDataApi();
  // Recorded at call time: the paginator reuses one input object and sets its NextToken page after page.
  const tokens: Array<string | undefined> = [];
  dataApi.on(redshiftData.GetStatementResultCommand).callsFake(({ NextToken }: { NextToken?: string }) => {
    tokens.push(NextToken);
    return NextToken === undefined ? { Records: [[{ stringValue: 'a' }]], NextToken: 'page-2' } : { Records: [[{ stringValue: 'b' }], [{ isNull: true }]] };
  });
  const session = new DataApiSession(new RedshiftDataClient({ region: 'us-east-1' }), TARGET, { pollIntervalMs: 1, remainingMs: () => 60_000, sleep: async () => undefined });
  expect(await session.query('rows', 'SELECT x FROM t')).toEqual([['a'], ['b'], [null]]);
  expect(tokens).toEqual([undefined, 'page-2']);
});
