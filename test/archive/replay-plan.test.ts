import { ArchiveRecord } from '../../lambda/archive/format';
import { advanceProgress, isWritten, newProgress, nextCall, Pacer, replayOrder, writeBudget } from '../../lambda/archive/replay-plan';
import { hourPrefixesForWindow } from '../../lambda/archive/layout';

const rec = (shardId: string, seq: number, key: string, arrival: number, region = 'us-east-1', bytes = 10): ArchiveRecord => ({
  stream: 's',
  region,
  shardId,
  sequenceNumber: String(1000n * 10n ** 40n + BigInt(seq)),
  subsequenceNumber: 0,
  partitionKey: key,
  approximateArrivalTimestampMs: arrival,
  data: Buffer.alloc(bytes, 0x61).toString('base64'),
});
const REQ = { environment: 'dev', stream: 's', fromMs: 0, toMs: 100, source: 'archive' as const, sourceRegion: 'us-east-1', targetRegion: 'us-east-1' };

describe('replay order', () => {
  test('each shard in sequence order (as BigInt), shards merged by arrival time, exact repeats removed', () => {
    const a1 = rec('shardId-a', 9, 'k1', 5);
    const a2 = rec('shardId-a', 10, 'k1', 5); // "10" < "9" as strings
    const b1 = rec('shardId-b', 1, 'k2', 3);
    const b2 = rec('shardId-b', 2, 'k2', 7);
    expect(replayOrder([a2, b2, a1, b1, a1]).map((r) => `${r.shardId}/${r.sequenceNumber.slice(-2)}`)).toEqual(['shardId-b/01', 'shardId-a/09', 'shardId-a/10', 'shardId-b/02']);
  });

  test('a shard whose arrival times go backwards keeps its sequence order', () => {
    const out = replayOrder([rec('x', 2, 'k', 1), rec('x', 1, 'k', 9), rec('y', 1, 'j', 5)]);
    expect(out.map((r) => `${r.shardId}${r.sequenceNumber.slice(-1)}`)).toEqual(['y1', 'x1', 'x2']);
  });
});

describe('calls', () => {
  test.each([
    ['distinct keys fill a call', ['a', 'b', 'c'], {}, [0, 1, 2]],
    ['one record per key, the earliest', ['a', 'a', 'b', 'a', 'c'], {}, [0, 2, 4]],
    ['entry limit', ['a', 'b', 'c'], { maxEntries: 2 }, [0, 1]],
  ] as const)('%s', (_name, keys, options, expected) => {
    const pending = keys.map((k, i) => rec('s1', i, k, i));
    expect(nextCall(pending, options)).toEqual(expected);
  });

  test('byte limit: a record that does not fit blocks its key but not others', () => {
    const pending = [rec('s', 1, 'a', 1, 'r', 60), rec('s', 2, 'b', 2, 'r', 60), rec('s', 3, 'b', 3, 'r', 1), rec('s', 4, 'c', 4, 'r', 10)];
    expect(nextCall(pending, { maxBytes: 100 })).toEqual([0, 3]);
  });
});

describe('write budget and pacing', () => {
  test('per-shard limits times open shards times the share', () => {
    expect(writeBudget(4, 0.5)).toEqual({ openShards: 4, share: 0.5, recordsPerSecond: 2000, bytesPerSecond: 2 * 1024 * 1024 });
    expect(() => writeBudget(0, 0.5)).toThrow(/openShards/);
    expect(() => writeBudget(1, 1.5)).toThrow(/share/);
  });

  test('the pacer holds the record rate to the budget after a one-second burst', () => {
    const pacer = new Pacer(writeBudget(1, 0.5)); // 500 records/s
    let now = 0;
    let slept = 0;
    for (let i = 0; i < 50; i++) {
      const wait = pacer.take(now, 100, 1000);
      slept += wait;
      now += wait;
    }
    // 5000 records at 500/s with 500 of burst: at least 9 s.
    expect(now).toBeGreaterThanOrEqual(9000);
    expect(now).toBeLessThan(9100);
    expect(slept).toBe(now);
  });

  test('at share 1 there is no burst: any one second stays within the stream limit', () => {
    const pacer = new Pacer(writeBudget(1, 1)); // 1000 records/s
    let now = 0;
    const sentAt: number[] = [];
    for (let i = 0; i < 30; i++) {
      now += pacer.take(now, 100, 100);
      sentAt.push(now);
    }
    // 100 records per call: at most 10 calls start within any 1 000 ms.
    for (let i = 0; i + 10 < sentAt.length; i++) expect(sentAt[i + 10] - sentAt[i]).toBeGreaterThanOrEqual(1000);
  });

  test('the byte rate binds for large records', () => {
    const pacer = new Pacer(writeBudget(2, 1)); // 2 MiB/s
    let now = 0;
    for (let i = 0; i < 20; i++) now += pacer.take(now, 1, 1024 * 1024);
    expect(now).toBeGreaterThanOrEqual(9000); // 20 MiB at 2 MiB/s, 2 MiB of burst
  });
});

describe('progress record', () => {
  test('a shard advances over its leading written records; later ones wait in `ahead`; isWritten sees both', () => {
    const window = [rec('a', 1, 'k1', 1), rec('a', 2, 'k2', 2), rec('b', 1, 'k3', 3), rec('a', 3, 'k1', 4)];
    let p = newProgress(REQ, 0);
    p = advanceProgress(p, window, [window[1], window[2]], 1);
    expect(p.through).toEqual({ 'us-east-1/b': `${window[2].sequenceNumber}/0` });
    expect(p.ahead).toEqual([expect.stringContaining('/a/')]);
    expect(window.map((r) => isWritten(p, r))).toEqual([false, true, true, false]);
    p = advanceProgress(p, window, [window[0]], 2);
    expect(p.through['us-east-1/a']).toBe(`${window[1].sequenceNumber}/0`);
    expect(p.ahead).toEqual([]);
    expect(p.written).toBe(3);
    expect(window.map((r) => isWritten(p, r))).toEqual([true, true, true, false]);
  });
});

describe('archive layout', () => {
  test('a window lists one hour before it through the lag after it', () => {
    const from = Date.UTC(2026, 11, 2, 7, 30);
    const to = Date.UTC(2026, 11, 2, 8, 10);
    expect(hourPrefixesForWindow('events', from, to, 1)).toEqual(['events/2026/12/02/06/', 'events/2026/12/02/07/', 'events/2026/12/02/08/', 'events/2026/12/02/09/']);
    expect(hourPrefixesForWindow('events', Date.UTC(2026, 11, 31, 23, 59), Date.UTC(2027, 0, 1, 0, 1), 0)).toEqual(['events/2026/12/31/22/', 'events/2026/12/31/23/', 'events/2027/01/01/00/']);
  });
});
