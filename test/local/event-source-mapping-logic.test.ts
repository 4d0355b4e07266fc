import {
  batchInfo,
  batchLength,
  interpretInvocation,
  InvocationResult,
  isBatchReady,
  nextStep,
  RecordSource,
  retryDelayMs,
  ShardRecord,
  toLambdaRecord,
} from '../../local/event-source-mapping-logic';

const source: RecordSource = {
  region: 'us-west-2',
  eventSourceArn: 'arn:aws:kinesis:us-west-2:000000000000:stream/s',
  shardId: 'shardId-000000000001',
  invokeIdentityArn: 'arn:aws:iam::000000000000:role/r',
};

const rec = (seq: string, data = 'x', at = 1_700_000_000_123): ShardRecord => ({
  sequenceNumber: seq,
  partitionKey: `pk-${seq}`,
  data: Buffer.from(data),
  approximateArrivalTimestampMs: at,
});

describe('toLambdaRecord', () => {
  test('has the fields and units Lambda delivers', () => {
    const r = toLambdaRecord(rec('49590338271490256608559692538361571095921575989136588898', '{"a":1}'), source);
    expect(r).toEqual({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'pk-49590338271490256608559692538361571095921575989136588898',
        sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
        data: Buffer.from('{"a":1}').toString('base64'),
        approximateArrivalTimestamp: 1_700_000_000.123,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: 'shardId-000000000001:49590338271490256608559692538361571095921575989136588898',
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: source.invokeIdentityArn,
      awsRegion: 'us-west-2',
      eventSourceARN: source.eventSourceArn,
    });
  });

  test('keeps bytes that are not UTF-8', () => {
    const bytes = Uint8Array.from([0xff, 0xfe, 0x00, 0x41]);
    const r = toLambdaRecord({ ...rec('1'), data: bytes }, source);
    expect([...Buffer.from(r.kinesis.data, 'base64')]).toEqual([0xff, 0xfe, 0x00, 0x41]);
  });
});

describe('batchLength', () => {
  test.each([
    ['empty', 0, 10, 0],
    ['fewer than the batch size', 3, 10, 3],
    ['more than the batch size', 25, 10, 10],
  ])('%s', (_name, pendingCount, batchSize, expected) => {
    const pending = Array.from({ length: pendingCount }, (_, i) => rec(String(i + 1)));
    expect(batchLength(pending, batchSize, source)).toBe(expected);
  });

  test('stops under the payload limit but always takes one record', () => {
    const big = 'y'.repeat(1000);
    const pending = Array.from({ length: 10 }, (_, i) => rec(String(i + 1), big));
    expect(batchLength(pending, 10, source, 3000)).toBe(1);
    expect(batchLength(pending, 10, source, 1)).toBe(1);
  });
});

describe('isBatchReady', () => {
  const base = { pendingCount: 5, batchSize: 10, fullByPayload: false, firstPendingReadAtMs: 1000, nowMs: 1000, maxBatchingWindowMs: 500 };
  test.each([
    ['nothing pending', { pendingCount: 0, firstPendingReadAtMs: undefined }, false],
    ['window open', {}, false],
    ['window elapsed', { nowMs: 1500 }, true],
    ['full batch', { pendingCount: 10 }, true],
    ['full by payload', { fullByPayload: true }, true],
    ['no window', { maxBatchingWindowMs: 0 }, true],
  ])('%s', (_name, overrides, expected) => {
    expect(isBatchReady({ ...base, ...overrides })).toBe(expected);
  });
});

describe('interpretInvocation', () => {
  const seqs = ['100', '200', '1000', '3000'];
  const ok = (response: unknown): InvocationResult => ({ kind: 'returned', response });
  test.each<[string, InvocationResult, boolean, ReturnType<typeof interpretInvocation>['kind'], number | undefined]>([
    ['thrown error', { kind: 'error', errorType: 'Error', message: 'boom' }, true, 'failure', undefined],
    ['thrown error without partial responses', { kind: 'error', errorType: 'Error', message: 'boom' }, false, 'failure', undefined],
    ['null response', ok(null), true, 'success', undefined],
    ['empty response', ok({}), true, 'success', undefined],
    ['null list', ok({ batchItemFailures: null }), true, 'success', undefined],
    ['empty list', ok({ batchItemFailures: [] }), true, 'success', undefined],
    ['failures ignored when the feature is off', ok({ batchItemFailures: [{ itemIdentifier: '200' }] }), false, 'success', undefined],
    ['one failure', ok({ batchItemFailures: [{ itemIdentifier: '1000' }] }), true, 'partial', 2],
    ['lowest of several, compared as integers', ok({ batchItemFailures: [{ itemIdentifier: '3000' }, { itemIdentifier: '200' }] }), true, 'partial', 1],
    ['first record failed', ok({ batchItemFailures: [{ itemIdentifier: '100' }] }), true, 'failure', undefined],
    ['empty itemIdentifier', ok({ batchItemFailures: [{ itemIdentifier: '' }] }), true, 'failure', undefined],
    ['null itemIdentifier', ok({ batchItemFailures: [{ itemIdentifier: null }] }), true, 'failure', undefined],
    ['wrong key name', ok({ batchItemFailures: [{ itemId: '200' }] }), true, 'failure', undefined],
    ['identifier not in the batch', ok({ batchItemFailures: [{ itemIdentifier: '150' }] }), true, 'failure', undefined],
    ['not a list', ok({ batchItemFailures: 'x' }), true, 'failure', undefined],
    ['not an object', ok('oops'), true, 'failure', undefined],
  ])('%s', (_name, result, report, kind, doneCount) => {
    const verdict = interpretInvocation(seqs, result, report);
    expect(verdict.kind).toBe(kind);
    if (verdict.kind === 'partial') expect(verdict.doneCount).toBe(doneCount);
  });
});

describe('nextStep', () => {
  const failure = { kind: 'failure', reason: 'x' } as const;
  const base = { batchLength: 10, attempt: 0, retryAttempts: 2 as number | undefined, oldestAgeMs: 0, maxRecordAgeMs: undefined as number | undefined };
  test.each([
    ['success advances the batch', { verdict: { kind: 'success' } as const }, { kind: 'advance', count: 10 }],
    ['failure retries', { verdict: failure }, { kind: 'retry', afterAdvance: 0, attempt: 1 }],
    ['failure at the last retry discards', { verdict: failure, attempt: 2 }, { kind: 'discard', afterAdvance: 0, count: 10, condition: 'RetryAttemptsExhausted' }],
    ['no retries allowed', { verdict: failure, retryAttempts: 0 }, { kind: 'discard', afterAdvance: 0, count: 10, condition: 'RetryAttemptsExhausted' }],
    ['unbounded retries', { verdict: failure, retryAttempts: undefined, attempt: 5000 }, { kind: 'retry', afterAdvance: 0, attempt: 5001 }],
    ['too old', { verdict: failure, oldestAgeMs: 61_000, maxRecordAgeMs: 60_000 }, { kind: 'discard', afterAdvance: 0, count: 10, condition: 'RecordAgeExceeded' }],
    ['partial advances then retries', { verdict: { kind: 'partial', doneCount: 4, reason: 'x' } as const, attempt: 2 }, { kind: 'retry', afterAdvance: 4, attempt: 1 }],
    ['partial with no retries discards the rest', { verdict: { kind: 'partial', doneCount: 4, reason: 'x' } as const, retryAttempts: 0 }, { kind: 'discard', afterAdvance: 4, count: 6, condition: 'RetryAttemptsExhausted' }],
  ])('%s', (_name, overrides, expected) => {
    expect(nextStep({ ...base, ...overrides })).toEqual(expected);
  });
});

test.each([
  [0, 0],
  [1, 50],
  [2, 100],
  [5, 800],
  [20, 2000],
])('retryDelayMs(%i) = %i', (attempt, expected) => {
  expect(retryDelayMs(attempt, 50, 2000)).toBe(expected);
});

test('batchInfo is shaped like Lambda on-failure metadata', () => {
  const info = batchInfo({
    batch: [rec('5', 'a', 1000), rec('9', 'b', 2000)],
    source,
    condition: 'RetryAttemptsExhausted',
    invokeCount: 3,
    functionArn: 'arn:aws:lambda:us-west-2:000000000000:function:f',
    lastError: 'Error: boom',
  });
  expect(info).toEqual({
    requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3, functionArn: 'arn:aws:lambda:us-west-2:000000000000:function:f' },
    responseContext: { functionError: 'Error: boom' },
    KinesisBatchInfo: {
      shardId: source.shardId,
      startSequenceNumber: '5',
      endSequenceNumber: '9',
      approximateArrivalOfFirstRecord: '1970-01-01T00:00:01.000Z',
      approximateArrivalOfLastRecord: '1970-01-01T00:00:02.000Z',
      batchSize: 2,
      streamArn: source.eventSourceArn,
    },
  });
});
