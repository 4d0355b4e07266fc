/**
 * A local stand-in for DynamoDB global tables: one replica per Region, asynchronous last-writer-wins replication
 * between them, and Regions that can be partitioned from the others.
 *
 * One DynamoDB Local JVM runs without `-sharedDb`, so it keeps a separate database per access key and Region (checked
 * in test/local/replicated-dynamodb.test.ts): each Region's database is that Region's replica. In front of it, one
 * HTTP endpoint (set as `AWS_ENDPOINT_URL_DYNAMODB`) routes every request by the Region in its SigV4 credential scope,
 * exactly as a client built for `us-west-2` reaches the `us-west-2` endpoint in AWS. The proxy rewrites the access key
 * of every request to one fixed key, because in AWS every caller of one account sees the same tables whatever its
 * credentials.
 *
 * Replication, following the global tables documentation ("Global tables: how it works", version 2019.11.21):
 * - Every successful write (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems) gets a write time;
 *   the proxy reads the written item back from that Region's replica and sends its new image (or its deletion) to
 *   every other replica after the replication delay, asynchronously: the writer's response does not wait.
 * - Last writer wins per item: a replicated image older than the target replica's last write of that item (local or
 *   replicated) is dropped, so every replica converges to the image of the item's latest write.
 * - Conditions (ConditionExpression, transactions' ConditionCheck) are evaluated on the written replica only; the
 *   other replicas accept the resulting image unconditionally, as in AWS. Two Regions can both pass a condition that
 *   a single table would have refused to one of them.
 * - A transaction is atomic in its own Region only; its items replicate one by one.
 * - A partitioned Region's replica neither sends nor receives replication; what was written meanwhile is delivered
 *   (last writer wins) after it is healed. Requests from inside the partitioned Region still reach its replica.
 * - Items carry no replication markers (the 2017 version's `aws:rep:*` attributes are gone in the current version).
 *
 * Eventually consistent GetItem reads can be made stale (`staleReadMs`), as AWS's may be; strongly consistent reads
 * see the replica's latest state, as in AWS.
 *
 * Writes to one item in one Region are serialized by the proxy (a per-item lock around write and read-back), so each
 * image sent is exactly the item after its write. PartiQL statements are refused: the proxy could not replicate them.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RunningService, startDynamoDbLocal } from './emulators';

/** Added latency per request, in milliseconds: a constant, or per Region and operation (e.g. `PutItem`). */
export type DynamoDbLatency = number | ((region: string, op: string) => number);

export interface ReplicatedDynamoDbOptions {
  /** The Regions that hold a replica; requests signed for any other Region are refused. */
  readonly regions: readonly string[];
  /** Time from a write to its delivery to every other replica, in milliseconds. @default 20 */
  readonly replicationDelayMs?: number;
  /** Latency added before each request is forwarded to the replica. @default 0 */
  readonly latencyMs?: DynamoDbLatency;
  /**
   * How stale an eventually consistent GetItem (no `ConsistentRead: true`) may be, in milliseconds: it returns the
   * item as it was this long ago in that replica, as AWS may (usually under a second). 0 always reads fresh, kinder
   * than AWS. Only GetItem without a projection is made stale; Query, Scan and BatchGetItem always read fresh.
   * @default 0
   */
  readonly staleReadMs?: number;
  /** Stops the start: DynamoDB Local is stopped instead of awaited. @default - never */
  readonly signal?: AbortSignal;
}

/** Counters of the replication so far. */
export interface ReplicationStats {
  /** Images (or deletions) queued for another replica. */
  readonly queued: number;
  /** Images applied to a replica. */
  readonly applied: number;
  /** Images dropped because the target replica held a later write of the item (last writer wins). */
  readonly superseded: number;
  /** Images dropped because the target Region has no replica of the table. */
  readonly noReplica: number;
}

export interface ReplicatedDynamoDb extends RunningService {
  /** The one endpoint for every Region (`AWS_ENDPOINT_URL_DYNAMODB`). */
  readonly endpoint: string;
  readonly regions: readonly string[];
  /** DynamoDB Local itself, behind the proxy (one database per access key and Region; no replication): for tests. */
  readonly databaseEndpoint: string;
  /** Sets the replication delay, for the replications already queued too (each is due this long after its write). */
  setReplicationDelay(ms: number): void;
  /** Cuts `region`'s replica off from replication in both directions. */
  partition(region: string): void;
  /** Ends `region`'s partition; held replications are delivered. */
  heal(region: string): void;
  isPartitioned(region: string): boolean;
  /** Replications not yet applied or dropped, including those held by a partition. */
  pendingReplications(): number;
  /** Resolves when nothing is pending between non-partitioned replicas; rejects after `timeoutMs` (@default 10000). */
  settle(timeoutMs?: number): Promise<void>;
  /** Replaces the injected latency. */
  setLatency(latency: DynamoDbLatency): void;
  /** Sets how stale eventually consistent GetItem reads are (see `staleReadMs`). */
  setStaleReads(ms: number): void;
  stats(): ReplicationStats;
}

/** Thrown by the replicated DynamoDB for bad options and by `settle` on timeout. */
export class ReplicatedDynamoDbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplicatedDynamoDbError';
  }
}

/** The access key every forwarded request carries: one account's tables, whatever the caller's credentials. */
const ACCOUNT_ACCESS_KEY = 'redstreamlocal'; // DynamoDB Local accepts letters and digits only
const CREDENTIAL = /Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/dynamodb\//;
const TARGET_PREFIX = 'DynamoDB_20120810.';
const WRITE_ACTIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
const PARTIQL_ACTIONS = new Set(['ExecuteStatement', 'BatchExecuteStatement', 'ExecuteTransaction']);

/** An attribute map in DynamoDB's wire JSON (`{ "id": { "S": "x" } }`), passed through untouched. */
type WireItem = Record<string, unknown>;

interface ItemRef {
  readonly table: string;
  readonly key: WireItem;
  /** Canonical string of the key, for locks and last-write times. */
  readonly id: string;
}

interface Replication {
  readonly from: string;
  readonly to: string;
  readonly item: ItemRef;
  /** The item after the write, or undefined for a deletion. */
  readonly image: WireItem | undefined;
  readonly writeTime: number;
  /** When the write was made (its delivery is due the current replication delay later), epoch ms. */
  readonly writtenAt: number;
  inFlight: boolean;
}

interface Forwarded {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Per-key FIFO locks. */
class KeyedLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** Takes every key's lock (in sorted order, so two callers never deadlock); returns the release. */
  async acquire(keys: readonly string[]): Promise<() => void> {
    const releases: Array<() => void> = [];
    for (const key of [...new Set(keys)].sort()) releases.push(await this.one(key));
    return () => releases.forEach((r) => r());
  }

  private async one(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

/** Starts DynamoDB Local (one database per Region) behind the replicating proxy described in the module comment. */
export async function startReplicatedDynamoDb(options: ReplicatedDynamoDbOptions): Promise<ReplicatedDynamoDb> {
  const regions = [...options.regions];
  if (regions.length === 0) throw new ReplicatedDynamoDbError('regions must name at least one Region (got none)');
  if (new Set(regions).size !== regions.length) throw new ReplicatedDynamoDbError(`regions must not repeat a Region (got ${regions.join(', ')})`);
  const checkDelay = (ms: number): number => {
    if (!Number.isFinite(ms) || ms < 0) throw new ReplicatedDynamoDbError(`replicationDelayMs must be a number of milliseconds >= 0 (got ${ms})`);
    return ms;
  };
  let replicationDelayMs = checkDelay(options.replicationDelayMs ?? 20);
  let latency: DynamoDbLatency = options.latencyMs ?? 0;
  const checkStale = (ms: number): number => {
    if (!Number.isFinite(ms) || ms < 0) throw new ReplicatedDynamoDbError(`staleReadMs must be a number of milliseconds >= 0 (got ${ms})`);
    return ms;
  };
  let staleReadMs = checkStale(options.staleReadMs ?? 0);

  const jvm = await startDynamoDbLocal({ sharedDb: false, signal: options.signal });
  const upstream = new URL(jvm.endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  const partitioned = new Set<string>();
  const locks = new KeyedLocks();
  /** Region → table → item id → write time of the item's last write in that replica. */
  const lastWrite = new Map<string, number>();
  /** Region/table/item → the item's image after each of its recent changes in that replica (for stale reads). */
  const changes = new Map<string, Array<{ readonly at: number; readonly image: WireItem | undefined }>>();
  function recordChange(key: string, image: WireItem | undefined): void {
    const now = Date.now();
    const list = (changes.get(key) ?? []).concat({ at: now, image });
    // Keep what a read `staleReadMs` ago can need: the changes in the window and the last one before it.
    const cutoff = now - staleReadMs;
    let first = 0;
    while (first + 1 < list.length && list[first + 1].at <= cutoff) first++;
    changes.set(key, list.slice(first));
  }
  const keySchemas = new Map<string, string[]>();
  const queue: Replication[] = [];
  const stats = { queued: 0, applied: 0, superseded: 0, noReplica: 0 };
  let lastWriteTime = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;

  /** Write times strictly increase across the whole world, so "later" is never a tie. */
  const nextWriteTime = (): number => (lastWriteTime = Math.max(Date.now(), lastWriteTime + 0.001));
  const writeKey = (region: string, item: ItemRef): string => `${region}\u0000${item.table}\u0000${item.id}`;

  /** Sends one request to the JVM as `region`'s replica. */
  function toJvm(region: string, action: string, body: Buffer, headers: http.OutgoingHttpHeaders = {}): Promise<Forwarded> {
    const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: 'POST',
          path: '/',
          agent,
          headers: {
            ...headers,
            host: upstream.host,
            'content-type': 'application/x-amz-json-1.0',
            'content-length': String(body.length),
            'x-amz-target': `${TARGET_PREFIX}${action}`,
            'x-amz-date': date,
            // DynamoDB Local reads the access key and Region from the scope and checks no signature.
            authorization: `AWS4-HMAC-SHA256 Credential=${ACCOUNT_ACCESS_KEY}/${date.slice(0, 8)}/${region}/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0`,
          },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(parts) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async function call(region: string, action: string, input: unknown): Promise<{ status: number; output: Record<string, unknown> }> {
    const out = await toJvm(region, action, Buffer.from(JSON.stringify(input)));
    const output = out.body.length > 0 ? (JSON.parse(out.body.toString('utf8')) as Record<string, unknown>) : {};
    return { status: out.status, output };
  }

  const errorType = (output: Record<string, unknown>): string => String(output.__type ?? '').split('#').pop() ?? '';

  /** The table's key attribute names (the same in every replica), or undefined when the table does not exist. */
  async function keySchema(region: string, table: string): Promise<string[] | undefined> {
    const cached = keySchemas.get(table);
    if (cached) return cached;
    const { status, output } = await call(region, 'DescribeTable', { TableName: table });
    if (status !== 200) return undefined;
    const schema = ((output.Table as { KeySchema?: Array<{ AttributeName: string }> } | undefined)?.KeySchema ?? []).map((k) => k.AttributeName);
    keySchemas.set(table, schema);
    return schema;
  }

  function ref(table: string, schema: readonly string[], attributes: WireItem): ItemRef {
    const key: WireItem = {};
    for (const name of schema) key[name] = attributes[name];
    return { table, key, id: JSON.stringify(schema.map((n) => attributes[n])) };
  }

  /** The items a write request touches, as (table, key attributes), before their key schemas are known. */
  function touched(action: string, body: Record<string, unknown>): Array<{ table: string; attributes: WireItem }> {
    const out: Array<{ table: string; attributes: WireItem }> = [];
    const add = (table: unknown, attributes: unknown): void => {
      if (typeof table === 'string' && attributes && typeof attributes === 'object') out.push({ table, attributes: attributes as WireItem });
    };
    if (action === 'PutItem') add(body.TableName, body.Item);
    else if (action === 'UpdateItem' || action === 'DeleteItem') add(body.TableName, body.Key);
    else if (action === 'BatchWriteItem') {
      for (const [table, requests] of Object.entries((body.RequestItems ?? {}) as Record<string, unknown[]>)) {
        for (const r of requests as Array<{ PutRequest?: { Item?: unknown }; DeleteRequest?: { Key?: unknown } }>) {
          add(table, r.PutRequest?.Item ?? r.DeleteRequest?.Key);
        }
      }
    } else if (action === 'TransactWriteItems') {
      type Op = { TableName?: unknown; Item?: unknown; Key?: unknown };
      for (const t of (body.TransactItems ?? []) as Array<{ Put?: Op; Update?: Op; Delete?: Op }>) {
        if (t.Put) add(t.Put.TableName, t.Put.Item);
        if (t.Update) add(t.Update.TableName, t.Update.Key);
        if (t.Delete) add(t.Delete.TableName, t.Delete.Key);
      }
    }
    return out;
  }

  /** Items of a BatchWriteItem the replica did not process (not written, so not replicated), as `table\0id`. */
  function unprocessed(action: string, response: Buffer): Set<string> {
    const ids = new Set<string>();
    if (action !== 'BatchWriteItem' || response.length === 0) return ids;
    const parsed = JSON.parse(response.toString('utf8')) as { UnprocessedItems?: Record<string, Array<{ PutRequest?: { Item?: WireItem }; DeleteRequest?: { Key?: WireItem } }>> };
    for (const [table, requests] of Object.entries(parsed.UnprocessedItems ?? {})) {
      const schema = keySchemas.get(table) ?? [];
      for (const r of requests) ids.add(`${table}\u0000${ref(table, schema, r.PutRequest?.Item ?? r.DeleteRequest?.Key ?? {}).id}`);
    }
    return ids;
  }

  /** Reads back the image of a written item (the caller holds the item's lock). */
  async function readBack(region: string, item: ItemRef): Promise<WireItem | undefined> {
    const { status, output } = await call(region, 'GetItem', { TableName: item.table, Key: item.key, ConsistentRead: true });
    if (status !== 200) throw new Error(`reading back ${item.table} ${item.id} in ${region}: ${JSON.stringify(output)}`);
    return output.Item as WireItem | undefined;
  }

  /** Records a local write of `item` in `region` and queues its new image for every other replica. */
  function replicateWrite(region: string, item: ItemRef, image: WireItem | undefined): void {
    const writeTime = nextWriteTime();
    lastWrite.set(writeKey(region, item), writeTime);
    recordChange(writeKey(region, item), image);
    const writtenAt = Date.now();
    for (const to of regions) {
      if (to === region) continue;
      queue.push({ from: region, to, item, image, writeTime, writtenAt, inFlight: false });
      stats.queued++;
    }
    schedule(writtenAt + replicationDelayMs);
  }

  /** Drops the pending timer and delivers what is due now (after a change of delay or partitions). */
  function rescheduleNow(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    timerAt = Infinity;
    pump();
  }

  const deliverable = (r: Replication): boolean => !r.inFlight && !partitioned.has(r.from) && !partitioned.has(r.to);

  function schedule(at: number): void {
    if (stopped || at >= timerAt) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = undefined;
      timerAt = Infinity;
      pump();
    }, Math.max(0, at - Date.now()));
  }

  /** Delivers every due replication between non-partitioned replicas; reschedules for the next one. */
  function pump(): void {
    if (stopped) return;
    const now = Date.now();
    let next = Infinity;
    for (const r of queue) {
      if (!deliverable(r)) continue;
      const dueAt = r.writtenAt + replicationDelayMs;
      if (dueAt <= now) {
        r.inFlight = true;
        void apply(r).then(
          () => queue.splice(queue.indexOf(r), 1),
          () => {
            // The replica did not answer (it is a local JVM: only when stopping or overloaded); try again shortly.
            r.inFlight = false;
            schedule(Date.now() + 50);
          },
        );
      } else {
        next = Math.min(next, dueAt);
      }
    }
    if (next < Infinity) schedule(next);
  }

  /** Applies one replicated image to its target replica unless that replica holds a later write of the item. */
  async function apply(r: Replication): Promise<void> {
    const release = await locks.acquire([writeKey(r.to, r.item)]);
    try {
      if ((lastWrite.get(writeKey(r.to, r.item)) ?? -Infinity) >= r.writeTime) {
        stats.superseded++;
        return;
      }
      const { status, output } = r.image
        ? await call(r.to, 'PutItem', { TableName: r.item.table, Item: r.image })
        : await call(r.to, 'DeleteItem', { TableName: r.item.table, Key: r.item.key });
      if (status === 200) {
        lastWrite.set(writeKey(r.to, r.item), r.writeTime);
        recordChange(writeKey(r.to, r.item), r.image);
        stats.applied++;
      } else if (errorType(output) === 'ResourceNotFoundException') {
        stats.noReplica++;
      } else {
        throw new Error(`replicating ${r.item.table} ${r.item.id} to ${r.to}: ${JSON.stringify(output)}`);
      }
    } finally {
      release();
    }
  }

  const reply = (res: http.ServerResponse, status: number, type: string, message: string): void => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': type });
    res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }));
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const region = CREDENTIAL.exec(String(req.headers.authorization ?? ''))?.[3];
    const action = String(req.headers['x-amz-target'] ?? '').replace(TARGET_PREFIX, '');
    if (!region || !regions.includes(region)) {
      reply(res, 400, 'ResourceNotFoundException', `replicated-dynamodb: no replica in Region ${region ?? '(none in the credential scope)'} (replicas: ${regions.join(', ')})`);
      return;
    }
    if (PARTIQL_ACTIONS.has(action)) {
      reply(res, 400, 'ValidationException', `replicated-dynamodb: ${action} (PartiQL) is not supported: the local replication cannot follow it`);
      return;
    }
    const delay = typeof latency === 'function' ? latency(region, action) : latency;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));

    const headers: http.OutgoingHttpHeaders = { ...req.headers };
    delete headers.host;
    delete headers.authorization;
    delete headers.connection;
    const parsed = body.length > 0 ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    if (!WRITE_ACTIONS.has(action)) {
      const stale = action === 'GetItem' ? await staleImage(region, parsed) : undefined;
      if (stale) {
        const payload = Buffer.from(JSON.stringify(stale.image ? { Item: stale.image } : {}));
        send(res, { status: 200, headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': `stale-${Date.now()}` }, body: payload });
        return;
      }
      send(res, await toJvm(region, action, body, headers));
      return;
    }
    const items: ItemRef[] = [];
    for (const t of touched(action, parsed)) {
      const schema = await keySchema(region, t.table);
      if (schema) items.push(ref(t.table, schema, t.attributes));
    }
    const release = await locks.acquire(items.map((i) => writeKey(region, i)));
    try {
      const out = await toJvm(region, action, body, headers);
      if (out.status === 200) {
        const skipped = unprocessed(action, out.body);
        const written = items.filter((item) => !skipped.has(`${item.table}\u0000${item.id}`));
        const images = await Promise.all(written.map((item) => readBack(region, item)));
        written.forEach((item, i) => replicateWrite(region, item, images[i]));
      }
      send(res, out);
    } finally {
      release();
    }
  }

  /** The image an eventually consistent GetItem returns when it is to be stale; undefined to read fresh. */
  async function staleImage(region: string, request: Record<string, unknown>): Promise<{ image: WireItem | undefined } | undefined> {
    if (staleReadMs <= 0 || request.ConsistentRead === true || request.ProjectionExpression || request.AttributesToGet) return undefined;
    const table = request.TableName;
    if (typeof table !== 'string' || !request.Key || typeof request.Key !== 'object') return undefined;
    const schema = await keySchema(region, table);
    if (!schema) return undefined;
    const list = changes.get(writeKey(region, ref(table, schema, request.Key as WireItem)));
    const cutoff = Date.now() - staleReadMs;
    if (!list || list[list.length - 1].at <= cutoff) return undefined; // unchanged in the window: fresh is stale
    const before = list.filter((c) => c.at <= cutoff).pop();
    // No change before the window: the item did not exist then (every write goes through this proxy).
    return { image: before?.image };
  }

  function send(res: http.ServerResponse, out: Forwarded): void {
    const headers = { ...out.headers, 'content-length': String(out.body.length) };
    delete headers['transfer-encoding'];
    delete headers.connection;
    res.writeHead(out.status, headers);
    res.end(out.body);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        if (!res.headersSent) reply(res, 500, 'InternalServerError', `replicated-dynamodb: ${String(err)}`);
        else res.end();
      });
    });
  });
  let endpoint: string;
  try {
    endpoint = await listen(server);
  } catch (err) {
    await jvm.stop();
    throw err;
  }

  const knownRegion = (region: string): void => {
    if (!regions.includes(region)) throw new ReplicatedDynamoDbError(`no replica in Region ${region} (replicas: ${regions.join(', ')})`);
  };
  const active = (): number => queue.filter((r) => r.inFlight || (!partitioned.has(r.from) && !partitioned.has(r.to))).length;

  return {
    endpoint,
    regions,
    databaseEndpoint: jvm.endpoint,
    setReplicationDelay: (ms) => {
      replicationDelayMs = checkDelay(ms);
      rescheduleNow();
    },
    partition: (region) => {
      knownRegion(region);
      partitioned.add(region);
    },
    heal: (region) => {
      knownRegion(region);
      partitioned.delete(region);
      rescheduleNow();
    },
    isPartitioned: (region) => partitioned.has(region),
    pendingReplications: () => queue.length,
    async settle(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (active() > 0) {
        if (Date.now() > deadline) {
          throw new ReplicatedDynamoDbError(`replication did not settle within ${timeoutMs} ms: ${active()} replications pending`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    setLatency: (l) => void (latency = l),
    setStaleReads: (ms) => void (staleReadMs = checkStale(ms)),
    stats: () => ({ ...stats }),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      });
      agent.destroy();
      await jvm.stop();
    },
  };
}
