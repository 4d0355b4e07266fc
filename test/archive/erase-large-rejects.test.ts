/**
 * Erasure of rejects larger than a Data API result row. The Data API returns at most 64 KB per result row
 * (Amazon Redshift Management Guide, "Troubleshooting issues for Amazon Redshift Data API"); PGlite has no such limit,
 * so the warehouse here is wrapped in a double that enforces it, and the statements are checked for what they return.
 */
import { PGlite } from '@electric-sql/pglite';
import { erase, ErasureTargets, ErasureWarehouse, finishErasures } from '../../lambda/archive/erase';
import { DATA_API_MAX_ROW_BYTES, erasureSql, REJECT_CHUNK_BYTES } from '../../lambda/archive/erase-sql';
import { ArchiveStore } from '../../lambda/archive/store';
import { DEFAULT_SUBJECT_PATHS } from '../../lambda/archive/subject';
import { checkRedshiftSql } from '../../lib/sql/redshift-conformance';
import { PostgresWarehouse, setupPostgresWarehouse } from '../../lib/sql/postgres';
import { localErasureWarehouse } from '../../local/erase';

const SUBJECT = 'user-1';
const T0 = Date.parse('2026-12-01T10:00:00Z');
const HOUR = 3_600_000;

let db: PGlite;
let wh: PostgresWarehouse;
let seq = 0;
const statements: string[] = [];

/** Rejects a result the way the Data API does when one row is over 64 KB; records every statement. */
function dataApiLimited(inner: ErasureWarehouse): ErasureWarehouse {
  return {
    ...inner,
    async rows(sql) {
      statements.push(sql);
      const rows = await inner.rows(sql);
      for (const row of rows) {
        const bytes = Buffer.byteLength(JSON.stringify(row));
        if (bytes > DATA_API_MAX_ROW_BYTES) throw new Error(`Packet for query is too large: a result row of ${bytes} bytes`);
      }
      return rows;
    },
    async change(sql) {
      statements.push(sql);
      return inner.change(sql);
    },
  };
}

const noStore: ArchiveStore = {
  listKeys: async () => [],
  get: async () => {
    throw new Error('no archive in this test');
  },
  put: async () => {
    throw new Error('no archive in this test');
  },
  versionExists: async () => false,
  putIfAbsent: async () => {
    throw new Error('no archive in this test');
  },
  deleteObject: async () => {
    throw new Error('no archive in this test');
  },
  listVersions: async () => [],
  listPrefixVersions: async () => [],
  deleteVersion: async () => undefined,
};

function targets(now: number): ErasureTargets {
  const inner = localErasureWarehouse({ name: 'us-east-1', db, schema: 'wh', streamingViews: [wh.mvTable('events')], retentionMs: 24 * HOUR, clock: () => now });
  return { warehouses: [dataApiLimited(inner)], archives: [], store: noStore, streams: [{ name: 'redstream-test-events', retentionHours: 24 }], archiveDelayMs: 0 };
}

/** A JSON-ish text of about `bytes` bytes with `middle` in the middle. */
const padded = (bytes: number, middle: string, end = ''): Buffer => Buffer.from(`{"messageId":"m${++seq}","pad":"${'x'.repeat(bytes / 2)}",${middle}"more":"${'y'.repeat(bytes / 2)}"${end}}`);

async function rejects(): Promise<Array<{ reason: string; n: number }>> {
  return (await db.query<{ reason: string; n: number }>('SELECT reason, OCTET_LENGTH(raw)::int AS n FROM wh.rejects ORDER BY reason, n')).rows;
}

beforeAll(async () => {
  db = new PGlite();
  await db.waitReady;
  wh = await setupPostgresWarehouse(db, { schema: 'wh', region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-test-events' }] });
  const data = [
    padded(200_000, `"userId":"${SUBJECT}",`, ', broken'), // malformed, 200 kB, names the subject
    padded(200_000, `"userId":"${SUBJECT}",`), // valid JSON of the subject, above maxRecordBytes
    padded(200_000, `"userId":"user-12",`), // too_large, another subject
    padded(150_000, `"friend":"${SUBJECT}",`, ', broken'), // malformed, names the subject (as a JSON string): matched as bytes
  ];
  await wh.append(
    'events',
    data.map((d, i) => ({ shardId: 'shardId-000000000000', sequenceNumber: String(1000 + i), partitionKey: `p${i}`, approximateArrivalTimestamp: new Date(T0 + i), data: d })),
  );
  await wh.merge();
});
afterAll(async () => {
  await db.close();
});

test('rejects larger than a Data API row are erased: every result row stays under 64 KB, and no statement carries the subject', async () => {
  // Above maxRecordBytes, so rejected as too_large before any parse: their raw bytes are kept, valid JSON or not.
  expect((await rejects()).map((r) => r.reason)).toEqual(['too_large', 'too_large', 'too_large', 'too_large']);
  expect(Math.min(...(await rejects()).map((r) => r.n))).toBeGreaterThan(DATA_API_MAX_ROW_BYTES);

  const dry = await erase({ subject: SUBJECT, paths: DEFAULT_SUBJECT_PATHS, dryRun: true }, targets(T0 + HOUR), { clock: () => T0 + HOUR });
  expect(dry.warehouses[0].rejectsDeleted).toBe(3);
  statements.length = 0;
  const report = await erase({ subject: SUBJECT, paths: DEFAULT_SUBJECT_PATHS }, targets(T0 + HOUR), { clock: () => T0 + HOUR });
  expect(report.warehouses[0].rejectsDeleted).toBe(3);
  expect(await rejects()).toEqual([{ reason: 'too_large', n: expect.any(Number) }]);
  // The subject's hash, never the subject: statements reach the warehouse's query log.
  for (const s of statements) expect(s).not.toContain(SUBJECT);
  // One page of candidates with their first chunk, then the rest of each large reject in further chunks.
  expect(statements.filter((s) => s.includes(' AS n_bytes, '))).toHaveLength(1);
  expect(statements.filter((s) => s.includes(' AS chunk FROM ') && !s.includes('n_bytes')).length).toBeGreaterThanOrEqual(4 * (Math.ceil(150_000 / REJECT_CHUNK_BYTES) - 1));
});

test('the scheduled step finds a large reject of a suppressed subject by hash alone, within the row limit', async () => {
  // A large record of the erased subject arrives after the erasure: too large to parse, so the merge's suppression
  // step (which reads parsed payloads) cannot drop it and it becomes a reject. The scheduled step knows only hashes.
  await wh.append('events', [
    { shardId: 'shardId-000000000000', sequenceNumber: '2000', partitionKey: 'late', approximateArrivalTimestamp: new Date(T0 + 2 * HOUR), data: padded(120_000, `"userId":"${SUBJECT}",`) },
  ]);
  await wh.merge();
  expect(await rejects()).toHaveLength(2);
  const later = T0 + 50 * HOUR; // after the streams' retention and a day of Firehose's S3 retries
  statements.length = 0;
  const done = await finishErasures(targets(later), DEFAULT_SUBJECT_PATHS, { clock: () => later });
  expect(done).toMatchObject({ finished: [expect.anything()] });
  expect(done.rejectsDeleted).toBe(1);
  expect(await rejects()).toHaveLength(1);
});

test('more rejects than one page: every page is searched', async () => {
  const many = Array.from({ length: 1005 }, (_, i) => ({
    shardId: 'shardId-000000000001',
    sequenceNumber: String(5000 + i),
    partitionKey: `q${i}`,
    approximateArrivalTimestamp: new Date(T0 + 3 * HOUR + i),
    data: Buffer.from(i === 1004 ? '{"userId":"user-77", broken' : `{"n":${i}, broken`),
  }));
  await wh.append('events', many);
  await wh.merge();
  statements.length = 0;
  const report = await erase({ subject: 'user-77', paths: DEFAULT_SUBJECT_PATHS }, targets(T0 + 4 * HOUR), { clock: () => T0 + 4 * HOUR });
  expect(report.warehouses[0].rejectsDeleted).toBe(1);
  expect(statements.filter((s) => s.includes(' AS n_bytes, '))).toHaveLength(2);
  expect((await db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM wh.rejects WHERE shard_id = 'shardId-000000000001'`)).rows[0].n).toBe(1004);
});

test('the report says which Regions have no scheduled step to sweep late archive objects, and what to do', async () => {
  const t = targets(T0 + 5 * HOUR);
  const withStandby = { ...t, archives: [{ region: 'us-east-1', bucket: 'a', prefixes: ['events/'] }, { region: 'us-west-2', bucket: 'b', prefixes: ['events/'] }] };
  const dry = await erase({ subject: 'user-9', paths: DEFAULT_SUBJECT_PATHS, dryRun: true }, withStandby, { clock: () => T0 + 5 * HOUR });
  expect(dry.pending[2].how).toMatch(/us-west-2 has no warehouse: the step in us-east-1 sweeps its archive too/);
  const same = await erase({ subject: 'user-9', paths: DEFAULT_SUBJECT_PATHS, dryRun: true }, { ...withStandby, archives: withStandby.archives.slice(0, 1) }, { clock: () => T0 + 5 * HOUR });
  expect(same.pending[2].how).not.toMatch(/no warehouse/);
});

test('the reject statements return keys, lengths and bounded chunks only, and are Redshift SQL the conformance check accepts', () => {
  const sql = erasureSql('redshift', 'redstream', DEFAULT_SUBJECT_PATHS);
  const key = { stream_name: 'events', shard_id: 'shardId-000000000000', sequence_number: '1', reason: 'invalid_json' };
  const byPayload = sql.rejectKeysByPayload(['a'.repeat(64)]);
  expect(byPayload).toMatch(/^SELECT stream_name, shard_id, sequence_number, reason FROM /);
  expect(sql.rejectsToSearch(0)).toMatch(/^SELECT stream_name, shard_id, sequence_number, reason, OCTET_LENGTH\(.*\) AS n_bytes, TO_HEX\(SUBSTRING\(.*, 1, 24000\)\) AS chunk FROM .* LIMIT 1000 OFFSET 0$/);
  expect(sql.rejectsToSearch(2)).toMatch(/LIMIT 1000 OFFSET 2000$/);
  expect(sql.rejectChunk(key, 1, REJECT_CHUNK_BYTES)).toMatch(/^SELECT TO_HEX\(SUBSTRING\(.*, 1, 24000\)\) AS chunk FROM /);
  expect(() => sql.rejectChunk(key, 1, REJECT_CHUNK_BYTES + 1)).toThrow(RangeError);
  // Hex doubles the bytes: a chunk and its framing fit a row.
  expect(2 * REJECT_CHUNK_BYTES + 1024).toBeLessThan(DATA_API_MAX_ROW_BYTES);
  const findings = checkRedshiftSql([
    { id: 'by-payload', sql: byPayload },
    { id: 'to-search', sql: sql.rejectsToSearch(0) },
    { id: 'chunk', sql: sql.rejectChunk(key, 24_001, 100) },
    { id: 'delete', sql: sql.deleteReject(key) },
  ]);
  expect(findings).toEqual([]);
});
