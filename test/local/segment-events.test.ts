import { classifyRecord } from '../../local/record-classifier';
import { GeneratedRecord, MALFORMED_KINDS, malformedRecord, planKinds, seededRandom, segmentEvents } from '../../local/segment-events';

const clock = (): number => Date.UTC(2026, 10, 22, 1, 0, 0);

describe('planKinds', () => {
  test.each([
    [1000, 0.1, 0.05, 850, 100, 50],
    [10, 0, 0, 10, 0, 0],
    [10, 0.5, 0.5, 1, 4, 5],
    [7, 0, 1, 0, 0, 7],
  ])('%i records, %f re-sends, %f malformed', (count, duplicateFraction, malformedFraction, events, resends, malformed) => {
    const kinds = planKinds({ count, duplicateFraction, malformedFraction, seed: 3 });
    expect(kinds).toHaveLength(count);
    expect(kinds.filter((k) => k === 'event')).toHaveLength(events);
    expect(kinds.filter((k) => k === 'resend')).toHaveLength(resends);
    expect(kinds.filter((k) => k === 'malformed')).toHaveLength(malformed);
    const firstEvent = kinds.indexOf('event');
    const firstResend = kinds.indexOf('resend');
    if (firstResend >= 0) expect(firstEvent).toBeLessThan(firstResend);
  });

  test('is deterministic for a seed', () => {
    const a = planKinds({ count: 100, duplicateFraction: 0.2, malformedFraction: 0.2, seed: 9 });
    expect(planKinds({ count: 100, duplicateFraction: 0.2, malformedFraction: 0.2, seed: 9 })).toEqual(a);
    expect(planKinds({ count: 100, duplicateFraction: 0.2, malformedFraction: 0.2, seed: 10 })).not.toEqual(a);
  });
});

describe('segmentEvents', () => {
  const records: GeneratedRecord[] = [...segmentEvents({ count: 600, duplicateFraction: 0.1, malformedFraction: 0.1, clock, seed: 5 })];

  test('valid events are Segment-shaped and classify as events with their messageId', () => {
    const events = records.filter((r) => r.origin.kind === 'event');
    expect(events.length).toBeGreaterThan(400);
    for (const r of events) {
      const body = JSON.parse(Buffer.from(r.data).toString('utf8')) as Record<string, unknown>;
      expect(body).toEqual(
        expect.objectContaining({ messageId: expect.any(String), type: expect.any(String), userId: r.partitionKey, timestamp: '2026-11-22T01:00:00.000Z', properties: expect.any(Object) }),
      );
      expect(classifyRecord(r.data)).toEqual({ kind: 'event', id: (r.origin as { messageId: string }).messageId });
    }
    expect(new Set(events.map((r) => (r.origin as { messageId: string }).messageId)).size).toBe(events.length);
  });

  test('re-sends repeat an earlier event byte for byte', () => {
    const seen = new Map<string, string>();
    for (const r of records) {
      const b64 = Buffer.from(r.data).toString('base64');
      if (r.origin.kind === 'event') seen.set(r.origin.messageId, b64);
      if (r.origin.kind === 'resend') expect(seen.get(r.origin.messageId)).toBe(b64);
    }
    expect(records.filter((r) => r.origin.kind === 'resend')).toHaveLength(60);
  });

  test('malformed records cover every kind, are unique, and classify with their reason', () => {
    const malformed = records.filter((r) => r.origin.kind === 'malformed');
    expect(malformed).toHaveLength(60);
    expect(new Set(malformed.map((r) => (r.origin as { reason: string }).reason))).toEqual(new Set(MALFORMED_KINDS));
    expect(new Set(malformed.map((r) => Buffer.from(r.data).toString('base64'))).size).toBe(60);
    for (const r of malformed) expect(classifyRecord(r.data)).toEqual({ kind: 'reject', reason: (r.origin as { reason: string }).reason });
  });

  test.each(MALFORMED_KINDS.map((k) => [k]))('malformedRecord(%s) classifies as that reason', (reason) => {
    expect(classifyRecord(malformedRecord(reason, 'tag').data)).toEqual({ kind: 'reject', reason });
  });
});

test('seededRandom is deterministic and in [0, 1)', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const xs = Array.from({ length: 1000 }, () => a());
  expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
  expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...xs)).toBeLessThan(1);
});
