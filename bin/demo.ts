/**
 * `npm run demo`: Redstream's whole data path on this machine, with a failover drill (see the README, "Local pipeline").
 * The only place the demo reads files and arguments: cdk.json's `dev` environment (REDSTREAM_CDK_JSON names another
 * file), the command line.
 * Exit codes: 0 report OK, 1 the demo could not run (or the input file or cdk.json is unreadable), 2 bad usage,
 * 3 the report's checks failed. Errors are one line, `demo: error: ...` (lambda/ops/command-line.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENVIRONMENTS_CONTEXT_KEY, resolveEnvironments } from '../lib/config';
import { DEMO_USAGE, parseDemoArgs } from '../local/demo-options';
import { errorLine, EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, usageErrorLine } from '../lambda/ops/command-line';
import { isServe, parseCtlArgs, parseServeArgs, SERVE_USAGE } from '../local/serve-options';
import type { ServeHandle } from '../local/serve';
import { envLines, readServeState, removeOwnServeState, sendCtl } from '../local/serve-ctl';
import { stateToken } from '../local/serve-format';
import { INITIAL_SHUTDOWN, nextShutdown, ShutdownEvent, ShutdownState, STOP_DEADLINE_MS } from '../local/shutdown';

const PROG = 'demo';

// The local world (AWS SDK, kinesalite, PGlite, …) is loaded only when it is started: `ctl` runs in a second or two.
let stopAllPipelines: (() => Promise<void>) | undefined;
/* eslint-disable @typescript-eslint/no-require-imports -- loaded on use: a CommonJS require keeps the types */
function loadPipeline(): void {
  ({ stopAllPipelines } = require('../local/pipeline') as typeof import('../local/pipeline'));
}
const loadServe = (): typeof import('../local/serve') => require('../local/serve') as typeof import('../local/serve');
const loadDemo = (): typeof import('../local/demo') => require('../local/demo') as typeof import('../local/demo');
/* eslint-enable @typescript-eslint/no-require-imports */

// Ctrl-C, a kill or a closed pipe (`npm run demo | head`) still stops DynamoDB Local and the workers (and, in the serve
// mode, its producer, control endpoint, archive and state file), from the first moment: a pipeline registers itself
// when its start begins (local/pipeline.ts). A second signal while stopping, or a stop that outlasts its deadline,
// exits at once after killing the DynamoDB Local JVMs (local/shutdown.ts); so does any other exit of Node, through
// local/emulators.ts's exit hook.
let serving: ServeHandle | undefined;
/** Restores the serve terminal (raw mode off) when the serve mode reads keys. */
let restoreTerminal: () => void = () => undefined;
let shutdown: ShutdownState = INITIAL_SHUTDOWN;
/** The exit code of a signal that stopped the demo (the serve mode then ends with it, not 0). */
let signalExitCode: number | undefined;
function onShutdown(event: ShutdownEvent): void {
  const next = nextShutdown(shutdown, event);
  shutdown = next.state;
  const action = next.action;
  switch (action.kind) {
    case 'none':
      return;
    case 'stop': {
      signalExitCode = action.code;
      restoreTerminal();
      if (action.code === 130 || action.code === 143) {
        process.stderr.write(`\n• ${action.code === 130 ? 'SIGINT' : 'SIGTERM'}: stopping everything (signal again to end at once)\n`);
      }
      setTimeout(() => onShutdown({ kind: 'deadline' }), STOP_DEADLINE_MS).unref();
      void Promise.allSettled([serving?.stop()])
        .then(() => stopAllPipelines?.())
        .catch(() => undefined)
        .finally(() => onShutdown({ kind: 'stopped' }));
      return;
    }
    case 'exit':
      return process.exit(action.code);
    case 'force':
      restoreTerminal();
      process.stderr.write(
        `\n${PROG}: ${action.why === 'repeat' ? 'signalled again while stopping' : `not stopped after ${STOP_DEADLINE_MS / 1000} s`}: killing DynamoDB Local and exiting now\n`,
      );
      // The 'exit' hooks kill the JVMs (local/emulators.ts) and remove the serve mode's state file (serve()).
      return process.exit(action.code);
  }
}
// With their arrival time: through `npm run`, each comes twice (local/shutdown.ts).
process.on('SIGINT', () => onShutdown({ kind: 'signal', code: 130, atMs: performance.now() }));
process.on('SIGTERM', () => onShutdown({ kind: 'signal', code: 143, atMs: performance.now() }));
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') onShutdown({ kind: 'signal', code: 141 });
  });
}

// The SDK's notice that its 2027 releases need Node 22 says nothing about the demo on the supported Node 20.19+
// (package.json engines); its own documented switch turns it off (set it to false to see it). The SDK reads it when a
// client is created, after this line; worker threads inherit it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The demo ran but its report's checks failed. */
const EXIT_CHECKS_FAILED = 3;

/** The environment the demo runs: its Regions, streams and settings come from cdk.json. */
const DEMO_ENVIRONMENT = 'dev';

/** Where the serve mode writes its state file and served cdk.json (REDSTREAM_SERVE_DIR overrides it). */
const SERVE_DIR = process.env.REDSTREAM_SERVE_DIR ?? path.resolve(__dirname, '..', '.redstream');

function readContext(): Record<string, unknown> | undefined {
  const cdkJsonFile = process.env.REDSTREAM_CDK_JSON ?? path.resolve(__dirname, '..', 'cdk.json');
  return (JSON.parse(fs.readFileSync(cdkJsonFile, 'utf8')) as { context?: Record<string, unknown> }).context;
}

/** `npm run demo -- --serve`: runs until Ctrl-C, SIGTERM or `q`. */
async function serve(argv: string[]): Promise<number> {
  const options = parseServeArgs(argv);
  if (options.help) {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return EXIT_OK;
  }
  let context: Record<string, unknown> | undefined;
  try {
    context = readContext();
  } catch (err) {
    process.stderr.write(`${errorLine(PROG, `cannot read cdk.json: ${(err as Error).message}`)}\n`);
    return EXIT_FAILED;
  }
  const stdin = process.stdin;
  const keys = stdin.isTTY
    ? {
        onKey(handler: (key: string) => void) {
          stdin.setRawMode(true);
          stdin.setEncoding('utf8');
          stdin.on('data', (chunk: string) => {
            for (const key of chunk) {
              // Ctrl-C in raw mode is a key, not a signal: end as SIGINT does (exit 130), not as `q` (0).
              if (key === '\u0003') onShutdown({ kind: 'signal', code: 130 });
              else handler(key);
            }
          });
          stdin.resume();
        },
        close() {
          if (stdin.isTTY) stdin.setRawMode(false);
          stdin.pause();
        },
      }
    : undefined;
  if (keys) restoreTerminal = () => keys.close();
  // Last resort: an error nothing caught (a bug) must not leave the JVM running, the terminal raw or a state file that
  // points at nothing. It stops everything as a signal does, and exits 1.
  const lastResort = (err: unknown): void => {
    restoreTerminal();
    const e = err instanceof Error ? err : new Error(String(err));
    process.stderr.write(`\n${errorLine(PROG, `serve mode failed: ${e.name}: ${e.message}; stopping`)}\n`);
    if (process.env.REDSTREAM_DEBUG) process.stderr.write(`${e.stack}\n`);
    onShutdown({ kind: 'signal', code: EXIT_FAILED });
  };
  process.on('uncaughtException', lastResort);
  process.on('unhandledRejection', lastResort);
  process.on('exit', () => removeOwnServeState(SERVE_DIR, process.pid));
  loadPipeline();
  const { startServe } = loadServe();
  serving = await startServe(options, context?.[ENVIRONMENTS_CONTEXT_KEY], SERVE_DIR, {
    write: (chunk) => process.stderr.write(chunk),
    interactive: process.stderr.isTTY === true,
    columns: () => process.stderr.columns,
    keys,
    functionLog: process.env.REDSTREAM_DEBUG ? (region, line) => process.stderr.write(`[replicator ${region}] ${line}\n`) : undefined,
  });
  await serving.stopped;
  return EXIT_OK;
}

/** `npm run demo -- ctl <action>`: one request to the running serve mode. */
async function ctl(argv: string[]): Promise<number> {
  const request = parseCtlArgs(argv);
  if ('help' in request) {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return EXIT_OK;
  }
  if (request.action === 'env') {
    process.stdout.write(`${(await envLines(SERVE_DIR)).join('\n')}\n`);
    return EXIT_OK;
  }
  const state = readServeState(SERVE_DIR);
  const answer = await sendCtl(state.control, stateToken(state), request);
  if (answer.ok) process.stdout.write(`${answer.message}\n`);
  else process.stderr.write(`${errorLine(PROG, answer.message)}\n`);
  return answer.ok ? EXIT_OK : EXIT_FAILED;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'ctl' || isServe(argv)) {
    try {
      return await (argv[0] === 'ctl' ? ctl(argv.slice(1)) : serve(argv));
    } catch (err) {
      if (err instanceof UsageError) {
        process.stderr.write(`${usageErrorLine(PROG, err.message)}\n`);
        return EXIT_USAGE;
      }
      // A signal during the start stopped it: that is no error to report.
      if (signalExitCode !== undefined) return signalExitCode;
      const e = err instanceof Error ? err : new Error(String(err));
      const expected = ['ServeError', 'ServeStateError', 'ConfigError'].includes(e.name);
      process.stderr.write(`${errorLine(PROG, expected ? e.message : `${e.name}: ${e.message}`)}\n`);
      if (!expected && process.env.REDSTREAM_DEBUG) process.stderr.write(`${e.stack}\n`);
      return EXIT_FAILED;
    }
  }
  let options;
  try {
    options = parseDemoArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${usageErrorLine(PROG, err.message)}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (options.help) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    return EXIT_OK;
  }
  const cdkJsonFile = process.env.REDSTREAM_CDK_JSON ?? path.resolve(__dirname, '..', 'cdk.json');
  let context: Record<string, unknown> | undefined;
  try {
    context = (JSON.parse(fs.readFileSync(cdkJsonFile, 'utf8')) as { context?: Record<string, unknown> }).context;
  } catch (err) {
    process.stderr.write(`${errorLine(PROG, `cannot read ${cdkJsonFile}: ${(err as Error).message}`)}\n`);
    return EXIT_FAILED;
  }
  // A ConfigError names the field and the fix; the handler at the bottom prints it as a configuration error (exit 1).
  const [config] = resolveEnvironments(context?.[ENVIRONMENTS_CONTEXT_KEY], DEMO_ENVIRONMENT);
  try {
    loadPipeline();
    const { formatReport, runDemo } = loadDemo();
    const { report } = await runDemo(options, config, {
      progress: (line) => process.stderr.write(line),
      interactive: process.stderr.isTTY === true,
      functionLog: process.env.REDSTREAM_DEBUG ? (region, line) => process.stderr.write(`[replicator ${region}] ${line}\n`) : undefined,
    });
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    if (options.out !== undefined) process.stderr.write(`wrote events.ndjson, rejects.ndjson and report.json to ${options.out}\n`);
    return report.ok ? EXIT_OK : EXIT_CHECKS_FAILED;
  } catch (err) {
    // A signal stopped the drill's world under it: that is no error to report.
    if (signalExitCode !== undefined) return signalExitCode;
    const e = err instanceof Error ? err : new Error(String(err));
    const expected = ['InputFileError', 'DemoFailedError'].includes(e.name);
    process.stderr.write(`${errorLine(PROG, expected ? e.message : `${e.name}: ${e.message}`)}\n`);
    if (!expected && process.env.REDSTREAM_DEBUG) process.stderr.write(`${e.stack}\n`);
    return EXIT_FAILED;
  }
}

main(process.argv.slice(2)).then(
  // While a signal's stop runs, it exits (with the signal's code) when everything is stopped, or forces the exit.
  (code) => (shutdown.phase === 'stopping' ? undefined : process.exit(signalExitCode ?? code)),
  (err: unknown) => {
    process.stderr.write(`${errorLine(PROG, err instanceof Error ? err.message : String(err))}\n`);
    process.exit(EXIT_FAILED);
  },
);
