/**
 * The README's "Game day" walkthrough, run as written: the commands are extracted from the README (each fenced `sh`
 * block after a `<!-- game-day:step NAME [retry=S] -->` marker), the first one (`npm run demo -- --serve …`) is
 * started as the server, and the others run in order in a shell, `npm run X --` standing for package.json's script X
 * (what npm runs). Each step's outcome is checked here (exit code, key phrases), and the same phrases must appear in the
 * sample output the README shows for it, so neither the commands nor the outputs can drift. At the end the serve mode
 * gets SIGTERM: it must exit, close every port it listened on, remove its state file, and leave no process behind.
 *
 * GAME_DAY_TRANSCRIPT=FILE writes every step's command, time and output to FILE (for the README and release notes).
 */
import { ChildProcess, execSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { NPM_SCRIPTS, scriptFromAnywhere } from '../helpers/npm-script';
import { exitAfterOutput, groupAlive } from '../helpers/process-group';

const ROOT = path.resolve(__dirname, '..', '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

interface Step {
  readonly name: string;
  readonly code: string;
  /** Re-run until the checks pass, for this long (a user would run it again a moment later). */
  readonly retryMs: number;
  /** The README's sample output for the step. */
  readonly sample: string | undefined;
}

/** The walkthrough's steps, in README order. */
function parseGameDay(readme: string): Step[] {
  const marker = /<!-- game-day:step ([a-z-]+)((?: [a-z]+=\d+)*) -->\n```sh\n([\s\S]*?)```\n/g;
  const found = [...readme.matchAll(marker)];
  return found.map((m, i) => {
    const end = i + 1 < found.length ? found[i + 1].index : readme.indexOf('\n## ', m.index + 1);
    const rest = readme.slice(m.index + m[0].length, end);
    const sample = /```\n([\s\S]*?)```/.exec(rest)?.[1];
    const retry = /retry=(\d+)/.exec(m[2])?.[1];
    return { name: m[1], code: m[3].trim(), retryMs: retry === undefined ? 0 : Number(retry) * 1000, sample };
  });
}

/**
 * `npm run X --` and `npm run -s X --` → package.json's script X, its loader and file made absolute: the
 * steps run in a scratch directory, so what the CLI writes there (replay progress files) stays out of the checkout.
 */
function withScripts(code: string): string {
  return code.replace(/npm run (?:-s )?([a-z:-]+) --/g, (_all, name: string) => {
    const script = NPM_SCRIPTS[name];
    if (script === undefined) throw new Error(`the README runs npm script ${name}, which package.json does not have`);
    return scriptFromAnywhere(script);
  });
}

interface Check {
  readonly exit?: number;
  /** Must match the step's stdout + stderr, and the README's sample output for the step. */
  readonly phrases: readonly RegExp[];
  /** Must not match either. */
  readonly absent?: readonly RegExp[];
}

const CHECKS: Readonly<Record<string, Check>> = {
  start: { phrases: [/• ready in [\d.]+ s: producing 20 records\/s into redstream-dev-events in us-east-1/, /export AWS_ENDPOINT_URL_KINESIS=http:\/\/127\.0\.0\.1:\d+/] },
  env: { exit: 0, phrases: [] },
  status: { exit: 0, phrases: [/redstream-dev-events: ACTIVE in us-east-1, epoch 1/, /replicas: us-east-1 ACTIVE us-east-1 epoch 1 \| us-west-2 ACTIVE us-east-1 epoch 1/] },
  preflight: { exit: 0, phrases: [/skip\s+lambda-concurrency/, /nothing failed, but \d+ check\(s\) were skipped/] },
  break: { exit: 0, phrases: [/us-east-1's Kinesis is down/, /now 5 s ahead of the Regions' clocks/] },
  outage: { exit: 0, phrases: [/producer → us-east-1/, /\(\d+ failed calls\)/, /producers failing: ServiceUnavailable/, /faults: us-east-1 Kinesis down, operator clock \+5 s/] },
  failover: {
    exit: 0,
    phrases: [/failover to us-west-2 \(dev, switch [0-9a-f-]+\): OK/, /switched from us-east-1 to us-west-2 \(epoch 1 → 3\)/, /clock is [\d.]+ s ahead of us-west-2's AWS clock; times are corrected/],
  },
  // Writing to us-west-2 succeeds: the failures of us-east-1 are no longer "failing" (only counted).
  producers: { exit: 0, phrases: [/active us-west-2 epoch 3/, /producer → us-west-2/], absent: [/producers failing/] },
  back: { exit: 0, phrases: [/us-east-1's Kinesis is back up/, /the operator's clock is right again/] },
  reconcile: { exit: 0, phrases: [/redstream-dev-events: active in us-west-2; records in the window: .*; missing from us-west-2: \d+/] },
  ready: { exit: 0, phrases: [/ACTIVE in us-west-2, epoch 3/, /failback to us-east-1: ready/] },
  failback: { exit: 0, phrases: [/failback to us-east-1 \(dev, switch [0-9a-f-]+\): OK/, /switched from us-west-2 to us-east-1 \(epoch 3 → 5\)/] },
  'producers-back': { exit: 0, phrases: [/active us-east-1 epoch 5/, /producer → us-east-1/] },
  erase: {
    exit: 0,
    phrases: [
      /erasure [0-9a-f-]+ \(subject sha256 [0-9a-f]{64}\): [\d.]+ s/,
      /warehouse us-east-1: [1-9]\d* event\(s\), \d+ reject\(s\) removed/,
      /archive: [1-9]\d* record\(s\) removed/,
      /the subject is suppressed/,
    ],
  },
  replay: { exit: 0, phrases: [/from archive s3:\/\/redstream-dev-archive-us-east-1\/events\//, /: [1-9]\d* record\(s\) in the window; [1-9]\d* written/] },
  verify: { exit: 0, phrases: [/^OK: .*events holds \d+ rows for \d+ unique ids written: 0 missing, 0 unexpected, 0 duplicated; [1-9]\d* ids of 1 erased subject\(s\) written, 0 of them in events/m] },
};

const steps = parseGameDay(README);
const serveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'redstream-game-day-'));
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'redstream-game-day-cwd-'));
/** What the `env` step exported: the terminal session of the later steps. */
const session: Record<string, string> = {};
const childEnv: NodeJS.ProcessEnv = (() => {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`, REDSTREAM_SERVE_DIR: serveDir };
  // Nothing of a real AWS setup may leak into the walkthrough.
  for (const k of Object.keys(env)) if (k.startsWith('AWS_') && k !== 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED') delete env[k];
  for (const k of ['REDSTREAM_CDK_JSON', 'REDSTREAM_LOCAL_WORLD', 'REDSTREAM_ENV']) delete env[k];
  return env;
})();

let server: ChildProcess | undefined;
let serverOutput = '';
let serverExit: Promise<number | null> | undefined;
const transcript: string[] = [];

function shell(code: string): Promise<{ exit: number | null; output: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', code], { cwd: workDir, env: { ...childEnv, ...session } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (exit) => resolve({ exit, output, ms: Date.now() - t0 }));
  });
}

function failures(check: Check, exit: number | null, output: string): string[] {
  const out: string[] = [];
  if (check.exit !== undefined && exit !== check.exit) out.push(`exit ${exit}, expected ${check.exit}`);
  for (const p of check.phrases) if (!p.test(output)) out.push(`no ${p}`);
  for (const p of check.absent ?? []) if (p.test(output)) out.push(`unexpected ${p}`);
  return out;
}

function record(name: string, code: string, ms: number, exit: number | null, output: string): void {
  transcript.push(`### ${name} (${(ms / 1000).toFixed(1)} s, exit ${exit})\n\n\`\`\`sh\n${code}\n\`\`\`\n\n\`\`\`\n${output.trimEnd()}\n\`\`\`\n`);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

afterAll(() => {
  // Whatever happened above: nothing of the serve mode survives the test.
  if (server?.pid !== undefined && groupAlive(server.pid)) process.kill(-server.pid, 'SIGKILL');
  if (process.env.GAME_DAY_TRANSCRIPT) fs.writeFileSync(process.env.GAME_DAY_TRANSCRIPT, transcript.join('\n'));
  fs.rmSync(serveDir, { recursive: true, force: true });
  fs.rmSync(workDir, { recursive: true, force: true });
});

test('the README walkthrough has every checked step, in order, with its sample output', () => {
  expect(steps.map((s) => s.name)).toEqual(Object.keys(CHECKS));
  for (const step of steps) {
    const check = CHECKS[step.name];
    if (check.phrases.length === 0) continue;
    expect({ step: step.name, missing: failures({ phrases: check.phrases, absent: check.absent }, null, step.sample ?? '') }).toEqual({ step: step.name, missing: [] });
  }
});

test('the walkthrough runs against npm run demo -- --serve, and SIGTERM leaves nothing behind', async () => {
  const [start, ...rest] = steps;
  expect(start.name).toBe('start');

  // 1. The server, as a process group of its own (so the test can tell whether anything of it is left).
  const t0 = Date.now();
  server = spawn('bash', ['-c', `exec ${withScripts(start.code)}`], { cwd: ROOT, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  serverExit = exitAfterOutput(server);
  server.stdout!.on('data', (d: Buffer) => (serverOutput += d.toString()));
  server.stderr!.on('data', (d: Buffer) => (serverOutput += d.toString()));
  const deadline = Date.now() + 240_000;
  while (!/• ready in/.test(serverOutput) || !/ then e\.g\./.test(serverOutput)) {
    const exited = await Promise.race([serverExit, new Promise((r) => setTimeout(() => r('running'), 200))]);
    if (exited !== 'running') throw new Error(`the serve mode exited (${String(exited)}) before it was ready:\n${serverOutput}`);
    if (Date.now() > deadline) throw new Error(`the serve mode was not ready in time:\n${serverOutput}`);
  }
  record('start', start.code, Date.now() - t0, null, serverOutput);
  expect(failures(CHECKS.start, null, serverOutput)).toEqual([]);
  const state = JSON.parse(fs.readFileSync(path.join(serveDir, 'serve.json'), 'utf8')) as { control: string; env: Record<string, string> };

  // 2. The other terminal: each step in a shell with what the `env` step exported (as a terminal session keeps it).
  for (const step of rest) {
    const check = CHECKS[step.name];
    const code = withScripts(step.code);
    const stepDeadline = Date.now() + step.retryMs;
    let r = await shell(`set -e\n${code}`);
    let attempts = 1;
    while (failures(check, r.exit, r.output).length > 0 && Date.now() < stepDeadline) {
      await new Promise((res) => setTimeout(res, 1000));
      r = await shell(`set -e\n${code}`);
      attempts++;
    }
    record(`${step.name}${attempts > 1 ? ` (attempt ${attempts})` : ''}`, step.code, r.ms, r.exit, r.output);
    expect({ step: step.name, failures: failures(check, r.exit, r.output), output: r.output }).toEqual({ step: step.name, failures: [], output: r.output });
    if (step.name === 'env') {
      // What `ctl env` exports is what the serve terminal printed; later steps run with it.
      const printed = [...serverOutput.matchAll(/^ {4}(export .*)$/gm)].map((m) => m[1]);
      const env = await shell(withScripts(`${step.code}\nenv -0`));
      const after = new Map(env.output.split('\0').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const));
      for (const [k, v] of Object.entries(state.env)) {
        expect({ [k]: after.get(k) }).toEqual({ [k]: v });
        session[k] = v;
      }
      expect(printed).toEqual(Object.entries(state.env).map(([k, v]) => `export ${k}=${v}`));
    }
  }
  // The serve terminal saw the producers follow both switches.
  expect(serverOutput).toMatch(/• producers: us-west-2 is active \(epoch 3, "game day: us-east-1 Kinesis down"\): moved from us-east-1, re-sending \d+ record\(s\)/);
  expect(serverOutput).toMatch(/• producers: us-east-1 is active \(epoch 5, "game day over"\): moved from us-west-2/);

  // 3. Ctrl-C's sibling: SIGTERM stops everything.
  const ports = [state.control, ...Object.values(state.env)].filter((v) => /^http:\/\/127\.0\.0\.1:\d+$/.test(v)).map((v) => Number(v.split(':')[2]));
  expect(ports.length).toBeGreaterThanOrEqual(5);
  for (const port of ports) expect(await portOpen(port)).toBe(true);
  const t1 = Date.now();
  server.kill('SIGTERM');
  // A guard against a hang, not a performance bound: stopping takes a few seconds.
  let guard: NodeJS.Timeout | undefined;
  const code = await Promise.race([serverExit, new Promise((r) => (guard = setTimeout(() => r('still running'), 60_000)))]);
  clearTimeout(guard);
  record('stop (SIGTERM)', 'kill -TERM <serve pid>', Date.now() - t1, typeof code === 'number' ? code : null, serverOutput.slice(serverOutput.lastIndexOf('• stopping')));
  expect(code).toBe(143);
  expect(serverOutput).toMatch(/• stopped\n/);
  for (const port of ports) expect({ port, open: await portOpen(port) }).toEqual({ port, open: false });
  expect(fs.existsSync(path.join(serveDir, 'serve.json'))).toBe(false);
  // DynamoDB Local (a JVM), esbuild's service processes (they end when their parent's pipe closes) and
  // anything else the serve mode started were in its process group.
  const left = Date.now() + 15_000;
  while (groupAlive(server.pid!) && Date.now() < left) await new Promise((r) => setTimeout(r, 200));
  expect({ processesLeft: groupAlive(server.pid!) ? execSync(`ps -o pid,stat,cmd -g ${server.pid} || true`).toString() : '' }).toEqual({ processesLeft: '' });
}, 600_000);
