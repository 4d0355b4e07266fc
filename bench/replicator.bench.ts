/**
 * `npm run bench:replicator`: the replicator against the one-PutRecord-per-record baseline (the method of the
 * Vanguard sample, seed 002), both through a local endpoint that adds a 40 ms round trip per call.
 *
 * Workload: 10 000 records of 1 KiB over 200 partition keys (seeded uniform), delivered as one Lambda event.
 * - Redstream strict: the real handler (lambda/replicator/index.ts), env as deployed, target via the Region router.
 * - Redstream relaxed: the same handler, the stream listed in RELAXED_ORDER_STREAMS.
 * - Baseline: PutRecord one record at a time, in order. Its rate does not depend on N (one round trip per record),
 *   so by default it copies the first BASELINE_RECORDS (default 1000) and reports records/s; BASELINE_RECORDS=10000
 *   runs it in full (≈ 7 minutes).
 * Prints records/s, the ratio, and PutRecords calls used against the floor strict order allows.
 */
import { PutRecordCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { seededRandom } from '../lambda/replicator/retry';
import { strictCallFloor } from '../lambda/replicator/planner';
import { LOCAL_CREDENTIALS } from '../local/emulators';
import { fullLambdaContext, kinesisEvent, readStream } from '../test/helpers/kinesis-events';
import { startReplicatorWorld } from '../test/helpers/replicator-world';

const SOURCE = 'us-east-1';
const TARGET = 'us-west-2';
const RECORDS = Number(process.env.RECORDS ?? 10_000);
const KEYS = 200;
const RECORD_BYTES = 1024;
const LATENCY_MS = 40;
const BASELINE_RECORDS = Math.min(RECORDS, Number(process.env.BASELINE_RECORDS ?? 1_000));
const STRICT = 'redstream-bench-strict';
const RELAXED = 'redstream-bench-relaxed';
const BASELINE = 'redstream-bench-baseline';

function workload(streamName: string): { event: KinesisStreamEvent; keys: string[] } {
  const rnd = seededRandom(2026);
  const keys = Array.from({ length: RECORDS }, () => `customer-${Math.floor(rnd() * KEYS)}`);
  const payload = (i: number) => {
    const head = JSON.stringify({ messageId: `m-${i}`, seq: i });
    return head + ' '.repeat(RECORD_BYTES - head.length);
  };
  const event = kinesisEvent(
    keys.map((partitionKey, i) => ({ partitionKey, data: payload(i), arrivalMs: Date.now() })),
    { region: SOURCE, streamName },
  );
  return { event, keys };
}

async function main(): Promise<void> {
  const world = await startReplicatorWorld([SOURCE, TARGET], { latencyMs: LATENCY_MS });
  try {
    for (const s of [STRICT, RELAXED, BASELINE]) {
      await world.createStream(s, { [TARGET]: 4 });
      await world.setActive({ streamName: s, activeRegion: SOURCE, state: 'ACTIVE', epoch: 1, activatedAt: 0 });
    }
    Object.assign(
      process.env,
      world.env(SOURCE, [TARGET], { RELAXED_ORDER_STREAMS: RELAXED, POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'WARN' }),
    );
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { handler } = require('../lambda/replicator/index') as { handler: (e: KinesisStreamEvent, c: Context) => Promise<KinesisStreamBatchResponse> };
    const puts = () => world.router.requestCounts.get(`${TARGET}:PutRecords`) ?? 0;

    const runHandler = async (streamName: string) => {
      const { event, keys } = workload(streamName);
      const before = puts();
      const t0 = performance.now();
      const response = await handler(event, fullLambdaContext(900_000) as unknown as Context);
      const seconds = (performance.now() - t0) / 1000;
      if (response.batchItemFailures.length > 0) throw new Error(`${streamName}: batch not fully replicated`);
      const copied = await readStream(world.kinesis(TARGET), streamName);
      if (copied.length !== RECORDS) throw new Error(`${streamName}: ${copied.length} of ${RECORDS} records in the target`);
      return { seconds, calls: puts() - before, keys };
    };

    const strict = await runHandler(STRICT);
    const relaxed = await runHandler(RELAXED);

    const baselineClient = new KinesisClient({ region: TARGET, endpoint: world.router.endpoint, credentials: LOCAL_CREDENTIALS, requestHandler: new NodeHttpHandler() });
    const { event } = workload(BASELINE);
    const t0 = performance.now();
    for (const r of event.Records.slice(0, BASELINE_RECORDS)) {
      await baselineClient.send(new PutRecordCommand({ StreamName: BASELINE, PartitionKey: r.kinesis.partitionKey, Data: Buffer.from(r.kinesis.data, 'base64') }));
    }
    const baselineSeconds = (performance.now() - t0) / 1000;
    baselineClient.destroy();

    const floor = strictCallFloor(strict.keys);
    const relaxedFloor = Math.ceil(RECORDS / 500);
    const rate = (n: number, s: number) => n / s;
    const baselineRate = rate(BASELINE_RECORDS, baselineSeconds);
    const row = (name: string, n: number, s: number, calls: string) =>
      `${name.padEnd(34)} ${String(n).padStart(6)} rec ${s.toFixed(2).padStart(8)} s ${rate(n, s).toFixed(0).padStart(8)} rec/s  ${(rate(n, s) / baselineRate).toFixed(1).padStart(6)}×  ${calls}`;
    console.log(`replicator benchmark: ${RECORDS} records × ${RECORD_BYTES} B over ${KEYS} keys (most records of one key: ${floor}), ${LATENCY_MS} ms per call`);
    console.log(row('baseline: PutRecord per record', BASELINE_RECORDS, baselineSeconds, `${BASELINE_RECORDS} PutRecord calls${BASELINE_RECORDS < RECORDS ? ` (first ${BASELINE_RECORDS} records; rate is per record)` : ''}`));
    console.log(row('redstream strict (default)', RECORDS, strict.seconds, `${strict.calls} PutRecords calls, floor max(⌈N/500⌉, most of one key) = ${floor}`));
    console.log(row('redstream relaxed', RECORDS, relaxed.seconds, `${relaxed.calls} PutRecords calls, floor ⌈N/500⌉ = ${relaxedFloor}`));
  } finally {
    await world.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
