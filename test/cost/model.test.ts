/**
 * The cost model on the shipped environments (cdk.json), its arithmetic re-derived here from literal prices and the
 * pricing rules (1 KB, 25 KB and 5 KB rounding, replicated writes in every Region), not from the model's helpers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENVIRONMENTS_CONTEXT_KEY, EnvironmentConfig, resolveEnvironments } from '../../lib/config';
import { checkpointWritesPerSecond, CostEstimate, CostModelError, estimateMonthlyCost, PRICES } from '../../lib/cost/model';
import { toArchiveLine } from '../../lambda/archive/format';

const cdk = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
const env = (name: string): EnvironmentConfig => resolveEnvironments(cdk.context[ENVIRONMENTS_CONTEXT_KEY], name)[0];

const GB = 2 ** 30;
const SECONDS = 730 * 3600;

function line(e: CostEstimate, component: string, itemStart: string): number {
  const found = e.lines.filter((l) => l.component === component && l.item.startsWith(itemStart));
  if (found.length !== 1) throw new Error(`expected one ${component} line starting ${JSON.stringify(itemStart)}, found ${found.length}: ${e.lines.map((l) => l.item).join(' | ')}`);
  return found[0].monthlyUsd;
}
const subtotal = (e: CostEstimate, component: string): number => e.subtotals.find((s) => s.component === component)!.monthlyUsd;

describe('prod at 5 000 events/s of 1 000 bytes', () => {
  const e = estimateMonthlyCost(env('prod'), { eventsPerSecond: 5000, bytesPerEvent: 1000 });

  test('streams: two on-demand streams in two Regions, 1 KB-rounded ingest, four shared readers, 144 h of extended retention', () => {
    expect(line(e, 'Kinesis streams', 'events (on-demand): stream-hours')).toBeCloseTo(2 * 730 * 0.04, 6);
    expect(line(e, 'Kinesis streams', 'telemetry (on-demand): stream-hours')).toBeCloseTo(2 * 730 * 0.04, 6);
    // 1 000 bytes bill as 1 KiB, in both Regions (the standby's stream receives every record too).
    expect(line(e, 'Kinesis streams', 'events (on-demand): data in')).toBeCloseTo(((5000 * 1024 * SECONDS) / GB) * 0.08 * 2, 4);
    // Firehose in each Region plus a warehouse in each Region (warehouse.regions = all).
    expect(line(e, 'Kinesis streams', 'events (on-demand): reads')).toBeCloseTo(((5000 * 1000 * SECONDS) / GB) * 4 * 0.04, 4);
    // 168 h retention: 144 h beyond the included 24 h, on every byte, in both Regions.
    expect(line(e, 'Kinesis streams', 'events (on-demand): extended retention')).toBeCloseTo(((5000 * 1000 * 144 * 3600) / GB) * 0.1 * 2, 4);
    expect(subtotal(e, 'Kinesis streams')).toBeCloseTo(4562.6, 0);
  });

  test('enhanced fan-out: only the primary replicator reads (reserved concurrency moves with the failover)', () => {
    expect(subtotal(e, 'Enhanced fan-out')).toBeCloseTo(((5000 * 1000 * SECONDS) / GB) * 0.05, 4);
  });

  test('replicator: 10 on-demand shards at 500 records/s, the 1 s window closes batches of 500, one invocation per second per shard', () => {
    const events = e.replication.find((r) => r.stream === 'events')!;
    expect(events.shards).toBe(10); // max(4, 2 × max(⌈4.77 MiB/s⌉, ⌈5000/1000⌉))
    expect(events.recordsPerInvocation).toBe(500);
    expect(events.invocationsPerSecondPerShard).toBe(1);
    expect(events.checkpointWritesPerSecondPerShard).toBeLessThanOrEqual(1);
    const invocations = 10 * SECONDS;
    expect(line(e, 'Lambda functions', 'replicator: invocations')).toBeCloseTo((invocations / 1e6) * 0.2, 6);
    // 5 ms read + 1 round × 80 ms + 8 ms write + 5 ms + 500 × 0.01 ms = 103 ms, at 0.5 GB, arm64.
    expect(events.invocationMs).toBeCloseTo(103, 6);
    expect(line(e, 'Lambda functions', 'replicator: duration')).toBeCloseTo(invocations * 0.103 * 0.5 * 0.0000133334, 4);
    // The archive transformation: one invocation per 1 MiB of records per delivery stream (both Regions), 100 ms at 512 MiB.
    const transforms = ((5e6 / 2 ** 20) * 2) * SECONDS;
    expect(line(e, 'Lambda functions', 'archive transformation: one per')).toBeCloseTo((transforms / 1e6) * 0.2, 6);
    expect(line(e, 'Lambda functions', 'archive transformation: duration')).toBeCloseTo(transforms * 0.1 * 0.5 * 0.0000133334, 6);
    // A merge a minute in each of the two warehouse Regions, 5 s at 256 MiB.
    expect(line(e, 'Lambda functions', 'merge runner: one run')).toBeCloseTo(((2 * 730 * 60) / 1e6) * 0.2, 6);
    expect(line(e, 'Lambda functions', 'merge runner: duration')).toBeCloseTo(2 * 730 * 60 * 5 * 0.25 * 0.0000133334, 6);
  });

  test('global tables: 10 checkpoint writes/s, each billed as a replicated write in both Regions', () => {
    expect(e.checkpointRwruPerSecond).toBe(20);
    expect(line(e, 'Global tables', 'checkpoint writes')).toBeCloseTo(((20 * SECONDS) / 1e6) * 0.625, 6);
    // 10 checkpoint reads/s + the active-Region item once per 5 s in each of 10 shards' environments.
    expect(line(e, 'Global tables', 'checkpoint and active-Region reads')).toBeCloseTo((((10 + 2) * SECONDS) / 1e6) * 0.125, 6);
  });

  test('cross-Region transfer: base64 payload + partition key + framing to one standby, and checkpoint replication', () => {
    const wire = 4 * Math.ceil(1000 / 3) + 36 + 40;
    expect(line(e, 'Cross-Region transfer', 'events: replicator PutRecords')).toBeCloseTo(((5000 * wire * SECONDS) / GB) * 0.02, 4);
    expect(line(e, 'Cross-Region transfer', 'checkpoint replication')).toBeCloseTo(((10 * 300 * SECONDS) / GB) * 0.02, 6);
  });

  test('Firehose bills 5 KB per 1 000-byte record in both Regions; S3 holds 90 days in Standard, then Glacier IR', () => {
    expect(line(e, 'Firehose and S3', 'events: Firehose ingestion')).toBeCloseTo(((5000 * 5120 * SECONDS) / GB) * 0.029 * 2, 4);
    // 128 MiB buffers fill every 26.8 s at 5 MB/s, before the 300 s interval.
    expect(line(e, 'Firehose and S3', 'events: S3 PUTs')).toBeCloseTo((((5e6 / (128 * 2 ** 20)) * SECONDS * 2) / 1000) * 0.005, 6);
    // Each record is archived as one line of the archive contract (metadata and base64 data), GZIP'd to 25 %.
    const archiveLine = Buffer.byteLength(
      toArchiveLine({ stream: 'redstream-prod-events', region: 'us-east-1', shardId: 'shardId-000000000000', sequenceNumber: '4'.repeat(56), subsequenceNumber: 0, partitionKey: 'k'.repeat(36), approximateArrivalTimestampMs: 1.8e12, data: 'A'.repeat(1336) }),
    );
    expect(archiveLine).toBe(1696);
    const gzipPerDayGb = (5000 * archiveLine * 0.25 * 86400) / GB;
    expect(line(e, 'Firehose and S3', 'events: archive in S3 Standard')).toBeCloseTo(gzipPerDayGb * 90 * 2 * 0.023, 4);
    expect(line(e, 'Firehose and S3', 'events: archive in Glacier')).toBeCloseTo(gzipPerDayGb * (365 - 90) * 2 * 0.004, 4);
  });

  test('Redshift Serverless: 32 RPUs in each of two Regions for 730 h', () => {
    expect(subtotal(e, 'Redshift Serverless')).toBeCloseTo(2 * 32 * 730 * 0.375, 6);
  });

  test('the total is the sum of the lines, and the unconfirmed prices are flagged', () => {
    expect(e.totalMonthlyUsd).toBeCloseTo(e.lines.reduce((s, l) => s + l.monthlyUsd, 0), 6);
    expect(e.totalMonthlyUsd).toBeCloseTo(27840.1, 0);
    expect(e.lines.filter((l) => l.unverifiedPrice).map((l) => l.priceKey).sort()).toEqual(['firehose.ingestGb', 's3.glacierInstantRetrievalGbMonth']);
    expect(e.warnings.join('\n')).toMatch(/firehose\.ingestGb/);
  });
});

describe('staging at 1 000 events/s of 500 bytes (provisioned events stream with 2 shards)', () => {
  const e = estimateMonthlyCost(env('staging'), { eventsPerSecond: 1000, bytesPerEvent: 500 });

  test('shard-hours, one 25 KB payload unit per record, 48 h retention, consumer-shard-hours in both Regions', () => {
    expect(line(e, 'Kinesis streams', 'events (2 shards): shard-hours')).toBeCloseTo(2 * 730 * 2 * 0.015, 6);
    expect(line(e, 'Kinesis streams', 'events (2 shards): PUT payload units')).toBeCloseTo(((1000 * SECONDS * 2) / 1e6) * 0.014, 6);
    expect(line(e, 'Kinesis streams', 'events (2 shards): extended retention')).toBeCloseTo(2 * 730 * 2 * 0.02, 6);
    expect(line(e, 'Enhanced fan-out', 'events (2 shards): replicator consumer')).toBeCloseTo(2 * 730 * 2 * 0.015, 6);
    expect(line(e, 'Enhanced fan-out', 'events: records pushed')).toBeCloseTo(((1000 * 500 * SECONDS) / GB) * 0.013, 6);
    // The idle on-demand telemetry stream still pays its stream-hours.
    expect(line(e, 'Kinesis streams', 'telemetry (on-demand): stream-hours')).toBeCloseTo(2 * 730 * 0.04, 6);
  });

  test('500 records/s per shard with batch size 1 000 and a 1 s window: one checkpoint write per second per shard', () => {
    const events = e.replication.find((r) => r.stream === 'events')!;
    expect(events.recordsPerInvocation).toBe(500);
    expect(events.checkpointWritesPerSecondPerShard).toBe(1);
    expect(e.checkpointRwruPerSecond).toBe(2 * 2);
  });

  test('one warehouse (primary) at the default 8 RPUs', () => {
    expect(subtotal(e, 'Redshift Serverless')).toBeCloseTo(8 * 730 * 0.375, 6);
    expect(e.warnings.some((w) => w.includes('throttled'))).toBe(false);
  });

  test('a load the provisioned shards cannot take is priced as configured and warned about', () => {
    const over = estimateMonthlyCost(env('staging'), { eventsPerSecond: 3000, bytesPerEvent: 500 });
    expect(over.warnings.join('\n')).toMatch(/events: 2 provisioned shard\(s\) take at most 2000 records\/s.*needs 3/);
  });
});

describe('checkpoint interval: writes per second per shard at steady state', () => {
  test.each([
    // Full batches (a rate at or above the batch size per window): at most one write per interval.
    { name: 'full batches every 500 ms, 1 s interval', records: 500, perSecond: 2, batch: 500, interval: 1000, writes: 1 },
    { name: 'full batches every 400 ms, 1 s interval: every third', records: 400, perSecond: 2.5, batch: 400, interval: 1000, writes: 2.5 / 3 },
    { name: 'full batches every 100 ms, 2.5 s interval', records: 100, perSecond: 10, batch: 100, interval: 2500, writes: 0.4 },
    { name: 'full batches slower than the interval: every one', records: 1000, perSecond: 0.5, batch: 1000, interval: 1000, writes: 0.5 },
    { name: 'no interval: every invocation', records: 500, perSecond: 2, batch: 500, interval: 0, writes: 2 },
    // Partial batches (the window closes them): every invocation writes, whatever the interval.
    { name: 'partial batches closed by the 1 s window', records: 500, perSecond: 1, batch: 1000, interval: 1000, writes: 1 },
    { name: 'partial batches of a 0 s window, pushed every 0.25 s', records: 25, perSecond: 4, batch: 1000, interval: 1000, writes: 4 },
    { name: 'idle', records: 0, perSecond: 0, batch: 500, interval: 1000, writes: 0 },
  ])('$name: $writes/s', ({ records, perSecond, batch, interval, writes }) => {
    expect(checkpointWritesPerSecond({ recordsPerInvocation: records, invocationsPerSecond: perSecond }, batch, interval)).toBeCloseTo(writes, 9);
  });

  test('dev at 1 000 events/s (batch 500 fills in 0.5 s), default interval 0: 2 invocations/s, 2 checkpoint writes/s, billed in both Regions', () => {
    const e = estimateMonthlyCost(env('dev'), { eventsPerSecond: 1000, bytesPerEvent: 200 });
    expect(env('dev').replicator.checkpointIntervalMs).toBe(0);
    const events = e.replication.find((r) => r.stream === 'events')!;
    expect(events.invocationsPerSecondPerShard).toBe(2);
    expect(events.checkpointWritesPerSecondPerShard).toBe(2);
    expect(e.checkpointRwruPerSecond).toBe(4);
    expect(line(e, 'Global tables', 'checkpoint writes')).toBeCloseTo(((4 * SECONDS) / 1e6) * 0.625, 6);
    expect(line(e, 'Cross-Region transfer', 'checkpoint replication')).toBeCloseTo(((2 * 300 * SECONDS) / GB) * 0.02, 6);
    // Every invocation writes: 5 ms read + 1 round × 80 ms + 8 ms + 5 ms + 500 × 0.01 ms = 103 ms.
    expect(events.invocationMs).toBeCloseTo(103, 6);
    expect(e.assumptions.join('\n')).toMatch(/on every invocation \(replicator\.checkpointIntervalMs 0, the default\)/);
  });

  test('the same load with checkpointIntervalMs 1000: 1 checkpoint write/s, half the checkpoint cost', () => {
    const dev = env('dev');
    const e = estimateMonthlyCost({ ...dev, replicator: { ...dev.replicator, checkpointIntervalMs: 1000 } }, { eventsPerSecond: 1000, bytesPerEvent: 200 });
    const events = e.replication.find((r) => r.stream === 'events')!;
    expect(events.checkpointWritesPerSecondPerShard).toBe(1);
    expect(e.checkpointRwruPerSecond).toBe(2);
    expect(line(e, 'Global tables', 'checkpoint writes')).toBeCloseTo(((2 * SECONDS) / 1e6) * 0.625, 6);
    // Half the invocations write: 5 ms read + 1 round × 80 ms + 8 ms × 0.5 + 5 ms + 500 × 0.01 ms = 99 ms.
    expect(events.invocationMs).toBeCloseTo(99, 6);
    expect(e.assumptions.join('\n')).toMatch(/while batches are full at most once per replicator\.checkpointIntervalMs \(1000 ms\) per shard/);
  });

  test('prod at 5 000 events/s of 1 000 bytes: batches close on the 1 s window (500 of 2 000 records), 1 write/s per shard, the interval changes nothing', () => {
    const prod = env('prod');
    const at = (intervalMs: number) => estimateMonthlyCost({ ...prod, replicator: { ...prod.replicator, checkpointIntervalMs: intervalMs } }, { eventsPerSecond: 5000, bytesPerEvent: 1000 });
    const e = estimateMonthlyCost(prod, { eventsPerSecond: 5000, bytesPerEvent: 1000 });
    const events = e.replication.find((r) => r.stream === 'events')!;
    // On-demand: 2 × the 5 shards the load needs (5 000 records/s, 5 MB/s) = 10 shards of 500 records/s.
    expect(events.shards).toBe(10);
    expect(events.invocationsPerSecondPerShard).toBe(1);
    expect(events.checkpointWritesPerSecondPerShard).toBe(1);
    expect(e.checkpointRwruPerSecond).toBe(10 * 2);
    expect(at(1000).totalMonthlyUsd).toBeCloseTo(e.totalMonthlyUsd, 9);
  });
});

describe('dev at 100 events/s of 200 bytes (standby replicator runs: no reserved concurrency move)', () => {
  const e = estimateMonthlyCost(env('dev'), { eventsPerSecond: 100, bytesPerEvent: 200 });

  test('the standby replicator is invoked for every replica batch and its consumer reads every record', () => {
    // 100 records/s on 1 shard, 1 s window: batches of 100, one invocation per second, in each of two Regions.
    expect(line(e, 'Lambda functions', 'replicator: invocations')).toBeCloseTo(((2 * SECONDS) / 1e6) * 0.2, 6);
    expect(line(e, 'Enhanced fan-out', 'events: records pushed')).toBeCloseTo(((100 * 200 * SECONDS * 2) / GB) * 0.013, 6);
    // Only the primary checkpoints: one write per second, billed in both Regions.
    expect(e.checkpointRwruPerSecond).toBe(2);
    // Primary: checkpoint read + item read per invocation (5 s cache > 1 s interval → 0.2/s); standby: fresh item read per invocation.
    expect(line(e, 'Global tables', 'checkpoint and active-Region reads')).toBeCloseTo((((1 + 0.2 + 1) * SECONDS) / 1e6) * 0.125, 6);
  });

  test('a record of 26 KB costs two PUT payload units and 30 KB of Firehose ingestion', () => {
    const big = estimateMonthlyCost(env('dev'), { eventsPerSecond: 10, bytesPerEvent: 26 * 1024 });
    expect(line(big, 'Kinesis streams', 'events (1 shards): PUT payload units')).toBeCloseTo(((10 * 2 * SECONDS * 2) / 1e6) * 0.014, 6);
    expect(line(big, 'Firehose and S3', 'events: Firehose ingestion')).toBeCloseTo(((10 * 30 * 1024 * SECONDS * 2) / GB) * 0.029, 6);
  });
});

describe('workload validation', () => {
  test.each([
    [{ eventsPerSecond: 0, bytesPerEvent: 100 }, /eventsPerSecond must be a number above 0/],
    [{ eventsPerSecond: 10, bytesPerEvent: 0 }, /bytesPerEvent must be a whole number between 1 and 1048576/],
    [{ eventsPerSecond: 10, bytesPerEvent: 100, stream: 'nope' }, /stream "nope" is not a stream of prod; use one of events, telemetry/],
  ])('%j is refused', (workload, message) => {
    expect(() => estimateMonthlyCost(env('prod'), workload)).toThrow(CostModelError);
    expect(() => estimateMonthlyCost(env('prod'), workload)).toThrow(message);
  });
});

describe('price table', () => {
  test.each(Object.entries(PRICES.prices))('%s has a positive price, a unit, an https source and a found flag', (_key, p) => {
    expect(p.usd).toBeGreaterThan(0);
    expect(p.per.length).toBeGreaterThan(0);
    expect(p.source).toMatch(/^https:\/\//);
    expect(typeof p.found).toBe('boolean');
    if (!p.found) expect(p.seen).toMatch(/NOT FOUND/);
  });
});
