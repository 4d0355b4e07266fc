/**
 * The local stand-in of each Region's Firehose archive: reads every shard of each stream in the Region (the same
 * GetShardIterator / GetRecords reader as the local event source mapping and the warehouse loader), buffers the
 * records, and on each flush runs them through the SAME transformation code the deployed delivery stream invokes
 * (lambda/archive-transform/transform.ts, with a Firehose-shaped event carrying `kinesisRecordMetadata`), then
 * writes one GZIP object per flush under the same hourly prefix and object name Firehose uses
 * (lambda/archive/layout.ts) to the Region's archive bucket in the local S3, through the real S3 client.
 * Records the transformation fails are written as Firehose's processing-failed documents under the error prefix.
 *
 * Like Firehose, it names an object's hour after the moment the oldest record in it reached the archive (here: when
 * it was read), so a record can sit in an object of a later hour than its arrival in the stream.
 */
import * as crypto from 'node:crypto';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { FirehoseTransformationEventRecord } from 'aws-lambda';
import { objectKey } from '../lambda/archive/layout';
import { transformFirehoseEvent } from '../lambda/archive-transform/transform';
import type { ShardRecord } from './event-source-mapping-logic';
import { listShardIds, ShardReader } from './shard-reader';
import { LOCAL_CREDENTIALS } from './emulators';
import { LocalS3, startLocalS3 } from './s3';

const gzip = promisify(zlib.gzip);

export interface LocalArchiveStream {
  /** Logical name: the archive prefix. */
  readonly name: string;
  readonly physicalName: string;
}

export interface LocalArchiveProps {
  readonly regions: readonly string[];
  readonly streams: readonly LocalArchiveStream[];
  /** A Kinesis client per Region (through the router: a Region's outage pauses its archive, as it would Firehose). */
  readonly kinesis: (region: string) => KinesisClient;
  readonly s3: S3Client;
  /** The archive bucket of a Region. */
  readonly bucketFor: (region: string) => string;
  /** Flush a stream's buffer this often. @default 1000 */
  readonly bufferIntervalMs?: number;
  /** Flush a stream's buffer once it holds this many bytes of records. @default 1 MiB */
  readonly bufferBytes?: number;
  /** Wait between reads of an idle shard. @default 50 */
  readonly idlePollMs?: number;
  /** Records per transformation invocation, as Firehose's processor buffer would group them. @default 500 */
  readonly invocationRecords?: number;
}

export interface ArchiveTotals {
  records: number;
  objects: number;
  /** Bytes of the records' data. */
  rawBytes: number;
  /** Bytes of the archive lines before compression. */
  lineBytes: number;
  /** Bytes of the GZIP objects written. */
  objectBytes: number;
  failedRecords: number;
  readErrors: number;
}

export interface LocalArchive {
  readonly totals: Readonly<ArchiveTotals>;
  /** Resolves when every shard has read nothing new after `sinceMs` and every buffer is written. */
  waitUntilCaughtUp(sinceMs: number, options?: { timeoutMs?: number }): Promise<void>;
  /** Writes every buffer now. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

interface Buffered {
  readonly region: string;
  readonly stream: LocalArchiveStream;
  readonly shardId: string;
  readonly record: ShardRecord;
  readonly readAt: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Local bucket name of a Region's archive. */
export function localArchiveBucket(environment: string, region: string): string {
  return `redstream-${environment}-archive-${region}`;
}

/** Creates a versioned archive bucket (as the ArchiveBucket construct does) unless it exists. */
export async function createArchiveBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (!(err instanceof Error && err.name === 'BucketAlreadyOwnedByYou')) throw err;
  }
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
}

export async function startLocalArchive(props: LocalArchiveProps): Promise<LocalArchive> {
  const intervalMs = props.bufferIntervalMs ?? 1000;
  const maxBytes = props.bufferBytes ?? 1024 * 1024;
  const idlePollMs = props.idlePollMs ?? 50;
  const perInvocation = props.invocationRecords ?? 500;
  const totals: ArchiveTotals = { records: 0, objects: 0, rawBytes: 0, lineBytes: 0, objectBytes: 0, failedRecords: 0, readErrors: 0 };
  const buffers = new Map<string, { items: Buffered[]; bytes: number }>();
  const idleSince = new Map<string, number | undefined>();
  let stopping = false;
  let fatal: unknown;

  for (const region of props.regions) await createArchiveBucket(props.s3, props.bucketFor(region));

  // One writer at a time per delivery stream keeps objects in read order.
  let chain: Promise<unknown> = Promise.resolve();
  const flushOne = (key: string): Promise<void> => {
    const run = chain.then(async () => {
      const buf = buffers.get(key);
      if (!buf || buf.items.length === 0) return;
      const items = buf.items;
      buffers.set(key, { items: [], bytes: 0 });
      await writeObjects(items);
    });
    chain = run.catch((err: unknown) => {
      fatal ??= err;
    });
    return run;
  };
  const flushAll = async (): Promise<void> => {
    await Promise.all([...buffers.keys()].map(flushOne));
  };

  async function writeObjects(items: Buffered[]): Promise<void> {
    const { region, stream } = items[0];
    const bucket = props.bucketFor(region);
    const arn = `arn:aws:kinesis:${region}:000000000000:stream/${stream.physicalName}`;
    const lines: Buffer[] = [];
    const failed: Array<{ item: Buffered; record: FirehoseTransformationEventRecord }> = [];
    for (let start = 0; start < items.length; start += perInvocation) {
      const slice = items.slice(start, start + perInvocation);
      const records: FirehoseTransformationEventRecord[] = slice.map((it, i) => ({
        recordId: `${start + i}`,
        approximateArrivalTimestamp: it.readAt,
        data: Buffer.from(it.record.data).toString('base64'),
        kinesisRecordMetadata: {
          shardId: it.shardId,
          partitionKey: it.record.partitionKey,
          approximateArrivalTimestamp: it.record.approximateArrivalTimestampMs,
          sequenceNumber: it.record.sequenceNumber,
          subsequenceNumber: '0',
        },
      }));
      const { result } = transformFirehoseEvent({
        invocationId: crypto.randomUUID(),
        deliveryStreamArn: `arn:aws:firehose:${region}:000000000000:deliverystream/${stream.physicalName}-archive`,
        sourceKinesisStreamArn: arn,
        region,
        records,
      });
      result.records.forEach((r, i) => {
        if (r.result === 'Ok') lines.push(Buffer.from(r.data ?? '', 'base64'));
        else if (r.result === 'ProcessingFailed') failed.push({ item: slice[i], record: records[i] });
      });
    }
    const oldest = Math.min(...items.map((it) => it.readAt));
    const id = crypto.randomUUID();
    if (lines.length > 0) {
      const text = Buffer.concat(lines);
      const body = await gzip(text);
      await props.s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: objectKey(stream.name, oldest, `${stream.physicalName}-archive`, id), Body: body, ContentType: 'application/x-ndjson' }),
      );
      totals.objects++;
      totals.lineBytes += text.length;
      totals.objectBytes += body.length;
    }
    if (failed.length > 0) {
      // Firehose's processing-failed document, one JSON line per record, under the error prefix.
      const docs = failed.map(({ item, record }) =>
        JSON.stringify({
          attemptsMade: 1,
          arrivalTimestamp: item.readAt,
          errorCode: 'Lambda.FunctionError',
          errorMessage: 'The Lambda function returned ProcessingFailed for this record',
          attemptEndingTimestamp: Date.now(),
          rawData: record.data,
          lambdaArn: `arn:aws:lambda:${region}:000000000000:function:archive-transform`,
        }),
      );
      const d = new Date(oldest);
      const hour = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/${String(d.getUTCHours()).padStart(2, '0')}`;
      await props.s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: `errors/${stream.name}/processing-failed/${hour}/${stream.physicalName}-archive-1-${id}.gz`, Body: await gzip(`${docs.join('\n')}\n`) }),
      );
      totals.failedRecords += failed.length;
    }
    totals.records += items.length - failed.length;
    totals.rawBytes += items.reduce((n, it) => n + it.record.data.length, 0);
  }

  async function readShard(region: string, stream: LocalArchiveStream, shardId: string): Promise<void> {
    const key = `${region}/${stream.physicalName}/${shardId}`;
    const bufferKey = `${region}/${stream.physicalName}`;
    const reader = new ShardReader(props.kinesis(region), stream.physicalName, shardId, 'TRIM_HORIZON');
    let failures = 0;
    while (!stopping) {
      const startedAt = Date.now();
      try {
        const out = await reader.read(10000);
        failures = 0;
        if (out.records.length > 0) {
          idleSince.set(key, undefined);
          const buf = buffers.get(bufferKey) ?? { items: [], bytes: 0 };
          for (const record of out.records) {
            buf.items.push({ region, stream, shardId, record, readAt: startedAt });
            buf.bytes += record.data.length;
          }
          buffers.set(bufferKey, buf);
          if (buf.bytes >= maxBytes) await flushOne(bufferKey);
        } else {
          // A closed shard read to its end (a split parent) is caught up for good.
          idleSince.set(key, out.endOfShard ? Number.POSITIVE_INFINITY : startedAt);
          if (out.endOfShard) return;
          await sleep(idlePollMs);
        }
      } catch {
        totals.readErrors++;
        failures++;
        await sleep(Math.min(1000, 20 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  const shards: string[] = [];
  const readers: Array<Promise<void>> = [];
  /** Starts a reader for every shard not read yet: Firehose follows a stream's splits and merges the same way. */
  async function discoverShards(): Promise<void> {
    for (const region of props.regions) {
      for (const stream of props.streams) {
        if (!buffers.has(`${region}/${stream.physicalName}`)) buffers.set(`${region}/${stream.physicalName}`, { items: [], bytes: 0 });
        for (const shardId of await listShardIds(props.kinesis(region), stream.physicalName)) {
          const key = `${region}/${stream.physicalName}/${shardId}`;
          if (shards.includes(key)) continue;
          shards.push(key);
          readers.push(
            readShard(region, stream, shardId).catch((err: unknown) => {
              fatal ??= err;
            }),
          );
        }
      }
    }
  }
  await discoverShards();
  // Flushes on a timer; errors surface through `fatal` (flushOne records them). New shards are found on the same timer
  // (a Region that is down is listed again next time).
  const ticker = setInterval(() => {
    void flushAll().catch(() => undefined);
    if (!stopping) void discoverShards().catch(() => undefined);
  }, intervalMs);

  return {
    totals,
    async waitUntilCaughtUp(sinceMs, options = {}) {
      const deadline = Date.now() + (options.timeoutMs ?? 60_000);
      while (!shards.every((k) => (idleSince.get(k) ?? -1) >= sinceMs)) {
        if (fatal !== undefined) throw fatal;
        if (Date.now() > deadline) throw new Error(`local archive did not catch up within ${options.timeoutMs ?? 60_000} ms`);
        await sleep(20);
      }
      await flushAll();
      if (fatal !== undefined) throw fatal;
    },
    flush: flushAll,
    async stop() {
      stopping = true;
      clearInterval(ticker);
      await Promise.all(readers);
      await flushAll();
      if (fatal !== undefined) throw fatal;
    },
  };
}

/** The archive of a running local pipeline: the local S3 with one versioned bucket per Region, and the local Firehose. */
export interface PipelineArchive {
  readonly s3: LocalS3;
  readonly client: S3Client;
  readonly archive: LocalArchive;
  bucketFor(region: string): string;
  stop(): Promise<void>;
}

/**
 * Starts the local S3 and the local Firehose of every Region of a pipeline (reading each Region's streams through its
 * router, so an outage pauses the archive as it would pause Firehose).
 */
export async function startPipelineArchive(pipeline: {
  readonly config: { readonly name: string };
  readonly regions: readonly string[];
  readonly streams: readonly LocalArchiveStream[];
  kinesis(region: string): KinesisClient;
}, options: { bufferIntervalMs?: number; idlePollMs?: number } = {}): Promise<PipelineArchive> {
  const s3 = await startLocalS3();
  const client = new S3Client({ region: pipeline.regions[0], endpoint: s3.endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
  const bucketFor = (region: string): string => localArchiveBucket(pipeline.config.name, region);
  let archive: LocalArchive;
  try {
    archive = await startLocalArchive({
      regions: pipeline.regions,
      streams: pipeline.streams,
      kinesis: (r) => pipeline.kinesis(r),
      s3: client,
      bucketFor,
      bufferIntervalMs: options.bufferIntervalMs ?? 1000,
      idlePollMs: options.idlePollMs ?? 50,
    });
  } catch (err) {
    client.destroy();
    await s3.stop();
    throw err;
  }
  let stopped = false;
  return {
    s3,
    client,
    archive,
    bucketFor,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await archive.stop();
      } finally {
        client.destroy();
        await s3.stop();
      }
    },
  };
}
