import {
  PUT_RECORDS_MAX_ENTRIES,
  strictCallFloor,
  TargetPlan,
  type EntryResult,
  type OrderingMode,
  type PlannableRecord,
} from '../../../lambda/replicator/planner';
import { seededRandom } from '../../../lambda/replicator/retry';

/** Records with the given keys, in order; `bytes` each. */
function records(keys: readonly string[], bytes = 100): PlannableRecord[] {
  return keys.map((partitionKey) => ({ partitionKey, requestBytes: bytes }));
}

/** `n` records spread round-robin over `k` keys. */
function roundRobin(n: number, k: number): string[] {
  return Array.from({ length: n }, (_, i) => `key-${i % k}`);
}

/** How the simulated target answers one call: per-entry results, or a whole-call failure. */
type Answer = EntryResult[] | { callFails: true; retryable: boolean };
type Policy = (call: readonly number[], callNumber: number) => Answer;

const ok: EntryResult = { ok: true };
const pte: EntryResult = { ok: false, errorCode: 'ProvisionedThroughputExceededException', errorMessage: 'Rate exceeded' };
const internal: EntryResult = { ok: false, errorCode: 'InternalFailure' };

/**
 * Drives a plan against a simulated target that appends successful entries in request order, as Kinesis does.
 * Checks the API limits and the one-entry-per-key rule on every call.
 */
function simulate(recs: readonly PlannableRecord[], ordering: OrderingMode, policy: Policy, opts: { maxEntries?: number; maxRequestBytes?: number; maxAttempts?: number } = {}) {
  const plan = new TargetPlan(recs, { ordering, ...opts });
  const written: number[] = [];
  const calls: number[][] = [];
  for (let guard = 0; guard < 100_000; guard++) {
    const call = plan.nextCall();
    if (call.length === 0) break;
    calls.push(call);
    expect(call.length).toBeLessThanOrEqual(plan.maxEntries);
    expect(call.reduce((b, i) => b + recs[i].requestBytes, 0)).toBeLessThanOrEqual(plan.maxRequestBytes);
    if (ordering === 'strict') expect(new Set(call.map((i) => recs[i].partitionKey)).size).toBe(call.length);
    const answer = policy(call, calls.length);
    if ('callFails' in answer) {
      plan.recordCallFailure(call, answer.retryable, 'InternalFailure (HTTP 500)');
    } else {
      call.forEach((i, j) => answer[j].ok && written.push(i));
      plan.recordResults(call, answer);
    }
  }
  return { plan, written, calls };
}

/** Per key, the indexes the target holds, in target order, must be increasing. Returns the count of violations. */
function reorderings(recs: readonly PlannableRecord[], written: readonly number[]): number {
  const last = new Map<string, number>();
  let bad = 0;
  for (const i of written) {
    const k = recs[i].partitionKey;
    if ((last.get(k) ?? -1) >= i) bad++;
    last.set(k, i);
  }
  return bad;
}

describe('strictCallFloor', () => {
  test.each([
    { name: 'empty', keys: [], floor: 0 },
    { name: 'one record', keys: ['a'], floor: 1 },
    { name: '1200 distinct keys', keys: Array.from({ length: 1200 }, (_, i) => `k${i}`), floor: 3 },
    { name: 'one key seven times', keys: Array(7).fill('a'), floor: 7 },
    { name: '10 000 over 200 keys', keys: roundRobin(10_000, 200), floor: 50 },
    { name: '10 000 over 10 000 keys', keys: roundRobin(10_000, 10_000), floor: 20 },
  ])('$name → $floor', ({ keys, floor }) => {
    expect(strictCallFloor(keys)).toBe(floor);
  });
});

describe('TargetPlan without failures', () => {
  test.each([
    { name: 'distinct keys', keys: roundRobin(1200, 1200) },
    { name: 'one hot key among many', keys: [...Array(30).fill('hot'), ...roundRobin(1000, 1000)] },
    { name: '10 000 over 200 keys', keys: roundRobin(10_000, 200) },
    { name: 'skewed: key i has i records', keys: Array.from({ length: 40 }, (_, i) => Array(i + 1).fill(`k${i}`)).flat() },
    { name: 'single key', keys: Array(25).fill('only') },
  ])('strict: $name costs exactly the floor and keeps order', ({ keys }) => {
    const recs = records(keys);
    const { plan, written, calls } = simulate(recs, 'strict', (call) => call.map(() => ok));
    expect(plan.complete).toBe(true);
    expect(calls).toHaveLength(strictCallFloor(keys));
    expect(written.slice().sort((a, b) => a - b)).toEqual(recs.map((_, i) => i));
    expect(reorderings(recs, written)).toBe(0);
  });

  test.each([
    { n: 1, calls: 1 },
    { n: 500, calls: 1 },
    { n: 501, calls: 2 },
    { n: 10_000, calls: 20 },
  ])('relaxed: $n records of one key cost ⌈N/500⌉ = $calls calls', ({ n, calls }) => {
    const recs = records(Array(n).fill('same'));
    const run = simulate(recs, 'relaxed', (call) => call.map(() => ok));
    expect(run.calls).toHaveLength(calls);
    expect(run.written).toEqual(recs.map((_, i) => i)); // relaxed packs in source order
  });

  test.each([
    { ordering: 'strict' as const, maxEntries: 7, keys: roundRobin(100, 100), calls: 15 },
    { ordering: 'relaxed' as const, maxEntries: 7, keys: roundRobin(100, 3), calls: 15 },
  ])('$ordering respects a smaller maxEntries ($maxEntries)', ({ ordering, maxEntries, keys, calls }) => {
    expect(simulate(records(keys), ordering, (call) => call.map(() => ok), { maxEntries }).calls).toHaveLength(calls);
  });

  test.each(['strict', 'relaxed'] as const)('%s packs by bytes: 300 KB records, 1 MB requests → 3 per call', (ordering) => {
    const recs = records(roundRobin(10, 10), 300_000);
    const { calls, plan } = simulate(recs, ordering, (call) => call.map(() => ok), { maxRequestBytes: 1_000_000 });
    expect(plan.complete).toBe(true);
    expect(calls.map((c) => c.length)).toEqual([3, 3, 3, 1]);
  });

  test('a record larger than the request limit fails for good instead of being sent', () => {
    const recs = [{ partitionKey: 'a', requestBytes: 2_000 }, { partitionKey: 'b', requestBytes: 10 }];
    const { plan, written } = simulate(recs, 'strict', (call) => call.map(() => ok), { maxRequestBytes: 1_000 });
    expect(written).toEqual([1]);
    expect(plan.state(0)).toBe('failed');
    expect(plan.permanentFailures[0].reason).toMatch(/exceeds the request limit of 1000 bytes/);
  });
});

describe('TargetPlan under failures (strict order must survive every pattern)', () => {
  const keys = [...roundRobin(300, 40), ...Array(12).fill('key-hot')];
  const failOnce = () => {
    const failed = new Set<number>();
    return (pick: (call: readonly number[], j: number) => boolean): Policy =>
      (call) =>
        call.map((i, j) => {
          if (pick(call, j) && !failed.has(i)) {
            failed.add(i);
            return j % 2 ? pte : internal;
          }
          return ok;
        });
  };
  const patterns: Array<{ name: string; policy: () => Policy }> = [
    { name: 'first entry of every call fails once', policy: () => failOnce()((_, j) => j === 0) },
    { name: 'last entry of every call fails once', policy: () => failOnce()((call, j) => j === call.length - 1) },
    { name: 'every other entry fails once', policy: () => failOnce()((_, j) => j % 2 === 1) },
    { name: 'every entry fails once', policy: () => failOnce()(() => true) },
    {
      name: 'the hot key fails three times per record',
      policy: () => {
        const attempts = new Map<number, number>();
        return (call) =>
          call.map((i) => {
            if (keys[i] !== 'key-hot') return ok;
            const a = (attempts.get(i) ?? 0) + 1;
            attempts.set(i, a);
            return a <= 3 ? pte : ok;
          });
      },
    },
    { name: 'every third call fails as a whole', policy: () => (call, n) => (n % 3 === 0 ? { callFails: true, retryable: true } : call.map(() => ok)) },
    ...[1, 2, 3, 4, 5].map((seed) => ({
      name: `seeded random entry and call failures (seed ${seed})`,
      policy: (): Policy => {
        const rnd = seededRandom(seed);
        return (call) => (rnd() < 0.1 ? { callFails: true, retryable: true } : call.map(() => (rnd() < 0.3 ? (rnd() < 0.5 ? pte : internal) : ok)));
      },
    })),
  ];

  test.each(patterns)('$name: everything lands once, in per-key order', ({ policy }) => {
    const recs = records(keys);
    const { plan, written } = simulate(recs, 'strict', policy(), { maxEntries: 50, maxAttempts: 100 });
    expect(plan.complete).toBe(true);
    expect(written.slice().sort((a, b) => a - b)).toEqual(recs.map((_, i) => i));
    expect(reorderings(recs, written)).toBe(0);
    expect(plan.retriedEntries).toBeGreaterThan(0);
  });

  test('the naive scheme (all records in one call, retry the failed ones) reorders: the check above can fail', () => {
    // One call carries two records of key a; the first fails and is retried after the second landed.
    const written = [1, 0];
    expect(reorderings(records(['a', 'a']), written)).toBe(1);
  });

  test('a non-retryable entry error blocks its key; other keys complete', () => {
    const recs = records(['a', 'b', 'a', 'c', 'a', 'b']);
    const { plan, written } = simulate(recs, 'strict', (call) =>
      call.map((i) => (i === 2 ? { ok: false, errorCode: 'KMSAccessDeniedException', errorMessage: 'denied' } : ok)),
    );
    expect(written.sort()).toEqual([0, 1, 3, 5]);
    expect(plan.state(2)).toBe('failed');
    expect(plan.state(4)).toBe('unsent'); // after the failed record of key a: never sent
    expect(plan.complete).toBe(false);
    expect(plan.permanentFailures).toEqual([{ index: 2, reason: 'KMSAccessDeniedException: denied' }]);
  });

  test('retries are exhausted after maxAttempts sends', () => {
    const recs = records(['a', 'a', 'b']);
    const sends = new Map<number, number>();
    const { plan } = simulate(
      recs,
      'strict',
      (call) =>
        call.map((i) => {
          sends.set(i, (sends.get(i) ?? 0) + 1);
          return i === 0 ? pte : ok;
        }),
      { maxAttempts: 3 },
    );
    expect(sends.get(0)).toBe(3);
    expect(sends.get(1)).toBeUndefined();
    expect(plan.permanentFailures[0].reason).toMatch(/retries exhausted after 3 attempts \(last: ProvisionedThroughputExceededException\)/);
  });

  test('a non-retryable whole-call failure fails every entry of the call', () => {
    const plan = new TargetPlan(records(['a', 'b']), { ordering: 'strict' });
    const call = plan.nextCall();
    expect(plan.recordCallFailure(call, false, 'AccessDeniedException (HTTP 400)')).toEqual({ confirmed: 0, retried: 0, failed: 2 });
    expect(plan.nextCall()).toEqual([]);
  });

  test('relaxed mode delivers everything under failures (order not promised)', () => {
    const recs = records(roundRobin(1000, 3));
    const rnd = seededRandom(9);
    const { plan, written } = simulate(recs, 'relaxed', (call) => call.map(() => (rnd() < 0.2 ? pte : ok)), { maxAttempts: 50 });
    expect(plan.complete).toBe(true);
    expect(written.slice().sort((a, b) => a - b)).toEqual(recs.map((_, i) => i));
  });
});

describe('TargetPlan contract checks', () => {
  test.each([
    { opts: { maxEntries: 0 }, message: 'maxEntries must be an integer between 1 and 500 (got 0)' },
    { opts: { maxEntries: 501 }, message: 'maxEntries must be an integer between 1 and 500 (got 501)' },
    { opts: { maxRequestBytes: 0 }, message: 'maxRequestBytes must be a positive integer (got 0)' },
    { opts: { maxAttempts: 0 }, message: 'maxAttempts must be a positive integer (got 0)' },
  ])('rejects $opts', ({ opts, message }) => {
    expect(() => new TargetPlan([], { ordering: 'strict', ...opts })).toThrow(message);
  });

  test('results must match the call', () => {
    const plan = new TargetPlan(records(['a', 'b']), { ordering: 'strict' });
    const call = plan.nextCall();
    expect(() => plan.nextCall()).toThrow('before the results of the previous call were recorded');
    expect(() => plan.recordResults(call, [ok])).toThrow('PutRecords returned 1 results for 2 entries');
    expect(() => plan.recordResults([1], [ok])).toThrow('did not return');
    plan.cancel(call);
    expect(plan.nextCall()).toEqual(call);
  });

  test('PUT_RECORDS_MAX_ENTRIES is the API limit', () => {
    expect(PUT_RECORDS_MAX_ENTRIES).toBe(500);
  });
});
