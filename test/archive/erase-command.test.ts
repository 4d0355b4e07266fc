/** `npm run ops -- erase` through its command function, against PGlite and the local S3. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { S3Client } from '@aws-sdk/client-s3';
import { runCli } from '../../lambda/ops/cli';
import { EraseFactories, runErase, storageClassLines } from '../../lambda/ops/commands/erase';
import { S3ArchiveStore, encodeArchiveObject, decodeArchiveObject } from '../../lambda/archive/store';
import { subjectHash } from '../../lambda/archive/subject';
import { setupPostgresWarehouse } from '../../lib/sql/postgres';
import { createArchiveBucket } from '../../local/archive';
import { LOCAL_CREDENTIALS } from '../../local/emulators';
import { localErasureWarehouse } from '../../local/erase';
import { LocalS3, startLocalS3 } from '../../local/s3';

const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const environments = cdkJson.context['redstream:environments'];
let db: PGlite;
let s3: LocalS3;
let client: S3Client;
const NOW = Date.parse('2026-12-02T08:00:00Z');

beforeAll(async () => {
  db = new PGlite();
  await db.waitReady;
  const wh = await setupPostgresWarehouse(db, { schema: 'redstream', region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-dev-events' }] });
  const data = [
    { messageId: 'm1', userId: 'alice@example.com' },
    { messageId: 'm2', anonymousId: 'alice@example.com' },
    { messageId: 'm3', userId: 'bob' },
  ].map((o) => Buffer.from(JSON.stringify(o)));
  await wh.append('events', data.map((d, i) => ({ shardId: 'shardId-000000000000', sequenceNumber: String(100 + i), partitionKey: `p${i}`, approximateArrivalTimestamp: new Date(NOW - 1000), data: d })));
  await wh.merge();
  s3 = await startLocalS3();
  client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
  for (const region of ['us-east-1', 'us-west-2']) {
    await createArchiveBucket(client, `archive-${region}`);
    const records = data.map((d, i) => ({ stream: 'redstream-dev-events', region, shardId: 'shardId-000000000000', sequenceNumber: String(100 + i), subsequenceNumber: 0, partitionKey: `p${i}`, approximateArrivalTimestampMs: NOW - 1000, data: d.toString('base64') }));
    await new S3ArchiveStore(client).put(`archive-${region}`, 'events/2026/12/02/07/x.gz', await encodeArchiveObject(records), 'application/x-ndjson');
  }
});
afterAll(async () => {
  client.destroy();
  await s3.stop();
  await db.close();
});

function factories(): EraseFactories {
  return {
    warehouses: (_config, schema) => [localErasureWarehouse({ name: 'us-east-1', db, schema, streamingViews: ['redstream.stream_events'], retentionMs: 24 * 3_600_000, clock: () => NOW })],
    archives: () => ({
      archives: ['us-east-1', 'us-west-2'].map((region) => ({ region, bucket: `archive-${region}`, prefixes: ['events/', 'errors/'] })),
      store: new S3ArchiveStore(client),
      close: () => undefined,
    }),
  };
}

function deps(out: string[], err: string[]) {
  return { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), loadEnvironments: () => environments, env: {}, clock: () => NOW };
}

test('erase --dry-run counts, erase removes and reports what is pending; the subject is never printed', async () => {
  const out: string[] = [];
  const err: string[] = [];
  expect(await runErase({ env: 'dev', subject: 'alice@example.com', 'dry-run': true }, deps(out, err), factories())).toBe(0);
  expect(out.join('\n')).toMatch(/dry run, nothing changed/);
  expect(out.join('\n')).toMatch(/2 event\(s\), 0 reject\(s\) would be removed/);
  expect(out.join('\n')).toMatch(/archive: 4 record\(s\) would be removed/);

  out.length = 0;
  expect(await runErase({ env: 'dev', subject: 'alice@example.com', json: true }, deps(out, err), factories())).toBe(0);
  const report = JSON.parse(out.join('\n'));
  expect(report).toMatchObject({ subjectHash: subjectHash('alice@example.com'), warehouses: [{ eventsDeleted: 2 }], archive: { recordsRemoved: 4, objectsRewritten: 2, versionsDeleted: 2 } });
  expect(report.pending[0]).toMatchObject({ clearAt: '2026-12-03T08:00:00.000Z' }); // dev streams keep 24 h
  expect([...out, ...err].join('\n')).not.toContain('alice@example.com');
  const left = await decodeArchiveObject((await new S3ArchiveStore(client).get('archive-us-west-2', 'events/2026/12/02/07/x.gz')).body, 'x');
  expect(left.map((r) => Buffer.from(r.data, 'base64').toString())).toEqual(['{"messageId":"m3","userId":"bob"}']);

  out.length = 0;
  // A streaming view left missing (a run that ended between its DROP and CREATE): the finish step creates it first.
  await db.exec('DROP TABLE redstream.stream_events');
  expect(await runErase({ env: 'dev', finish: true }, deps(out, err), factories())).toBe(0);
  expect(out.join('\n')).toMatch(/finished 0 erasure\(s\), 1 waiting\n  1 streaming view\(s\) were missing .* and were created again/);
  expect((await db.query(`SELECT 1 FROM redstream.stream_events`)).rows).toEqual([]);
});

test.each([
  [['erase', '--env', 'dev'], /--subject is required/],
  [['erase', '--env', 'dev', '--finish', '--subject', 'x'], /--finish works from the audit table/],
  [['erase', '--env', 'dev', '--subject', 'x', '--subject-paths', 'user id'], /subject path "user id"/],
])('bad usage %j exits 2', async (argv, message) => {
  const err: string[] = [];
  const code = await runCli(argv, { ...deps([], err), env: { REDSTREAM_ARCHIVE_BUCKET_US_EAST_1: 'a', REDSTREAM_ARCHIVE_BUCKET_US_WEST_2: 'b' } });
  expect(err.join('\n')).toMatch(message);
  expect(code).toBe(2);
});

test('the erasure output counts objects per storage class and says what a rewrite in cold storage costs', () => {
  expect(storageClassLines({}, false)).toEqual([]);
  expect(storageClassLines({ STANDARD: 3 }, false)).toEqual(['  objects rewritten or deleted by storage class: STANDARD 3']);
  const cold = storageClassLines({ STANDARD: 3, GLACIER_IR: 2 }, true);
  expect(cold[0]).toBe('  objects to rewrite by storage class: GLACIER_IR 2, STANDARD 3');
  expect(cold[1]).toMatch(/^ {2}2 in GLACIER_IR: minimum storage duration charges apply .*at least 90 days.*the days it had left/);
});
