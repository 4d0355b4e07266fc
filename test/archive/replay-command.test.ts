/**
 * `npm run ops -- replay` end to end through the CLI dispatcher: the active-Region item in DynamoDB Local picks the
 * target, the archive in the local S3 is the source, kinesalite the streams.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { runCli } from '../../lambda/ops/cli';
import { perRegion } from '../../lambda/failover/adapters';
import { localArchiveBucket, startLocalArchive } from '../../local/archive';
import { createStateTables, LOCAL_CREDENTIALS, RunningService, startDynamoDb } from '../../local/emulators';
import { readWholeStream } from '../../local/shard-reader';
import { putRecords } from '../local/helpers';
import { ArchiveWorld, startArchiveWorld } from './world';
import { formatReplayProgress } from '../../lambda/ops/commands/replay';

const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const STREAM = 'redstream-dev-events';
let world: ArchiveWorld;
let dynamo: RunningService;
let dir: string;
let from: number;
let to: number;

beforeAll(async () => {
  // The command builds its S3 client with the default credential chain; the local S3 checks no signature.
  process.env.AWS_ACCESS_KEY_ID ??= LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ??= LOCAL_CREDENTIALS.secretAccessKey;
  world = await startArchiveWorld(['us-east-1', 'us-west-2'], [{ name: STREAM, shards: 2 }]);
  dynamo = await startDynamoDb();
  await createStateTables(dynamo.endpoint, { checkpointTableName: 'redstream-dev-checkpoints', activeRegionTableName: 'redstream-dev-active-region' });
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials: LOCAL_CREDENTIALS }));
  // After a failover: us-west-2 is active. The archive of us-east-1 is replayed into it.
  await doc.send(new PutCommand({ TableName: 'redstream-dev-active-region', Item: { streamName: STREAM, activeRegion: 'us-west-2', state: 'ACTIVE', epoch: 3, activatedAt: 1, updatedAt: 1 } }));
  doc.destroy();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-cli-'));
  from = Date.now() - 1000;
  await putRecords(world.kinesis('us-east-1'), STREAM, Array.from({ length: 120 }, (_, i) => ({ partitionKey: `k${i % 9}`, data: JSON.stringify({ messageId: `m${i}`, i }) })));
  to = Date.now() + 1000;
  const archive = await startLocalArchive({ regions: ['us-east-1'], streams: [{ name: 'events', physicalName: STREAM }], kinesis: (r) => world.kinesis(r), s3: world.s3Client, bucketFor: (r) => localArchiveBucket('dev', r), idlePollMs: 10 });
  await archive.waitUntilCaughtUp(Date.now());
  await archive.stop();
}, 120_000);
afterAll(async () => {
  await world?.stop();
  await dynamo?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    loadEnvironments: () => cdkJson.context['redstream:environments'],
    env: { AWS_ENDPOINT_URL_S3: world.s3.endpoint, REDSTREAM_ARCHIVE_BUCKET_US_EAST_1: localArchiveBucket('dev', 'us-east-1') },
    dynamoClients: perRegion((region) => DynamoDBDocumentClient.from(new DynamoDBClient({ region, endpoint: dynamo.endpoint, credentials: LOCAL_CREDENTIALS }))),
    kinesisClients: (region) => world.kinesis(region),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('replay --dry-run counts; replay writes into the active Region and says duplicates are removed by the merge', async () => {
  const common = ['replay', '--env', 'dev', '--stream', 'events', '--from', String(from), '--to', new Date(to).toISOString(), '--region', 'us-east-1', '--progress-file', path.join(dir, 'p.json')];
  const dry = await cli([...common, '--dry-run', '--json']);
  expect(dry.err).toBe("");
  expect(dry.code).toBe(0);
  expect(JSON.parse(dry.out)).toMatchObject({ outcome: 'dry-run', found: 120, written: 0, target: `stream ${STREAM} in us-west-2` });
  expect(fs.existsSync(path.join(dir, 'p.json'))).toBe(false);

  const run = await cli(common);
  expect(run.code).toBe(0);
  expect(run.out).toMatch(/^completed: 120 record\(s\) in the window; 120 written/);
  expect(run.out).toMatch(/merge keeps one row per event id/);
  expect(run.err).toMatch(/budget 1000 records\/s and 1\.00 MiB\/s \(50 % of 2 open shard\(s\)\)/);
  const copied = [...(await readWholeStream(world.kinesis('us-west-2'), STREAM)).values()].flat();
  expect(copied).toHaveLength(120);

  const again = await cli(common);
  expect(again.out).toMatch(/^completed: 0 record\(s\) in the window; 0 written/);
});

test.each([
  [['--stream', 'events', '--from', 'yesterday', '--to', '2026-01-01T00:00:00Z'], /--from must be an ISO-8601 time/],
  [['--stream', 'events', '--from', '2026-01-02T00:00:00Z', '--to', '2026-01-01T00:00:00Z'], /--to must be after --from/],
  [['--stream', 'nope', '--from', '1', '--to', '2'], /unknown stream "nope"/],
  [['--stream', 'events', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-02T00:00:00Z', '--source', 'tape'], /--source must be archive or stream/],
  [['--stream', 'events', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-02T00:00:00Z', '--share', '2'], /--share must be a number above 0 and at most 1/],
])('bad usage %j exits 2', async (args, message) => {
  const r = await cli(['replay', '--env', 'dev', ...args]);
  expect(r.code).toBe(2);
  expect(r.err).toMatch(message);
});

test('the progress line shows a bar, counts and an ETA', () => {
  expect(formatReplayProgress({ slice: { fromMs: 0, toMs: 1, index: 0, count: 2 }, found: 100, written: 50, skipped: 0, retried: 0, elapsedMs: 1000 })).toBe(
    '[#####---------------] 25 % 50/200 records, slice 1/2, 50 records/s, ETA 3 s',
  );
});
