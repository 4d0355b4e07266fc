import { backoffDelayMs, classifyCallError, Deadline, seededRandom } from '../../../lambda/replicator/retry';

function awsError(name: string, status?: number): Error {
  return Object.assign(new Error(name), { name, $metadata: status === undefined ? {} : { httpStatusCode: status } });
}

describe('classifyCallError', () => {
  test.each([
    { err: awsError('ProvisionedThroughputExceededException', 400), retryable: true },
    { err: awsError('InternalFailure', 500), retryable: true },
    { err: awsError('ServiceUnavailable', 503), retryable: true },
    { err: awsError('SomethingNew', 502), retryable: true },
    { err: awsError('KMSThrottlingException', 400), retryable: true },
    { err: awsError('LimitExceededException', 400), retryable: true },
    { err: awsError('TimeoutError'), retryable: true },
    { err: awsError('AbortError'), retryable: true },
    { err: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), retryable: true },
    { err: awsError('ResourceNotFoundException', 400), retryable: false },
    { err: awsError('AccessDeniedException', 400), retryable: false },
    { err: awsError('KMSDisabledException', 400), retryable: false },
    { err: awsError('ValidationException', 400), retryable: false },
    { err: new TypeError('x is undefined'), retryable: false },
    { err: 'a string', retryable: false },
  ])('$err.name → retryable: $retryable', ({ err, retryable }) => {
    expect(classifyCallError(err).retryable).toBe(retryable);
  });

  test('the reason names the error and the HTTP status', () => {
    expect(classifyCallError(awsError('ServiceUnavailable', 503)).reason).toBe('ServiceUnavailable (HTTP 503)');
    expect(classifyCallError(awsError('TimeoutError')).reason).toBe('TimeoutError');
  });
});

describe('backoffDelayMs (full jitter)', () => {
  const opts = { baseDelayMs: 100, maxDelayMs: 1_000 };
  test.each([
    { attempt: 0, cap: 0 },
    { attempt: 1, cap: 100 },
    { attempt: 2, cap: 200 },
    { attempt: 4, cap: 800 },
    { attempt: 5, cap: 1_000 },
    { attempt: 60, cap: 1_000 },
  ])('attempt $attempt stays in [0, $cap)', ({ attempt, cap }) => {
    expect(backoffDelayMs(attempt, opts, () => 0)).toBe(0);
    expect(backoffDelayMs(attempt, opts, () => 0.999999)).toBe(Math.max(0, cap - 1));
    const rnd = seededRandom(attempt);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelayMs(attempt, opts, rnd);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(Math.max(0, cap - 1));
    }
  });

  test('the seeded generator is reproducible and uniform enough', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});

describe('Deadline', () => {
  test('is Lambda’s deadline minus the safety margin', () => {
    const d = Deadline.fromRemaining(1_000, 60_000, 5_000);
    expect(d.atMs).toBe(56_000);
    expect(d.remainingMs(50_000)).toBe(6_000);
    expect(d.allows(50_000, 5_999)).toBe(true);
    expect(d.allows(50_000, 6_000)).toBe(false);
  });
});
