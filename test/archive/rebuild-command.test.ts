import * as fs from 'node:fs';
import * as path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { rebuildWarehouse } from '../../lambda/ops/commands/rebuild';
import { runCli } from '../../lambda/ops/cli';
import { parseEnvironment } from '../../lib/config';
import { setupPostgresWarehouse } from '../../lib/sql/postgres';
import { localErasureWarehouse } from '../../local/erase';

const environments = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, Record<string, unknown>> }).context['redstream:environments'];

test('rebuild empties events, rejects and merge state, keeps the suppression list, and replays every stream', async () => {
  const db = new PGlite();
  await db.waitReady;
  try {
    const wh = await setupPostgresWarehouse(db, { schema: 'redstream', region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-dev-events' }] });
    await wh.append('events', [{ shardId: 's', sequenceNumber: '1', partitionKey: 'p', approximateArrivalTimestamp: new Date(), data: Buffer.from('{"messageId":"m1"}') }]);
    await wh.merge();
    await db.query(`INSERT INTO redstream.suppressed_subjects VALUES ('${'a'.repeat(64)}', 'r', now())`);
    const replayed: string[] = [];
    const result = await rebuildWarehouse(
      parseEnvironment('dev', environments.dev),
      localErasureWarehouse({ name: 'us-east-1', db, schema: 'redstream', streamingViews: [], retentionMs: 0, clock: Date.now }),
      async (s) => {
        replayed.push(s.physicalName);
        return { outcome: 'completed', found: 3, written: 3, skipped: 0, calls: 1, retriedEntries: 0, bytes: 9, durationMs: 1, recordsPerSecond: 3, budget: { openShards: 1, share: 1, recordsPerSecond: 1000, bytesPerSecond: 1 }, resumed: false };
      },
      () => undefined,
    );
    expect(replayed).toEqual(['redstream-dev-events']);
    expect(result.streams).toEqual([{ stream: 'events', found: 3, written: 3 }]);
    for (const t of ['events', 'rejects', 'merge_state', 'merge_streams', 'merge_runs']) {
      expect((await db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM redstream.${t}`)).rows[0].n).toBe(0);
    }
    expect((await db.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM redstream.suppressed_subjects')).rows[0].n).toBe(1);
  } finally {
    await db.close();
  }
});

test('rebuild refuses without --yes (exit 2)', async () => {
  const err: string[] = [];
  const code = await runCli(['rebuild', '--env', 'dev', '--from', '2026-12-01T00:00:00Z'], { stdout: () => undefined, stderr: (t) => err.push(t), loadEnvironments: () => environments, env: {} });
  expect(code).toBe(2);
  expect(err.join('\n')).toMatch(/pass --yes/);
});
