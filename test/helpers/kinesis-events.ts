/**
 * Factories for Kinesis records and Lambda Kinesis events (replicator tests; others may use them too).
 */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { toLambdaRecord } from '../../local/event-source-mapping-logic';

export const TEST_ACCOUNT = '123456789012';

export function streamArn(region: string, streamName: string, account = TEST_ACCOUNT): string {
  return `arn:aws:kinesis:${region}:${account}:stream/${streamName}`;
}

/** A 56-digit sequence number that grows with `n` (Kinesis sequence numbers are long decimal integers). */
export function sequenceNumber(n: number | bigint): string {
  return (49_600_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000n + BigInt(n) * 1_000_000n).toString();
}

export interface RecordSpec {
  readonly partitionKey: string;
  readonly data?: string | Uint8Array;
  readonly sequenceNumber?: string;
  /** Arrival time, epoch milliseconds. @default 1_700_000_000_000 + position · 10 */
  readonly arrivalMs?: number;
}

export interface EventOptions {
  readonly region?: string;
  readonly streamName?: string;
  readonly shardId?: string;
}

/** One Lambda Kinesis event record. */
export function kinesisRecord(spec: RecordSpec, position: number, options: EventOptions = {}): KinesisStreamRecord {
  const region = options.region ?? 'us-east-1';
  const streamName = options.streamName ?? 'redstream-test-events';
  const shardId = options.shardId ?? 'shardId-000000000000';
  const seq = spec.sequenceNumber ?? sequenceNumber(position);
  const data = spec.data ?? `record-${position}`;
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: spec.partitionKey,
      sequenceNumber: seq,
      data: Buffer.from(data).toString('base64'),
      approximateArrivalTimestamp: (spec.arrivalMs ?? 1_700_000_000_000 + position * 10) / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${seq}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: `arn:aws:iam::${TEST_ACCOUNT}:role/replicator`,
    awsRegion: region,
    eventSourceARN: streamArn(region, streamName),
  };
}

/** A Lambda Kinesis event of records built from `specs` (positions 0, 1, …). */
export function kinesisEvent(specs: readonly RecordSpec[], options: EventOptions = {}): KinesisStreamEvent {
  return { Records: specs.map((s, i) => kinesisRecord(s, i, options)) };
}

/** A record as read back from a local stream. */
export interface StoredRecord {
  readonly partitionKey: string;
  readonly data: string;
  readonly sequenceNumber: string;
  readonly arrivalMs: number;
  readonly shardId: string;
}

/** Every record of every shard of a (local) stream, shard by shard, in stream order. */
export async function readStream(client: KinesisClient, streamName: string): Promise<StoredRecord[]> {
  const { Shards } = await client.send(new ListShardsCommand({ StreamName: streamName }));
  const out: StoredRecord[] = [];
  for (const shard of Shards ?? []) {
    let { ShardIterator: it } = await client.send(
      new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    while (it) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
      for (const r of page.Records ?? []) {
        out.push({
          partitionKey: r.PartitionKey!,
          data: Buffer.from(r.Data!).toString('utf8'),
          sequenceNumber: r.SequenceNumber!,
          arrivalMs: r.ApproximateArrivalTimestamp!.getTime(),
          shardId: shard.ShardId!,
        });
      }
      if ((page.Records ?? []).length === 0 || page.MillisBehindLatest === 0) break;
      it = page.NextShardIterator;
    }
  }
  return out;
}

/** Lambda Kinesis event records for stored records of a local stream (what the event source mapping would deliver). */
export async function toEventRecords(client: KinesisClient, streamName: string, region: string, records: readonly StoredRecord[]): Promise<KinesisStreamRecord[]> {
  const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
  const arn = StreamDescriptionSummary!.StreamARN!;
  // The same shape the local event source mapping delivers (one definition of Lambda's record format).
  return records.map((r) =>
    toLambdaRecord(
      { partitionKey: r.partitionKey, sequenceNumber: r.sequenceNumber, data: Buffer.from(r.data), approximateArrivalTimestampMs: r.arrivalMs },
      { region, eventSourceArn: arn, shardId: r.shardId, invokeIdentityArn: `arn:aws:iam::${TEST_ACCOUNT}:role/replicator` },
    ),
  );
}

/** A fake Lambda context whose remaining time is fixed (or computed). */
export function lambdaContext(remainingMs: number | (() => number) = 60_000) {
  return { getRemainingTimeInMillis: typeof remainingMs === 'number' ? () => remainingMs : remainingMs };
}

/** A complete Lambda context for handler tests. */
export function fullLambdaContext(remainingMs = 60_000) {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'redstream-test-replicator',
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function:redstream-test-replicator`,
    memoryLimitInMB: '512',
    awsRequestId: 'test-request',
    logGroupName: '/aws/lambda/redstream-test-replicator',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
