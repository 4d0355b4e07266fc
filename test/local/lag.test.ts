import { matchReplicationLag, percentile, TimedRecord } from '../../local/lag';

const r = (partitionKey: string, dataKey: string, arrivalMs: number): TimedRecord => ({ partitionKey, dataKey, arrivalMs });

describe('matchReplicationLag', () => {
  test('matches each record with its copy, occurrence by occurrence', () => {
    const source = [r('a', 'x', 100), r('b', 'y', 110), r('a', 'x', 120)];
    const target = [r('a', 'x', 150), r('b', 'y', 160), r('a', 'x', 200)];
    expect(matchReplicationLag(source, target, { fromMs: 0, toMs: Infinity, targetActiveFromMs: Infinity })).toEqual([50, 50, 80]);
  });

  test('ignores source records outside the window and target records written after the target became active', () => {
    const source = [r('a', 'x', 50), r('a', 'y', 100), r('a', 'z', 300)];
    const target = [r('a', 'y', 120), r('a', 'z', 320), r('a', 'y', 500)];
    expect(matchReplicationLag(source, target, { fromMs: 100, toMs: 300, targetActiveFromMs: 400 })).toEqual([20]);
  });

  test('leaves out records without a copy', () => {
    expect(matchReplicationLag([r('a', 'x', 1), r('a', 'q', 2)], [r('a', 'x', 5)], { fromMs: 0, toMs: 10, targetActiveFromMs: 10 })).toEqual([4]);
  });
});

describe('percentile', () => {
  test.each([
    [[], 50, undefined],
    [[7], 99, 7],
    [[5, 1, 4, 2, 3], 50, 3],
    [Array.from({ length: 100 }, (_, i) => i + 1), 99, 99],
    [Array.from({ length: 100 }, (_, i) => 100 - i), 50, 50],
  ])('%j p%i = %p', (samples, p, expected) => {
    expect(percentile(samples, p)).toBe(expected);
  });
});
