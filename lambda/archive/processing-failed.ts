/**
 * Records the archive's transformation failed on, read back from the documents Firehose writes for them under the
 * error prefix (`errors/<stream>/processing-failed/yyyy/MM/dd/HH/`). Firehose documents that format ("Handle failure
 * in data transformation", Amazon Data Firehose Developer Guide): one JSON document per record, with
 * `attemptsMade`, `arrivalTimestamp` (epoch ms), `errorCode`, `errorMessage`, `attemptEndingTimestamp`, `rawData`
 * (the record's bytes, base64) and `lambdaArn`.
 *
 * The bytes are exact; what the document lacks is the Kinesis metadata. A record read from it becomes an
 * {@link ArchiveRecord} with:
 * - `partitionKey`: the SHA-256 of its bytes, hex (the original key is not in the document; a replay needs one);
 * - `shardId`: `processing-failed`, and `sequenceNumber`: the arrival time in ms followed by 15 digits of the bytes'
 *   hash, so a record delivered twice (Firehose is at least once) has one identity and the replay orders these records
 *   by arrival;
 * - `approximateArrivalTimestampMs`: the document's `arrivalTimestamp` (when Firehose received the record).
 * Per-key order with the record's original neighbours cannot be restored; the merge keeps one row per event id.
 *
 * Pure: no I/O.
 */
import * as crypto from 'node:crypto';
import { ArchiveFormatError, ArchiveRecord, isBase64 } from './format';

/** The shard id given to records read from processing-failed documents. */
export const PROCESSING_FAILED_SHARD = 'processing-failed';

/** The records of a processing-failed object's text (one JSON document per line). */
export function processingFailedRecords(text: string, context: { readonly stream: string; readonly region: string; readonly where: string }): ArchiveRecord[] {
  const out: ArchiveRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let doc: { rawData?: unknown; arrivalTimestamp?: unknown };
    try {
      doc = JSON.parse(line) as typeof doc;
    } catch {
      throw new ArchiveFormatError(`${context.where}:${i + 1}: not a JSON document`);
    }
    if (typeof doc.rawData !== 'string' || !isBase64(doc.rawData)) throw new ArchiveFormatError(`${context.where}:${i + 1}: rawData is not base64`);
    if (typeof doc.arrivalTimestamp !== 'number' || !Number.isSafeInteger(doc.arrivalTimestamp) || doc.arrivalTimestamp < 0) {
      throw new ArchiveFormatError(`${context.where}:${i + 1}: arrivalTimestamp is not epoch milliseconds`);
    }
    const hash = crypto.createHash('sha256').update(Buffer.from(doc.rawData, 'base64')).digest('hex');
    const tail = String(BigInt(`0x${hash.slice(0, 12)}`)).padStart(15, '0');
    out.push({
      stream: context.stream,
      region: context.region,
      shardId: PROCESSING_FAILED_SHARD,
      sequenceNumber: `${doc.arrivalTimestamp}${tail}`,
      subsequenceNumber: 0,
      partitionKey: hash,
      approximateArrivalTimestampMs: doc.arrivalTimestamp,
      data: doc.rawData,
    });
  });
  return out;
}
