/**
 * The game day's command lines without a local world running (test/e2e/game-day.test.ts runs them against one): what
 * `npm run ops` does with --local and REDSTREAM_LOCAL_WORLD when nothing answers (erase included: its warehouse is the
 * serve mode's, through the control endpoint), the refusal of rebuild (the serve mode's merges cannot be stopped), and
 * the serve mode's and ctl's usage errors. One line each, the usual exit codes.
 */
import { ChildProcess, execFile, execSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { checkpointTableName } from '../../lib/names';
import { readServeState, sendCtl } from '../../local/serve-ctl';
import { stateToken } from '../../local/serve-format';
import { tsEntry } from '../helpers/npm-script';
import { exitAfterOutput, groupAlive } from '../helpers/process-group';

const ROOT = path.resolve(__dirname, '../..');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(entry: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const base: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
    for (const k of ['REDSTREAM_LOCAL_WORLD', 'REDSTREAM_SERVE_DIR', 'REDSTREAM_CDK_JSON']) delete base[k];
    const [cmd, argv] = tsEntry(entry, args);
    execFile(cmd, argv, { cwd: ROOT, env: { ...base, ...env }, timeout: 240_000 }, (err, stdout, stderr) => {
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

// Each start of a TypeScript entry costs seconds on a loaded 2-core machine: run every case at once, then assert.
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
    `local world: ${dead} (npm run demo -- --serve)\n` +
    "ops: error: rebuild does not run against the local world: rebuild needs its warehouse's merge schedule stopped while it empties and refills the tables, " +
      'and the merges of `npm run demo -- --serve` run on their own schedule in the serve process; ' +
      'rehearse a rebuild locally with `npm run demo -- --no-failover --rebuild-from-archive` (the same rebuild over PGlite)\n',
  );
});

test.each(['status, world gone', 'erase'])('%s with REDSTREAM_LOCAL_WORLD set but no world answering: one line saying so, exit 1', (name) => {
  const r = results.get(name)!;
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(new RegExp(`^local world: ${dead} \\(npm run demo -- --serve\\)\\nops: error: the local world's control endpoint ${dead} does not answer \\(.*\\): is \`npm run demo -- --serve\` still running\\?\\n$`));
});

test('--help needs no local world (and acts on none, so names none)', () => {
  const r = results.get('help, world gone')!;
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
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

/**
 * Signals to the serve mode: while it starts (the ≈ 30 s before it is ready, DynamoDB Local's JVM already running)
 * the start is cancelled and everything it made is stopped; a second signal while it stops ends it at once. Either
 * way nothing of its process group is left, the JVM included (it would be re-parented to PID 1 and keep its port).
 */
describe('signals to the serve mode', () => {
  const dirs: string[] = [];
  const groups: number[] = [];
  afterAll(() => {
    for (const g of groups) if (groupAlive(g)) process.kill(-g, 'SIGKILL');
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  /** The command names of the process group's members. */
  function members(pgid: number): string[] {
    try {
      return execSync(`ps -o comm= -g ${pgid}`).toString().split('\n').map((l) => l.trim()).filter(Boolean);
    } catch {
      return []; // ps exits 1 when none matches
    }
  }

  async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Starts the serve mode in a process group of its own, through `npm run demo` or node itself (as npm's script does);
   * resolves once DynamoDB Local's JVM is in it.
   */
  async function startUntilJvm(via: 'npm' | 'node'): Promise<{ child: ChildProcess; output: () => string; exit: Promise<number | null> }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redstream-serve-signal-'));
    dirs.push(dir);
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', REDSTREAM_SERVE_DIR: dir };
    for (const k of ['REDSTREAM_LOCAL_WORLD', 'REDSTREAM_CDK_JSON']) delete env[k];
    const args = ['--serve', '--rate', '5'];
    const [cmd, argv] = via === 'npm' ? ['npm', ['run', '-s', 'demo', '--', ...args]] : tsEntry('bin/demo.ts', args);
    const child = spawn(cmd, argv, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    groups.push(child.pid!);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exit = exitAfterOutput(child);
    await until('the DynamoDB Local JVM', () => members(child.pid!).some((c) => path.basename(c) === 'java'), 180_000);
    expect(out).not.toMatch(/• ready in/);
    return { child, output: () => out, exit };
  }

  async function expectNothingLeft(pgid: number): Promise<void> {
    // A guard against a hang, not a performance bound.
    await until('the process group to empty', () => !groupAlive(pgid), 60_000).catch(() => undefined);
    expect({ left: members(pgid) }).toEqual({ left: [] });
  }

  test.each([
    {
      // npm alone, as `kill <pid>` or a supervisor sends it: npm passes it on to its script's process.
      name: 'SIGTERM to npm during the start: exit 143, no error line, the JVM and everything else stopped',
      send: (pid: number) => process.kill(pid, 'SIGTERM'),
      code: 143,
      stopLine: /• SIGTERM: stopping everything/,
    },
    {
      // A terminal's Ctrl-C: the foreground process group, npm and node both, and npm passes it on to node again.
      name: 'Ctrl-C through npm (SIGINT to the whole process group, npm relaying it too): one orderly stop, exit 130',
      send: (pid: number) => process.kill(-pid, 'SIGINT'),
      code: 130,
      stopLine: /• SIGINT: stopping everything/,
    },
  ])('$name', async ({ send, code, stopLine }) => {
    const s = await startUntilJvm('npm');
    send(s.child.pid!);
    expect(await s.exit).toBe(code);
    await expectNothingLeft(s.child.pid!);
    // The orderly stop ran. Before the script exec'd node, dash took a SIGTERM to npm and died, leaving node running;
    // under tsx's CLI, a busy start was SIGKILLed before it could print this. A relayed copy of the Ctrl-C is not
    // taken for a second one (which would skip the orderly stop).
    expect(s.output()).toMatch(stopLine);
    expect(s.output()).not.toMatch(/demo: error|signalled again/);
  }, 300_000);

  test('a second signal while stopping ends it at once: exit 143, the JVM killed, the state file removed', async () => {
    // A stop during the start is over in a moment; once ready, stopping the producer, archive and workers takes seconds.
    const s = await startUntilJvm('node');
    await until('the serve mode to be ready', () => /• ready in/.test(s.output()), 240_000);
    const stateFile = path.join(dirs[dirs.length - 1], 'serve.json');
    expect(fs.statSync(stateFile).mode & 0o777).toBe(0o600);

    // The control endpoint answers only its token, and only JSON-typed POSTs (a cross-site page can send neither).
    const state = readServeState(dirs[dirs.length - 1]);
    const token = stateToken(state);
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    expect((await fetch(`${state.control}/state`)).status).toBe(401);
    const plain = await fetch(`${state.control}/ctl`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: '{"action":"kinesis-down","region":"us-east-1"}' });
    expect(plain.status).toBe(415);
    expect((await sendCtl(state.control, 'f'.repeat(32), { action: 'status' })).message).toMatch(/refused the request \(HTTP 401\)/);

    // heal while a replica lag longer than heal's wait holds replications: healed, and it says what is still pending.
    expect(await sendCtl(state.control, token, { action: 'replica-lag', seconds: 120 })).toMatchObject({ ok: true });
    expect(await sendCtl(state.control, token, { action: 'partition', region: 'us-east-1' })).toMatchObject({ ok: true });
    // A write to the partitioned replica of its own (the replicators' checkpoints may not come in time on a loaded
    // machine): at least one replication is held, then delayed by the lag.
    const dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint: state.env.AWS_ENDPOINT_URL_DYNAMODB, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await dynamo.send(new PutItemCommand({ TableName: checkpointTableName('dev'), Item: { streamName: { S: 'game-day-clis-probe' }, shardId: { S: 'probe' } } }));
    dynamo.destroy();
    const healed = await sendCtl(state.control, token, { action: 'heal', region: 'us-east-1' });
    expect(healed).toEqual({ ok: true, message: expect.stringMatching(/^us-east-1's replica is healed; \d+ replications still pending after 30 s/) });
    expect(await sendCtl(state.control, token, { action: 'status' })).toMatchObject({ ok: true });
    s.child.kill('SIGTERM');
    await until('the first stop to begin', () => /• stopping: producer/.test(s.output()), 60_000);
    // Another signal (the same one within moments would be taken for a relayed copy: local/shutdown.ts).
    s.child.kill('SIGINT');
    expect(await s.exit).toBe(143);
    expect(s.output()).toMatch(/demo: signalled again while stopping: killing DynamoDB Local and exiting now/);
    expect(s.output()).not.toMatch(/• stopped\n/);
    await expectNothingLeft(s.child.pid!);
    expect(fs.existsSync(stateFile)).toBe(false);
  }, 300_000);
});
