/**
 * Local stand-ins for deployed Lambda functions.
 *
 * {@link startWorkerFunction} runs a handler module the way Lambda does: the module is bundled with esbuild (as
 * `NodejsFunction` does, AWS SDK left external) and loaded in its own worker threads ("execution environments"),
 * each with its own `process.env` holding only the function's environment plus what the Lambda runtime sets
 * (`AWS_REGION`, `AWS_LAMBDA_FUNCTION_NAME`, credentials, …). Module-scope code, such as a handler's `env.ts`, runs
 * once per environment at cold start and sees that function's Region, so two Regions' copies of one handler run
 * side by side in one process without seeing each other's settings. An environment handles one invocation at a
 * time; a function scales out to `maxConcurrency` environments. A timed-out invocation ends its environment, as
 * Lambda does. As on Lambda, the init phase (loading the module) is not counted in the invocation's timeout; it has
 * its own 10 s limit.
 *
 * {@link inProcessFunction} wraps a plain function, for tests of code that invokes functions.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Worker } from 'node:worker_threads';
import type { Context } from 'aws-lambda';
import { LOCAL_CREDENTIALS } from './emulators';
import type { InvocationResult } from './event-source-mapping-logic';

/** A function that can be invoked with an event. */
export interface LocalFunction {
  readonly functionName: string;
  readonly functionArn: string;
  /** Invokes the function; never throws for a function error (it comes back as `{ kind: 'error' }`). */
  invoke(event: unknown): Promise<InvocationResult>;
  /** Ends every execution environment. */
  close(): Promise<void>;
}

/** The account id local ARNs carry. */
export const LOCAL_ACCOUNT_ID = '000000000000';

export interface WorkerFunctionProps {
  /** Path of the handler module (TypeScript or JavaScript). */
  readonly entry: string;
  /** Name of the exported handler. @default 'handler' */
  readonly handlerName?: string;
  readonly functionName: string;
  /** The function's Region: `AWS_REGION` and `AWS_DEFAULT_REGION` in its environment. */
  readonly region: string;
  /** The function's environment variables, as a construct would set them. */
  readonly environment: Readonly<Record<string, string>>;
  /** Invocation timeout in milliseconds. @default 30000 */
  readonly timeoutMs?: number;
  /** `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` and `context.memoryLimitInMB`; not enforced. @default 512 */
  readonly memorySizeMiB?: number;
  /** Execution environments that may run at once. @default 1 */
  readonly maxConcurrency?: number;
  /** Receives every line the function writes to stdout or stderr. @default - lines are dropped */
  readonly onLog?: (line: string) => void;
}

/** Thrown when a handler module cannot be bundled. */
export class LocalFunctionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalFunctionError';
  }
}

const PROJECT_ROOT = path.resolve(__dirname, '..');

/**
 * Keeps `__dirname` meaning the source file's directory inside the bundle (modules such as lib/sql/render.ts find
 * their data files relative to it), as it does when the project runs unbundled.
 */
const keepDirname = {
  name: 'keep-dirname',
  setup(build: { onLoad(options: { filter: RegExp }, cb: (args: { path: string }) => { contents: string; loader: 'ts' | 'js' } | undefined): void }) {
    build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const source = fs.readFileSync(args.path, 'utf8');
      if (!source.includes('__dirname')) return undefined;
      return { contents: source.replace(/\b__dirname\b/g, JSON.stringify(path.dirname(args.path))), loader: args.path.endsWith('ts') ? 'ts' : 'js' };
    });
  },
};
const BUNDLE_DIR = path.join(PROJECT_ROOT, 'node_modules', '.cache', 'redstream-local');

/**
 * The esbuild target of the deployed handlers (lib/replicator.ts and lib/ops/failover-function.ts run on nodejs24.x and
 * bundle for node24): local bundles use the same, so the code that runs here is the code Lambda runs. The sources are
 * ES2022 (tsconfig.json), which Node 20.19+ runs as written, so this target downlevels nothing on an older local Node.
 */
export const LAMBDA_BUNDLE_TARGET = 'node24';
let bundleCounter = 0;

/**
 * Bundles `entry` to a CommonJS file next to the project's node_modules (so external packages resolve), for loading
 * in a worker thread. The caller deletes the file when done.
 */
export async function bundle(entry: string, functionName: string): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  fs.mkdirSync(BUNDLE_DIR, { recursive: true });
  const outfile = path.join(BUNDLE_DIR, `${functionName.replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}-${++bundleCounter}.cjs`);
  try {
    await esbuild.build({
      entryPoints: [path.resolve(entry)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: LAMBDA_BUNDLE_TARGET,
      packages: 'external',
      sourcemap: 'inline',
      logLevel: 'silent',
      plugins: [keepDirname],
    });
  } catch (err) {
    throw new LocalFunctionError(`cannot bundle ${entry}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return outfile;
}

/**
 * The worker's bootstrap (CommonJS, evaluated): loads the bundle at start, as Lambda's init phase does, then answers
 * one invocation message at a time.
 */
const BOOTSTRAP = `
const { parentPort, workerData } = require('node:worker_threads');
let handler, initError;
try {
  const mod = require(workerData.bundle);
  handler = mod[workerData.handlerName];
  if (typeof handler !== 'function') throw Object.assign(new Error(workerData.handlerName + ' is not exported by ' + workerData.entry), { name: 'Runtime.HandlerNotFound' });
} catch (err) {
  initError = err;
}
parentPort.postMessage({ ready: true });
const describe = (err) => ({ errorType: (err && err.name) || 'Error', message: (err && err.message) || String(err) });
parentPort.on('message', async (msg) => {
  if (initError) {
    const e = describe(initError);
    parentPort.postMessage({ id: msg.id, error: { errorType: e.errorType, message: 'INIT failed: ' + e.message } });
    return;
  }
  const deadline = msg.deadline;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: workerData.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: workerData.functionArn,
    memoryLimitInMB: String(workerData.memorySizeMiB),
    awsRequestId: msg.requestId,
    logGroupName: '/aws/lambda/' + workerData.functionName,
    logStreamName: workerData.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {}, fail() {}, succeed() {},
  };
  try {
    const result = await (handler.length >= 3
      ? new Promise((resolve, reject) => { const r = handler(msg.event, context, (err, value) => (err ? reject(err) : resolve(value))); if (r && typeof r.then === 'function') r.then(resolve, reject); })
      : handler(msg.event, context));
    parentPort.postMessage({ id: msg.id, result: result === undefined ? null : JSON.parse(JSON.stringify(result)) });
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: describe(err) });
  }
});
`;

interface Environment {
  readonly worker: Worker;
  /** Resolves when the module has loaded (Lambda's init phase), true, or false if init did not end in time. */
  readonly initialized: Promise<boolean>;
  busy: boolean;
  dead: boolean;
}

/** Lambda's limit on an on-demand function's init phase, which is not counted in the invocation's timeout. */
const INIT_TIMEOUT_MS = 10_000;

interface WorkerReply {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: { errorType: string; message: string };
}

/** Starts a function whose handler runs in worker threads with its own environment (see the module comment). */
export async function startWorkerFunction(props: WorkerFunctionProps): Promise<LocalFunction> {
  const handlerName = props.handlerName ?? 'handler';
  const timeoutMs = props.timeoutMs ?? 30_000;
  const memorySizeMiB = props.memorySizeMiB ?? 512;
  const maxConcurrency = props.maxConcurrency ?? 1;
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
    throw new LocalFunctionError(`maxConcurrency must be a whole number of at least 1 (got ${maxConcurrency})`);
  }
  const functionArn = `arn:aws:lambda:${props.region}:${LOCAL_ACCOUNT_ID}:function:${props.functionName}`;
  const bundlePath = await bundle(props.entry, props.functionName);
  const environments: Environment[] = [];
  const waiting: Array<(env: Environment) => void> = [];
  let nextId = 0;
  let closed = false;

  const lambdaEnv = (): Record<string, string> => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TZ: 'UTC',
    LANG: 'en_US.UTF-8',
    NODE_OPTIONS: '',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: props.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memorySizeMiB),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${props.functionName}`,
    AWS_REGION: props.region,
    AWS_DEFAULT_REGION: props.region,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: 'local',
    ...props.environment,
  });

  function spawn(): Environment {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      env: lambdaEnv(),
      execArgv: ['--enable-source-maps'],
      stdout: true,
      stderr: true,
      workerData: {
        bundle: bundlePath,
        entry: props.entry,
        handlerName,
        functionName: props.functionName,
        functionArn,
        memorySizeMiB,
        logStreamName: `local/[$LATEST]${randomUUID().replace(/-/g, '')}`,
      },
    });
    for (const stream of [worker.stdout, worker.stderr]) {
      const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
      rl.on('line', (line) => props.onLog?.(line));
    }
    const initialized = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), INIT_TIMEOUT_MS);
      const onReady = (msg: { ready?: boolean }): void => {
        if (!msg.ready) return;
        clearTimeout(timer);
        worker.off('message', onReady);
        resolve(true);
      };
      worker.on('message', onReady);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    const env: Environment = { worker, initialized, busy: false, dead: false };
    worker.once('exit', () => discard(env, false));
    environments.push(env);
    return env;
  }

  /** Takes an environment out of the pool at once (its worker may still be stopping). */
  function discard(env: Environment, terminate: boolean): void {
    env.dead = true;
    const i = environments.indexOf(env);
    if (i >= 0) environments.splice(i, 1);
    if (terminate) void env.worker.terminate();
  }

  function acquire(): Promise<Environment> {
    const idle = environments.find((e) => !e.busy && !e.dead);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    if (environments.length < maxConcurrency) {
      const env = spawn();
      env.busy = true;
      return Promise.resolve(env);
    }
    return new Promise((resolve) => waiting.push(resolve));
  }

  function release(env: Environment): void {
    if (env.dead) {
      const next = waiting.length > 0 && !closed && environments.length < maxConcurrency ? waiting.shift() : undefined;
      if (next) {
        const fresh = spawn();
        fresh.busy = true;
        next(fresh);
      }
      return;
    }
    const next = waiting.shift();
    if (next) next(env);
    else env.busy = false;
  }

  async function runOn(env: Environment, event: unknown): Promise<InvocationResult> {
    // The init phase (loading the module) has its own limit; the invocation's timeout starts after it, as on Lambda.
    if (!(await env.initialized)) {
      discard(env, true);
      return { kind: 'error', errorType: 'Runtime.InitError', message: `INIT did not finish within ${INIT_TIMEOUT_MS / 1000} s` };
    }
    const id = ++nextId;
    return new Promise<InvocationResult>((resolve) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        env.worker.off('message', onMessage);
        env.worker.off('error', onError);
        env.worker.off('exit', onExit);
      };
      const onMessage = (msg: WorkerReply): void => {
        if (msg.id !== id) return;
        cleanup();
        if (msg.error) {
          if (msg.error.message.startsWith('INIT failed: ')) discard(env, true); // Lambda retries init next time
          resolve({ kind: 'error', errorType: msg.error.errorType, message: msg.error.message });
        } else {
          resolve({ kind: 'returned', response: msg.result });
        }
      };
      const onError = (err: Error): void => {
        cleanup();
        discard(env, true);
        resolve({ kind: 'error', errorType: 'Runtime.ExitError', message: `${err.name}: ${err.message}` });
      };
      const onExit = (code: number): void => {
        cleanup();
        resolve({ kind: 'error', errorType: 'Runtime.ExitError', message: `execution environment exited with code ${code}` });
      };
      const timer = setTimeout(() => {
        cleanup();
        discard(env, true);
        resolve({ kind: 'error', errorType: 'Sandbox.Timedout', message: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds` });
      }, timeoutMs);
      env.worker.on('message', onMessage);
      env.worker.once('error', onError);
      env.worker.once('exit', onExit);
      env.worker.postMessage({ id, event, requestId: randomUUID(), deadline: Date.now() + timeoutMs });
    });
  }

  return {
    functionName: props.functionName,
    functionArn,
    async invoke(event) {
      if (closed) return { kind: 'error', errorType: 'ResourceNotFoundException', message: `function ${props.functionName} is closed` };
      const env = await acquire();
      try {
        return await runOn(env, event);
      } finally {
        release(env);
      }
    },
    async close() {
      closed = true;
      await Promise.all(environments.map((e) => e.worker.terminate()));
      fs.rmSync(bundlePath, { force: true });
    },
  };
}

/** A Lambda-style handler that runs in this process. */
export type InProcessHandler = (event: never, context: Context) => unknown;

/** Wraps an in-process handler as a {@link LocalFunction} (errors it throws come back as function errors). */
export function inProcessFunction(
  handler: InProcessHandler,
  options: { functionName?: string; region?: string; timeoutMs?: number } = {},
): LocalFunction {
  const functionName = options.functionName ?? 'local-function';
  const functionArn = `arn:aws:lambda:${options.region ?? 'us-east-1'}:${LOCAL_ACCOUNT_ID}:function:${functionName}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    functionName,
    functionArn,
    async invoke(event) {
      const deadline = Date.now() + timeoutMs;
      const context: Context = {
        callbackWaitsForEmptyEventLoop: true,
        functionName,
        functionVersion: '$LATEST',
        invokedFunctionArn: functionArn,
        memoryLimitInMB: '512',
        awsRequestId: randomUUID(),
        logGroupName: `/aws/lambda/${functionName}`,
        logStreamName: 'local',
        getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
        done: () => undefined,
        fail: () => undefined,
        succeed: () => undefined,
      };
      try {
        // The handler's event type is the caller's business; the mapping passes a KinesisStreamEvent.
        const response: unknown = await (handler as (e: unknown, c: Context) => unknown)(event, context);
        return { kind: 'returned', response: response === undefined ? null : response };
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        return { kind: 'error', errorType: e.name, message: e.message };
      }
    },
    close: () => Promise.resolve(),
  };
}
