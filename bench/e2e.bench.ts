/**
 * End-to-end benchmark of the local pipeline (not part of npm test): `npm run bench:e2e [-- --shards N --seconds S --events N]`.
 *
 * 1. Sustained throughput: `--events` records written as fast as the producer can, until every one is replicated
 *    to the standby Region and merged into the warehouse. Baseline, same run: the producer alone writing the same
 *    records through the same Region router (no replication, no warehouse). Ratio = end to end / ingest only.
 * 2. Replication lag at 1 000 events/s per shard for `--seconds`: per-record lag (arrival in the standby minus
 *    arrival in the primary, matched record by record). Baseline, same run and same event source mapping settings:
 *    a naive forwarder (one PutRecords of the batch, no checkpoints, no ordering, no active-Region check) in place
 *    of the replicator. Ratio = replicator / naive forwarder.
 *
 * Every figure is local (kinesalite, DynamoDB Local, PGlite on this machine); compare ratios, not absolute numbers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { ENVIRONMENTS_CONTEXT_KEY, EnvironmentConfig, physicalStreamName, resolveEnvironments } from '../lib/config';
import { createStreams, localKinesisClient, startKinesis, startKinesisRegionRouter } from '../local/emulators';
import { startEventSourceMapping } from '../local/event-source-mapping';
import { matchReplicationLag, percentile, TimedRecord } from '../local/lag';
import { inProcessFunction } from '../local/local-function';
import { startLocalPipeline } from '../local/pipeline';
import { Producer } from '../local/producer';
import { segmentEvents } from '../local/segment-events';
import { readWholeStream } from '../local/shard-reader';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    process.stderr.write(`bench:e2e: --${name} must be a positive number (got ${JSON.stringify(process.argv[i + 1])})\n`);
    process.exit(2);
  }
  return v;
}

const SHARDS = arg('shards', 1);
const SECONDS = arg('seconds', 15);
const EVENTS = arg('events', 20000);
const RATE_PER_SHARD = 1000;

const cdk = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const base = resolveEnvironments(cdk.context[ENVIRONMENTS_CONTEXT_KEY], 'dev')[0];
const config: EnvironmentConfig = { ...base, streams: [{ ...base.streams[0], mode: 'PROVISIONED', shards: SHARDS }] };
const STREAM = physicalStreamName(config.name, config.streams[0].name);
const [PRIMARY, STANDBY] = [config.primaryRegion, config.standbyRegions[0]];
const WINDOW_MS = config.replicator.maxBatchingWindowSeconds * 1000;

const quietLog = (line: string): void => void line;
const fmt = (n: number | undefined, unit = ''): string => (n === undefined ? 'n/a' : `${n >= 100 ? Math.round(n) : n.toFixed(1)}${unit}`);

function source(count: number): ReturnType<typeof segmentEvents> {
  return segmentEvents({ count, duplicateFraction: 0, malformedFraction: 0, clock: Date.now, seed: 7 });
}

function timed(byShard: Map<string, Array<{ partitionKey: string; data: Uint8Array; approximateArrivalTimestampMs: number }>>): TimedRecord[] {
  return [...byShard.values()].flat().map((r) => ({ partitionKey: r.partitionKey, dataKey: Buffer.from(r.data).toString('base64'), arrivalMs: r.approximateArrivalTimestampMs }));
}

/** Producer alone through the router: records/s. */
async function ingestOnly(count: number): Promise<number> {
  const a = await startKinesis(PRIMARY);
  const router = await startKinesisRegionRouter({ regions: { [PRIMARY]: a.endpoint } });
  const client = localKinesisClient(router.endpoint, PRIMARY);
  try {
    await createStreams(localKinesisClient(a.endpoint, PRIMARY), [{ name: STREAM, shards: SHARDS }]);
    const producer = new Producer({ source: source(count), streamName: STREAM, region: PRIMARY, clientFor: () => client, ratePerSecond: Infinity });
    const t0 = Date.now();
    await producer.run();
    return count / ((Date.now() - t0) / 1000);
  } finally {
    client.destroy();
    await router.stop();
    await a.stop();
  }
}

/** The whole pipeline: records/s from the first write until everything is replicated and merged. */
async function endToEnd(count: number): Promise<{ rate: number; events: number }> {
  const pipeline = await startLocalPipeline({ config, onLog: (_r, l) => quietLog(l) });
  try {
    const producer = new Producer({ source: source(count), streamName: STREAM, region: PRIMARY, clientFor: (r) => pipeline.kinesis(r), ratePerSecond: Infinity });
    const t0 = Date.now();
    await producer.run();
    await pipeline.waitForMappings(Date.now(), { timeoutMs: 600_000 });
    await pipeline.loader.waitUntilCaughtUp(Date.now(), { timeoutMs: 600_000 });
    await pipeline.loader.mergeNow();
    const seconds = (Date.now() - t0) / 1000;
    const { rows } = await pipeline.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${pipeline.warehouse.schema}.events`);
    return { rate: count / seconds, events: Number(rows[0].n) };
  } finally {
    await pipeline.stop();
  }
}

/**
 * Replication lag of the real pipeline at the given rate, without the warehouse (it is not replication, and on a
 * small machine it would only take CPU from it; the baseline has none either).
 */
async function lagOfReplicator(count: number, rate: number): Promise<number[]> {
  const pipeline = await startLocalPipeline({ config, warehouse: false, onLog: (_r, l) => quietLog(l) });
  try {
    const producer = new Producer({ source: source(count), streamName: STREAM, region: PRIMARY, clientFor: (r) => pipeline.kinesis(r), ratePerSecond: rate });
    await producer.run();
    await pipeline.waitForMappings(Date.now(), { timeoutMs: 600_000 });
    const from = pipeline.startedAt;
    return matchReplicationLag(timed(await readWholeStream(pipeline.kinesisDirect(PRIMARY), STREAM)), timed(await readWholeStream(pipeline.kinesisDirect(STANDBY), STREAM)), {
      fromMs: from,
      toMs: Number.POSITIVE_INFINITY,
      targetActiveFromMs: Number.POSITIVE_INFINITY,
    });
  } finally {
    await pipeline.stop();
  }
}

/** Replication lag of a naive forwarder under the same event source mapping settings. */
async function lagOfNaiveForwarder(count: number, rate: number): Promise<number[]> {
  const a = await startKinesis(PRIMARY);
  const b = await startKinesis(STANDBY);
  const router = await startKinesisRegionRouter({ regions: { [PRIMARY]: a.endpoint, [STANDBY]: b.endpoint } });
  const src = localKinesisClient(router.endpoint, PRIMARY);
  const dst = localKinesisClient(router.endpoint, STANDBY);
  try {
    await createStreams(localKinesisClient(a.endpoint, PRIMARY), [{ name: STREAM, shards: SHARDS }]);
    await createStreams(localKinesisClient(b.endpoint, STANDBY), [{ name: STREAM, shards: SHARDS }]);
    const forwarder = inProcessFunction(async (event: KinesisStreamEvent) => {
      for (let i = 0; i < event.Records.length; i += 500) {
        const out = await dst.send(
          new PutRecordsCommand({
            StreamName: STREAM,
            Records: event.Records.slice(i, i + 500).map((r) => ({ PartitionKey: r.kinesis.partitionKey, Data: Buffer.from(r.kinesis.data, 'base64') })),
          }),
        );
        if (out.FailedRecordCount) throw new Error(`${out.FailedRecordCount} entries failed`);
      }
    });
    const start = Date.now();
    const mapping = await startEventSourceMapping({
      kinesis: src,
      streamName: STREAM,
      region: PRIMARY,
      target: forwarder,
      batchSize: config.replicator.batchSize,
      maxBatchingWindowMs: WINDOW_MS,
      idlePollMs: 50,
      reportBatchItemFailures: true,
    });
    const producer = new Producer({ source: source(count), streamName: STREAM, region: PRIMARY, clientFor: () => src, ratePerSecond: rate });
    await producer.run();
    await mapping.waitUntilCaughtUp(Date.now(), { timeoutMs: 600_000 });
    await mapping.stop();
    return matchReplicationLag(
      timed(await readWholeStream(localKinesisClient(a.endpoint, PRIMARY), STREAM)),
      timed(await readWholeStream(localKinesisClient(b.endpoint, STANDBY), STREAM)),
      { fromMs: start, toMs: Number.POSITIVE_INFINITY, targetActiveFromMs: Number.POSITIVE_INFINITY },
    );
  } finally {
    src.destroy();
    dst.destroy();
    await router.stop();
    await a.stop();
    await b.stop();
  }
}

async function main(): Promise<void> {
  const rate = RATE_PER_SHARD * SHARDS;
  const lagEvents = Math.round(rate * SECONDS);
  process.stdout.write(
    `Redstream end-to-end benchmark (local stand-ins): ${SHARDS} shard(s), batch size ${config.replicator.batchSize}, batching window ${WINDOW_MS} ms\n\n`,
  );

  const ingest = await ingestOnly(EVENTS);
  const e2e = await endToEnd(EVENTS);
  process.stdout.write(
    [
      `Sustained throughput, ${EVENTS} events written as fast as possible:`,
      `  ingest only (baseline)          ${fmt(ingest, ' events/s')}`,
      `  end to end (replicated+merged)  ${fmt(e2e.rate, ' events/s')}  ratio ${(e2e.rate / ingest).toFixed(2)} of ingest  (${e2e.events} rows in events)`,
      '',
    ].join('\n') + '\n',
  );

  const naive = await lagOfNaiveForwarder(lagEvents, rate);
  const real = await lagOfReplicator(lagEvents, rate);
  const row = (name: string, lags: number[]): string =>
    `  ${name.padEnd(32)}p50 ${fmt(percentile(lags, 50), ' ms').padEnd(9)} p99 ${fmt(percentile(lags, 99), ' ms').padEnd(9)} (${lags.length} records)`;
  const ratio = (p: number): string => {
    const a = percentile(real, p);
    const b = percentile(naive, p);
    return a === undefined || b === undefined || b === 0 ? 'n/a' : (a / b).toFixed(2);
  };
  process.stdout.write(
    [
      `Replication lag at ${RATE_PER_SHARD} events/s per shard (${rate} events/s for ${SECONDS} s):`,
      row('naive forwarder (baseline)', naive),
      row('replicator', real),
      `  ratio replicator / baseline      p50 ${ratio(50)}, p99 ${ratio(99)}`,
      '',
    ].join('\n') + '\n',
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:e2e failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
