import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArchiveReplaySource, FileProgressStore, KinesisReplayTarget, ReplayDeps, runReplay, StreamReplaySource } from '../../lambda/archive/replay';
import { writeBudget } from '../../lambda/archive/replay-plan';
import { S3ArchiveStore } from '../../lambda/archive/store';
import { localArchiveBucket, startLocalArchive } from '../../local/archive';
import { readWholeStream } from '../../local/shard-reader';
import { createStreams } from '../../local/emulators';
import { putRecords } from '../local/helpers';
import { ArchiveWorld, startArchiveWorld } from './world';

const STREAM = 'redstream-test-events';
let world: ArchiveWorld;
let dir: string;
let produced: Array<{ partitionKey: string; data: Uint8Array }>;
let windowFrom: number;
let windowTo: number;

beforeAll(async () => {
  world = await startArchiveWorld(['us-east-1', 'us-west-2'], [{ name: STREAM, shards: 2 }]);
  await createStreams(world.kinesis('us-west-2'), [{ name: 'redstream-test-copy', shards: 3 }]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-'));
  const counters = new Map<string, number>();
  produced = Array.from({ length: 400 }, (_, i) => {
    const key = `user-${i % 20}`;
    const n = (counters.get(key) ?? 0) + 1;
    counters.set(key, n);
    return { partitionKey: key, data: i % 40 === 0 ? Uint8Array.from([0xff, n, 0x00]) : Buffer.from(JSON.stringify({ messageId: `m-${i}`, userId: key, n })) };
  });
  windowFrom = Date.now() - 1000;
  await putRecords(world.kinesis('us-east-1'), STREAM, produced);
  windowTo = Date.now() + 1000;
  const archive = await startLocalArchive({
    regions: ['us-east-1'],
    streams: [{ name: 'events', physicalName: STREAM }],
    kinesis: (r) => world.kinesis(r),
    s3: world.s3Client,
    bucketFor: (r) => localArchiveBucket('test', r),
    bufferBytes: 4096,
    idlePollMs: 10,
  });
  await archive.waitUntilCaughtUp(Date.now());
  await archive.stop();
});
afterAll(async () => {
  await world.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const fastDeps = (progressFile: string, target: string, source: ReplayDeps['source']): ReplayDeps => ({
  source,
  target: new KinesisReplayTarget(world.kinesis('us-west-2'), target, 'us-west-2'),
  progress: new FileProgressStore(progressFile),
  clock: Date.now,
  sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))),
});
const request = (source: 'archive' | 'stream') => ({ environment: 'test', stream: STREAM, fromMs: windowFrom, toMs: windowTo, source, sourceRegion: 'us-east-1', targetRegion: 'us-west-2' });

/** Per key, the `n` values (or binary markers) in the order the target stream holds them. */
async function perKeyOrder(stream: string): Promise<{ all: Array<{ partitionKey: string; data: Buffer }>; byKey: Map<string, string[]> }> {
  const shards = await readWholeStream(world.kinesis('us-west-2'), stream);
  const all = [...shards.values()].flat().map((r) => ({ partitionKey: r.partitionKey, data: Buffer.from(r.data) }));
  const byKey = new Map<string, string[]>();
  for (const [, records] of shards) {
    for (const r of records) {
      const list = byKey.get(r.partitionKey) ?? [];
      list.push(Buffer.from(r.data).toString('base64'));
      byKey.set(r.partitionKey, list);
    }
  }
  return { all, byKey };
}

function expectedByKey(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of produced) m.set(r.partitionKey, [...(m.get(r.partitionKey) ?? []), Buffer.from(r.data).toString('base64')]);
  return m;
}

test('replay from the archive, interrupted after 3 calls and resumed: every record once, per-key order, exact bytes', async () => {
  const file = path.join(dir, 'archive.json');
  const source = new ArchiveReplaySource(new S3ArchiveStore(world.s3Client), localArchiveBucket('test', 'us-east-1'), 'events', STREAM);
  const budget = writeBudget(2, 0.5);

  const dry = await runReplay({ request: request('archive'), budget, dryRun: true }, fastDeps(file, STREAM, source));
  expect(dry).toMatchObject({ outcome: 'dry-run', found: 400, written: 0 });
  expect(fs.existsSync(file)).toBe(false);

  let calls = 0;
  const target = new KinesisReplayTarget(world.kinesis('us-west-2'), STREAM, 'us-west-2');
  const counting = { description: target.description, put: async (rs: Parameters<typeof target.put>[0]) => (calls++, target.put(rs)) };
  const first = await runReplay({ request: request('archive'), budget, shouldStop: () => calls >= 3 }, { ...fastDeps(file, STREAM, source), target: counting });
  expect(first.outcome).toBe('interrupted');
  expect(first.written).toBe(60); // 3 calls of one record per key, 20 keys
  expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ written: 60, calls: 3 });

  const second = await runReplay({ request: request('archive'), budget }, fastDeps(file, STREAM, source));
  expect(second).toMatchObject({ outcome: 'completed', found: 400, skipped: 60, written: 340, resumed: true });
  const again = await runReplay({ request: request('archive'), budget }, fastDeps(file, STREAM, source));
  expect(again).toMatchObject({ outcome: 'completed', written: 0 });

  const { all, byKey } = await perKeyOrder(STREAM);
  expect(all).toHaveLength(400);
  expect(byKey).toEqual(expectedByKey());
});

test('replay from a stream into another stream keeps per-key order; a progress record of another request is refused', async () => {
  const file = path.join(dir, 'stream.json');
  const source = new StreamReplaySource(world.kinesis('us-east-1'), STREAM, 'us-east-1');
  const result = await runReplay({ request: request('stream'), budget: writeBudget(3, 1) }, fastDeps(file, 'redstream-test-copy', source));
  expect(result).toMatchObject({ outcome: 'completed', found: 400, written: 400 });
  const { byKey } = await perKeyOrder('redstream-test-copy');
  expect(byKey).toEqual(expectedByKey());
  await expect(runReplay({ request: { ...request('stream'), toMs: windowTo + 1 }, budget: writeBudget(3, 1) }, fastDeps(file, 'redstream-test-copy', source))).rejects.toThrow(
    /belongs to another replay/,
  );
});
