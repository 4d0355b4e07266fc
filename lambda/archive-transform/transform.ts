/**
 * The Firehose data transformation of the archive, as pure logic: each Kinesis record of a Firehose invocation
 * becomes one archive line (lambda/archive/format.ts), returned base64 with result `Ok`. The record's bytes are
 * copied as Firehose sent them (already base64), so binary and malformed records are archived exactly like the rest.
 *
 * Limits (AWS documentation, "Transform source data in Amazon Data Firehose"): Firehose invokes the function
 * synchronously, and a synchronous invocation's request and response are each at most 6 MB. A record's line is its
 * base64 data plus about 300 bytes of metadata, and the response carries the line base64 again, so the response is
 * about 4/3 of the request: with the processor's buffering hint at most 3 MB (its range is 0.2–3 MB) the response
 * stays under 4.1 MB plus metadata. A single record whose line would not fit the response budget is returned as
 * `ProcessingFailed`: Firehose then writes it, with its bytes (`rawData`), under the error prefix
 * (`errors/<stream>/processing-failed/…`), so nothing is lost, but it is not in the contract's format. That happens
 * only for records above about 3.3 MiB (see {@link largestArchivableRecordBytes}); a request above 6 MB (a record
 * above about 4.4 MiB) fails the invocation itself, and Firehose, after its retries, sends the whole batch there.
 *
 * Records without `kinesisRecordMetadata` (a Direct PUT source, never configured here) are `ProcessingFailed`
 * for the same reason: they cannot be placed in the contract.
 *
 * Pure: no AWS I/O, no clock.
 */
import type { FirehoseTransformationEvent, FirehoseTransformationResult, FirehoseTransformationResultRecord } from 'aws-lambda';
import { ArchiveRecord, isBase64, toArchiveLine } from '../archive/format';

/** Lambda's synchronous invocation payload limit (request and response each). */
export const LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Room kept for the response's JSON envelope beyond the records' own fields. */
const RESPONSE_MARGIN_BYTES = 64 * 1024;
/** Bytes of a response entry besides its data: `{"recordId":"…","result":"Ok","data":""},` with a long record id. */
const ENTRY_OVERHEAD_BYTES = 160;
/** Bytes of a line besides its data, with the longest stream name, shard id, sequence number and partition key. */
export const LINE_METADATA_MAX_BYTES = 420 + 128 + 20 + 128 + 256;

export interface TransformOptions {
  /** Largest response the function may return. @default LAMBDA_SYNC_PAYLOAD_BYTES minus a 64 KiB margin */
  readonly responseBudgetBytes?: number;
}

export interface TransformOutcome {
  readonly result: FirehoseTransformationResult;
  readonly archived: number;
  readonly failed: number;
  /** Why records failed, by reason, for the log. */
  readonly failures: Record<string, number>;
  /** Bytes of the response's data fields. */
  readonly responseDataBytes: number;
}

/** Stream name and Region from a Kinesis stream ARN `arn:aws:kinesis:<region>:<account>:stream/<name>`. */
export function parseStreamArn(arn: string): { region: string; stream: string } {
  const m = /^arn:aws[a-z-]*:kinesis:([a-z0-9-]+):\d{12}:stream\/([a-zA-Z0-9_.-]{1,128})$/.exec(arn);
  if (!m) throw new Error(`not a Kinesis stream ARN: ${JSON.stringify(arn)}`);
  return { region: m[1], stream: m[2] };
}

const base64Length = (bytes: number): number => 4 * Math.ceil(bytes / 3);

/** The largest record (raw bytes) whose line fits a response budget on its own. */
export function largestArchivableRecordBytes(responseBudgetBytes = LAMBDA_SYNC_PAYLOAD_BYTES - RESPONSE_MARGIN_BYTES): number {
  // response entry = overhead + base64(line); line = metadata + base64(raw)
  const lineBudget = Math.floor(((responseBudgetBytes - ENTRY_OVERHEAD_BYTES) * 3) / 4);
  return Math.floor(((lineBudget - LINE_METADATA_MAX_BYTES) * 3) / 4);
}

/** Transforms one Firehose invocation. Throws only when the event itself is not a Kinesis-sourced Firehose event. */
export function transformFirehoseEvent(event: FirehoseTransformationEvent, options: TransformOptions = {}): TransformOutcome {
  const budget = options.responseBudgetBytes ?? LAMBDA_SYNC_PAYLOAD_BYTES - RESPONSE_MARGIN_BYTES;
  if (!event.sourceKinesisStreamArn) throw new Error('the event has no sourceKinesisStreamArn: the archive transformation serves Kinesis-sourced delivery streams only');
  const { stream, region } = parseStreamArn(event.sourceKinesisStreamArn);
  const failures: Record<string, number> = {};
  const fail = (recordId: string, reason: string): FirehoseTransformationResultRecord => {
    failures[reason] = (failures[reason] ?? 0) + 1;
    return { recordId, result: 'ProcessingFailed', data: '' };
  };
  let used = 0;
  let archived = 0;
  const records: FirehoseTransformationResultRecord[] = event.records.map((r) => {
    const meta = r.kinesisRecordMetadata;
    if (!meta) return fail(r.recordId, 'no_kinesis_metadata');
    if (typeof r.data !== 'string' || !isBase64(r.data)) return fail(r.recordId, 'data_not_base64');
    const record: ArchiveRecord = {
      stream,
      region,
      shardId: meta.shardId,
      sequenceNumber: meta.sequenceNumber,
      subsequenceNumber: Number(meta.subsequenceNumber ?? 0) || 0,
      partitionKey: meta.partitionKey,
      approximateArrivalTimestampMs: meta.approximateArrivalTimestamp,
      data: r.data,
    };
    const line = Buffer.from(toArchiveLine(record), 'utf8');
    const size = base64Length(line.length) + ENTRY_OVERHEAD_BYTES + r.recordId.length;
    if (used + size > budget) return fail(r.recordId, 'response_budget');
    used += size;
    archived++;
    return { recordId: r.recordId, result: 'Ok', data: line.toString('base64') };
  });
  const failed = records.length - archived;
  return { result: { records }, archived, failed, failures, responseDataBytes: used };
}
