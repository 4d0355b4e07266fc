/**
 * Merge benchmark (`npm run bench:merge`): merges 10 000 new rows into an events table of 10 000 rows and into one
 * of 1 000 000 rows, in the same run and the same engine (embedded Postgres, PGlite), and prints both times and
 * their ratio. An incremental merge costs about the same in both (ratio close to 1).
 *
 * Both warehouses are prepared the same way: the stand-in MV already holds the old rows (merged, below the
 * watermark), the events table holds the same rows (event times over the last 30 days), and every measured batch
 * has 10 000 new rows, 10 % of them duplicates of merged events and 1 % bad records. Nothing is prepared that the
 * local demo does not have: no ANALYZE after the preload (PGlite has no autovacuum; keeping statistics usable is
 * the merge's own job), so the first merge pays whatever that costs.
 *
 * A third measurement replays the local demo's pattern: both tables start empty, and each round appends 5 000 rows
 * (5 % re-sends of recent events, 0.5 % malformed) to the stand-in MV and merges them; the last rounds' time over
 * the first rounds' should stay close to 1 as the tables grow.
 *
 * Redshift cannot run here; the benchmark first prints how the deployed (Redshift) merge bounds its read of each
 * streaming MV: a constant lower bound on refresh_time, the MV's sort key, so zone maps skip every block refreshed
 * before the stream's high-water mark minus the margin; then the exact per-shard check.
 *
 * Options: BENCH_ROUNDS (default 3, the median is reported), BENCH_BIG_ROWS (default 1000000),
 * BENCH_DEMO_ROUNDS (default 10; 0 skips the demo pattern), BENCH_ONLY_REDSHIFT_FILTER=1 (print the filter, stop).
 */
import { PGlite } from '@electric-sql/pglite';
import { MvRecord, PostgresWarehouse, setupPostgresWarehouse } from '../lib/sql/postgres';
import { renderSql } from '../lib/sql/render';

const NEW_ROWS = 10_000;
const SMALL_ROWS = 10_000;
const BIG_ROWS = Number(process.env.BENCH_BIG_ROWS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DEMO_ROUNDS = Number(process.env.BENCH_DEMO_ROUNDS ?? 10);
const DEMO_ROWS = 5_000;
const SHARDS = 4;
const NOW = Date.parse('2026-11-22T00:00:00Z');
const DAY = 86_400_000;

function shardId(i: number): string {
  return `shardId-${String(i % SHARDS).padStart(12, '0')}`;
}

/** Sequence numbers like Kinesis: 56 digits, increasing per shard. */
function seq(n: number): string {
  return (10n ** 55n + BigInt(n)).toString();
}

/** Fills the stand-in MV and the events table with `rows` merged events, and sets the watermark above them. */
async function preload(db: PGlite, wh: PostgresWarehouse, rows: number): Promise<void> {
  const mv = wh.mvTable('events');
  const s = wh.schema;
  await db.exec(`ALTER TABLE ${mv} DISABLE TRIGGER USER`);
  for (let start = 1; start <= rows; start += 100_000) {
    const end = Math.min(rows, start + 99_999);
    await db.exec(`
      INSERT INTO ${mv} (approximate_arrival_timestamp, partition_key, shard_id, sequence_number, refresh_time, raw, raw_bytes, is_utf8, payload)
      SELECT ts, 'pk-' || (g % 97), 'shardId-' || LPAD((g % ${SHARDS})::text, 12, '0'), (${10n ** 55n}::numeric + g)::text, ts,
             convert_to(p::text, 'UTF8'), octet_length(p::text), TRUE, p
      FROM (
        SELECT g, TIMESTAMP '2026-10-23 00:00:00' + (g * INTERVAL '1 millisecond') * (30 * 86400000.0 / ${rows}) AS ts,
               jsonb_build_object('messageId', 'old-' || g, 'type', 'track', 'userId', 'user-' || (g % 5000),
                                  'timestamp', to_char(TIMESTAMP '2026-10-23 00:00:00' + (g * INTERVAL '1 millisecond') * (30 * 86400000.0 / ${rows}), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                  'properties', jsonb_build_object('page', '/p/' || (g % 1000))) AS p
        FROM generate_series(${start}, ${end}) AS g
      ) src;
      INSERT INTO ${s}.events (event_id, stream_name, event_type, user_id, event_time, received_at, source_region, shard_id, sequence_number, partition_key, payload, merged_at)
      SELECT payload->>'messageId', 'events', 'track', payload->>'userId', approximate_arrival_timestamp, approximate_arrival_timestamp, 'us-east-1',
             shard_id, sequence_number, partition_key, payload, approximate_arrival_timestamp
      FROM ${mv} WHERE sequence_number >= '${seq(start)}' AND sequence_number <= '${seq(end)}';
    `);
  }
  await db.exec(`ALTER TABLE ${mv} ENABLE TRIGGER USER`);
  await db.exec(`
    INSERT INTO ${s}.merge_state (stream_name, shard_id, last_sequence_number, last_arrival_timestamp, updated_at)
    SELECT 'events', shard_id, LPAD(MAX(sequence_number), 130, '0'), MAX(approximate_arrival_timestamp), now() AT TIME ZONE 'UTC'
    FROM ${mv} GROUP BY shard_id;
  `);
}

/** 10 000 new records: mostly new ids, 10 % duplicates of merged events, 1 % bad records. */
function newBatch(round: number, oldRows: number): MvRecord[] {
  const records: MvRecord[] = [];
  for (let i = 0; i < NEW_ROWS; i++) {
    const n = oldRows + round * NEW_ROWS + i + 1;
    const arrival = new Date(NOW + round * 60_000 + i);
    let body: string;
    if (i % 100 === 0) {
      body = 'not json';
    } else if (i % 10 === 0) {
      const dup = 1 + ((i * 7919) % oldRows);
      const dupTime = Date.parse('2026-10-23T00:00:00Z') + Math.floor((dup * 30 * DAY) / oldRows);
      body = JSON.stringify({ messageId: `old-${dup}`, type: 'track', userId: `user-${dup % 5000}`, timestamp: new Date(dupTime - (dupTime % 1000)).toISOString() });
    } else {
      body = JSON.stringify({ messageId: `new-${round}-${i}`, type: 'track', userId: `user-${i % 5000}`, timestamp: arrival.toISOString(), properties: { page: `/p/${i % 1000}` } });
    }
    records.push({ shardId: shardId(i), sequenceNumber: seq(n), partitionKey: `pk-${i % 97}`, approximateArrivalTimestamp: arrival, data: Buffer.from(body) });
  }
  return records;
}

async function measure(oldRows: number): Promise<{ ms: number[]; check: string }> {
  const db = new PGlite();
  await db.waitReady;
  const wh = await setupPostgresWarehouse(db, { region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-bench-events' }] });
  const t0 = performance.now();
  await preload(db, wh, oldRows);
  process.stdout.write(`  preloaded ${oldRows.toLocaleString('en-US')} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const ms: number[] = [];
  let last = { newRows: 0, inserted: 0, duplicates: 0, rejected: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    await wh.append('events', newBatch(round, oldRows));
    const start = performance.now();
    last = await wh.merge();
    ms.push(performance.now() - start);
  }
  const { rows } = await db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${wh.schema}.events`);
  await db.close();
  return { ms, check: `last run: ${last.newRows} new, ${last.inserted} inserted, ${last.duplicates} duplicates, ${last.rejected} rejected; events now ${rows[0]?.n.toLocaleString('en-US')}` };
}

/** The local demo's pattern: empty tables, then rounds of 5 000 appended rows and one merge each. */
async function measureDemoPattern(rounds: number): Promise<{ ms: number[]; check: string }> {
  const db = new PGlite();
  await db.waitReady;
  const wh = await setupPostgresWarehouse(db, { region: 'us-east-1', streams: [{ name: 'events', physicalName: 'redstream-bench-events' }] });
  const ms: number[] = [];
  const sent: string[] = [];
  let n = 0;
  for (let round = 0; round < rounds; round++) {
    const records: MvRecord[] = [];
    for (let i = 0; i < DEMO_ROWS; i++) {
      n++;
      const arrival = new Date(NOW + n);
      let body: string;
      if (i % 200 === 7) {
        body = `{"messageId":"bad-${n}","type":"track",`;
      } else if (i % 20 === 3 && sent.length > 0) {
        body = sent[sent.length - 1 - ((n * 31) % Math.min(sent.length, 100))];
      } else {
        body = JSON.stringify({ messageId: `msg-${n}`, type: 'track', userId: `user-${n % 500}`, timestamp: arrival.toISOString(), properties: { sequence: n, value: n % 1000 } });
        sent.push(body);
      }
      records.push({ shardId: shardId(0), sequenceNumber: seq(n), partitionKey: `user-${n % 500}`, approximateArrivalTimestamp: arrival, data: Buffer.from(body) });
    }
    // The demo's loader appends what each read returns.
    for (let start = 0; start < records.length; start += 500) await wh.append('events', records.slice(start, start + 500));
    const start = performance.now();
    await wh.merge();
    ms.push(performance.now() - start);
  }
  const { rows } = await db.query<{ n: number; m: number }>(
    `SELECT (SELECT COUNT(*)::int FROM ${wh.schema}.events) AS n, (SELECT COUNT(*)::int FROM ${wh.mvTable('events')}) AS m`,
  );
  await db.close();
  return { ms, check: `events now ${rows[0]?.n.toLocaleString('en-US')}, stand-in MV ${rows[0]?.m.toLocaleString('en-US')} rows` };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** The Redshift merge's read of one stream's MV, as deployed: the bound on the sort key, then the exact check. */
function redshiftBoundedRead(): string {
  const procedure = renderSql(
    { region: 'us-east-1', streamingRoleArn: 'arn:aws:iam::111111111111:role/streaming', streams: [{ name: 'events', physicalName: 'redstream-prod-events' }] },
    { dialect: 'redshift' },
  ).find((s) => s.id === '060_merge_procedure.sql')?.sql ?? '';
  const lines = procedure.split('\n');
  const bound = lines.findIndex((l) => l.includes('SELECT INTO v_refresh_from_0'));
  const read = lines.findIndex((l) => l.includes('FROM redstream.stream_events m'));
  if (bound < 0 || read < 0) throw new Error('the rendered Redshift merge has no bounded read of stream_events');
  return [...lines.slice(bound, bound + 4), '  ...', ...lines.slice(read, read + 7)].join('\n');
}

async function main(): Promise<void> {
  console.log('Redshift (as deployed): each run reads a stream\'s MV from a constant bound on its sort key (refresh_time):');
  console.log(redshiftBoundedRead());
  console.log('');
  if (process.env.BENCH_ONLY_REDSHIFT_FILTER === '1') return;
  console.log(`merge benchmark: ${NEW_ROWS.toLocaleString('en-US')} new rows per merge, ${ROUNDS} rounds, median reported (PGlite, Node ${process.version})`);
  console.log(`events table of ${SMALL_ROWS.toLocaleString('en-US')} rows (baseline):`);
  const small = await measure(SMALL_ROWS);
  console.log(`  merges: ${small.ms.map((m) => m.toFixed(0)).join(', ')} ms — ${small.check}`);
  console.log(`events table of ${BIG_ROWS.toLocaleString('en-US')} rows:`);
  const big = await measure(BIG_ROWS);
  console.log(`  merges: ${big.ms.map((m) => m.toFixed(0)).join(', ')} ms — ${big.check}`);
  const a = median(small.ms);
  const b = median(big.ms);
  console.log('');
  console.log(`merge 10k into ${SMALL_ROWS.toLocaleString('en-US')}: ${a.toFixed(0)} ms`);
  console.log(`merge 10k into ${BIG_ROWS.toLocaleString('en-US')}: ${b.toFixed(0)} ms`);
  console.log(`ratio (big / small): ${(b / a).toFixed(2)}  (incremental ≈ 1; a full-table merge would be ≈ ${(BIG_ROWS / SMALL_ROWS).toFixed(0)})`);
  if (DEMO_ROUNDS > 0) {
    console.log('');
    console.log(`demo pattern: ${DEMO_ROUNDS} rounds of ${DEMO_ROWS.toLocaleString('en-US')} appended rows, one merge each, from empty tables:`);
    const demo = await measureDemoPattern(DEMO_ROUNDS);
    console.log(`  merges: ${demo.ms.map((m) => m.toFixed(0)).join(', ')} ms — ${demo.check}`);
    const k = Math.max(1, Math.min(3, Math.floor(demo.ms.length / 2)));
    const first = median(demo.ms.slice(0, k));
    const last = median(demo.ms.slice(-k));
    console.log(`ratio (last ${k} / first ${k} rounds, medians): ${(last / first).toFixed(2)}  (incremental ≈ 1; growing with the tables ≫ 1)`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
