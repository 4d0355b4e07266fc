/**
 * The archive record contract (version 1): one NDJSON line per Kinesis record, in GZIP objects under hourly
 * prefixes. Replay, erasure, rebuild and users' own tools read it; the Firehose transformation
 * (lambda/archive-transform) and the local archive (local/archive.ts) write it with {@link toArchiveLine}.
 *
 * A line, fields always in this order:
 *
 * ```json
 * {"v":1,"stream":"redstream-dev-events","region":"us-east-1","shardId":"shardId-000000000000",
 *  "sequenceNumber":"4959…","subsequenceNumber":0,"partitionKey":"user-17",
 *  "approximateArrivalTimestamp":"2026-12-02T07:15:00.123Z","approximateArrivalTimestampMs":1796195700123,
 *  "data":"eyJtZXNzYWdlSWQiOi…"}
 * ```
 *
 * - `data` is the record's bytes, base64 (standard alphabet, padded): exact, whatever they are (binary, invalid
 *   UTF-8, malformed JSON). Nothing is parsed or re-encoded.
 * - The arrival time is given twice: ISO-8601 UTC for people and tools, epoch milliseconds for exact ordering
 *   (Kinesis reports milliseconds).
 * - `sequenceNumber` is a decimal string (compare as BigInt); `subsequenceNumber` is 0 except for records a KPL
 *   aggregate was split into.
 * - Unknown fields must be ignored by readers; a new field never changes the meaning of an existing one; `v` changes
 *   only for an incompatible change.
 *
 * Pure: no AWS I/O, no clock.
 */

export const ARCHIVE_FORMAT_VERSION = 1;

/** One stream record as archived. */
export interface ArchiveRecord {
  /** Physical stream name. */
  readonly stream: string;
  /** Region of the stream the record was read from. */
  readonly region: string;
  readonly shardId: string;
  /** Decimal sequence number. */
  readonly sequenceNumber: string;
  /** Position within a KPL aggregate; 0 for plain records. */
  readonly subsequenceNumber: number;
  readonly partitionKey: string;
  /** Kinesis approximate arrival time, epoch ms. */
  readonly approximateArrivalTimestampMs: number;
  /** The record's bytes, base64. */
  readonly data: string;
}

export class ArchiveFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveFormatError';
  }
}

const DECIMAL = /^\d{1,128}$/;

/** Whether `s` is canonical standard base64 (what Kinesis and Firehose send). */
export function isBase64(s: string): boolean {
  // A linear check: a regular expression over a multi-megabyte record overflows V8's backtracking stack.
  if (s.length % 4 !== 0) return false;
  const body = s.endsWith('==') ? s.length - 2 : s.endsWith('=') ? s.length - 1 : s.length;
  for (let i = 0; i < body; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
    if (!ok) return false;
  }
  return true;
}

/** The record as one NDJSON line, with its trailing newline. */
export function toArchiveLine(r: ArchiveRecord): string {
  return `${JSON.stringify({
    v: ARCHIVE_FORMAT_VERSION,
    stream: r.stream,
    region: r.region,
    shardId: r.shardId,
    sequenceNumber: r.sequenceNumber,
    subsequenceNumber: r.subsequenceNumber,
    partitionKey: r.partitionKey,
    approximateArrivalTimestamp: new Date(r.approximateArrivalTimestampMs).toISOString(),
    approximateArrivalTimestampMs: r.approximateArrivalTimestampMs,
    data: r.data,
  })}\n`;
}

/** Bytes of {@link toArchiveLine}'s output without building it (for budgets): exact for ASCII fields. */
export function archiveLineBytes(r: ArchiveRecord): number {
  return Buffer.byteLength(toArchiveLine(r), 'utf8');
}

/** Parses and validates one line (without its newline). Throws {@link ArchiveFormatError} naming the field. */
export function parseArchiveLine(line: string): ArchiveRecord {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    throw new ArchiveFormatError(`not a JSON line: ${JSON.stringify(line.slice(0, 80))}`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ArchiveFormatError('an archive line must be a JSON object');
  const f = o as Record<string, unknown>;
  if (f.v !== ARCHIVE_FORMAT_VERSION) throw new ArchiveFormatError(`unsupported archive format version ${JSON.stringify(f.v)} (this reader knows ${ARCHIVE_FORMAT_VERSION})`);
  const str = (k: string): string => {
    if (typeof f[k] !== 'string') throw new ArchiveFormatError(`${k} must be a string (got ${JSON.stringify(f[k])})`);
    return f[k] as string;
  };
  const int = (k: string): number => {
    if (typeof f[k] !== 'number' || !Number.isSafeInteger(f[k]) || (f[k] as number) < 0) throw new ArchiveFormatError(`${k} must be a non-negative integer (got ${JSON.stringify(f[k])})`);
    return f[k] as number;
  };
  const record: ArchiveRecord = {
    stream: str('stream'),
    region: str('region'),
    shardId: str('shardId'),
    sequenceNumber: str('sequenceNumber'),
    subsequenceNumber: int('subsequenceNumber'),
    partitionKey: str('partitionKey'),
    approximateArrivalTimestampMs: int('approximateArrivalTimestampMs'),
    data: str('data'),
  };
  if (!DECIMAL.test(record.sequenceNumber)) throw new ArchiveFormatError(`sequenceNumber must be a decimal string (got ${JSON.stringify(record.sequenceNumber)})`);
  if (!isBase64(record.data)) throw new ArchiveFormatError(`data must be base64 (record ${record.shardId}/${record.sequenceNumber})`);
  return record;
}

/** Every record of an object's (decompressed) text, in order. Blank lines are skipped; a bad line throws with its number. */
export function parseArchiveText(text: string, where = 'object'): ArchiveRecord[] {
  const out: ArchiveRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    try {
      out.push(parseArchiveLine(lines[i]));
    } catch (err) {
      if (err instanceof ArchiveFormatError) throw new ArchiveFormatError(`${where} line ${i + 1}: ${err.message}`);
      throw err;
    }
  }
  return out;
}

/** The record's bytes. */
export function recordBytes(r: Pick<ArchiveRecord, 'data'>): Buffer {
  return Buffer.from(r.data, 'base64');
}

/** Orders records of one shard: sequence number (as BigInt), then subsequence number. */
export function compareShardPosition(a: ArchiveRecord, b: ArchiveRecord): number {
  const sa = BigInt(a.sequenceNumber);
  const sb = BigInt(b.sequenceNumber);
  if (sa !== sb) return sa < sb ? -1 : 1;
  return a.subsequenceNumber - b.subsequenceNumber;
}

/** Identity of a record in its stream: Region, shard, sequence and subsequence number. */
export function recordId(r: Pick<ArchiveRecord, 'region' | 'shardId' | 'sequenceNumber' | 'subsequenceNumber'>): string {
  return `${r.region}/${r.shardId}/${r.sequenceNumber}/${r.subsequenceNumber}`;
}
