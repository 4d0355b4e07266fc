/**
 * Records the archive transformation failed on are not lost to replay: Firehose writes them as processing-failed
 * documents (base64 `rawData`, `arrivalTimestamp`, `errorCode`, …) under `errors/<stream>/processing-failed/…`, and the
 * archive source reads them back with their exact bytes, next to the archive lines. Against the local S3.
 */
import { gzipSync } from 'node:zlib';
import { S3Client } from '@aws-sdk/client-s3';
import { ArchiveRecord, recordBytes } from '../../lambda/archive/format';
import { PROCESSING_FAILED_SHARD, processingFailedRecords } from '../../lambda/archive/processing-failed';
import { ArchiveReplaySource, PutOutcome, runReplay } from '../../lambda/archive/replay';
import { ReplayProgress, writeBudget } from '../../lambda/archive/replay-plan';
import { encodeArchiveObject, S3ArchiveStore } from '../../lambda/archive/store';
import { createArchiveBucket } from '../../local/archive';
import { LOCAL_CREDENTIALS } from '../../local/emulators';
import { LocalS3, startLocalS3 } from '../../local/s3';

const BUCKET = 'redstream-test-archive-pf';
const STREAM = 'redstream-test-events';
const T0 = Date.parse('2026-12-01T10:00:00Z');

let s3: LocalS3;
let client: S3Client;
let store: S3ArchiveStore;

const line = (n: number): ArchiveRecord => ({
  stream: STREAM,
  region: 'us-east-1',
  shardId: 'shardId-000000000000',
  sequenceNumber: String(100 + n),
  subsequenceNumber: 0,
  partitionKey: `k${n}`,
  approximateArrivalTimestampMs: T0 + n * 1000,
  data: Buffer.from(JSON.stringify({ messageId: `m${n}` })).toString('base64'),
});
/** A document as Firehose writes it for a record the transformation returned as ProcessingFailed. */
const failedDoc = (bytes: Buffer, arrival: number): string =>
  JSON.stringify({
    attemptsMade: 1,
    arrivalTimestamp: arrival,
    errorCode: 'Lambda.ProcessingFailedStatus',
    errorMessage: 'ProcessingFailed status returned from Lambda function',
    attemptEndingTimestamp: arrival + 2000,
    rawData: bytes.toString('base64'),
    lambdaArn: 'arn:aws:lambda:us-east-1:111111111111:function:archive-transform:$LATEST',
  });

const BIG = Buffer.concat([Buffer.from('{"messageId":"big","blob":"'), Buffer.alloc(50_000, 0x61), Buffer.from('"}')]);
const BINARY = Buffer.from([0x00, 0xff, 0x10, 0x80]);

beforeAll(async () => {
  s3 = await startLocalS3();
  client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
  store = new S3ArchiveStore(client);
  await createArchiveBucket(client, BUCKET);
  await store.put(BUCKET, 'events/2026/12/01/10/a.gz', await encodeArchiveObject([line(1), line(2), line(3)]), 'application/x-ndjson');
  const docs = `${failedDoc(BIG, T0 + 1500)}\n${failedDoc(BINARY, T0 + 2500)}\n`;
  await store.put(BUCKET, 'errors/events/processing-failed/2026/12/01/10/f1.gz', gzipSync(docs), 'application/octet-stream');
  // Firehose delivers at least once: the same documents again in a second object.
  await store.put(BUCKET, 'errors/events/processing-failed/2026/12/01/10/f2.gz', gzipSync(docs), 'application/octet-stream');
  // Outside the window.
  await store.put(BUCKET, 'errors/events/processing-failed/2026/12/01/13/f3.gz', gzipSync(`${failedDoc(BINARY, T0 + 3 * 3_600_000)}\n`), 'application/octet-stream');
});
afterAll(async () => {
  client.destroy();
  await s3.stop();
});

test('a replay from the archive includes the processing-failed records, with their exact bytes, once each, in arrival order', async () => {
  const source = new ArchiveReplaySource(store, BUCKET, 'events', STREAM, 1, 'us-east-1');
  const written: ArchiveRecord[] = [];
  let saved: ReplayProgress | undefined;
  const request = { environment: 'test', stream: STREAM, fromMs: T0, toMs: T0 + 3_600_000, source: 'archive' as const, sourceRegion: 'us-east-1', targetRegion: 'us-east-1' };
  const result = await runReplay(
    { request, budget: writeBudget(1, 1) },
    {
      source,
      target: { description: 'memory', put: async (rs): Promise<PutOutcome[]> => (written.push(...rs), rs.map(() => ({ ok: true }))) },
      progress: { load: async () => saved, save: async (p) => void (saved = p) },
      clock: Date.now,
      sleep: async () => undefined,
    },
  );
  expect(result).toMatchObject({ outcome: 'completed', found: 5, written: 5 });
  expect(source.processingFailed).toBe(4); // two documents, delivered twice: one identity each
  const failed = written.filter((r) => r.shardId === PROCESSING_FAILED_SHARD);
  expect(failed.map((r) => recordBytes(r))).toEqual([BIG, BINARY]);
  expect(failed.map((r) => r.approximateArrivalTimestampMs)).toEqual([T0 + 1500, T0 + 2500]);
  // The document has no partition key: the bytes' hash stands in (a valid Kinesis key, at most 256 characters).
  expect(failed[0].partitionKey).toMatch(/^[0-9a-f]{64}$/);
  // Interleaved with the archive lines by arrival time.
  expect(written.map((r) => r.partitionKey.slice(0, 2))).toEqual(['k1', failed[0].partitionKey.slice(0, 2), 'k2', failed[1].partitionKey.slice(0, 2), 'k3']);
});

test('a processing-failed document that is not what Firehose writes is an error, not a silent skip', () => {
  const ctx = { stream: STREAM, region: 'us-east-1', where: 's3://b/k' };
  expect(() => processingFailedRecords('{"arrivalTimestamp":1}\n', ctx)).toThrow(/rawData is not base64/);
  expect(() => processingFailedRecords(`{"rawData":"AAAA","arrivalTimestamp":"x"}\n`, ctx)).toThrow(/arrivalTimestamp/);
  expect(() => processingFailedRecords('not json\n', ctx)).toThrow(/not a JSON document/);
  expect(processingFailedRecords(`${failedDoc(BINARY, 5)}\n\n`, ctx)).toHaveLength(1);
});
