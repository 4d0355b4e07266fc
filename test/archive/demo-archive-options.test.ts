import { DEMO_USAGE, parseDemoArgs } from '../../local/demo-options';
import { formatArchiveLines } from '../../local/rebuild';

test('--rebuild-from-archive and --erase-subject reach the demo options; absent, the options are unchanged', () => {
  expect(parseDemoArgs(['--rebuild-from-archive', '--erase-subject', 'user-42'])).toMatchObject({ rebuildFromArchive: true, eraseSubject: 'user-42' });
  const plain = parseDemoArgs([]);
  expect('rebuildFromArchive' in plain || 'eraseSubject' in plain).toBe(false);
  expect(() => parseDemoArgs(['--erase-subject'])).toThrow(/--erase-subject needs a value/);
  expect(DEMO_USAGE).toMatch(/--rebuild-from-archive/);
  expect(DEMO_USAGE).toMatch(/DIR\/archive\//);
});

test('the report says when an archive check failed', () => {
  const check = { regions: [{ region: 'us-east-1', streamRecords: 3, archivedRecords: 2, exact: false }], objects: 1, rawBytesPerRecord: 1, lineBytesPerRecord: 2, gzipBytesPerRecord: 1, ok: false };
  const lines = formatArchiveLines({ check, ok: false });
  expect(lines[0]).toMatch(/us-east-1 2\/3 records \(DIFFERS\)/);
  expect(lines[lines.length - 1]).toMatch(/archive checks FAILED/);
});
