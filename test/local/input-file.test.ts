import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputFileError, parseInputLines, readInputFile } from '../../local/input-file';

const line = (partitionKey: unknown, data: unknown): string => JSON.stringify({ partitionKey, data });

describe('parseInputLines', () => {
  test('reads records in file order, skipping blank lines', () => {
    const text = [line('a', Buffer.from('{"x":1}').toString('base64')), '', line('b', Buffer.from([0xff]).toString('base64')), ''].join('\r\n');
    const records = parseInputLines(text, 'in.ndjson');
    expect(records.map((r) => [r.partitionKey, Buffer.from(r.data).toString('hex')])).toEqual([
      ['a', Buffer.from('{"x":1}').toString('hex')],
      ['b', 'ff'],
    ]);
  });

  test.each([
    ['not JSON', 'nope', 'in.ndjson:1: not a JSON object; expected {"partitionKey": "...", "data": "<base64>"}'],
    ['an array', '[1]', 'in.ndjson:1: not a JSON object; expected {"partitionKey": "...", "data": "<base64>"}'],
    ['no partition key', '{"data":"AA=="}', 'in.ndjson:1: "partitionKey" must be a string of 1 to 256 characters'],
    ['data not base64', line('a', 'not base64!'), 'in.ndjson:1: "data" must be a base64 string'],
    ['empty data', line('a', ''), 'in.ndjson:1: "data" must decode to 1 byte to 1 MiB (got 0)'],
    ['an empty file', '\n\n', 'in.ndjson: no records (expected one JSON object per line)'],
  ])('rejects %s with the line', (_name, text, message) => {
    expect(() => parseInputLines(text, 'in.ndjson')).toThrow(new InputFileError(message));
  });

  test('names the line of the first bad record', () => {
    expect(() => parseInputLines([line('a', 'AA=='), line('b', 'AA=='), '{}'].join('\n'), 'f')).toThrow('f:3:');
  });
});

describe('readInputFile', () => {
  test('an unreadable file is one clear error', () => {
    expect(() => readInputFile('/nonexistent/input.ndjson')).toThrow(new InputFileError('cannot read --input /nonexistent/input.ndjson: no such file'));
    expect(() => readInputFile(os.tmpdir())).toThrow(new InputFileError(`cannot read --input ${os.tmpdir()}: is a directory`));
  });

  test('reads a file', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'redstream-input-')), 'in.ndjson');
    fs.writeFileSync(file, `${line('k', Buffer.from('{"messageId":"1"}').toString('base64'))}\n`);
    expect(readInputFile(file)).toHaveLength(1);
  });
});
