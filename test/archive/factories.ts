import type { FirehoseTransformationEvent, FirehoseTransformationEventRecord } from 'aws-lambda';

export const STREAM_ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/redstream-dev-events';

/** A Firehose transformation record for a Kinesis source, as Firehose sends it. */
export function firehoseRecord(i: number, bytes: Uint8Array, overrides: Partial<{ partitionKey: string; shardId: string; arrivalMs: number }> = {}): FirehoseTransformationEventRecord {
  const arrival = overrides.arrivalMs ?? 1_796_195_700_000 + i;
  return {
    recordId: `49546986683135544286507457936321625675700192471156785154000000${String(i).padStart(6, '0')}`,
    approximateArrivalTimestamp: arrival + 150, // Firehose's own arrival: later than the stream's
    data: Buffer.from(bytes).toString('base64'),
    kinesisRecordMetadata: {
      shardId: overrides.shardId ?? 'shardId-000000000000',
      partitionKey: overrides.partitionKey ?? `user-${i % 7}`,
      approximateArrivalTimestamp: arrival,
      sequenceNumber: (49546986683135544286507457936321625675700192471156785154n + BigInt(i)).toString(),
      subsequenceNumber: '0',
    },
  };
}

export function firehoseEvent(records: FirehoseTransformationEventRecord[]): FirehoseTransformationEvent {
  return {
    invocationId: 'invocation-1',
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/redstream-dev-events-archive',
    sourceKinesisStreamArn: STREAM_ARN,
    region: 'us-east-1',
    records,
  };
}

export const json = (o: unknown): Uint8Array => Buffer.from(JSON.stringify(o), 'utf8');
