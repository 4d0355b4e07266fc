/**
 * Every command-line entry point, run as a process the way `npm run` runs it: `-h`/`--help` prints the usage and
 * exits 0; a bad flag prints one line on stderr and exits 2; a broken cdk.json is a configuration error (exit 1).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NPM_SCRIPTS, tsEntry } from '../helpers/npm-script';

const ROOT = path.resolve(__dirname, '../..');
const CLIS = {
  ops: { entry: 'bin/ops.ts', usage: /^Usage: npm run ops -- <command> \[options\]/, run: ['status', '--env', 'dev'] },
  demo: { entry: 'bin/demo.ts', usage: /^Usage: npm run demo -- \[options\]/, run: ['--events', '10'] },
  'template-diff': { entry: 'scripts/template-diff.ts', usage: /^Usage: npm run template-diff -- /, run: undefined },
} as const;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(entry: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const [cmd, argv] = tsEntry(entry, args);
    execFile(cmd, argv, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 240_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

type Case = 'help' | 'bad flag' | 'broken cdk.json';
const results = new Map<string, Run>();
let tmp: string;

// Each start of a TypeScript entry costs seconds on a loaded 2-core machine: run every case at once, then assert.
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'redstream-clis-'));
  const broken = path.join(tmp, 'cdk.json');
  fs.writeFileSync(broken, '{ "context": ');
  const runs: Promise<void>[] = [];
  for (const [prog, cli] of Object.entries(CLIS)) {
    const start = (c: Case, args: readonly string[], env?: NodeJS.ProcessEnv): void => {
      runs.push(run(cli.entry, args, env).then((r) => void results.set(`${prog} ${c}`, r)));
    };
    start('help', [prog === 'demo' ? '-h' : '--help']);
    start('bad flag', prog === 'ops' ? ['status', '--bogus'] : ['--bogus']);
    if (cli.run !== undefined) start('broken cdk.json', cli.run, { REDSTREAM_CDK_JSON: broken });
  }
  await Promise.all(runs);
  // A loaded 2-core machine can take long to start eight TypeScript processes at once.
}, 300_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.each(Object.entries(CLIS))('%s', (prog, cli) => {
  test('-h / --help prints the usage on stdout and exits 0', () => {
    const r = results.get(`${prog} help`)!;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(cli.usage);
    expect(r.stdout).toMatch(/-h, --help/);
    expect(r.stderr).toBe('');
  });

  test('a bad flag: one line on stderr, nothing on stdout, exit 2', () => {
    const r = results.get(`${prog} bad flag`)!;
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${prog}: error: unknown option --bogus; run with --help for usage\n`);
  });

  if (cli.run !== undefined) {
    test('a cdk.json that is not JSON is a configuration error: one line, exit 1', () => {
      const r = results.get(`${prog} broken cdk.json`)!;
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^${prog}: error: cannot read ${path.join(tmp, 'cdk.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: [^\\n]+\\n$`));
    });
  }
});

test('npm execs every TypeScript entry as node with tsx as its loader, so a signal to npm reaches it', () => {
  // npm passes SIGTERM on to the script's shell. Without exec, dash dies of it and leaves node running, orphaned;
  // through tsx's CLI, the signal is relayed to a child node, SIGKILLed if it does not acknowledge within 30 ms, which
  // a busy event loop (the serve mode merging, a replay writing) often does not. Either way the orderly stop (progress
  // saved, the serve mode's ports and JVM closed) did not happen.
  const entries = Object.entries(NPM_SCRIPTS).filter(([, script]) => /\.ts\b/.test(script));
  expect(entries.length).toBeGreaterThanOrEqual(8);
  for (const [name, script] of entries) expect({ name, script }).toEqual({ name, script: expect.stringMatching(/^exec node --import tsx \S+\.ts$/) });
});
