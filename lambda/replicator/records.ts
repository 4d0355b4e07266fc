/**
 * Turns a Lambda Kinesis event into per-shard batches of decoded records. Pure: no AWS I/O, no clock.
 */
import type { KinesisStreamRecord } from 'aws-lambda';
import { MalformedRecordError } from './errors';

/** One source record, decoded, with its position in the shard batch. */
export interface SourceRecord {
  /** Position in the shard batch (0-based, source order). */
  readonly index: number;
  /** Kinesis sequence number, decimal string as delivered. */
  readonly sequenceNumber: string;
  /** The same, as an integer: sequence numbers compare as numbers, never as strings. */
  readonly sequence: bigint;
  readonly partitionKey: string;
  /** The record's payload, decoded from the event's base64. */
  readonly data: Uint8Array;
  /** Arrival time in the source stream, epoch milliseconds. */
  readonly arrivalMs: number;
  /** Bytes this record adds to a PutRecords request: payload plus UTF-8 partition key. */
  readonly requestBytes: number;
}

/** The records of one (stream, shard) in an event, in source order. */
export interface ShardBatch {
  /** Physical stream name (the same in every Region). */
  readonly streamName: string;
  /** Region of the source stream, from the event source ARN. */
  readonly sourceRegion: string;
  /** Source shard id, e.g. `shardId-000000000000`. */
  readonly shardId: string;
  readonly records: readonly SourceRecord[];
}

const STREAM_ARN = /^arn:[a-z0-9-]+:kinesis:([a-z0-9-]+):\d{12}:stream\/([A-Za-z0-9_.-]+)(?:\/consumer\/.*)?$/;

/** Stream name and Region from a stream or stream-consumer ARN. */
export function parseStreamArn(arn: string): { region: string; streamName: string } | undefined {
  const m = STREAM_ARN.exec(arn);
  return m ? { region: m[1], streamName: m[2] } : undefined;
}

/** Bytes a record adds to a PutRecords request (payload plus UTF-8 partition key). */
export function requestBytes(data: Uint8Array, partitionKey: string): number {
  return data.byteLength + Buffer.byteLength(partitionKey, 'utf8');
}

/**
 * Groups the event's records by (stream, shard), keeping source order. Lambda delivers one shard per batch; the
 * grouping only makes the handler correct should that ever change. Throws {@link MalformedRecordError} on a record
 * it cannot interpret (never skips one silently).
 */
export function toShardBatches(records: readonly KinesisStreamRecord[]): ShardBatch[] {
  const groups = new Map<string, { streamName: string; sourceRegion: string; shardId: string; records: SourceRecord[] }>();
  for (const r of records) {
    const source = parseStreamArn(r.eventSourceARN ?? '');
    if (!source) throw new MalformedRecordError(r.eventID, `eventSourceARN ${JSON.stringify(r.eventSourceARN)} is not a Kinesis stream ARN`);
    const colon = (r.eventID ?? '').indexOf(':');
    const shardId = colon > 0 ? r.eventID.slice(0, colon) : '';
    if (!shardId.startsWith('shardId-')) throw new MalformedRecordError(r.eventID, 'eventID is not "<shardId>:<sequenceNumber>"');
    const k = r.kinesis;
    if (!/^\d+$/.test(k.sequenceNumber ?? '')) throw new MalformedRecordError(r.eventID, `sequenceNumber ${JSON.stringify(k.sequenceNumber)} is not a decimal integer`);
    if (typeof k.partitionKey !== 'string' || k.partitionKey.length === 0) throw new MalformedRecordError(r.eventID, 'partitionKey is empty');
    if (typeof k.approximateArrivalTimestamp !== 'number' || !Number.isFinite(k.approximateArrivalTimestamp)) {
      throw new MalformedRecordError(r.eventID, 'approximateArrivalTimestamp is not a number');
    }
    const groupKey = `${source.streamName}\u0000${source.region}\u0000${shardId}`;
    let group = groups.get(groupKey);
    if (!group) {
      group = { streamName: source.streamName, sourceRegion: source.region, shardId, records: [] };
      groups.set(groupKey, group);
    }
    const data = Buffer.from(k.data ?? '', 'base64');
    group.records.push({
      index: group.records.length,
      sequenceNumber: k.sequenceNumber,
      sequence: BigInt(k.sequenceNumber),
      partitionKey: k.partitionKey,
      data,
      // The event carries seconds with a fraction; the rest of Redstream works in epoch milliseconds.
      arrivalMs: Math.round(k.approximateArrivalTimestamp * 1000),
      requestBytes: requestBytes(data, k.partitionKey),
    });
  }
  return [...groups.values()];
}
