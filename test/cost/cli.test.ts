/** `npm run cost`: exit codes, one-line errors, the printed estimate and its JSON form. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCostCommand } from '../../lib/cost/command';
import { tsEntry } from '../helpers/npm-script';

const ROOT = path.resolve(__dirname, '..', '..');
const cdkJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };

function cost(...args: string[]): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const status = runCostCommand(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readCdkJson: () => cdkJson });
  return { status, stdout, stderr };
}

test('prints the per-component estimate, the assumptions and the price sources for prod', () => {
  const r = cost('--env', 'prod', '--events-per-second', '5000', '--bytes', '1000');
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  for (const heading of ['Kinesis streams', 'Enhanced fan-out', 'Lambda functions', 'Global tables', 'Cross-Region transfer', 'Firehose and S3', 'Redshift Serverless']) {
    expect(r.stdout).toContain(heading);
  }
  expect(r.stdout).toMatch(/Total per month\s+\$27,840\.\d\d/);
  expect(r.stdout).toMatch(/checkpoint writes 1\.00\/s per shard/);
  expect(r.stdout).toContain('Assumptions:');
  expect(r.stdout).toContain('https://');
});

test('--json prints the estimate as data; options reach the model', () => {
  const r = cost('--env', 'prod', '--events-per-second', '5000', '--bytes', '1000', '--on-demand-shards', '5', '--warehouse-hours', '100', '--json');
  expect(r.status).toBe(0);
  const parsed = JSON.parse(r.stdout) as { environment: string; replication: Array<{ stream: string; shards: number }>; subtotals: Array<{ component: string; monthlyUsd: number }> };
  expect(parsed.environment).toBe('prod');
  expect(parsed.replication.find((s) => s.stream === 'events')?.shards).toBe(5);
  expect(parsed.subtotals.find((s) => s.component === 'Redshift Serverless')?.monthlyUsd).toBeCloseTo(2 * 32 * 100 * 0.375, 6);
});

test('-h prints the usage and exits 0', () => {
  const r = cost('-h');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^Usage: npm run cost/);
});

test.each([
  [['--events-per-second', '10', '--bytes', '10'], /^cost: --env is required\n$/],
  [['--env', 'prod', '--events-per-second', '0', '--bytes', '10'], /^cost: --events-per-second must be a number above 0 \(got "0"\)\n$/],
  [['--env', 'prod', '--events-per-second', '5', '--bytes', '1.5'], /^cost: --bytes must be a whole number of 1 or more \(got "1.5"\)\n$/],
  [['--env', 'prod', '--events-per-second', '5', '--bytes', '2000000'], /^cost: bytesPerEvent must be a whole number between 1 and 1048576 \(got 2000000\)\n$/],
  [['--env', 'prod', '--events-per-second', '5', '--bytes', '10', '--warehouse-hours', '800'], /^cost: --warehouse-hours must be between 0 and 730 \(got "800"\)\n$/],
  [['--env', 'nope', '--events-per-second', '5', '--bytes', '10'], /^cost: Invalid Redstream configuration: env: unknown environment "nope"/],
  [['--env', 'prod', '--events-per-second', '5', '--bytes', '10', '--stream', 'x'], /^cost: stream "x" is not a stream of prod/],
  [['--env', 'prod', '--bogus'], /^cost: Unknown option '--bogus'.* \(see --help\)\n$/],
])('%j exits 2 with a one-line error', (args, message) => {
  const r = cost(...args);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stdout).toBe('');
});

test('the npm entry wires the process to the command (exit code and streams)', () => {
  const r = spawnSync(...tsEntry('bin/cost.ts', ['--env', 'dev', '--events-per-second', '0', '--bytes', '1']), {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^cost: --events-per-second must be a number above 0/);
});
