import { parseEnvironment } from '../../lib/config';
import { exportLines, formatStatusLine, parseServeState, SERVE_TIMINGS, ServeSnapshot, servedEnvironment, ServeStateError, serveVariables, STALLED_AFTER_MS } from '../../local/serve-format';

describe('servedEnvironment', () => {
  const raw = {
    account: '111111111111',
    primaryRegion: 'us-east-1',
    standbyRegions: ['us-west-2'],
    streams: [{ name: 'events', mode: 'PROVISIONED', shards: 1 }],
    replicator: { batchSize: 500, timeoutSeconds: 300 },
    failover: { failbackMaxLagSeconds: 30 },
  };

  test('keeps the environment and sets the laptop timings, which the config accepts', () => {
    const served = servedEnvironment(raw);
    expect(served).toEqual({
      ...raw,
      replicator: { batchSize: 500, timeoutSeconds: 10, activeRegionCacheTtlSeconds: 1 },
      failover: { failbackMaxLagSeconds: 30, resumeSafetyMarginSeconds: 1 },
    });
    const config = parseEnvironment('dev', served);
    expect(config.replicator.timeoutSeconds).toBe(SERVE_TIMINGS.replicatorTimeoutSeconds);
    expect(config.replicator.activeRegionCacheTtlSeconds).toBe(SERVE_TIMINGS.activeRegionCacheTtlSeconds);
    expect(config.failover.resumeSafetyMarginSeconds).toBe(SERVE_TIMINGS.resumeSafetyMarginSeconds);
    expect(config.failover.failbackMaxLagSeconds).toBe(30);
  });

  test('an environment without replicator or failover sections gets them', () => {
    expect(servedEnvironment({ account: '1' })).toEqual({ account: '1', replicator: { timeoutSeconds: 10, activeRegionCacheTtlSeconds: 1 }, failover: { resumeSafetyMarginSeconds: 1 } });
  });
});

describe('state file and export lines', () => {
  const env = serveVariables({
    kinesis: 'http://127.0.0.1:1001',
    dynamodb: 'http://127.0.0.1:1002',
    lambda: 'http://127.0.0.1:1003',
    s3: 'http://127.0.0.1:1004',
    control: 'http://127.0.0.1:1005',
    token: '0123456789abcdef0123456789abcdef',
    cdkJson: '/home/me/my repo/.redstream/serve-cdk.json',
    archiveBuckets: { 'us-east-1': 'redstream-dev-archive-us-east-1', 'us-west-2': 'redstream-dev-archive-us-west-2' },
  });
  const state = { version: 1, pid: 42, environment: 'dev', regions: ['us-east-1', 'us-west-2'], control: 'http://127.0.0.1:1005', env, startedAt: '2026-12-02T10:00:00.000Z' };

  test('the variables the SDK and the ops CLI read, quoted for a POSIX shell where needed', () => {
    expect(exportLines(state)).toEqual([
      'export AWS_ENDPOINT_URL_KINESIS=http://127.0.0.1:1001',
      'export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:1002',
      'export AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:1003',
      'export AWS_ENDPOINT_URL_S3=http://127.0.0.1:1004',
      'export AWS_ACCESS_KEY_ID=local',
      'export AWS_SECRET_ACCESS_KEY=local',
      "export REDSTREAM_CDK_JSON='/home/me/my repo/.redstream/serve-cdk.json'",
      'export REDSTREAM_ARCHIVE_BUCKET_US_EAST_1=redstream-dev-archive-us-east-1',
      'export REDSTREAM_ARCHIVE_BUCKET_US_WEST_2=redstream-dev-archive-us-west-2',
      'export REDSTREAM_LOCAL_WORLD=http://127.0.0.1:1005',
      'export REDSTREAM_LOCAL_WORLD_TOKEN=0123456789abcdef0123456789abcdef',
    ]);
    expect(exportLines({ env: { X: "it's" } })).toEqual([`export X='it'\\''s'`]);
  });

  test('a state file round-trips', () => {
    expect(parseServeState(JSON.stringify(state), 'f')).toEqual(state);
  });

  test.each<[string, string]>([
    ['not json', 'f is not JSON'],
    [JSON.stringify({ ...state, version: 2 }), 'f is not a state file of this version'],
    [JSON.stringify({ ...state, control: 'http://example.com:80' }), 'f is not a state file of this version'],
    [JSON.stringify({ ...state, env: { A: 1 } }), 'f is not a state file of this version'],
    [JSON.stringify({ ...state, env: { ...env, REDSTREAM_LOCAL_WORLD_TOKEN: undefined } }), 'f is not a state file of this version'],
  ])('a bad state file is refused, naming it: %s', (text, message) => {
    expect(() => parseServeState(text, 'f')).toThrow(ServeStateError);
    expect(() => parseServeState(text, 'f')).toThrow(message);
  });
});

describe('formatStatusLine', () => {
  const base: ServeSnapshot = {
    uptimeMs: 83_400,
    active: { region: 'us-east-1', state: 'ACTIVE', epoch: 1 },
    producerRegion: 'us-east-1',
    writtenByRegion: { 'us-east-1': 1200, 'us-west-2': 0 },
    failedCalls: 0,
    replicationPending: 0,
    replicationLagMs: 1234,
    replicationStalledMs: undefined,
    warehouseRows: 1190,
    warehouseEvents: 1100,
    faults: [],
  };

  test.each<[string, Partial<ServeSnapshot>, string]>([
    ['all well', {}, '01:23 active us-east-1 epoch 1 · producer → us-east-1 · written us-east-1 1200, us-west-2 0 · replication caught up, last batch lag 1.2 s · warehouse rows 1190, events 1100'],
    [
      'an outage and a switch under way',
      { active: { region: 'us-east-1', state: 'DRAINING', epoch: 2 }, failedCalls: 7, replicationPending: 40, replicationStalledMs: STALLED_AFTER_MS + 2000, faults: ['us-east-1 Kinesis down', 'operator clock +5 s'] },
      '01:23 DRAINING from us-east-1 epoch 2 · producer → us-east-1 · written us-east-1 1200, us-west-2 0 (7 failed calls) · replication stalled 7.0 s (40 pending) · warehouse rows 1190, events 1100 · faults: us-east-1 Kinesis down, operator clock +5 s',
    ],
    ['records pending, not stalled', { replicationPending: 12, replicationStalledMs: 800 }, '01:23 active us-east-1 epoch 1 · producer → us-east-1 · written us-east-1 1200, us-west-2 0 · replication 12 pending, last batch lag 1.2 s · warehouse rows 1190, events 1100'],
    ['no item read yet, nothing replicated yet', { active: undefined, replicationLagMs: undefined }, '01:23 active ? · producer → us-east-1 · written us-east-1 1200, us-west-2 0 · replication caught up · warehouse rows 1190, events 1100'],
  ])('%s', (_name, over, line) => {
    expect(formatStatusLine({ ...base, ...over })).toBe(line);
  });
});
