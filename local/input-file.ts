/**
 * The `--input` file of `npm run demo`: one JSON object per line, `{"partitionKey": "...", "data": "<base64>"}`,
 * sent in file order. Blank lines are skipped. Parsing is pure; {@link readInputFile} adds the read.
 */
import { readFileSync } from 'node:fs';
import type { OutgoingRecord } from './segment-events';

export class InputFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputFileError';
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Kinesis' default record size limit. */
const MAX_RECORD_BYTES = 1024 * 1024;

export function parseInputLines(text: string, fileName: string): OutgoingRecord[] {
  const records: OutgoingRecord[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${fileName}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new InputFileError(`${where}: not a JSON object; expected {"partitionKey": "...", "data": "<base64>"}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InputFileError(`${where}: not a JSON object; expected {"partitionKey": "...", "data": "<base64>"}`);
    }
    const { partitionKey, data } = value as Record<string, unknown>;
    if (typeof partitionKey !== 'string' || partitionKey.length === 0 || partitionKey.length > 256) {
      throw new InputFileError(`${where}: "partitionKey" must be a string of 1 to 256 characters`);
    }
    if (typeof data !== 'string' || !BASE64.test(data)) throw new InputFileError(`${where}: "data" must be a base64 string`);
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length === 0 || bytes.length > MAX_RECORD_BYTES) throw new InputFileError(`${where}: "data" must decode to 1 byte to 1 MiB (got ${bytes.length})`);
    records.push({ partitionKey, data: bytes });
  });
  if (records.length === 0) throw new InputFileError(`${fileName}: no records (expected one JSON object per line)`);
  return records;
}

/** Reads and parses an input file; an unreadable file is an {@link InputFileError} naming it. */
export function readInputFile(file: string): OutgoingRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputFileError(`cannot read --input ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String(err)}`);
  }
  return parseInputLines(text, file);
}
