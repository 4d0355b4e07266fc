/**
 * The game day's command lines without a local world running (test/e2e/game-day.test.ts runs them against one): what
 * `npm run ops` does with --local and REDSTREAM_LOCAL_WORLD when nothing answers (erase included: its warehouse is the
 * serve mode's, through the control endpoint), the refusal of rebuild (the serve mode's merges cannot be stopped), and
 * the serve mode's and ctl's usage errors. One line each, the usual exit codes.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(entry: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const base: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
    for (const k of ['REDSTREAM_LOCAL_WORLD', 'REDSTREAM_SERVE_DIR', 'REDSTREAM_CDK_JSON']) delete base[k];
    execFile(TSX, [path.join(ROOT, entry), ...args], { cwd: ROOT, env: { ...base, ...env }, timeout: 240_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

/** A port nothing listens on (bound, then closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

let empty: string;
let dead: string;
const results = new Map<string, Run>();

// Each start of tsx costs seconds on a loaded 2-core machine: run every case at once, then assert.
beforeAll(async () => {
  empty = fs.mkdtempSync(path.join(os.tmpdir(), 'redstream-no-serve-'));
  dead = `http://127.0.0.1:${await closedPort()}`;
  const cases: Record<string, [string, string[], NodeJS.ProcessEnv]> = {
    erase: ['bin/ops.ts', ['erase', '--env', 'dev', '--subject', 'u1'], { REDSTREAM_LOCAL_WORLD: dead }],
    rebuild: ['bin/ops.ts', ['rebuild', '--env', 'dev', '--from', '2026-12-01T00:00:00Z', '--yes'], { REDSTREAM_LOCAL_WORLD: dead }],
    'status, world gone': ['bin/ops.ts', ['status', '--env', 'dev'], { REDSTREAM_LOCAL_WORLD: dead }],
    'help, world gone': ['bin/ops.ts', ['status', '--help'], { REDSTREAM_LOCAL_WORLD: dead }],
    '--local, nothing served': ['bin/ops.ts', ['status', '--env', 'dev', '--local'], { REDSTREAM_SERVE_DIR: empty }],
    'ctl, nothing served': ['bin/demo.ts', ['ctl', 'status'], { REDSTREAM_SERVE_DIR: empty }],
    'ctl env, nothing served': ['bin/demo.ts', ['ctl', 'env'], { REDSTREAM_SERVE_DIR: empty }],
    'ctl, bad action': ['bin/demo.ts', ['ctl', 'meteor'], { REDSTREAM_SERVE_DIR: empty }],
    'ctl help': ['bin/demo.ts', ['ctl', '--help'], {}],
    'serve with a drill option': ['bin/demo.ts', ['--serve', '--events', '5'], { REDSTREAM_SERVE_DIR: empty }],
    'serve, unknown environment': ['bin/demo.ts', ['--serve', '--env', 'nope'], { REDSTREAM_SERVE_DIR: empty }],
  };
  await Promise.all(Object.entries(cases).map(async ([name, [entry, args, env]]) => results.set(name, await run(entry, args, env))));
}, 300_000);

afterAll(() => fs.rmSync(empty, { recursive: true, force: true }));

test('rebuild against the local world refuses at once, saying why and naming the local rehearsal: exit 1', () => {
  const r = results.get('rebuild')!;
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(
    "ops: error: rebuild does not run against the local world: rebuild needs its warehouse's merge schedule stopped while it empties and refills the tables, " +
      'and the merges of `npm run demo -- --serve` run on their own schedule in the serve process; ' +
      'rehearse a rebuild locally with `npm run demo -- --no-failover --rebuild-from-archive` (the same rebuild over PGlite)\n',
  );
});

test.each(['status, world gone', 'erase'])('%s with REDSTREAM_LOCAL_WORLD set but no world answering: one line saying so, exit 1', (name) => {
  const r = results.get(name)!;
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(new RegExp(`^ops: error: the local world's control endpoint ${dead} does not answer \\(.*\\): is \`npm run demo -- --serve\` still running\\?\\n$`));
});

test('--help needs no local world', () => {
  const r = results.get('help, world gone')!;
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^Usage: npm run ops -- status/);
});

test.each(['--local, nothing served', 'ctl, nothing served', 'ctl env, nothing served'])('%s: one line naming the state file and the fix, exit 1', (name) => {
  const r = results.get(name)!;
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(`${name.startsWith('--local') ? 'ops' : 'demo'}: error: no local world is being served (no ${path.join(empty, 'serve.json')}): start one with \`npm run demo -- --serve\`\n`);
});

test.each<[string, string]>([
  ['ctl, bad action', 'demo: error: unknown ctl action "meteor" (actions: env, status, verify, kinesis-down, kinesis-up, partition, heal, clock-skew, replica-lag); run with --help for usage'],
  ['serve with a drill option', 'demo: error: --events belongs to the drill and does not apply to --serve; run with --help for usage'],
  ['serve, unknown environment', 'demo: error: unknown environment "nope" (environments: dev, staging, prod); run with --help for usage'],
])('%s: one line, exit 2', (name, line) => {
  const r = results.get(name)!;
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(`${line}\n`);
});

test('ctl --help prints the serve mode and ctl usage', () => {
  const r = results.get('ctl help')!;
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^Usage: npm run demo -- --serve \[options\]\n {7}npm run demo -- ctl <action> \[arguments\]/);
  for (const action of ['kinesis-down REGION', 'partition REGION', 'clock-skew SECONDS', 'verify']) expect(r.stdout).toContain(action);
});
