/**
 * Replication benchmark of the local stand-ins, with and without the deployed topology's latencies (not part of
 * npm test): `npm run bench:e2e [-- --shards N --seconds S --events N --cross-region-ms MS --dynamodb-write-ms MS
 * --dynamodb-read-ms MS --rate N --users N --latency-model add|floor --checkpoint-interval-ms MS --pipeline]`.
 *
 * For each of {uninjected, injected} × {naive forwarder, replicator}, a fresh topology (bench/topology.ts) and, on it:
 * 1. Replication lag at `--rate` events/s per shard (default 1 000) for `--seconds`: per-record lag (arrival in the standby minus arrival
 *    in the primary, matched record by record).
 * 2. Replication throughput: `--events` records written as fast as the producer can; records/s from the first
 *    arrival in the primary to the last in the standby.
 * The naive forwarder (bench/naive-forwarder.ts: one PutRecords per 500 records, no order, no checkpoint, no
 * active-Region check) runs in the same kind of worker and mapping as the replicator. Injected latencies (defaults in
 * lib/cost/latencies.ts, with their sources): a cross-Region round trip on every PutRecords to the standby, a
 * same-Region latency on every checkpoint or active-Region read and write. Where the time goes is read from the
 * invocations: calls per invocation times the injected latencies.
 *
 * `--users N` sets the distinct partition keys of the workload (default 500, Segment-style users: at 1 000 events/s
 * per shard, 2 events/s per user); strict order needs as many PutRecords rounds as a batch's busiest key has records.
 * `--latency-model add|floor`: the injected round trip comes on top of kinesalite's own time (`add`, default), or
 * holds it, as the published figure holds Kinesis's service time (`floor`, bench/latency-proxy.ts).
 *
 * `--checkpoint-interval-ms MS` sets `replicator.checkpointIntervalMs` (default: the dev config's, 0: a checkpoint write
 * per invocation); the table reports checkpoint writes/s either way.
 *
 * `--pipeline` adds the earlier sustained-throughput figure of the whole local pipeline (replication and warehouse)
 * against ingest only. Every figure is local; compare ratios, not absolute numbers.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENVIRONMENTS_CONTEXT_KEY, EnvironmentConfig, physicalStreamName, resolveEnvironments } from '../lib/config';
import { TOPOLOGY_LATENCIES } from '../lib/cost/latencies';
import { createStreams, localKinesisClient, startKinesis, startKinesisRegionRouter } from '../local/emulators';
import { matchReplicationLag, percentile, TimedRecord } from '../local/lag';
import { startLocalPipeline } from '../local/pipeline';
import { Producer } from '../local/producer';
import { segmentEvents } from '../local/segment-events';
import { readWholeStream } from '../local/shard-reader';
import type { LatencyModel } from './latency-proxy';
import { type Forwarder, type InjectedLatency, NO_LATENCY, startTopology } from './topology';

function arg(name: string, fallback: number, allowZero = false): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    process.stderr.write(`bench:e2e: --${name} must be a ${allowZero ? 'non-negative' : 'positive'} number (got ${JSON.stringify(process.argv[i + 1])})\n`);
    process.exit(2);
  }
  return v;
}

const SHARDS = arg('shards', 1);
const SECONDS = arg('seconds', 15);
const EVENTS = arg('events', 20000);
function latencyModel(): LatencyModel {
  const i = process.argv.indexOf('--latency-model');
  if (i < 0) return 'add';
  const v = process.argv[i + 1];
  if (v !== 'add' && v !== 'floor') {
    process.stderr.write(`bench:e2e: --latency-model must be add or floor (got ${JSON.stringify(v)})\n`);
    process.exit(2);
  }
  return v;
}

const USERS = arg('users', 500);
const INJECTED: InjectedLatency = {
  model: latencyModel(),
  crossRegionPutRecordsMs: arg('cross-region-ms', TOPOLOGY_LATENCIES.crossRegionPutRecords.ms, true),
  dynamoDbWriteMs: arg('dynamodb-write-ms', TOPOLOGY_LATENCIES.sameRegionDynamoDbWrite.ms, true),
  dynamoDbReadMs: arg('dynamodb-read-ms', TOPOLOGY_LATENCIES.sameRegionDynamoDbRead.ms, true),
};
const WITH_PIPELINE = process.argv.includes('--pipeline');
const RATE_PER_SHARD = arg('rate', 1000);
// Node 20 here: the SDK's notice about Node 22 is known (TOOLCHAIN.md) and would interleave with the tables.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const cdk = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const base = resolveEnvironments(cdk.context[ENVIRONMENTS_CONTEXT_KEY], 'dev')[0];
const CHECKPOINT_INTERVAL_MS = arg('checkpoint-interval-ms', base.replicator.checkpointIntervalMs, true);
if (!Number.isInteger(CHECKPOINT_INTERVAL_MS) || CHECKPOINT_INTERVAL_MS > 60_000) {
  process.stderr.write(`bench:e2e: --checkpoint-interval-ms must be a whole number between 0 and 60000 (got ${CHECKPOINT_INTERVAL_MS})\n`);
  process.exit(2);
}
const config: EnvironmentConfig = {
  ...base,
  streams: [{ ...base.streams[0], mode: 'PROVISIONED', shards: SHARDS }],
  replicator: { ...base.replicator, checkpointIntervalMs: CHECKPOINT_INTERVAL_MS },
};
const STREAM = physicalStreamName(config.name, config.streams[0].name);
const WINDOW_MS = config.replicator.maxBatchingWindowSeconds * 1000;

const fmt = (n: number | undefined, unit = ''): string => (n === undefined ? 'n/a' : `${n >= 100 ? Math.round(n) : n.toFixed(1)}${unit}`);
const quietLog = (line: string): void => void line;

function source(count: number, seed: number): ReturnType<typeof segmentEvents> {
  return segmentEvents({ count, users: USERS, duplicateFraction: 0, malformedFraction: 0, clock: Date.now, seed });
}

function timed(byShard: Map<string, Array<{ partitionKey: string; data: Uint8Array; approximateArrivalTimestampMs: number }>>): TimedRecord[] {
  return [...byShard.values()].flat().map((r) => ({ partitionKey: r.partitionKey, dataKey: Buffer.from(r.data).toString('base64'), arrivalMs: r.approximateArrivalTimestampMs }));
}

interface Measurement {
  readonly lags: number[];
  /** Records/s from the first arrival in the primary to the last in the standby, for the burst. */
  readonly throughput: number;
  /** Records/s the producer wrote the burst at. */
  readonly ingest: number;
  /** Lag phase, per invocation. */
  readonly perInvocation: {
    readonly invocations: number;
    readonly records: number;
    readonly durationMs: number;
    readonly crossRegionPutRecords: number;
    readonly reads: number;
    readonly writes: number;
    /** The most records any one partition key has in the batch: the PutRecords rounds strict order needs. */
    readonly maxPerKey: number;
    /** Median local service time (kinesalite) of a cross-Region PutRecords, ms: what the stand-in adds per call. */
    readonly putRecordsServiceMsMedian: number | undefined;
    /** Checkpoint writes per second (lag phase). */
    readonly writesPerSecond: number;
  };
}

function maxPerKey(records: ReadonlyArray<{ partitionKey: string }>): number {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.partitionKey, (counts.get(r.partitionKey) ?? 0) + 1);
  return Math.max(0, ...counts.values());
}

async function measure(forwarder: Forwarder, latency: InjectedLatency): Promise<Measurement> {
  const t = await startTopology({ config, forwarder, latency, streamName: STREAM, shards: SHARDS });
  try {
    // Warm up: the first invocation loads the function (INIT) and the first calls open connections.
    await new Producer({ source: source(500 * SHARDS, 3), streamName: STREAM, region: t.primary, clientFor: t.kinesis, ratePerSecond: Infinity }).run();
    await t.mapping.waitUntilCaughtUp(Date.now(), { timeoutMs: 600_000 });
    t.invocations.length = 0;
    t.resetCounters();

    const rate = RATE_PER_SHARD * SHARDS;
    const lagStart = Date.now();
    await new Producer({ source: source(Math.round(rate * SECONDS), 7), streamName: STREAM, region: t.primary, clientFor: t.kinesis, ratePerSecond: rate }).run();
    await t.mapping.waitUntilCaughtUp(Date.now(), { timeoutMs: 600_000 });
    const lagInvocations = t.invocations.slice();
    const lagCounters = t.counters();
    const lagSeconds = (Date.now() - lagStart) / 1000;

    const burstStart = Date.now();
    await new Producer({ source: source(EVENTS, 11), streamName: STREAM, region: t.primary, clientFor: t.kinesis, ratePerSecond: Infinity }).run();
    await t.mapping.waitUntilCaughtUp(Date.now(), { timeoutMs: 600_000 });

    const primary = timed(await readWholeStream(t.kinesis(t.primary), STREAM));
    const standby = timed(await readWholeStream(t.kinesis(t.standby), STREAM));
    const lags = matchReplicationLag(primary, standby, { fromMs: lagStart, toMs: burstStart, targetActiveFromMs: Number.POSITIVE_INFINITY });
    const src = primary.filter((r) => r.arrivalMs >= burstStart).map((r) => r.arrivalMs);
    const dst = standby.filter((r) => r.arrivalMs >= burstStart).map((r) => r.arrivalMs);
    const first = Math.min(...src);
    const throughput = dst.length / Math.max(0.001, (Math.max(...dst) - first) / 1000);
    const ingest = src.length / Math.max(0.001, (Math.max(...src) - first) / 1000);

    const n = Math.max(1, lagInvocations.length);
    const sum = (f: (o: (typeof lagInvocations)[number]) => number): number => lagInvocations.reduce((s, o) => s + f(o), 0);
    const ops = lagCounters.tableOps;
    const count = (names: string[]): number => names.reduce((s, k) => s + (ops.get(k) ?? 0), 0);
    return {
      lags,
      throughput,
      ingest,
      perInvocation: {
        invocations: lagInvocations.length,
        records: sum((o) => o.records.length) / n,
        durationMs: sum((o) => o.endedAtMs - o.startedAtMs) / n,
        crossRegionPutRecords: lagCounters.crossRegionPutRecords / n,
        reads: count(['GetItem', 'Query', 'BatchGetItem']) / n,
        writes: count(['PutItem', 'UpdateItem', 'DeleteItem']) / n,
        maxPerKey: sum((o) => maxPerKey(o.records)) / n,
        putRecordsServiceMsMedian: percentile(lagCounters.putRecordsServiceMs.slice(), 50),
        writesPerSecond: count(['PutItem', 'UpdateItem', 'DeleteItem']) / lagSeconds,
      },
    };
  } finally {
    await t.stop();
  }
}

/** The earlier section: the whole local pipeline (replicated and merged) against ingest only. */
async function pipelineThroughput(): Promise<string> {
  const PRIMARY = config.primaryRegion;
  const a = await startKinesis(PRIMARY);
  const router = await startKinesisRegionRouter({ regions: { [PRIMARY]: a.endpoint } });
  const client = localKinesisClient(router.endpoint, PRIMARY);
  let ingest: number;
  try {
    await createStreams(localKinesisClient(a.endpoint, PRIMARY), [{ name: STREAM, shards: SHARDS }]);
    const t0 = Date.now();
    await new Producer({ source: source(EVENTS, 7), streamName: STREAM, region: PRIMARY, clientFor: () => client, ratePerSecond: Infinity }).run();
    ingest = EVENTS / ((Date.now() - t0) / 1000);
  } finally {
    client.destroy();
    await router.stop();
    await a.stop();
  }
  const pipeline = await startLocalPipeline({ config, onLog: (_r, l) => quietLog(l) });
  try {
    const t0 = Date.now();
    await new Producer({ source: source(EVENTS, 7), streamName: STREAM, region: PRIMARY, clientFor: (r) => pipeline.kinesis(r), ratePerSecond: Infinity }).run();
    await pipeline.waitForMappings(Date.now(), { timeoutMs: 600_000 });
    await pipeline.loader.waitUntilCaughtUp(Date.now(), { timeoutMs: 600_000 });
    await pipeline.loader.mergeNow();
    const rate = EVENTS / ((Date.now() - t0) / 1000);
    return [
      `Whole local pipeline, ${EVENTS} events written as fast as possible:`,
      `  ingest only (baseline)          ${fmt(ingest, ' events/s')}`,
      `  end to end (replicated+merged)  ${fmt(rate, ' events/s')}  ratio ${(rate / ingest).toFixed(2)} of ingest`,
      '',
    ].join('\n');
  } finally {
    await pipeline.stop();
  }
}

async function main(): Promise<void> {
  process.stdout.write(
    [
      `Redstream replication benchmark (local stand-ins): ${SHARDS} shard(s), batch size ${config.replicator.batchSize}, batching window ${WINDOW_MS} ms, ` +
        `lag at ${RATE_PER_SHARD} events/s per shard for ${SECONDS} s over ${USERS} partition keys, throughput over ${EVENTS} events, ` +
        `checkpoint interval ${config.replicator.checkpointIntervalMs} ms`,
      `Injected: cross-Region PutRecords ${INJECTED.crossRegionPutRecordsMs} ms (${INJECTED.model === 'floor' ? 'holding' : 'on top of'} kinesalite's own time), ` +
        `table write ${INJECTED.dynamoDbWriteMs} ms, table read ${INJECTED.dynamoDbReadMs} ms (defaults and sources: lib/cost/latencies.ts)`,
      `Machine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at start`,
      '',
    ].join('\n') + '\n',
  );
  if (WITH_PIPELINE) process.stdout.write((await pipelineThroughput()) + '\n');

  const results = new Map<string, Measurement>();
  for (const [label, latency] of [['uninjected', NO_LATENCY], ['injected', INJECTED]] as const) {
    for (const forwarder of ['naive', 'replicator'] as const) {
      results.set(`${label}:${forwarder}`, await measure(forwarder, latency));
    }
  }

  const lines: string[] = [];
  const p = (m: Measurement, q: number): number | undefined => percentile(m.lags, q);
  const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || b === 0 ? 'n/a' : (a / b).toFixed(2));
  lines.push(`${''.padEnd(12)}${'forwarder'.padEnd(12)}${'lag p50'.padStart(10)}${'lag p99'.padStart(10)}${'throughput'.padStart(14)}${'(ingest)'.padStart(12)}   records`);
  for (const label of ['uninjected', 'injected']) {
    for (const forwarder of ['naive', 'replicator']) {
      const m = results.get(`${label}:${forwarder}`)!;
      lines.push(
        `${label.padEnd(12)}${forwarder.padEnd(12)}${fmt(p(m, 50), ' ms').padStart(10)}${fmt(p(m, 99), ' ms').padStart(10)}${fmt(m.throughput, '/s').padStart(14)}${fmt(m.ingest, '/s').padStart(12)}   ${m.lags.length}`,
      );
    }
    const n = results.get(`${label}:naive`)!;
    const r = results.get(`${label}:replicator`)!;
    lines.push(`${label.padEnd(12)}${'ratio r/n'.padEnd(12)}${ratio(p(r, 50), p(n, 50)).padStart(10)}${ratio(p(r, 99), p(n, 99)).padStart(10)}${ratio(r.throughput, n.throughput).padStart(14)}`);
  }
  const saturated = [...results].filter(([, m]) => m.throughput < RATE_PER_SHARD * SHARDS).map(([k]) => k.replace(':', ' '));
  if (saturated.length > 0) {
    lines.push(
      `Saturated (burst throughput below the lag phase's ${RATE_PER_SHARD * SHARDS} events/s): ${saturated.join(', ')}; their lag is queueing on this machine, not replication latency.`,
    );
  }
  lines.push('');
  lines.push('Where the time goes, lag phase, per invocation (mean):');
  lines.push(
    `${''.padEnd(24)}${'records'.padStart(9)}${'max/key'.padStart(9)}${'duration'.padStart(10)}${'PutRecords'.padStart(12)}${'local/call'.padStart(12)}${'reads'.padStart(7)}${'writes'.padStart(8)}${'writes/s'.padStart(10)}   injected share: PutRecords / checkpoint+item reads / writes`,
  );
  for (const label of ['uninjected', 'injected'] as const) {
    const latency = label === 'injected' ? INJECTED : NO_LATENCY;
    for (const forwarder of ['naive', 'replicator']) {
      const s = results.get(`${label}:${forwarder}`)!.perInvocation;
      const put = s.crossRegionPutRecords * latency.crossRegionPutRecordsMs;
      const reads = s.reads * latency.dynamoDbReadMs;
      const writes = s.writes * latency.dynamoDbWriteMs;
      lines.push(
        `${`${label} ${forwarder}`.padEnd(24)}${s.records.toFixed(0).padStart(9)}${s.maxPerKey.toFixed(1).padStart(9)}${fmt(s.durationMs, ' ms').padStart(10)}${s.crossRegionPutRecords.toFixed(2).padStart(12)}` +
          `${fmt(s.putRecordsServiceMsMedian, ' ms').padStart(12)}${s.reads.toFixed(2).padStart(7)}${s.writes.toFixed(2).padStart(8)}${s.writesPerSecond.toFixed(2).padStart(10)}   ` +
          (label === 'injected' ? `${fmt(put, ' ms')} / ${fmt(reads, ' ms')} / ${fmt(writes, ' ms')}` : '-'),
      );
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:e2e failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
