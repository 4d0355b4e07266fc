/**
 * `npm run demo -- --serve`: the local world of the demo (local/pipeline.ts and the archive) kept running with a
 * producer and no drill, for a game day with the real `npm run ops` CLI in another terminal (README, "Game day").
 *
 * - The environment served is cdk.json's with the laptop timings of {@link SERVE_TIMINGS}, written to
 *   `<stateDir>/serve-cdk.json`; the ops CLI reads that file (REDSTREAM_CDK_JSON), so its waits are the world's.
 * - The state file (`<stateDir>/serve.json`, removed at stop) holds the endpoints and the control endpoint; the serve
 *   terminal prints the same as `export` lines. It is readable by the user only (mode 0600): it holds the control
 *   endpoint's token.
 * - The control endpoint (HTTP on 127.0.0.1, every request with the token: local/serve-auth.ts) takes the faults of the nemesis (Kinesis down, partitioned replica,
 *   replication delay), the operator's clock skew (which `npm run ops` reads from it), a status and a verification.
 * - Producers behave as in the drill: they write to the Region they know, hold and retry what fails, and when a
 *   replica shows a new active Region (a switch made by `ops failover`/`failback`) they move there and re-send
 *   everything they wrote since the published resume timestamp.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { resolveEnvironments } from '../lib/config';
import { DEFAULT_SUBJECT_PATHS, recordHasSuppressedSubject } from '../lambda/archive/subject';
import type { ActiveRegionItem } from '../lambda/shared/state-tables';
import { PipelineArchive, startPipelineArchive } from './archive';
import { DemoUsageError } from './demo-options';
import { LocalPipeline, startLocalPipeline } from './pipeline';
import { Producer, ProducerRecord } from './producer';
import { classifyRecord } from './record-classifier';
import { segmentEvents } from './segment-events';
import { exportLines, formatStatusLine, ServeSnapshot, ServeState, servedEnvironment, serveVariables } from './serve-format';
import { answerWarehouseSql } from './serve-warehouse';
import { newControlToken, refuseControlRequest } from './serve-auth';
import { CtlRequest, KEYS_HELP, keyToRequest, ServeOptions, validateCtlRequest } from './serve-options';

/** How often the producers look at the active-Region item (a producer fleet polling the table or `status --json`). */
const WATCH_INTERVAL_MS = 250;
/** How long `heal` waits for the held replication to be delivered before it answers with what is still pending. */
const HEAL_SETTLE_MS = 30_000;

export interface ServeIo {
  /** Progress and status (stderr). */
  write(chunk: string): void;
  /** Whether the status line may be redrawn in place. */
  readonly interactive: boolean;
  /** Keys typed on the serve terminal (raw mode), when it is one. @default - no keys */
  readonly keys?: { onKey(handler: (key: string) => void): void; close(): void };
  /** The terminal's width, to cut the status line to. @default 200 */
  readonly columns?: () => number | undefined;
  /** Log lines of the local functions. @default - dropped */
  readonly functionLog?: (region: string, line: string) => void;
}

export interface ServeHandle {
  readonly state: ServeState;
  /** Resolves when the serve mode has stopped (after {@link stop}, or `q` on the terminal). */
  readonly stopped: Promise<void>;
  /** Stops the producer, the control endpoint, the archive and the local world; removes the state file. Idempotent. */
  stop(): Promise<void>;
}

export interface CtlResponse {
  readonly ok: boolean;
  readonly message: string;
}

export class ServeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServeError';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** An unbounded source of Segment-style events: chunks of the demo's generator, each with its own seed and run id. */
function* endlessEvents(options: ServeOptions): Generator<ProducerRecord> {
  for (let seed = 1; ; seed++) {
    yield* segmentEvents({ count: 1000, duplicateFraction: options.duplicates, malformedFraction: options.malformed, clock: Date.now, seed });
  }
}

/** A state file whose serve mode still answers: refuse to start a second one over it. */
async function assertNoLiveServe(stateFile: string): Promise<void> {
  let control: string | undefined;
  let token: string | undefined;
  try {
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { control?: string; env?: Record<string, string> };
    control = state.control;
    token = state.env?.REDSTREAM_LOCAL_WORLD_TOKEN;
  } catch {
    return;
  }
  if (typeof control !== 'string') return;
  const alive = await fetch(`${control}/state`, { headers: { authorization: `Bearer ${token ?? ''}` }, signal: AbortSignal.timeout(1000) }).then(
    // 401: a serve mode of another state file's token (or an older one) answers there: still one running.
    (r) => r.ok || r.status === 401,
    () => false,
  );
  if (alive) throw new ServeError(`a serve mode is already running (${stateFile}, control ${control}); stop it first (Ctrl-C in its terminal)`);
}

/**
 * Starts the serve mode. `rawEnvironments` is cdk.json's `redstream:environments`; `stateDir` receives the state file
 * and the served cdk.json.
 */
export async function startServe(options: ServeOptions, rawEnvironments: unknown, stateDir: string, io: ServeIo): Promise<ServeHandle> {
  const envs = rawEnvironments as Record<string, unknown>;
  if (typeof envs !== 'object' || envs === null || !(options.env in envs)) {
    throw new DemoUsageError(`unknown environment ${JSON.stringify(options.env)} (environments: ${Object.keys(envs ?? {}).join(', ')})`);
  }
  const served = { [options.env]: servedEnvironment(envs[options.env]) };
  const [config] = resolveEnvironments(served, options.env);
  if (config.standbyRegions.length === 0) throw new ServeError(`environment ${config.name} has no standby Region: nothing to fail over to`);
  const stateFile = path.join(stateDir, 'serve.json');
  const cdkJson = path.join(stateDir, 'serve-cdk.json');
  await assertNoLiveServe(stateFile);
  fs.mkdirSync(stateDir, { recursive: true });

  const started = Date.now();
  const out = new StatusOutput(io);
  out.line(`• starting the local world of ${config.name} (${[config.primaryRegion, ...config.standbyRegions].join(', ')}): Kinesis, DynamoDB Local, replicators, archive, warehouse`);
  // Per Region: when its replicator last finished a batch, and how late the batch's oldest record reached the targets.
  const lastBatch = new Map<string, { atMs: number; lagMs: number }>();
  const pipeline = await startLocalPipeline({
    config,
    onInvocation: (region, o) => {
      const done = o.verdict.kind === 'success' || (o.verdict.kind === 'partial' && o.verdict.doneCount > 0);
      if (o.records.length > 0 && done) lastBatch.set(region, { atMs: o.endedAtMs, lagMs: o.endedAtMs - o.records[0].approximateArrivalTimestampMs });
    },
    tuning: {
      replicatorTimeoutMs: config.replicator.timeoutSeconds * 1000,
      activeRegionCacheTtlMs: config.replicator.activeRegionCacheTtlSeconds * 1000,
      resumeSafetyMarginMs: config.failover.resumeSafetyMarginSeconds * 1000,
    },
    onLog: io.functionLog,
  });
  let archive: PipelineArchive | undefined;
  let server: http.Server | undefined;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  try {
    archive = await startPipelineArchive(pipeline);
    const token = newControlToken();
    const world = new ServedWorld(pipeline, options, out, started, lastBatch, token);
    cleanups.push(() => world.stop());

    server = http.createServer((req, res) => void world.handle(req, res));
    const control = await listen(server);
    const variables = serveVariables({
      kinesis: pipeline.router.endpoint,
      dynamodb: pipeline.dynamo.endpoint,
      lambda: pipeline.lambdaControlPlane.endpoint,
      s3: archive.s3.endpoint,
      control,
      token,
      cdkJson,
      archiveBuckets: Object.fromEntries(pipeline.regions.map((r) => [r, archive!.bucketFor(r)])),
    });
    const state: ServeState = { version: 1, pid: process.pid, environment: config.name, regions: pipeline.regions, control, env: variables, startedAt: new Date(started).toISOString() };
    fs.writeFileSync(cdkJson, `${JSON.stringify({ context: { 'redstream:environments': served } }, null, 2)}\n`);
    // The token is the endpoint's only lock: the file is the user's alone (mode applies on creation; chmod for an old file).
    fs.writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    fs.chmodSync(stateFile, 0o600);
    cleanups.push(() => fs.rmSync(stateFile, { force: true }), () => fs.rmSync(cdkJson, { force: true }));

    world.start();
    out.line(
      [
        `• ready in ${((Date.now() - started) / 1000).toFixed(1)} s: producing ${options.rate} records/s into ${pipeline.streams[0].physicalName} in ${config.primaryRegion}`,
        `  Point the ops CLI at this world: paste these lines into another terminal`,
        `  (or run: eval "$(npm run -s demo -- ctl env)"; or add --local to each ops command):`,
        '',
        ...exportLines(state).map((l) => `    ${l}`),
        '',
        `  then e.g.: npm run ops -- status --env ${config.name}`,
        `  break things: npm run demo -- ctl kinesis-down ${config.primaryRegion} (see npm run demo -- ctl --help)`,
        ...(io.keys ? [`  ${KEYS_HELP}`] : []),
        '',
      ].join('\n'),
    );
    out.ticker(() => formatStatusLine(world.snapshot()), options.statusEverySeconds * 1000);

    let resolveStopped: () => void = () => undefined;
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    let stopping: Promise<void> | undefined;
    // Never rejects: what fails while stopping is said, and the rest is stopped anyway (bin/demo.ts bounds the time).
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        out.stop();
        io.keys?.close();
        out.write('• stopping: producer, control endpoint, archive, replicators, warehouse, DynamoDB Local, Kinesis\n');
        await closeServer(server!);
        for (const c of [...cleanups].reverse()) await Promise.resolve(c()).catch(() => undefined);
        await archive!.stop().catch(() => undefined);
        try {
          await pipeline.stop();
          out.write('• stopped\n');
        } catch (err) {
          out.write(`! stopped, but the local world's stop failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
        }
        resolveStopped();
      })());
    world.onQuit = () => void stop();
    io.keys?.onKey((key) => world.key(key));
    return { state, stopped, stop };
  } catch (err) {
    out.stop();
    if (server) await closeServer(server);
    for (const c of [...cleanups].reverse()) await Promise.resolve(c()).catch(() => undefined);
    await archive?.stop().catch(() => undefined);
    await pipeline.stop().catch(() => undefined);
    throw err;
  }
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** The running world: producer, its watch of the active Region, the faults, the control requests. */
class ServedWorld {
  private readonly producer: Producer;
  private readonly stream: string;
  private readonly primary: string;
  private readonly standby: string;
  private readonly down = new Set<string>();
  private readonly partitioned = new Set<string>();
  private clockSkewMs = 0;
  private replicaLagMs: number | undefined;
  private active: ActiveRegionItem | undefined;
  private readonly written = new Map<string, number>();
  private counted = 0;
  private watching = true;
  private watcher: Promise<void> | undefined;
  private production: Promise<void> | undefined;
  /** Set by startServe: `q` on the terminal. */
  onQuit: () => void = () => undefined;

  constructor(
    private readonly pipeline: LocalPipeline,
    options: ServeOptions,
    private readonly out: StatusOutput,
    private readonly started: number,
    private readonly lastBatch: ReadonlyMap<string, { atMs: number; lagMs: number }>,
    /** Every request to the control endpoint must carry it (local/serve-auth.ts). */
    private readonly token: string,
  ) {
    const config = pipeline.config;
    this.stream = pipeline.streams[0].physicalName;
    this.primary = config.primaryRegion;
    this.standby = config.standbyRegions[0];
    for (const r of pipeline.regions) this.written.set(r, 0);
    this.producer = new Producer({
      source: endlessEvents(options),
      streamName: this.stream,
      region: this.primary,
      clientFor: (r) => pipeline.kinesis(r),
      ratePerSecond: options.rate,
      classifier: { dedupKeyPath: config.warehouse.dedupKeyPath },
    });
  }

  start(): void {
    this.production = this.producer.run();
    this.watcher = this.watch();
  }

  async stop(): Promise<void> {
    this.watching = false;
    this.producer.stop();
    await this.watcher;
    await this.production;
  }

  /** Producers follow the active Region: on a new ACTIVE item elsewhere, move and re-send from its resume timestamp. */
  private async watch(): Promise<void> {
    while (this.watching) {
      try {
        const item = await this.readActive();
        if (item !== undefined) {
          this.active = item;
          if (item.state === 'ACTIVE' && item.activeRegion !== this.producer.currentRegion) await this.follow(item);
        }
      } catch (err) {
        // A bug here must not stop the producers from following switches for the rest of the game day.
        this.out.line(`! producers: watching the active Region failed: ${describeError(err)}`);
      }
      await sleep(WATCH_INTERVAL_MS);
    }
  }

  /** The item with the highest epoch that any replica answers with (each read strongly consistent in its Region). */
  private async readActive(): Promise<ActiveRegionItem | undefined> {
    const items = await Promise.all(this.pipeline.regions.map((r) => this.pipeline.activeRegionItem(this.stream, r).catch(() => undefined)));
    return items.reduce<ActiveRegionItem | undefined>((best, it) => (it !== undefined && (best === undefined || it.epoch > best.epoch) ? it : best), undefined);
  }

  private async follow(item: ActiveRegionItem): Promise<void> {
    const from = this.producer.currentRegion;
    await this.producer.pause();
    if (!this.watching) return;
    const resumeAt = item.resumeTimestamp ?? item.activatedAt;
    const resent = this.producer.switchRegion(item.activeRegion, resumeAt);
    this.producer.rebaseRate();
    this.producer.resume();
    this.out.line(
      `• producers: ${item.activeRegion} is active (epoch ${item.epoch}${item.reason ? `, "${item.reason}"` : ''}): moved from ${from}, ` +
        `re-sending ${resent} record(s) written since the resume timestamp ${new Date(resumeAt).toISOString()}`,
    );
  }

  snapshot(): ServeSnapshot {
    const writes = this.producer.ledger.writes;
    for (; this.counted < writes.length; this.counted++) {
      const r = writes[this.counted].region;
      this.written.set(r, (this.written.get(r) ?? 0) + 1);
    }
    const activeRegion = this.active?.state === 'ACTIVE' ? this.active.activeRegion : this.producer.currentRegion;
    const shards = this.pipeline.mappings.filter((m) => m.region === activeRegion).flatMap((m) => m.status());
    const pending = shards.reduce((n, s) => n + s.pending, 0);
    const now = Date.now();
    const last = this.lastBatch.get(activeRegion);
    // Stalled since its last batch, or since it became active if it has not replicated one since.
    const since = Math.max(last?.atMs ?? this.started, this.active?.state === 'ACTIVE' ? this.active.activatedAt : this.started);
    return {
      uptimeMs: now - this.started,
      active: this.active === undefined ? undefined : { region: this.active.activeRegion, state: this.active.state, epoch: this.active.epoch },
      producerRegion: this.producer.currentRegion,
      writtenByRegion: Object.fromEntries(this.written),
      failedCalls: this.producer.ledger.failedCalls,
      replicationPending: pending,
      replicationLagMs: last?.lagMs,
      replicationStalledMs: pending > 0 ? now - since : undefined,
      warehouseRows: this.pipeline.loader.totals.appended,
      warehouseEvents: this.pipeline.loader.totals.inserted,
      faults: this.faults(),
    };
  }

  private faults(): string[] {
    return [
      ...[...this.down].map((r) => `${r} Kinesis down`),
      ...[...this.partitioned].map((r) => `${r} replica partitioned`),
      ...(this.clockSkewMs !== 0 ? [`operator clock ${this.clockSkewMs > 0 ? '+' : ''}${this.clockSkewMs / 1000} s`] : []),
      ...(this.replicaLagMs !== undefined ? [`replica lag ${this.replicaLagMs / 1000} s`] : []),
    ];
  }

  key(key: string): void {
    const request = keyToRequest(key, { primary: this.primary, standby: this.standby, down: this.down, partitioned: this.partitioned, clockSkewMs: this.clockSkewMs });
    if (request === undefined) return;
    if (request === 'quit') return this.onQuit();
    if (request === 'help') return this.out.line(`  ${KEYS_HELP}`);
    // run() answers its failures; this catch is for a bug, which must not end the serve mode.
    void this.run(request).then(
      (r) => this.out.line(`${r.ok ? '•' : '!'} ${r.message}`),
      (err: unknown) => this.out.line(`! ${describeError(err)}`),
    );
  }

  /**
   * The control endpoint: `GET /state` (the operator's clock skew, the warehouse), `POST /ctl` with a
   * {@link CtlRequest}, `POST /warehouse/sql` (local/serve-warehouse.ts).
   */
  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const refused = refuseControlRequest({ method: req.method, authorization: req.headers.authorization, contentType: req.headers['content-type'] }, this.token);
      if (refused) {
        req.resume();
        return send(refused.status, { ok: false, message: refused.message });
      }
      if (req.method === 'GET' && req.url === '/state') {
        return send(200, {
          environment: this.pipeline.config.name,
          clockSkewMs: this.clockSkewMs,
          faults: this.faults(),
          warehouse: { region: this.pipeline.warehouseRegion, schema: this.pipeline.warehouse.schema },
        });
      }
      if (req.method === 'POST' && req.url === '/warehouse/sql') {
        // `npm run ops -- erase` against this world (local/serve-warehouse.ts): one statement in the warehouse.
        const answer = await answerWarehouseSql(this.pipeline.db, await readBody(req));
        return send(answer.status, answer.body);
      }
      if (req.method === 'POST' && req.url === '/ctl') {
        let body: unknown;
        try {
          body = JSON.parse(await readBody(req)) as unknown;
        } catch {
          return send(400, { ok: false, message: 'the request body is not JSON' });
        }
        let request: CtlRequest;
        try {
          request = validateCtlRequest(body, this.pipeline.regions);
        } catch (err) {
          if (err instanceof DemoUsageError) return send(400, { ok: false, message: err.message });
          throw err;
        }
        const result = await this.run(request);
        if (request.action !== 'status' && request.action !== 'env') this.out.line(`${result.ok ? '•' : '!'} ctl ${request.action}: ${result.message}`);
        return send(200, result);
      }
      send(404, { ok: false, message: `no ${req.method} ${req.url} here (POST /ctl, GET /state, POST /warehouse/sql)` });
    } catch (err) {
      if (res.headersSent) res.end();
      else send(500, { ok: false, message: describeError(err) });
    }
  }

  /** Runs one control request; a failure is an answer (`ok: false`), never an exception. */
  async run(request: CtlRequest): Promise<CtlResponse> {
    try {
      return await this.runUnguarded(request);
    } catch (err) {
      return { ok: false, message: `${request.action} failed: ${describeError(err)}` };
    }
  }

  private async runUnguarded(request: CtlRequest): Promise<CtlResponse> {
    const p = this.pipeline;
    switch (request.action) {
      case 'env':
      case 'status': {
        const s = formatStatusLine(this.snapshot());
        // Only while the producers' last call failed: the first call that writes everything clears it.
        const failingIn = this.producer.failingRegion;
        const last = this.producer.ledger.lastError;
        const failing = failingIn !== undefined && last !== undefined ? `\nproducers failing: ${last} (calls to ${failingIn})` : '';
        return { ok: true, message: `${s.replace(/^\d\d:\d\d /, '')}${failing}` };
      }
      case 'kinesis-down':
        p.router.setRegionDown(request.region, true);
        this.down.add(request.region);
        return { ok: true, message: `${request.region}'s Kinesis is down: every call to it (producers, replicators, the archive, ops) gets a 503` };
      case 'kinesis-up':
        p.router.setRegionDown(request.region, false);
        this.down.delete(request.region);
        return { ok: true, message: `${request.region}'s Kinesis is back up` };
      case 'partition':
        p.dynamo.partition(request.region);
        this.partitioned.add(request.region);
        return { ok: true, message: `${request.region}'s replica of the state tables is partitioned: it neither sends nor receives replication (reads and writes in ${request.region} still reach it)` };
      case 'heal': {
        p.dynamo.heal(request.region);
        this.partitioned.delete(request.region);
        // Healed either way; with a replica lag set, the held writes can take longer than the wait to be delivered.
        const notSettled = await p.dynamo.settle(HEAL_SETTLE_MS).then(
          () => undefined,
          (err: unknown) => (err instanceof Error ? err.message : String(err)),
        );
        if (notSettled === undefined) return { ok: true, message: `${request.region}'s replica is healed; held replication delivered (last writer wins)` };
        const pending = /(\d+) replications pending/.exec(notSettled)?.[1] ?? 'some';
        return {
          ok: true,
          message: `${request.region}'s replica is healed; ${pending} replications still pending after ${HEAL_SETTLE_MS / 1000} s (delivered as the replica lag allows; last writer wins)`,
        };
      }
      case 'clock-skew':
        this.clockSkewMs = Math.round(request.seconds * 1000);
        return {
          ok: true,
          message:
            this.clockSkewMs === 0
              ? "the operator's clock is right again"
              : `the operator's clock (npm run ops against this world) is now ${Math.abs(request.seconds)} s ${this.clockSkewMs > 0 ? 'ahead of' : 'behind'} the Regions' clocks`,
        };
      case 'replica-lag':
        this.replicaLagMs = request.seconds === 0 ? undefined : Math.round(request.seconds * 1000);
        p.dynamo.setReplicationDelay(this.replicaLagMs ?? p.tuning.replicationDelayMs);
        return { ok: true, message: `global-table replication between the replicas now takes ${request.seconds === 0 ? `${p.tuning.replicationDelayMs} ms (the default)` : `${request.seconds} s`}` };
      case 'verify':
        return this.verify();
    }
  }

  /**
   * Pauses the producer, waits until every mapping and the warehouse have caught up, merges, and compares the events
   * table with the ids of the valid records the producer wrote (anywhere): none may be missing, none unexpected.
   */
  private async verify(): Promise<CtlResponse> {
    if (this.down.size > 0) {
      return { ok: false, message: `verify needs every Region's Kinesis up (down: ${[...this.down].join(', ')}); bring it back first (ctl kinesis-up)` };
    }
    const p = this.pipeline;
    const t0 = Date.now();
    await this.producer.pause();
    try {
      await p.waitForMappings(Date.now(), { timeoutMs: 60_000 });
      await p.loader.waitUntilCaughtUp(Date.now(), { timeoutMs: 60_000 });
      await p.loader.mergeNow();
      const classifier = { dedupKeyPath: p.config.warehouse.dedupKeyPath };
      const schema = p.warehouse.schema;
      // Subjects erased with `npm run ops -- erase`: their ids must be gone, and stay gone whatever was re-sent since.
      const suppressed = new Set((await p.db.query<{ subject_hash: string }>(`SELECT subject_hash FROM ${schema}.suppressed_subjects`)).rows.map((r) => r.subject_hash));
      const written = new Set<string>();
      const erased = new Set<string>();
      for (const w of this.producer.ledger.writes) {
        const c = classifyRecord(w.record.data, classifier);
        if (c.kind !== 'event') continue;
        if (suppressed.size > 0 && recordHasSuppressedSubject(w.record.data, suppressed, DEFAULT_SUBJECT_PATHS)) erased.add(c.id);
        else written.add(c.id);
      }
      const rows = (await p.db.query<{ event_id: string }>(`SELECT event_id FROM ${schema}.events WHERE stream_name = $1`, [p.streams[0].name])).rows;
      const rejects = (await p.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.rejects WHERE stream_name = $1`, [p.streams[0].name])).rows[0]?.n ?? '0';
      const inTable = new Set(rows.map((r) => r.event_id));
      const missing = [...written].filter((id) => !inTable.has(id));
      const unexpected = [...inTable].filter((id) => !this.producer.ledger.validIds.has(id));
      const resurrected = [...erased].filter((id) => inTable.has(id));
      const duplicated = rows.length - inTable.size;
      const ok = missing.length === 0 && unexpected.length === 0 && resurrected.length === 0 && duplicated === 0 && p.discardedBatches.length === 0;
      const erasedNote = suppressed.size === 0 ? '' : `; ${erased.size} ids of ${suppressed.size} erased subject(s) written, ${resurrected.length} of them in events`;
      const counts =
        `${this.producer.ledger.writes.length} records written (${this.producer.ledger.replays} re-sent after switches); ` +
        `events holds ${rows.length} rows for ${written.size} unique ids written: ${missing.length} missing, ${unexpected.length} unexpected, ${duplicated} duplicated${erasedNote}; ${rejects} rejects; ` +
        `${p.discardedBatches.length} replication batches discarded (${((Date.now() - t0) / 1000).toFixed(1)} s)`;
      if (ok) return { ok, message: `OK: ${counts}` };
      const sample = missing.slice(0, 3).join(', ');
      return {
        ok,
        message: `FAILED: ${counts}${sample ? `; missing e.g. ${sample} (records in another Region's stream? run npm run ops -- reconcile)` : ''}`,
      };
    } finally {
      this.producer.rebaseRate();
      this.producer.resume();
    }
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** The serve terminal: lines, and a status line redrawn in place (TTY) or printed every few seconds (otherwise). */
class StatusOutput {
  private timer: NodeJS.Timeout | undefined;
  private status: (() => string) | undefined;

  constructor(private readonly io: ServeIo) {}

  write(chunk: string): void {
    this.io.write(chunk);
  }

  line(text: string): void {
    this.clear();
    this.io.write(`${text}\n`);
    this.draw();
  }

  ticker(status: () => string, plainEveryMs: number): void {
    this.status = status;
    if (this.io.interactive) this.timer = setInterval(() => this.draw(), 500);
    else this.timer = setInterval(() => this.io.write(`  ${status()}\n`), plainEveryMs);
    this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
    this.status = undefined;
  }

  private draw(): void {
    if (this.io.interactive && this.status) {
      // Cut to the terminal's width: a wrapped line cannot be redrawn in place.
      const width = this.io.columns?.() || 200; // 0: a terminal that does not say
      this.io.write(`\r\u001b[2K  ${this.status().slice(0, Math.max(20, width - 3))}`);
    }
  }

  private clear(): void {
    if (this.io.interactive && this.status) this.io.write('\r\u001b[2K');
  }
}
