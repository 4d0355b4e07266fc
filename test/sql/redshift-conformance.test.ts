/**
 * The Redshift SQL as deployed (rendered for every stream), held to the Redshift documentation where embedded
 * Postgres cannot check it: every function call is documented (lib/sql/redshift-functions.ts, each with its page or a
 * public AWS example), RAISE takes simple variables only, and no other PL/pgSQL or Postgres-only construct Redshift
 * lacks is used. What only a real workgroup can confirm is in sql/README.md's first-deploy checklist.
 */
import { erasureSql } from '../../lambda/archive/erase-sql';
import { renderSql, WarehouseSqlParams } from '../../lib/sql/render';
import { checkProcedureBody, checkRedshiftSql, functionCalls } from '../../lib/sql/redshift-conformance';
import { REDSHIFT_FUNCTIONS } from '../../lib/sql/redshift-functions';

const PARAMS: WarehouseSqlParams = {
  region: 'us-east-1',
  streamingRoleArn: 'arn:aws:iam::111111111111:role/redstream-streaming',
  streams: [
    { name: 'events', physicalName: 'redstream-prod-events' },
    { name: 'telemetry', physicalName: 'redstream-prod-telemetry' },
    { name: 'Click.Stream', physicalName: 'redstream-prod-Click.Stream' },
  ],
  dedupKeyPath: 'context.messageId',
};

/** What `ops erase` and the scheduled erasure step send through the Data API besides the deployed SQL. */
function erasureStatements(): Array<{ id: string; sql: string }> {
  const sql = erasureSql('redshift', 'redstream', ['userId', 'context.traits.email']);
  const hash = 'a'.repeat(64);
  const key = { stream_name: 'events', shard_id: 'shardId-000000000000', sequence_number: '1', reason: 'invalid_json' };
  return [
    { id: 'erase:suppress', sql: sql.suppress(hash, '00000000-0000-0000-0000-000000000000', '2026-12-01T00:00:00Z') },
    { id: 'erase:count-events', sql: sql.countEvents([hash]) },
    { id: 'erase:delete-events', sql: sql.deleteEvents([hash]) },
    { id: 'erase:delete-suppressed-events', sql: sql.deleteSuppressedEvents() },
    { id: 'erase:rejects-by-payload', sql: sql.rejectKeysByPayload([hash]) },
    { id: 'erase:rejects-to-search', sql: sql.rejectsToSearch(0) },
    { id: 'erase:reject-chunk', sql: sql.rejectChunk(key, 1, 100) },
    { id: 'erase:delete-reject', sql: sql.deleteReject(key) },
  ];
}

describe('the deployed Redshift SQL', () => {
  const statements = [...renderSql(PARAMS, { dialect: 'redshift' }), ...erasureStatements()];

  test('conforms: documented functions only, RAISE with simple variables, no PL/pgSQL or Postgres construct Redshift lacks', () => {
    expect(checkRedshiftSql(statements)).toEqual([]);
  });

  test('the check sees every statement and the calls in them (it is not vacuous)', () => {
    const calls = new Set(statements.flatMap((s) => functionCalls(s.sql)));
    for (const name of ['IS_UTF8', 'CAN_JSON_PARSE', 'JSON_PARSE', 'JSON_TYPEOF', 'LPAD', 'ROW_NUMBER', 'GREATEST', 'FNV_HASH', 'TRY_CAST']) {
      expect(calls).toContain(name);
    }
    // Every documented entry is used: the list is what the SQL needs, no more.
    expect(new Set(REDSHIFT_FUNCTIONS.map((f) => f.name))).toEqual(calls);
  });

  test('every listed function cites its documentation page, or a public AWS example when the reference lacks it', () => {
    for (const f of REDSHIFT_FUNCTIONS) {
      const source = f.doc ?? f.example ?? '';
      expect(source).toMatch(f.doc ? /^https:\/\/docs\.aws\.amazon\.com\/redshift\/latest\/dg\/[\w-]+\.html$/ : /^https:\/\/aws\.amazon\.com\/blogs\//);
    }
  });

  test('IS_UTF8, the one undocumented function, is used only with the AWS example cited next to it', () => {
    const mvs = statements.filter((s) => /IS_UTF8\s*\(/i.test(s.sql));
    expect(mvs.map((s) => s.id)).toEqual(['020_stream_mv.redshift.sql:events', '020_stream_mv.redshift.sql:telemetry', '020_stream_mv.redshift.sql:Click.Stream']);
    const example = REDSHIFT_FUNCTIONS.find((f) => f.name === 'IS_UTF8')?.example ?? 'none';
    for (const s of mvs) expect(s.sql.slice(0, s.sql.search(/IS_UTF8\s*\(/i))).toContain(example);
  });

  test('every RAISE in the procedure passes only simple variables', () => {
    const procedure = statements.find((s) => s.id === '060_merge_procedure.sql')?.sql ?? '';
    const raises = [...procedure.matchAll(/\bRAISE\s+\w+\s+'[^']*'([^;]*);/g)].map((m) => m[1]);
    expect(raises.length).toBeGreaterThan(0);
    for (const args of raises) for (const a of args.split(',').map((x) => x.trim()).filter(Boolean)) expect(a).toMatch(/^[a-z_][a-z0-9_]*$/);
  });
});

describe('the check fails on what Redshift rejects', () => {
  test('the merge procedure\'s old RAISE (an expression as an argument), which PGlite accepted', () => {
    // As it was in sql/060_merge_procedure.sql before this change.
    const oldBody = `
DECLARE
  v_new BIGINT; v_inserted BIGINT; v_rejected BIGINT;
BEGIN
  RAISE INFO 'merge_events: % new rows, % inserted, % duplicates, % rejected',
    v_new, v_inserted, v_new - v_inserted - v_rejected, v_rejected;
END;`;
    expect(checkProcedureBody('060_merge_procedure.sql', oldBody)).toEqual([
      { statement: '060_merge_procedure.sql', rule: 'raise-argument', detail: 'RAISE arguments must be simple variables, not expressions: v_new - v_inserted - v_rejected' },
    ]);
  });

  test.each<[string, string, string]>([
    ['a RAISE level Redshift lacks', "BEGIN RAISE DEBUG 'x %', v; END;", 'raise-level'],
    ['RAISE ... USING', "BEGIN RAISE EXCEPTION 'x' USING HINT = 'h'; END;", 'raise-using'],
    ['a format that is not a literal', "BEGIN RAISE INFO v_text; END;", 'raise-syntax'],
    ['placeholders that do not match the arguments', "BEGIN RAISE INFO '% and %', v; END;", 'raise-placeholders'],
    ['an exception handler', 'BEGIN SELECT 1; EXCEPTION WHEN OTHERS THEN NULL; END;', 'exception-block'],
    ['SET LOCAL', "BEGIN SET LOCAL TimeZone = 'UTC'; END;", 'own-transaction'],
    ['VACUUM', 'BEGIN VACUUM x; END;', 'own-transaction'],
    ['GET DIAGNOSTICS of something other than ROW_COUNT', 'BEGIN GET DIAGNOSTICS v := PG_CONTEXT; END;', 'get-diagnostics'],
  ])('%s', (_name, body, rule) => {
    expect(checkProcedureBody('p', body).map((f) => f.rule)).toContain(rule);
  });

  test('the Postgres rendering (what PGlite runs) is full of what Redshift lacks', () => {
    const findings = checkRedshiftSql(renderSql(PARAMS, { dialect: 'postgres' }));
    const details = findings.map((f) => `${f.rule}: ${f.detail}`);
    expect(details).toEqual(expect.arrayContaining([
      'undocumented-function: PG_INPUT_IS_VALID() is not in lib/sql/redshift-functions.ts',
      'undocumented-function: JSONB_TYPEOF() is not in lib/sql/redshift-functions.ts',
      'undocumented-function: MD5() is not in lib/sql/redshift-functions.ts',
      'postgres-only: LATERAL joins',
      'postgres-only: indexes',
      'own-transaction: SET LOCAL needs its own transaction and is not supported in a stored procedure',
    ]));
  });

  test('a reserved word as an unquoted column, alias or qualified name (RAW was a column of the MV, rejects and the batch)', () => {
    const old = 'CREATE TABLE IF NOT EXISTS redstream.rejects (\n  reason VARCHAR(64),\n  raw VARBYTE(1024000)\n);\nSELECT kinesis_data AS raw, m.raw FROM t m;';
    expect(checkRedshiftSql([{ id: '040_rejects.sql', sql: old }])).toEqual([
      { statement: '040_rejects.sql', rule: 'reserved-word', detail: 'raw is a Redshift reserved word: quote it ("raw") where it names a column' },
    ]);
    expect(checkRedshiftSql([{ id: 'q', sql: 'CREATE TABLE t ("raw" VARBYTE(10));\nSELECT x AS "raw", m."raw", CAST(y AS TIMESTAMP) FROM t m;' }])).toEqual([]);
  });

  test('comments and string literals are not mistaken for calls', () => {
    expect(functionCalls("-- NOW() in a comment\nSELECT 'LOWER(x)', UPPER(y) FROM t")).toEqual(['UPPER']);
  });
});
