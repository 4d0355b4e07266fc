/**
 * End to end: the demo's whole data path (two local Regions, the real replicator in per-Region workers, DynamoDB
 * Local, the failover API, the warehouse SQL in PGlite) on a small event count. The expectations are computed here,
 * independently of the demo's own checks: the generator is deterministic, so the test knows every id and every
 * malformed record it will send.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENVIRONMENTS_CONTEXT_KEY, EnvironmentConfig, resolveEnvironments } from '../../lib/config';
import { DemoReport, runDemo } from '../../local/demo';
import { DEMO_DEFAULTS, DemoOptions } from '../../local/demo-options';
import { LocalTuning } from '../../local/pipeline';
import { classifyRecord } from '../../local/record-classifier';
import { malformedRecord, segmentEvents } from '../../local/segment-events';

const ROOT = path.resolve(__dirname, '..', '..');
const config: EnvironmentConfig = resolveEnvironments(
  (JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context[ENVIRONMENTS_CONTEXT_KEY],
  'dev',
)[0];
/** Shorter than the demo's defaults so the drill's two switches take a few seconds. */
const tuning: Partial<LocalTuning> = { replicatorTimeoutMs: 2000, maxBatchingWindowMs: 200, mergeIntervalMs: 300 };
const quiet = { progress: () => undefined, interactive: false };

interface EventLine {
  eventId: string;
  stream: string;
  payload: Record<string, unknown>;
}
interface RejectLine {
  reason: string;
  raw: string;
  shardId: string;
  sequenceNumber: string;
}

function readNdjson<T>(file: string): T[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as T);
}

async function run(options: Partial<DemoOptions>): Promise<{ report: DemoReport; events: EventLine[]; rejects: RejectLine[] }> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'redstream-e2e-'));
  const { report } = await runDemo(
    { ...DEMO_DEFAULTS, failoverAt: undefined, input: undefined, json: false, help: false, ...options, out },
    config,
    quiet,
    tuning,
  );
  const fromFile = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as DemoReport;
  expect(fromFile).toEqual(report);
  return { report, events: readNdjson<EventLine>(path.join(out, 'events.ndjson')), rejects: readNdjson<RejectLine>(path.join(out, 'rejects.ndjson')) };
}

/** What a generated run must end with: the valid ids and the malformed records (base64 → reason). */
function expectedFromGenerator(count: number, duplicates: number, malformed: number): { ids: Set<string>; malformed: Map<string, string> } {
  const ids = new Set<string>();
  const bad = new Map<string, string>();
  for (const r of segmentEvents({ count, duplicateFraction: duplicates, malformedFraction: malformed, clock: Date.now, seed: 1 })) {
    if (r.origin.kind === 'malformed') bad.set(Buffer.from(r.data).toString('base64'), r.origin.reason);
    else ids.add(r.origin.messageId);
  }
  return { ids, malformed: bad };
}

function expectExactWarehouse(result: { events: EventLine[]; rejects: RejectLine[] }, ids: Set<string>, malformed: Map<string, string>, exactlyOnce: boolean): void {
  // events = exactly the unique valid ids produced, one row each, with the record's payload.
  expect(result.events.map((e) => e.eventId).sort()).toEqual([...ids].sort());
  for (const e of result.events) expect(String(e.payload.messageId)).toBe(e.eventId);
  // rejects = exactly the malformed records, with their reason; nothing else.
  expect(new Set(result.rejects.map((r) => r.raw))).toEqual(new Set(malformed.keys()));
  for (const r of result.rejects) expect(r.reason).toBe(malformed.get(r.raw));
  expect(new Set(result.rejects.map((r) => `${r.shardId}/${r.sequenceNumber}`)).size).toBe(result.rejects.length);
  if (exactlyOnce) expect(result.rejects).toHaveLength(malformed.size);
}

test('a steady run: events table = unique valid ids, rejects = the malformed records, once each', async () => {
  const count = 240;
  const { ids, malformed } = expectedFromGenerator(count, 0.1, 0.05);

  const result = await run({ events: count, rate: 2000, duplicates: 0.1, malformed: 0.05 });

  expectExactWarehouse(result, ids, malformed, true);
  expect(result.report).toMatchObject({
    ok: true,
    drill: undefined,
    produced: { records: count, uniqueIds: ids.size, malformed: malformed.size, replayed: 0 },
    warehouse: { events: ids.size, rejects: malformed.size, duplicatesRemoved: count - ids.size - malformed.size },
    replication: { samples: count, discardedBatches: 0 },
  });
  expect(result.report.replication.lagP50Ms).toEqual(expect.any(Number));
}, 400_000);

test('the failover drill: primary down, failover, resume with re-sends, failback; still exactly one row per id', async () => {
  const count = 300;
  const { ids, malformed } = expectedFromGenerator(count, 0.05, 0.04);

  const result = await run({ events: count, rate: 400, duplicates: 0.05, malformed: 0.04, failoverAt: 120 });

  expectExactWarehouse(result, ids, malformed, false);
  const { report } = result;
  expect(report.ok).toBe(true);
  expect(report.drill).toMatchObject({
    failoverAt: 120,
    failover: { from: 'us-east-1', to: 'us-west-2', outcome: 'switched' },
    failback: { from: 'us-west-2', to: 'us-east-1', outcome: 'switched' },
  });
  expect(report.drill!.failover.replayed).toBeGreaterThan(0);
  expect(report.produced.replayed).toBe(report.drill!.failover.replayed + report.drill!.failback!.replayed);
  expect(report.produced.failedCalls).toBeGreaterThan(0);
  // The re-sends reached the warehouse and were merged away.
  expect(report.warehouse.duplicatesRemoved).toBeGreaterThan(count - ids.size - malformed.size);
  expect(report.replication.discardedBatches).toBe(0);
}, 400_000);

test('--input replays a file in order, with the drill halfway: its valid ids become events, its malformed records rejects', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redstream-input-'));
  const file = path.join(dir, 'input.ndjson');
  const valid = (id: string | number, extra: Record<string, unknown> = {}): Buffer => Buffer.from(JSON.stringify({ messageId: id, type: 'track', userId: 'u', ...extra }));
  const records: Array<{ partitionKey: string; data: Buffer }> = [
    { partitionKey: 'u1', data: valid('in-1') },
    { partitionKey: 'u1', data: valid('in-2') },
    { partitionKey: 'u2', data: valid('in-1') }, // a re-send
    { partitionKey: 'u2', data: valid(77) }, // numeric ids are ids
    ...(['invalid_json', 'invalid_utf8', 'not_object', 'missing_dedup_key', 'invalid_dedup_key'] as const).map((reason) => ({
      partitionKey: 'bad',
      data: Buffer.from(malformedRecord(reason, `input-${reason}`).data),
    })),
    ...Array.from({ length: 30 }, (_, i) => ({ partitionKey: `u${i % 4}`, data: valid(`bulk-${i}`, { timestamp: '2026-11-22T00:00:00Z' }) })),
  ];
  fs.writeFileSync(file, records.map((r) => JSON.stringify({ partitionKey: r.partitionKey, data: r.data.toString('base64') })).join('\n') + '\n');
  const ids = new Set<string>();
  const malformed = new Map<string, string>();
  for (const r of records) {
    const c = classifyRecord(r.data);
    if (c.kind === 'event') ids.add(c.id);
    else malformed.set(r.data.toString('base64'), c.reason);
  }
  expect(ids.size).toBe(33);
  expect(malformed.size).toBe(5);

  const result = await run({ input: file, rate: 200, failoverAt: 'half' });

  expectExactWarehouse(result, ids, malformed, false);
  expect(result.report).toMatchObject({
    ok: true,
    source: 'input',
    produced: { records: records.length, uniqueIds: 33, resends: 1, malformed: 5 },
    drill: { failoverAt: Math.floor(records.length / 2), failback: { outcome: 'switched' } },
  });
}, 400_000);
