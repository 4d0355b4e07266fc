/**
 * The serve mode's warehouse endpoint (`POST /warehouse/sql`, local/serve-warehouse.ts) and the erasure adapter over
 * it: `npm run ops -- erase`'s command function against PGlite behind HTTP, with merges running alongside.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { runErase } from '../../lambda/ops/commands/erase';
import { subjectHash } from '../../lambda/archive/subject';
import type { ArchiveStore } from '../../lambda/archive/store';
import { resolveEnvironments } from '../../lib/config';
import { PostgresWarehouse, setupPostgresWarehouse } from '../../lib/sql/postgres';
import { refuseControlRequest } from '../../local/serve-auth';
import { answerWarehouseSql, ControlEndpointErasureWarehouse, parseWarehouseSqlRequest, serveEraseFactories, WarehouseSqlRequestError } from '../../local/serve-warehouse';

const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const environments = cdkJson.context['redstream:environments'];
const NOW = Date.parse('2026-12-02T08:00:00Z');
let db: PGlite;
let wh: PostgresWarehouse;
let server: http.Server;
let control: string;
const TOKEN = 'c'.repeat(32);
let seq = 100;

async function append(objects: object[], arrivedMs = NOW - 1000): Promise<void> {
  await wh.append(
    'events',
    objects.map((o) => ({
      shardId: 'shardId-000000000000',
      sequenceNumber: String(seq++),
      partitionKey: 'p',
      approximateArrivalTimestamp: new Date(arrivedMs),
      data: Buffer.from(JSON.stringify(o)),
    })),
  );
}

/** No archive bucket in these tests (erase-command.test.ts covers the archive sweep): the store is never called. */
const unused = (): Promise<never> => Promise.reject(new Error('no archive in this test'));
const noArchiveStore: ArchiveStore = { listKeys: unused, listPrefixVersions: unused, get: unused, put: unused, versionExists: unused, putIfAbsent: unused, deleteObject: unused, listVersions: unused, deleteVersion: unused };
const noArchives = (): { archives: []; store: ArchiveStore; close(): void } => ({ archives: [], store: noArchiveStore, close: () => undefined });

async function eventIds(): Promise<string[]> {
  return (await db.query<{ event_id: string }>('SELECT event_id FROM redstream.events ORDER BY event_id')).rows.map((r) => r.event_id);
}

beforeAll(async () => {
  db = new PGlite();
  await db.waitReady;
  wh = await setupPostgresWarehouse(db, { schema: 'redstream', region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-dev-events' }] });
  // The serve mode's route, over this database.
  server = http.createServer((req, res) => {
    // The serve mode's check first (local/serve.ts): the token and the content type.
    const refused = refuseControlRequest({ method: req.method, authorization: req.headers.authorization, contentType: req.headers['content-type'] }, TOKEN);
    if (refused) {
      req.resume();
      res.writeHead(refused.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, message: refused.message }));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void answerWarehouseSql(db, Buffer.concat(chunks).toString('utf8')).then((a) => {
        res.writeHead(a.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(a.body));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  control = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await db.close();
});

describe('parseWarehouseSqlRequest', () => {
  test.each([
    [null, /JSON object/],
    [[], /JSON object/],
    [{ mode: 'exec', sql: 'SELECT 1' }, /"mode" must be "rows" or "change" \(got "exec"\)/],
    [{ mode: 'rows' }, /"sql" must be a non-empty string/],
    [{ mode: 'rows', sql: '  ' }, /"sql" must be a non-empty string/],
    [{ mode: 'change', sql: 'DELETE FROM a; DELETE FROM b' }, /one statement/],
  ])('refuses %j', (body, message) => {
    expect(() => parseWarehouseSqlRequest(body)).toThrow(WarehouseSqlRequestError);
    expect(() => parseWarehouseSqlRequest(body)).toThrow(message);
  });

  test('a semicolon inside a string literal or at the end is one statement', () => {
    expect(parseWarehouseSqlRequest({ mode: 'rows', sql: "SELECT 'a;b', 'it''s; x';" })).toEqual({ mode: 'rows', sql: "SELECT 'a;b', 'it''s; x';" });
  });
});

describe('POST /warehouse/sql', () => {
  test('rows come back as text, changes as a count, failures as 422 with the database error, bad requests as 400', async () => {
    expect(await answerWarehouseSql(db, JSON.stringify({ mode: 'rows', sql: "SELECT 1 AS n, NULL AS z, TIMESTAMP '2026-12-02 08:00:00' AS t, 'x' AS s;" }))).toEqual({
      status: 200,
      body: { rows: [{ n: '1', z: null, t: '2026-12-02 08:00:00.000', s: 'x' }] },
    });
    await db.exec('CREATE TABLE IF NOT EXISTS scratch (v int)');
    expect(await answerWarehouseSql(db, JSON.stringify({ mode: 'change', sql: 'INSERT INTO scratch VALUES (1), (2), (3)' }))).toEqual({ status: 200, body: { changed: 3 } });
    expect(await answerWarehouseSql(db, JSON.stringify({ mode: 'change', sql: 'DELETE FROM scratch WHERE v > 1' }))).toEqual({ status: 200, body: { changed: 2 } });
    const failed = await answerWarehouseSql(db, JSON.stringify({ mode: 'rows', sql: 'SELECT * FROM no_such_table' }));
    expect(failed).toEqual({ status: 422, body: { ok: false, message: expect.stringMatching(/no_such_table/) } });
    expect(await answerWarehouseSql(db, '{not json')).toEqual({ status: 400, body: { ok: false, message: 'the request body is not JSON' } });
  });

  test('the client adapter reaches it over HTTP and reports the warehouse error; a dead endpoint names the serve mode', async () => {
    const w = new ControlEndpointErasureWarehouse(control, TOKEN, 'us-east-1', 'redstream', ['redstream.stream_events'], 3_600_000);
    expect(w.dialect).toBe('postgres');
    expect(await w.rows("SELECT 'a' AS x")).toEqual([{ x: 'a' }]);
    await expect(w.change('DELETE FROM no_such_table')).rejects.toThrow(/local warehouse us-east-1: .*no_such_table/);
    const dead = new ControlEndpointErasureWarehouse('http://127.0.0.1:9', TOKEN, 'us-east-1', 'redstream', [], 1);
    await expect(dead.rows('SELECT 1')).rejects.toThrow(/does not answer .*npm run demo -- --serve/);
    const stranger = new ControlEndpointErasureWarehouse(control, 'd'.repeat(32), 'us-east-1', 'redstream', [], 1);
    await expect(stranger.rows('SELECT 1')).rejects.toThrow(/local warehouse us-east-1: the control endpoint needs the serve mode's token/);
  });

  test('a POST that is not JSON-typed is refused before any SQL runs (415), as a cross-site form would send it', async () => {
    const res = await fetch(`${control}/warehouse/sql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' },
      body: JSON.stringify({ mode: 'change', sql: 'DELETE FROM scratch' }),
    });
    expect(res.status).toBe(415);
  });
});

test('ops erase through the endpoint while merges run: the subject goes, stays out after a re-send, the others stay', async () => {
  await append([
    { messageId: 'm1', userId: 'user-7' },
    { messageId: 'm2', userId: 'user-8' },
    { messageId: 'm3', anonymousId: 'user-7' },
  ]);
  await wh.merge();
  expect(await eventIds()).toEqual(['m1', 'm2', 'm3']);

  // The serve mode's scheduled merges, with the producer appending, for the whole erasure.
  let merging = true;
  const merges = (async () => {
    let n = 0;
    while (merging) {
      await append([{ messageId: `n${n}`, userId: n % 2 === 0 ? 'user-7' : 'user-9' }]);
      await wh.merge();
      n++;
      // PGlite answers in microtasks: without a pause the loop would never let the HTTP requests in (the serve mode's
      // merges are as far apart as its merge interval).
      await new Promise((r) => setTimeout(r, 5));
    }
    return n;
  })();
  const out: string[] = [];
  const factories = serveEraseFactories(control, TOKEN, { region: 'us-east-1', schema: 'redstream' }, noArchives);
  const code = await runErase(
    { env: 'dev', subject: 'user-7' },
    { stdout: (t) => out.push(t), stderr: () => undefined, loadEnvironments: () => environments, env: {}, clock: () => NOW },
    factories,
  );
  merging = false;
  const rounds = await merges;
  expect(code).toBe(0);
  expect(out.join('\n')).toMatch(/warehouse us-east-1: [2-9]\d* event\(s\), 0 reject\(s\) removed/);
  expect(rounds).toBeGreaterThan(0);

  // A re-send of the subject's records and a new one, then a merge: none of them comes back.
  await append([
    { messageId: 'm1', userId: 'user-7' },
    { messageId: 'm3', anonymousId: 'user-7' },
    { messageId: 'm4', userId: 'user-7' },
    { messageId: 'm5', userId: 'user-8' },
  ]);
  await wh.merge();
  const ids = await eventIds();
  const subjectRows = (await db.query<{ n: string }>("SELECT count(*)::text AS n FROM redstream.events WHERE payload::text LIKE '%\"user-7\"%'")).rows[0].n;
  expect(subjectRows).toBe('0');
  expect(ids).toEqual(expect.arrayContaining(['m2', 'm5']));
  expect(ids.filter((id) => ['m1', 'm3', 'm4'].includes(id))).toEqual([]);
  const suppressed = (await db.query<{ subject_hash: string }>('SELECT subject_hash FROM redstream.suppressed_subjects')).rows.map((r) => r.subject_hash);
  expect(suppressed).toEqual([subjectHash('user-7')]);
});

test('the finish step clears the stand-in streaming view of rows older than the retention, and says so', async () => {
  await append([{ messageId: 'old', userId: 'user-1' }], NOW - 25 * 3_600_000);
  const before = Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM redstream.stream_events')).rows[0].n);
  const w = new ControlEndpointErasureWarehouse(control, TOKEN, 'us-east-1', 'redstream', ['redstream.stream_events'], 24 * 3_600_000, () => NOW);
  expect(await w.clearStreamingViews()).toEqual({ recreated: 1, rowsRemoved: 1 });
  const after = Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM redstream.stream_events')).rows[0].n);
  expect(after).toBe(before - 1);
  expect(await w.clearStreamingViews()).toEqual({ recreated: 1, rowsRemoved: 0 });
});

test('the finish step creates a missing stand-in streaming view again through the control endpoint, as the setup created it', async () => {
  const w = new ControlEndpointErasureWarehouse(control, TOKEN, 'us-east-1', 'redstream', ['redstream.stream_events'], 24 * 3_600_000, () => NOW);
  expect(await w.restoreStreamingViews()).toEqual([]);
  await db.exec('DROP TABLE redstream.stream_events');
  expect(await w.restoreStreamingViews()).toEqual(['redstream.stream_events']);
  await append([{ messageId: 'after-restore', userId: 'user-2' }]);
  await wh.merge();
  expect(await eventIds()).toContain('after-restore');
});

test('serveEraseFactories refuses a schema the local world does not have', () => {
  const f = serveEraseFactories(control, TOKEN, { region: 'us-east-1', schema: 'redstream' }, noArchives);
  expect(() => f.warehouses(resolveEnvironments(environments, 'dev')[0], 'other')).toThrow(/schema redstream, not other/);
});
