/**
 * Retry classification, backoff and the invocation deadline. Pure: randomness and time are passed in.
 */

/** Error names of whole-call failures that a later attempt can fix. */
const RETRYABLE_CALL_ERRORS: ReadonlySet<string> = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'Throttling',
  'KMSThrottlingException',
  'InternalFailure',
  'InternalFailureException',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'AbortError',
]);

/** Node network error codes that a later attempt can fix. */
const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

export interface CallErrorClass {
  readonly retryable: boolean;
  /** `<name>` or `<name> (HTTP <status>)`, for logs and failure reasons. */
  readonly reason: string;
}

/**
 * Classifies an error thrown by a whole PutRecords call. Retryable: throttling, 5xx, timeouts (including our own
 * per-call abort) and network errors. Everything else (access denied, missing stream, KMS key disabled, validation)
 * is permanent for this invocation.
 */
export function classifyCallError(err: unknown): CallErrorClass {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    $retryable?: unknown;
  };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const reason = status === undefined ? name : `${name} (HTTP ${status})`;
  const retryable =
    RETRYABLE_CALL_ERRORS.has(name) ||
    (typeof e.code === 'string' && RETRYABLE_NETWORK_CODES.has(e.code)) ||
    (status !== undefined && (status >= 500 || status === 429)) ||
    (typeof e.$retryable === 'object' && e.$retryable !== null);
  return { retryable, reason };
}

export interface BackoffOptions {
  /** Delay cap of the first retry, in milliseconds. */
  readonly baseDelayMs: number;
  /** Largest delay cap, in milliseconds. */
  readonly maxDelayMs: number;
}

/**
 * Exponential backoff with full jitter: a uniform delay in [0, min(maxDelayMs, baseDelayMs · 2^(attempt−1))).
 * @param attempt 1 for the first retry.
 * @param random a uniform number in [0, 1).
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: () => number): number {
  if (attempt < 1) return 0;
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * cap);
}

/**
 * When the invocation must stop working: Lambda's deadline minus a margin for the checkpoint write and the reply.
 */
export class Deadline {
  constructor(readonly atMs: number) {}

  /** From `context.getRemainingTimeInMillis()` read at `nowMs`. */
  static fromRemaining(nowMs: number, remainingMs: number, safetyMarginMs: number): Deadline {
    return new Deadline(nowMs + remainingMs - safetyMarginMs);
  }

  remainingMs(nowMs: number): number {
    return this.atMs - nowMs;
  }

  /** Whether something that takes `durationMs` and starts at `nowMs` ends before the deadline. */
  allows(nowMs: number, durationMs: number): boolean {
    return nowMs + durationMs < this.atMs;
  }
}

export { seededRandom } from '../shared/seeded-random';
