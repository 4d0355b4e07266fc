/**
 * Reading a Kinesis shard with GetShardIterator / GetRecords (kinesalite has no enhanced fan-out), shared by the local
 * event source mapping and the warehouse loader. The reader keeps its position across errors: after a failed call
 * (Region down, expired iterator, throttling) the next `read` asks for a new iterator after the last record returned.
 */
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import type { ShardRecord } from './event-source-mapping-logic';

/** Where a reader starts in a shard it has not read yet. */
export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | { readonly atTimestampMs: number };

export interface ShardReadResult {
  readonly records: ShardRecord[];
  readonly millisBehindLatest: number;
  /** The shard is closed and every record has been read. */
  readonly endOfShard: boolean;
}

export class ShardReader {
  private iterator: string | undefined;
  private lastSequenceNumber: string | undefined;
  private ended = false;

  constructor(
    private readonly client: KinesisClient,
    readonly streamName: string,
    readonly shardId: string,
    private readonly start: StartingPosition,
  ) {}

  /** Sequence number of the last record returned by {@link read}, if any. */
  get position(): string | undefined {
    return this.lastSequenceNumber;
  }

  /** Reads up to `limit` records (1–10000) after the last one returned. Throws the SDK's error; the position is kept. */
  async read(limit: number): Promise<ShardReadResult> {
    if (this.ended) return { records: [], millisBehindLatest: 0, endOfShard: true };
    try {
      this.iterator ??= await this.newIterator();
      const out = await this.client.send(new GetRecordsCommand({ ShardIterator: this.iterator, Limit: Math.max(1, Math.min(10000, limit)) }));
      const records: ShardRecord[] = (out.Records ?? []).map((r) => ({
        sequenceNumber: r.SequenceNumber ?? '',
        partitionKey: r.PartitionKey ?? '',
        data: r.Data ?? new Uint8Array(),
        approximateArrivalTimestampMs: r.ApproximateArrivalTimestamp?.getTime() ?? 0,
      }));
      if (records.length > 0) this.lastSequenceNumber = records[records.length - 1].sequenceNumber;
      this.iterator = out.NextShardIterator;
      if (this.iterator === undefined) this.ended = true;
      return { records, millisBehindLatest: out.MillisBehindLatest ?? 0, endOfShard: this.ended };
    } catch (err) {
      this.iterator = undefined;
      throw err;
    }
  }

  private async newIterator(): Promise<string> {
    const base = { StreamName: this.streamName, ShardId: this.shardId };
    let input;
    if (this.lastSequenceNumber !== undefined) {
      input = { ...base, ShardIteratorType: ShardIteratorType.AFTER_SEQUENCE_NUMBER, StartingSequenceNumber: this.lastSequenceNumber };
    } else if (this.start === 'TRIM_HORIZON' || this.start === 'LATEST') {
      input = { ...base, ShardIteratorType: this.start };
    } else {
      input = { ...base, ShardIteratorType: ShardIteratorType.AT_TIMESTAMP, Timestamp: new Date(this.start.atTimestampMs) };
    }
    const out = await this.client.send(new GetShardIteratorCommand(input));
    if (!out.ShardIterator) throw new Error(`GetShardIterator returned no iterator for ${this.streamName}/${this.shardId}`);
    return out.ShardIterator;
  }
}

/** One shard of a stream as ListShards reports it. */
export interface ShardSummary {
  readonly shardId: string;
  /** `ParentShardId` and `AdjacentParentShardId` (a merge has two parents), when present. */
  readonly parentShardIds: readonly string[];
  /** The last sequence number of a closed shard; undefined while the shard is open. */
  readonly endingSequenceNumber: string | undefined;
}

/**
 * Every shard of a stream, open and closed, in the service's order. No `ShardFilter`: kinesalite ignores it, so
 * callers filter themselves.
 */
export async function listShards(client: KinesisClient, streamName: string): Promise<ShardSummary[]> {
  const shards: ShardSummary[] = [];
  let nextToken: string | undefined;
  do {
    const out = await client.send(new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: streamName }));
    for (const s of out.Shards ?? []) {
      if (!s.ShardId) continue;
      shards.push({
        shardId: s.ShardId,
        parentShardIds: [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => typeof p === 'string' && p !== ''),
        endingSequenceNumber: s.SequenceNumberRange?.EndingSequenceNumber,
      });
    }
    nextToken = out.NextToken;
  } while (nextToken);
  return shards;
}

/** The ids of a stream's shards (open and closed), in order. */
export async function listShardIds(client: KinesisClient, streamName: string): Promise<string[]> {
  return (await listShards(client, streamName)).map((s) => s.shardId);
}

/** The stream's ARN as the service reports it. */
export async function streamArn(client: KinesisClient, streamName: string): Promise<string> {
  const out = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
  const arn = out.StreamDescriptionSummary?.StreamARN;
  if (!arn) throw new Error(`DescribeStreamSummary returned no ARN for ${streamName}`);
  return arn;
}

/** Every record currently in a stream, per shard in order (for reports and tests; reads until each shard is caught up). */
export async function readWholeStream(client: KinesisClient, streamName: string): Promise<Map<string, ShardRecord[]>> {
  const result = new Map<string, ShardRecord[]>();
  for (const shardId of await listShardIds(client, streamName)) {
    const reader = new ShardReader(client, streamName, shardId, 'TRIM_HORIZON');
    const records: ShardRecord[] = [];
    for (;;) {
      const out = await reader.read(10000);
      records.push(...out.records);
      if (out.endOfShard || (out.records.length === 0 && out.millisBehindLatest === 0)) break;
    }
    result.set(shardId, records);
  }
  return result;
}
