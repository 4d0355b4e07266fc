/**
 * A model of one shard's replication lag on AWS, with no local stand-in in the way (not part of npm test):
 * `npx tsx bench/lag-model.ts [--rate N] [--seconds S] [--seed N]`.
 *
 * `bench:e2e` runs the real functions on kinesalite, whose own time per PutRecords (tens to hundreds of milliseconds
 * on a loaded 2-core machine) comes on top of the injected round trip and is paid once per call: five times per batch
 * by the strict replicator, once by the naive forwarder. This model takes the stand-ins out: every PutRecords costs
 * exactly the published round trip (lib/cost/latencies.ts, which holds Kinesis's own time), a record lands half-way
 * through its call, and the calls are the ones the replicator's own planner (lambda/replicator/planner.ts) makes. The
 * event source mapping is modelled as Lambda documents it: one batch per shard at a time (or per lane with a
 * parallelization factor, keys hashed to lanes), invoked when the batch is full or the batching window (from the
 * first pending record) has passed, whichever comes first, and never before the previous batch of the lane returned.
 * Arrivals are Poisson at `--rate` per shard, keys uniform over the workload's distinct keys.
 *
 * It is arithmetic, not a measurement: it leaves out the enhanced fan-out push delay and the invocation overhead
 * (the same for both forwarders), cold starts, throttling and retries.
 */
import { PUT_RECORDS_MAX_ENTRIES, TargetPlan } from '../lambda/replicator/planner';
import { seededRandom } from '../lambda/shared/seeded-random';
import { TOPOLOGY_LATENCIES } from '../lib/cost/latencies';
import { percentile } from '../local/lag';

export interface LagModelOptions {
  readonly ratePerSecond: number;
  /** Distinct partition keys, uniformly used. */
  readonly keys: number;
  readonly seconds: number;
  readonly batchSize: number;
  readonly windowMs: number;
  readonly forwarder: 'naive' | 'strict';
  /** Batches of a shard processed at once, keys hashed to lanes (Lambda's ParallelizationFactor). @default 1 */
  readonly parallelization?: number;
  /** Write the checkpoint on this share of invocations (strict only; the checkpoint interval defers the rest). @default 1 */
  readonly checkpointWriteShare?: number;
  readonly crossRegionMs?: number;
  readonly readMs?: number;
  readonly writeMs?: number;
  readonly seed?: number;
}

export interface LagModelResult {
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Mean PutRecords calls per invocation. */
  readonly callsPerInvocation: number;
  /** Share of the time a lane's function was busy. */
  readonly utilization: number;
}

export function modelLag(o: LagModelOptions): LagModelResult {
  const rtt = o.crossRegionMs ?? TOPOLOGY_LATENCIES.crossRegionPutRecords.ms;
  const readMs = o.readMs ?? TOPOLOGY_LATENCIES.sameRegionDynamoDbRead.ms;
  const writeMs = o.writeMs ?? TOPOLOGY_LATENCIES.sameRegionDynamoDbWrite.ms;
  const lanes = o.parallelization ?? 1;
  const random = seededRandom(o.seed ?? 1);
  const arrivals: Array<{ t: number; key: number }> = [];
  // Arrivals run 5 s past the measured span, so no measured record waits for a last batch that never fills; the
  // first second is not measured either (no backlog yet).
  const measuredFrom = 1000;
  const measuredTo = o.seconds * 1000;
  for (let t = 0; t < measuredTo + 5000; ) {
    t += (-Math.log(1 - random()) * 1000) / o.ratePerSecond;
    arrivals.push({ t, key: Math.floor(random() * o.keys) });
  }
  const lags: number[] = [];
  const measure = (arrivedMs: number, landedMs: number): void => {
    if (arrivedMs >= measuredFrom && arrivedMs < measuredTo) lags.push(landedMs - arrivedMs);
  };
  let calls = 0;
  let invocations = 0;
  let busyMs = 0;
  for (let lane = 0; lane < lanes; lane++) {
    const mine = arrivals.filter((a) => a.key % lanes === lane);
    let free = 0;
    let writeDebt = 0;
    for (let i = 0; i < mine.length; ) {
      const fill = i + o.batchSize - 1 < mine.length ? mine[i + o.batchSize - 1].t : Number.POSITIVE_INFINITY;
      const start = Math.max(free, Math.min(mine[i].t + o.windowMs, fill));
      let j = i;
      while (j < mine.length && j - i < o.batchSize && mine[j].t <= start) j++;
      const batch = mine.slice(i, j);
      let now = start;
      if (o.forwarder === 'naive') {
        for (let c = 0; c < batch.length; c += PUT_RECORDS_MAX_ENTRIES) {
          for (const r of batch.slice(c, c + PUT_RECORDS_MAX_ENTRIES)) measure(r.t, now + rtt / 2);
          now += rtt;
          calls++;
        }
      } else {
        now += readMs;
        const plan = new TargetPlan(
          batch.map((r) => ({ partitionKey: String(r.key), requestBytes: 1000 })),
          { ordering: 'strict' },
        );
        for (let call = plan.nextCall(); call.length > 0; call = plan.nextCall()) {
          for (const index of call) measure(batch[index].t, now + rtt / 2);
          plan.recordResults(call, call.map(() => ({ ok: true })));
          now += rtt;
          calls++;
        }
        // The interval writes on a share of the invocations: spread it as a fraction of the write per invocation.
        writeDebt += o.checkpointWriteShare ?? 1;
        if (writeDebt >= 1) {
          now += writeMs;
          writeDebt -= 1;
        }
      }
      invocations++;
      busyMs += now - start;
      free = now;
      i = j;
    }
  }
  return {
    p50Ms: percentile(lags, 50) ?? 0,
    p99Ms: percentile(lags, 99) ?? 0,
    callsPerInvocation: calls / Math.max(1, invocations),
    utilization: busyMs / ((measuredTo + 5000) * lanes),
  };
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

function main(): void {
  const rate = arg('rate', 1000);
  const seconds = arg('seconds', 60);
  const seed = arg('seed', 1);
  const rows: string[] = [
    `Lag model, one shard at ${rate} events/s for ${seconds} s, published latencies (PutRecords ${TOPOLOGY_LATENCIES.crossRegionPutRecords.ms} ms, ` +
      `read ${TOPOLOGY_LATENCIES.sameRegionDynamoDbRead.ms} ms, write ${TOPOLOGY_LATENCIES.sameRegionDynamoDbWrite.ms} ms), seed ${seed}`,
    '',
    '| keys | batch size | window | parallelization | naive p50 / p99 | strict p50 / p99 | p99 ratio | strict calls per invocation | strict utilization |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const settings: Array<[number, number, number]> = [
    [500, 1000, 1],
    [1000, 1000, 1],
    [250, 1000, 1],
    [500, 0, 1],
    [100, 0, 1],
    [500, 1000, 2],
    [500, 1000, 4],
    [100, 0, 4],
  ];
  for (const keys of [500, 5000, 50000]) {
    for (const [batchSize, windowMs, parallelization] of settings) {
      const common = { ratePerSecond: rate, keys, seconds, batchSize, windowMs, parallelization, seed };
      const n = modelLag({ ...common, forwarder: 'naive' });
      // Full batches every ~0.5 s at a 1 s interval: the checkpoint is written on about half of them.
      const s = modelLag({ ...common, forwarder: 'strict', checkpointWriteShare: 0.5 });
      rows.push(
        `| ${keys} | ${batchSize} | ${windowMs} ms | ${parallelization} | ${Math.round(n.p50Ms)} / ${Math.round(n.p99Ms)} ms | ` +
          `${Math.round(s.p50Ms)} / ${Math.round(s.p99Ms)} ms | ${(s.p99Ms / n.p99Ms).toFixed(2)} | ${s.callsPerInvocation.toFixed(1)} | ${(s.utilization * 100).toFixed(0)} % |`,
      );
    }
  }
  process.stdout.write(rows.join('\n') + '\n');
}

if (require.main === module) main();
