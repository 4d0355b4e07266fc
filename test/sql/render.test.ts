/**
 * The rendered SQL: the statements the deployment will run, in order, with every placeholder replaced.
 * Redshift-only SQL cannot run here, so its shape is asserted; the portable parts run in merge.test.ts.
 */
import { readdirSync } from 'node:fs';
import {
  fillPlaceholders,
  mvName,
  renderMergeCall,
  renderSql,
  SQL_DIR,
  SQL_MANIFEST,
  SqlRenderError,
  WarehouseSqlParams,
} from '../../lib/sql/render';

const ROLE = 'arn:aws:iam::111111111111:role/redstream-streaming';
const PARAMS: WarehouseSqlParams = {
  region: 'us-east-1',
  streamingRoleArn: ROLE,
  streams: [
    { name: 'events', physicalName: 'redstream-dev-events' },
    { name: 'Tele.metry', physicalName: 'redstream-dev-Tele.metry' },
  ],
};

describe('renderSql (redshift)', () => {
  const statements = renderSql(PARAMS, { dialect: 'redshift' });

  test('runs the statements in this order', () => {
    expect(statements.map((s) => s.id)).toEqual([
      '001_schema.sql',
      '002_deployed_objects.redshift.sql',
      '010_external_schema.redshift.sql',
      '020_stream_mv.redshift.sql:events',
      '020_stream_mv.redshift.sql:Tele.metry',
      '030_events.sql',
      '040_rejects.sql',
      '050_merge_state.sql',
      '051_merge_runs.sql',
      '052_merge_streams.sql',
      '060_merge_procedure.sql',
      '070_suppressed_subjects.sql',
      '071_erasure_requests.sql',
      '073_erasure_requests_columns.sql',
      '074_erasure_requests_migrate.sql',
    ]);
  });

  test('replaces every placeholder', () => {
    for (const s of statements) expect(s.sql).not.toMatch(/\{\{|\}\}/);
  });

  test('maps the external schema to Kinesis with the streaming role', () => {
    const ext = statements.find((s) => s.id.startsWith('010_'))?.sql;
    expect(ext).toContain('CREATE EXTERNAL SCHEMA IF NOT EXISTS redstream_kinesis');
    expect(ext).toContain('FROM KINESIS');
    expect(ext).toContain(`IAM_ROLE '${ROLE}'`);
  });

  test('creates one AUTO REFRESH streaming MV per stream, marked for the guarded create-or-recreate', () => {
    const mvs = statements.filter((s) => s.kind === 'materialized-view');
    expect(mvs.map((s) => [s.schemaName, s.objectName])).toEqual([
      ['redstream', 'stream_events'],
      ['redstream', 'stream_tele_metry'],
    ]);
    const sql = mvs[1]?.sql ?? '';
    expect(sql).toMatch(/^-- /);
    expect(sql).toContain('CREATE MATERIALIZED VIEW redstream.stream_tele_metry\nSORTKEY (refresh_time)\nAUTO REFRESH YES AS');
    expect(sql).toContain('FROM redstream_kinesis."redstream-dev-Tele.metry"');
    for (const column of ['approximate_arrival_timestamp', 'partition_key', 'shard_id', 'sequence_number', 'refresh_time', 'AS raw', 'AS raw_bytes', 'AS is_utf8', 'AS payload']) {
      expect(sql).toContain(column);
    }
    // Never fails on bad input: no WHERE filter, JSON_PARSE only behind the size and CAN_JSON_PARSE guards.
    expect(sql.replace(/--.*$/gm, '')).not.toMatch(/\bWHERE\b/i);
    expect(sql).toContain('WHEN OCTET_LENGTH(kinesis_data) <= 65535 AND CAN_JSON_PARSE(kinesis_data)');
    expect(sql).not.toMatch(/FROM_VARBYTE|JSON_EXTRACT_PATH_TEXT/i);
    // The bytes are stored only where the payload could not be parsed.
    expect(sql).toMatch(/THEN NULL\s+ELSE kinesis_data\s+END AS "raw"/);
  });

  test('every other statement is re-runnable (IF NOT EXISTS / OR REPLACE)', () => {
    for (const s of statements.filter((x) => x.kind === 'statement')) {
      // The CALL of the migration procedure is re-runnable because the procedure checks the catalog (test/sql/migrate.test.ts).
      expect(s.sql).toMatch(/CREATE (SCHEMA|TABLE|EXTERNAL SCHEMA) IF NOT EXISTS|CREATE OR REPLACE PROCEDURE|^(--.*\n)*CALL redstream\.migrate_erasure_requests\(\);$/);
    }
  });

  test('the events table is distributed on event_id and sorted on event_time', () => {
    const sql = statements.find((s) => s.id === '030_events.sql')?.sql ?? '';
    expect(sql).toContain('payload         SUPER');
    expect(sql).toMatch(/DISTSTYLE KEY\s+DISTKEY \(event_id\)\s+COMPOUND SORTKEY \(event_time, event_id\);$/);
  });

  test('the merge procedure navigates SUPER with quoted, case-kept attribute names and checks the session', () => {
    const sql = statements.find((s) => s.id === '060_merge_procedure.sql')?.sql ?? '';
    expect(sql).toContain('CREATE OR REPLACE PROCEDURE redstream.merge_events()');
    expect(sql).toContain('JSON_TYPEOF(m.payload."messageId")');
    expect(sql).toContain('m.payload."userId"');
    expect(sql).toContain("TRY_CAST(y.event_time_text AS TIMESTAMPTZ)");
    expect(sql).toContain("RAISE EXCEPTION 'merge_events needs SET enable_case_sensitive_identifier TO true");
    expect(sql).toContain('LOCK TABLE redstream.merge_state;');
    expect(sql).toContain('a second caller waits here');
    expect(sql).toContain("INTERVAL '7 days'");
    expect(sql).toContain("'us-east-1'");
    // One stage statement per stream, each reading its own MV.
    expect(sql).toContain('FROM redstream.stream_events m');
    expect(sql).toContain('FROM redstream.stream_tele_metry m');
    expect(sql).toContain("s.stream_name = 'Tele.metry'");
    // Each stream's read is bounded by a constant on the MV's sort key, then checked exactly per shard.
    expect(sql).toContain('WHERE m.refresh_time >= v_refresh_from_0');
    expect(sql).toContain('WHERE m.refresh_time >= v_refresh_from_1');
    expect(sql).toContain("COALESCE(MAX(refresh_high_water), TIMESTAMP '1900-01-01 00:00:00') - INTERVAL '10 minutes'");
    expect(sql).toContain("OR LPAD(m.sequence_number, 130, '0') > s.last_sequence_number");
    expect(sql).toContain('OR m.approximate_arrival_timestamp > s.last_arrival_timestamp');
    // Records streaming ingestion skipped, from the system view.
    expect(sql).toContain("FROM sys_stream_scan_errors e\n  WHERE TRIM(e.mv_name) = 'stream_tele_metry'");
    expect(sql).toContain('FROM sys_stream_scan_states s');
    expect(sql).toContain('"raw"                           VARBYTE(1024000)');
    expect(sql).toContain('DISTSTYLE EVEN');
    expect(sql).not.toContain('DISTKEY (event_id)');
    // Postgres-only syntax stays out.
    expect(sql).not.toMatch(/jsonb|#>|pg_input_is_valid|BYTEA/i);
  });

  test('a nested dedup key path becomes nested navigation', () => {
    const sql = renderSql({ ...PARAMS, dedupKeyPath: 'context.eventId', dedupWindowDays: 3 }, { dialect: 'redshift' })
      .find((s) => s.id === '060_merge_procedure.sql')?.sql ?? '';
    expect(sql).toContain('JSON_TYPEOF(m.payload."context"."eventId")');
    expect(sql).toContain("INTERVAL '3 days'");
  });

  test('CDK tokens are accepted for the Region and the role ARN (resolved by CloudFormation)', () => {
    const rendered = renderSql({ ...PARAMS, region: '${Token[AWS.Region.12]}', streamingRoleArn: '${Token[TOKEN.42]}' }, { dialect: 'redshift' });
    expect(rendered.find((s) => s.id.startsWith('010_'))?.sql).toContain("IAM_ROLE '${Token[TOKEN.42]}'");
  });
});

describe('renderSql (postgres)', () => {
  const statements = renderSql(PARAMS, { dialect: 'postgres' });

  test('replaces the MV with a stand-in table, trigger and index per stream, and leaves Redshift-only files out', () => {
    expect(statements.map((s) => s.id)).toEqual([
      '001_schema.sql',
      '020_stream_mv.postgres.sql:events',
      '020_stream_mv.postgres.sql:Tele.metry',
      '021_stream_mv_derive.postgres.sql',
      '022_stream_mv_trigger.postgres.sql:events',
      '022_stream_mv_trigger.postgres.sql:Tele.metry',
      '023_stream_mv_index.postgres.sql:events',
      '023_stream_mv_index.postgres.sql:Tele.metry',
      '024_stream_mv_arrival_index.postgres.sql:events',
      '024_stream_mv_arrival_index.postgres.sql:Tele.metry',
      '025_stream_scan_errors.postgres.sql',
      '026_stream_scan_states.postgres.sql',
      '030_events.sql',
      '031_events_index.postgres.sql',
      '032_events_time_index.postgres.sql',
      '040_rejects.sql',
      '050_merge_state.sql',
      '051_merge_runs.sql',
      '052_merge_streams.sql',
      '060_merge_procedure.sql',
      '070_suppressed_subjects.sql',
      '071_erasure_requests.sql',
      '073_erasure_requests_columns.sql',
      '074_erasure_requests_migrate.sql',
    ]);
    for (const s of statements) {
      expect(s.sql).not.toMatch(/\{\{|\}\}/);
      const code = s.sql.replace(/--.*$/gm, '');
      expect(code).not.toMatch(/SUPER|VARBYTE|DISTKEY|SORTKEY|JSON_PARSE|EXTERNAL SCHEMA|AUTO REFRESH/);
    }
  });

  test('finds new rows through the stand-in\'s index (per-shard LATERAL range), where Redshift scans the MV', () => {
    const pg = statements.find((s) => s.id === '060_merge_procedure.sql')?.sql ?? '';
    const rs = renderSql(PARAMS, { dialect: 'redshift' }).find((s) => s.id === '060_merge_procedure.sql')?.sql ?? '';
    expect(pg).toContain('WITH RECURSIVE shards AS');
    expect(pg).toContain("LPAD(r.sequence_number, 130, '0') > w.seq_mark");
    expect(pg).toContain('AND r.approximate_arrival_timestamp > w.arrival_mark');
    expect(rs).not.toContain('LATERAL');
    expect(rs).toContain("OR LPAD(m.sequence_number, 130, '0') > s.last_sequence_number");
    expect(pg).toContain('AND n.refresh_time >= v_refresh_from_0');
  });

  test('keeps planner statistics itself (no autovacuum in PGlite; temp tables never auto-analyzed); Redshift does not', () => {
    const pg = statements.find((s) => s.id === '060_merge_procedure.sql')?.sql ?? '';
    const rs = renderSql(PARAMS, { dialect: 'redshift' }).find((s) => s.id === '060_merge_procedure.sql')?.sql ?? '';
    expect(pg).toContain("WHERE c.oid = 'redstream.events'::regclass");
    expect(pg).toContain('ANALYZE redstream.events (stream_name, event_id, event_time);');
    expect(pg).toContain('ANALYZE merge_batch (stream_name, shard_id, event_id, event_time, reject_reason);');
    // The events table before anything reads it; the batch after staging, before its first use.
    expect(pg.indexOf('ANALYZE merge_batch')).toBeGreaterThan(pg.lastIndexOf('INSERT INTO merge_batch'));
    expect(pg.indexOf('ANALYZE merge_batch')).toBeLessThan(pg.indexOf('SELECT INTO v_min_time'));
    expect(pg.indexOf('ANALYZE redstream.events')).toBeLessThan(pg.indexOf('CREATE TEMP TABLE merge_batch'));
    expect(rs).not.toMatch(/ANALYZE|pg_class|\n\n\n/);
  });

  test('needs no streaming role', () => {
    expect(() => renderSql({ ...PARAMS, streamingRoleArn: undefined }, { dialect: 'postgres' })).not.toThrow();
  });
});

describe('manifest', () => {
  test('lists every SQL file in sql/ (nothing is silently left out of the deployment)', () => {
    const files = readdirSync(SQL_DIR).filter((f) => f.endsWith('.sql') && !f.includes('.fragment.'));
    expect(new Set(SQL_MANIFEST.map((e) => e.file))).toEqual(new Set(files));
  });
});

describe('validation', () => {
  test.each<[string, Partial<WarehouseSqlParams>, RegExp]>([
    ['a schema with upper case', { schema: 'Bad' }, /schema must be a lower-case SQL identifier \(got "Bad"\)/],
    ['a dedup path with a quote', { dedupKeyPath: "a'b" }, /dedupKeyPath must be a dot-separated path/],
    ['a window of 0 days', { dedupWindowDays: 0 }, /dedupWindowDays must be a whole number between 1 and 365 \(got 0\)/],
    ['a record limit above 65535', { maxRecordBytes: 70000 }, /maxRecordBytes must be a whole number between 1 and 65535 \(got 70000\)/],
    ['a refresh margin of 0', { refreshMarginMinutes: 0 }, /refreshMarginMinutes must be a whole number between 1 and 1440 \(got 0\)/],
    ['a plausibility window of 0 days back', { eventTimeMaxPastDays: 0 }, /eventTimeMaxPastDays must be a whole number between 1 and 3650 \(got 0\)/],
    ['a plausibility window of 1.5 hours ahead', { eventTimeMaxFutureHours: 1.5 }, /eventTimeMaxFutureHours must be a whole number between 1 and 8760 \(got 1.5\)/],
    ['a Region with a quote', { region: "us-east-1'" }, /region must be an AWS Region code/],
    ['no streams', { streams: [] }, /streams must list at least one stream/],
    ['a physical name with a double quote', { streams: [{ name: 'e', physicalName: 'a"b' }] }, /physicalName must be a Kinesis stream name/],
    ['two streams with the same view name', { streams: [{ name: 'a-b', physicalName: 'x' }, { name: 'a_b', physicalName: 'y' }] }, /map to the same view name stream_a_b/],
    ['no streaming role for Redshift', { streamingRoleArn: undefined }, /streamingRoleArn must be an IAM role ARN \(got undefined\)/],
  ])('rejects %s', (_name, change, message) => {
    expect(() => renderSql({ ...PARAMS, ...change }, { dialect: 'redshift' })).toThrow(message);
  });

  test('an unknown placeholder is an error naming the file and the placeholder', () => {
    expect(() => fillPlaceholders('SELECT {{nope}}', {}, 'x.sql')).toThrow(new SqlRenderError('x.sql: no value for placeholder {{nope}}'));
  });

  test('a malformed placeholder is an error', () => {
    expect(() => fillPlaceholders('SELECT {{ bad-name }}', {}, 'x.sql')).toThrow(/malformed placeholder/);
  });
});

describe('helpers', () => {
  test.each([
    ['events', 'stream_events'],
    ['Click-Stream.v2', 'stream_click_stream_v2'],
  ])('mvName(%s) = %s', (name, expected) => {
    expect(mvName(name)).toBe(expected);
  });

  test('the Redshift merge call turns on case-sensitive identifiers first, in the same session', () => {
    expect(renderMergeCall({ dialect: 'redshift' })).toEqual(['SET enable_case_sensitive_identifier TO true', 'CALL redstream.merge_events()']);
    expect(renderMergeCall({ dialect: 'postgres', schema: 'wh' })).toEqual(['CALL wh.merge_events()']);
  });
});
