import { failoverEnvironment, parseFailoverEnv } from '../../../lambda/failover/env';
import { parseFailoverEvent } from '../../../lambda/failover/request';

const VALID = {
  REDSTREAM_ENVIRONMENT: 'dev',
  REGIONS: 'us-east-1,us-west-2',
  STREAM_NAMES: 'redstream-dev-events',
  CHECKPOINT_TABLE_NAME: 'redstream-dev-checkpoints',
  ACTIVE_REGION_TABLE_NAME: 'redstream-dev-active-region',
  REPLICATOR_TIMEOUT_SECONDS: '120',
  ACTIVE_REGION_CACHE_TTL_SECONDS: '5',
  PROPAGATION_TIMEOUT_SECONDS: '120',
  POLL_INTERVAL_SECONDS: '1',
  RESUME_SAFETY_MARGIN_SECONDS: '60',
  FAILBACK_MAX_LAG_SECONDS: '60',
  REPLICATOR_FENCE_FUNCTION_NAME: 'redstream-dev-replicator',
  MAX_CLOCK_SKEW_SECONDS: '30',
  STREAM_RETENTION_HOURS: 'redstream-dev-events=24',
};

describe('parseFailoverEnv', () => {
  test('round-trips the variables the ops stack writes', () => {
    const parsed = parseFailoverEnv({ ...VALID, REPLICATOR_FUNCTION_NAME: 'redstream-dev-replicator', REPLICATOR_RESERVED_CONCURRENCY: '10', RESULT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111111111111:alarms' });
    expect(parsed.settings).toMatchObject({ regions: ['us-east-1', 'us-west-2'], primaryRegion: 'us-east-1', replicatorTimeoutMs: 120_000, replicatorConcurrency: { functionName: 'redstream-dev-replicator', reservedConcurrency: 10 } });
    expect(failoverEnvironment(parsed.settings, parsed.tables, parsed.resultTopicArn)).toEqual({
      ...VALID,
      REPLICATOR_FUNCTION_NAME: 'redstream-dev-replicator',
      REPLICATOR_RESERVED_CONCURRENCY: '10',
      RESULT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111111111111:alarms',
    });
  });

  test.each([
    [{ ...VALID, REGIONS: undefined }, 'environment variable REGIONS is not set'],
    [{ ...VALID, STREAM_NAMES: ' , ' }, 'environment variable STREAM_NAMES must list at least one value'],
    [{ ...VALID, REPLICATOR_TIMEOUT_SECONDS: '2m' }, 'environment variable REPLICATOR_TIMEOUT_SECONDS must be a whole number ≥ 1 (got "2m")'],
    [{ ...VALID, RESULT_TOPIC_ARN: 'alarms' }, 'environment variable RESULT_TOPIC_ARN must be an SNS topic ARN (got "alarms")'],
    [{ ...VALID, REPLICATOR_FENCE_FUNCTION_NAME: '' }, 'environment variable REPLICATOR_FENCE_FUNCTION_NAME is not set'],
    [{ ...VALID, STREAM_RETENTION_HOURS: 'events' }, 'environment variable STREAM_RETENTION_HOURS must be name=hours pairs (got "events")'],
  ])('fails with the variable name: %s', (env, message) => {
    expect(() => parseFailoverEnv(env)).toThrow(message);
  });
});

describe('parseFailoverEvent', () => {
  test('defaults to a failover and keeps the options', () => {
    expect(parseFailoverEvent({ targetRegion: 'us-west-2', streams: ['a'], force: true })).toEqual({
      action: 'failover',
      options: { targetRegion: 'us-west-2', expectedRegion: undefined, streams: ['a'], reason: undefined, force: true, dryRun: undefined },
    });
  });

  test.each([
    [null, /event: must be an object/],
    [{ action: 'promote' }, /action: must be failover, failback, status or stray-check/],
    [{ action: 'failover' }, /targetRegion: is required/],
    [{ targetRegion: 'us-west-2', streams: 'a' }, /streams: must be a list/],
    [{ targetRegion: 'us-west-2', force: 'yes' }, /force: must be true or false/],
    [{ targetRegion: 'us-west-2', region: 'x' }, /region: unknown field/],
  ])('rejects %j', (event, message) => {
    expect(() => parseFailoverEvent(event)).toThrow(message);
  });
});

describe('stray-check requests', () => {
  test('default window of 20 minutes ending 5 minutes ago; bounds checked', () => {
    expect(parseFailoverEvent({ action: 'stray-check' })).toMatchObject({ action: 'stray-check', window: { minutes: 20, lagMinutes: 5 } });
    expect(parseFailoverEvent({ action: 'stray-check', windowMinutes: 30, lagMinutes: 0 })).toMatchObject({ window: { minutes: 30, lagMinutes: 0 } });
    expect(() => parseFailoverEvent({ action: 'stray-check', windowMinutes: 0 })).toThrow('windowMinutes: must be at least 1');
    expect(() => parseFailoverEvent({ action: 'stray-check', lagMinutes: -1 })).toThrow(/lagMinutes: must be whole minutes/);
  });
});
