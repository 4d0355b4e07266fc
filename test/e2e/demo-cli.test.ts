/** `npm run demo`'s command line: help, and one clear line with a non-zero exit for bad arguments or input. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tsEntry } from '../helpers/npm-script';

const ROOT = path.resolve(__dirname, '..', '..');

function demo(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(...tsEntry('bin/demo.ts', args), {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--help prints the usage and exits 0', () => {
  const r = demo(['--help']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^Usage: npm run demo -- \[options\]/);
  for (const flag of ['--events', '--rate', '--duplicates', '--malformed', '--failover-at', '--no-failover', '--input', '--out', '--json']) expect(r.stdout).toContain(flag);
});

test.each([
  [['--events', 'lots'], 'demo: error: --events must be a whole number from 1 to 10000000 (got "lots"); run with --help for usage'],
  [['--colour'], 'demo: error: unknown option --colour; run with --help for usage'],
  [['--nemesis', 'meteor'], 'demo: error: --nemesis: unknown fault "meteor" (faults: all, clock-skew, slow-control-plane, replica-lag, partition-old-replica, long-outage, reshard, early-producers, stray-producers, force, no-resend); run with --help for usage'],
  [['--nemesis', 'all', '--no-failover'], 'demo: error: --nemesis needs the failover drill (drop --no-failover); run with --help for usage'],
])('bad arguments %j: one line, exit 2', (args, line) => {
  const r = demo(args);
  expect(r.status).toBe(2);
  expect(r.stderr).toBe(`${line}\n`);
  expect(r.stdout).toBe('');
});

test('an unreadable input file: one line, exit 1', () => {
  const missing = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'redstream-cli-')), 'nope.ndjson');
  const r = demo(['--input', missing]);
  expect(r.status).toBe(1);
  expect(r.stderr).toBe(`demo: error: cannot read --input ${missing}: no such file\n`);
});

test('an input file with a bad line: one line naming it, exit 1', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'redstream-cli-')), 'bad.ndjson');
  fs.writeFileSync(file, '{"partitionKey":"a","data":"eyJ9"}\n{"partitionKey":"a"}\n');
  const r = demo(['--input', file, '--no-failover']);
  expect(r.status).toBe(1);
  expect(r.stderr).toBe(`demo: error: ${file}:2: "data" must be a base64 string\n`);
});
