import { parseReplicatorEnv } from '../../../lambda/replicator/env';

const base = {
  AWS_REGION: 'us-east-1',
  TARGET_REGIONS: 'us-west-2',
  CHECKPOINT_TABLE_NAME: 'checkpoints',
  ACTIVE_REGION_TABLE_NAME: 'active',
};

describe('parseReplicatorEnv', () => {
  test('defaults', () => {
    expect(parseReplicatorEnv(base)).toEqual({
      ownRegion: 'us-east-1',
      targetRegions: ['us-west-2'],
      checkpointTableName: 'checkpoints',
      activeRegionTableName: 'active',
      relaxedStreams: new Set(),
      activeRegionCacheTtlMs: 5_000,
      maxRequestBytes: 5 * 1024 * 1024,
      maxAttempts: 10,
      retryBaseDelayMs: 100,
      retryMaxDelayMs: 5_000,
      callTimeoutMs: 10_000,
      safetyMarginMs: 5_000,
      holdDelayMs: 1_000,
      checkpointIntervalMs: 0,
      mappingBatchSize: undefined,
    });
  });

  test('optional values', () => {
    const env = parseReplicatorEnv({
      ...base,
      TARGET_REGIONS: ' us-west-2 , eu-west-1 ',
      RELAXED_ORDER_STREAMS: 'redstream-prod-telemetry,redstream-prod-logs',
      ACTIVE_REGION_CACHE_TTL_MS: '0',
      MAX_REQUEST_BYTES: '10485760',
      MAX_ATTEMPTS: '3',
      CHECKPOINT_INTERVAL_MS: '1000',
      MAPPING_BATCH_SIZE: '500',
    });
    expect(env.targetRegions).toEqual(['us-west-2', 'eu-west-1']);
    expect([...env.relaxedStreams]).toEqual(['redstream-prod-telemetry', 'redstream-prod-logs']);
    expect(env.activeRegionCacheTtlMs).toBe(0);
    expect(env.maxRequestBytes).toBe(10_485_760);
    expect(env.maxAttempts).toBe(3);
    expect(env.checkpointIntervalMs).toBe(1_000);
    expect(env.mappingBatchSize).toBe(500);
  });

  test.each([
    { name: 'missing AWS_REGION', patch: { AWS_REGION: undefined }, message: 'AWS_REGION: is required and missing or empty' },
    { name: 'missing TARGET_REGIONS', patch: { TARGET_REGIONS: '' }, message: 'TARGET_REGIONS: is required' },
    { name: 'only commas', patch: { TARGET_REGIONS: ' , ' }, message: 'TARGET_REGIONS: must name at least one Region' },
    { name: 'own Region as target', patch: { TARGET_REGIONS: 'us-west-2,us-east-1' }, message: "TARGET_REGIONS: must not contain the function's own Region us-east-1" },
    { name: 'bad target', patch: { TARGET_REGIONS: 'mars' }, message: 'TARGET_REGIONS: "mars" is not a Region name' },
    { name: 'duplicate target', patch: { TARGET_REGIONS: 'us-west-2,us-west-2' }, message: 'TARGET_REGIONS: names a Region twice' },
    { name: 'missing checkpoint table', patch: { CHECKPOINT_TABLE_NAME: undefined }, message: 'CHECKPOINT_TABLE_NAME: is required' },
    { name: 'missing active-Region table', patch: { ACTIVE_REGION_TABLE_NAME: ' ' }, message: 'ACTIVE_REGION_TABLE_NAME: is required' },
    { name: 'bad relaxed stream', patch: { RELAXED_ORDER_STREAMS: 'a b' }, message: 'RELAXED_ORDER_STREAMS: "a b" is not a stream name' },
    { name: 'TTL too long', patch: { ACTIVE_REGION_CACHE_TTL_MS: '60001' }, message: 'ACTIVE_REGION_CACHE_TTL_MS: must be an integer between 0 and 60000 (got "60001")' },
    { name: 'request bytes too small', patch: { MAX_REQUEST_BYTES: '1000' }, message: 'MAX_REQUEST_BYTES: must be an integer between 1048832 and 10485760 (got "1000")' },
    { name: 'attempts not a number', patch: { MAX_ATTEMPTS: 'ten' }, message: 'MAX_ATTEMPTS: must be an integer between 1 and 100 (got "ten")' },
    { name: 'interval too long', patch: { CHECKPOINT_INTERVAL_MS: '60001' }, message: 'CHECKPOINT_INTERVAL_MS: must be an integer between 0 and 60000 (got "60001")' },
    { name: 'batch size 0', patch: { MAPPING_BATCH_SIZE: '0' }, message: 'MAPPING_BATCH_SIZE: must be an integer between 1 and 10000 (got "0")' },
    { name: 'max delay below base', patch: { RETRY_BASE_DELAY_MS: '500', RETRY_MAX_DELAY_MS: '100' }, message: 'RETRY_MAX_DELAY_MS: must be an integer between 500 and 60000' },
  ])('$name', ({ patch, message }) => {
    expect(() => parseReplicatorEnv({ ...base, ...patch })).toThrow(message);
  });
});
