import { availabilityZoneIdPrefix, availabilityZoneIdsFor, ConfigError, ENVIRONMENTS_CONTEXT_KEY, parseEnvironment, physicalStreamName, resolveEnvironments, warehouseRegions } from '../lib/config';
import { cdkContext } from './helpers/cdk-app';

const VALID = {
  account: '123456789012',
  primaryRegion: 'us-east-1',
  standbyRegions: ['us-west-2'],
  streams: [{ name: 'events', mode: 'PROVISIONED', shards: 1 }],
};

/** VALID with `patch` applied (undefined removes a field). */
function withPatch(patch: Record<string, unknown>): Record<string, unknown> {
  const env: Record<string, unknown> = { ...VALID, ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete env[k];
  return env;
}

const P = `Invalid Redstream configuration: ${ENVIRONMENTS_CONTEXT_KEY}.dev`;

describe('parseEnvironment', () => {
  test('merges the defaults into a minimal environment', () => {
    const env = parseEnvironment('dev', VALID);
    expect(env.streams).toEqual([{ name: 'events', mode: 'PROVISIONED', shards: 1, retentionHours: 24, ordering: 'strict', maxRecordSizeKiB: 1024 }]);
    expect(env.archive).toEqual({ bufferingIntervalSeconds: 300, bufferingSizeMiB: 64, coldStorageAfterDays: 90, expireAfterDays: 0 });
    expect(env.replicator.batchSize).toBe(1000);
    expect(env.replicator.reservedConcurrency).toBeUndefined();
    expect(env.warehouse.dedupKeyPath).toBe('messageId');
    expect(env.warehouse.dedupWindowDays).toBe(7);
    expect(env.alarms.producerErrorRatePercent).toBe(1);
    expect(env.alarms.producerErrorRateMinutes).toBe(5);
    expect(env.failover.mode).toBe('manual');
    expect(env.removalPolicy).toBe('retain');
    expect(warehouseRegions(env)).toEqual(['us-east-1']);
  });

  test('an ON_DEMAND stream takes no shard count', () => {
    const env = parseEnvironment('dev', withPatch({ streams: [{ name: 'events' }] }));
    expect(env.streams[0].mode).toBe('ON_DEMAND');
  });

  test('warehouse regions: all and an explicit list', () => {
    expect(warehouseRegions(parseEnvironment('dev', withPatch({ warehouse: { regions: 'all' } })))).toEqual(['us-east-1', 'us-west-2']);
    expect(warehouseRegions(parseEnvironment('dev', withPatch({ warehouse: { regions: ['us-west-2'] } })))).toEqual(['us-west-2']);
  });

  test('AZ IDs: three distinct IDs of the Region are kept in order; a warehouse Region without them fails when asked', () => {
    const env = parseEnvironment('dev', withPatch({ warehouse: { availabilityZoneIds: { 'us-east-1': ['use1-az6', 'use1-az1', 'use1-az4'] } } }));
    expect(availabilityZoneIdsFor(env, 'us-east-1')).toEqual(['use1-az6', 'use1-az1', 'use1-az4']);
    expect(() => availabilityZoneIdsFor(env, 'us-west-2')).toThrow(
      `${P}.warehouse.availabilityZoneIds.us-west-2: missing: us-west-2 runs a warehouse, whose workgroup needs three subnets in three zones Redshift Serverless supports; fix: list three AZ IDs of us-west-2, e.g. ["usw2-az1", "usw2-az2", "usw2-az3"]`,
    );
  });

  test.each([
    ['us-east-1', 'use1'],
    ['us-west-2', 'usw2'],
    ['eu-central-1', 'euc1'],
    ['ap-northeast-1', 'apne1'],
    ['ap-southeast-2', 'apse2'],
    ['sa-east-1', 'sae1'],
    ['us-gov-west-1', 'usgw1'],
    ['cn-northwest-1', 'cnnw1'],
  ])('the AZ ID prefix of %s is %s', (region, prefix) => {
    expect(availabilityZoneIdPrefix(region)).toBe(prefix);
  });

  test('physical stream names carry the environment', () => {
    expect(physicalStreamName('prod', 'events')).toBe('redstream-prod-events');
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['a standby Region equal to the primary', { standbyRegions: ['us-east-1'] }, `${P}.standbyRegions[0]: "us-east-1" equals primaryRegion; fix: choose a standby Region different from the primary`],
    ['a standby Region listed twice', { standbyRegions: ['us-west-2', 'us-west-2'] }, `${P}.standbyRegions[1]: "us-west-2" is listed twice; fix: list each standby Region once`],
    ['a bad primary Region name', { primaryRegion: 'US-East' }, `${P}.primaryRegion: "US-East" is not an AWS Region name; fix: use an AWS Region code such as 'us-east-1'`],
    ['a bad standby Region name', { standbyRegions: ['mars-1'] }, `${P}.standbyRegions[0]: "mars-1" is not an AWS Region name; fix: use an AWS Region code such as 'us-east-1'`],
    ['no standby Region', { standbyRegions: [] }, `${P}.standbyRegions: expected a non-empty list of Regions (got []); fix: name at least one standby Region, e.g. ["us-west-2"]`],
    ['an empty stream list', { streams: [] }, `${P}.streams: expected a non-empty list of streams (got []); fix: declare at least one stream, e.g. [{ "name": "events" }]`],
    ['a missing stream list', { streams: undefined }, `${P}.streams: expected a non-empty list of streams (got undefined); fix: declare at least one stream, e.g. [{ "name": "events" }]`],
    ['a retention under 24 hours', { streams: [{ name: 'events', retentionHours: 12 }] }, `${P}.streams[0].retentionHours: must be a whole number between 24 and 8760 hours (got 12); fix: choose a value in that range`],
    ['a retention over 8760 hours', { streams: [{ name: 'events', retentionHours: 9000 }] }, `${P}.streams[0].retentionHours: must be a whole number between 24 and 8760 hours (got 9000); fix: choose a value in that range`],
    ['zero shards on a provisioned stream', { streams: [{ name: 'events', mode: 'PROVISIONED', shards: 0 }] }, `${P}.streams[0].shards: must be a whole number between 1 and 10000 (got 0); fix: choose a value in that range`],
    ['shards on an on-demand stream', { streams: [{ name: 'events', mode: 'ON_DEMAND', shards: 2 }] }, `${P}.streams[0].shards: is set on an ON_DEMAND stream (got 2); fix: remove shards or set mode to 'PROVISIONED'`],
    ['duplicate stream names', { streams: [{ name: 'events' }, { name: 'events' }] }, `${P}.streams[1].name: "events" is declared twice; fix: give each stream a unique name`],
    ['a bad stream mode', { streams: [{ name: 'events', mode: 'FAST' }] }, `${P}.streams[0].mode: must be one of 'PROVISIONED', 'ON_DEMAND' (got "FAST"); fix: use one of those`],
    ['a bad stream name', { streams: [{ name: 'my events' }] }, `${P}.streams[0].name: "my events" is not valid; fix: use letters, digits, dots, dashes and underscores`],
    ['a bad ordering mode', { streams: [{ name: 'events', ordering: 'none' }] }, `${P}.streams[0].ordering: must be one of 'strict', 'relaxed' (got "none"); fix: use one of those`],
    ['a bad account id', { account: '1234' }, `${P}.account: "1234" is not valid; fix: use the 12-digit AWS account id`],
    ['an unknown field', { standby: ['us-west-2'] }, `${P}.standby: unknown field; fix: remove it or use one of account, primaryRegion, standbyRegions, streams, archive, replicator, warehouse, alarms, failover, removalPolicy, tags`],
    ['a batch size over 10000', { replicator: { batchSize: 20000 } }, `${P}.replicator.batchSize: must be a whole number between 1 and 10000 (got 20000); fix: choose a value in that range`],
    ['a bounded retry budget (issue 9: it let Lambda skip batches)', { replicator: { retryAttempts: 1000 } }, `${P}.replicator.retryAttempts: is no longer configurable: the replicator retries a batch until its records expire (a bounded budget let Lambda skip batches the replicator never replicated, and the checkpoint passed them); fix: remove the field (a stuck target raises the iterator-age and replication-lag alarms instead)`],
    ['a buffering interval over 900 s', { archive: { bufferingIntervalSeconds: 901 } }, `${P}.archive.bufferingIntervalSeconds: must be a whole number between 0 and 900 seconds (got 901); fix: choose a value in that range`],
    ['an expiry before cold storage', { archive: { coldStorageAfterDays: 90, expireAfterDays: 60 } }, `${P}.archive.expireAfterDays: 60 is not after coldStorageAfterDays (90); fix: expire later than the move to cold storage, or use 0 to keep objects`],
    ['RPUs not a multiple of 8', { warehouse: { baseCapacityRpus: 12 } }, `${P}.warehouse.baseCapacityRpus: must be a multiple of 8 (got 12); fix: use 8, 16, 24, … 512`],
    ['a warehouse in an unknown Region', { warehouse: { regions: ['eu-west-1'] } }, `${P}.warehouse.regions[0]: "eu-west-1" is neither the primary nor a standby Region; fix: use one of us-east-1, us-west-2`],
    ['fewer than three AZ IDs', { warehouse: { availabilityZoneIds: { 'us-east-1': ['use1-az1', 'use1-az2'] } } }, `${P}.warehouse.availabilityZoneIds.us-east-1: expected exactly three AZ IDs of us-east-1 (got ["use1-az1","use1-az2"]); fix: a Redshift Serverless workgroup needs three subnets in three zones, e.g. ["use1-az1", "use1-az2", "use1-az3"]`],
    ['an AZ ID listed twice', { warehouse: { availabilityZoneIds: { 'us-east-1': ['use1-az1', 'use1-az2', 'use1-az1'] } } }, `${P}.warehouse.availabilityZoneIds.us-east-1[2]: "use1-az1" is listed twice; fix: list three distinct AZ IDs of us-east-1`],
    ['a zone name instead of an ID', { warehouse: { availabilityZoneIds: { 'us-east-1': ['us-east-1a', 'use1-az2', 'use1-az4'] } } }, `${P}.warehouse.availabilityZoneIds.us-east-1[0]: "us-east-1a" is not an AZ ID; fix: use an ID such as use1-az1 (an AZ ID, not a zone name like us-east-1a)`],
    ['an AZ ID of another Region', { warehouse: { availabilityZoneIds: { 'us-east-1': ['use1-az1', 'usw2-az2', 'use1-az4'] } } }, `${P}.warehouse.availabilityZoneIds.us-east-1[1]: "usw2-az2" is not a zone of us-east-1 (its IDs start with use1-); fix: use an AZ ID of us-east-1, e.g. use1-az1`],
    ['AZ IDs for a Region not in the environment', { warehouse: { availabilityZoneIds: { 'eu-west-1': ['euw1-az1', 'euw1-az2', 'euw1-az3'] } } }, `${P}.warehouse.availabilityZoneIds.eu-west-1: "eu-west-1" is not a Region of this environment; fix: use one of us-east-1, us-west-2`],
    ['the old zone names', { warehouse: { availabilityZones: { 'us-east-1': ['us-east-1a', 'us-east-1b', 'us-east-1c'] } } }, `${P}.warehouse.availabilityZones: zone names are no longer accepted: a name maps to a different physical zone in each account; fix: replace it with availabilityZoneIds, e.g. { "us-east-1": ["use1-az1", "use1-az2", "use1-az4"] }`],
    ['a record size under 1 MiB', { streams: [{ name: 'events', maxRecordSizeKiB: 512 }] }, `${P}.streams[0].maxRecordSizeKiB: must be a whole number between 1024 and 10240 KiB (got 512); fix: choose a value in that range`],
    ['a record size over 10 MiB', { streams: [{ name: 'events', maxRecordSizeKiB: 10241 }] }, `${P}.streams[0].maxRecordSizeKiB: must be a whole number between 1024 and 10240 KiB (got 10241); fix: choose a value in that range`],
    ['a bad dedup key path', { warehouse: { dedupKeyPath: '$.messageId' } }, `${P}.warehouse.dedupKeyPath: "$.messageId" is not valid; fix: use a dot-separated path of field names, e.g. 'messageId' or 'context.eventId'`],
    ['a zero error-rate threshold', { alarms: { producerErrorRatePercent: 0 } }, `${P}.alarms.producerErrorRatePercent: must be a number above 0 and at most 100 (got 0); fix: e.g. 1 for 1 %`],
    ['a bad failover mode', { failover: { mode: 'auto' } }, `${P}.failover.mode: must be one of 'manual', 'automatic' (got "auto"); fix: use one of those`],
    ['moving concurrency that is not reserved', { failover: { moveReservedConcurrency: true } }, `${P}.failover.moveReservedConcurrency: is true but replicator.reservedConcurrency is not set; fix: set replicator.reservedConcurrency or turn moveReservedConcurrency off`],
    ['a checkpoint interval over 60 s', { replicator: { checkpointIntervalMs: 60001 } }, `${P}.replicator.checkpointIntervalMs: must be a whole number between 0 and 60000 ms (got 60001); fix: choose a value in that range`],
    ['a checkpoint interval over half the failback threshold', { replicator: { checkpointIntervalMs: 6000 }, failover: { failbackMaxLagSeconds: 10 } }, `${P}.replicator.checkpointIntervalMs: 6000 ms is more than half of failover.failbackMaxLagSeconds (10 s): the failback guard would see a busy shard lag by up to the interval; fix: lower checkpointIntervalMs to at most 5000, or raise failover.failbackMaxLagSeconds`],
    ['a bad removal policy', { removalPolicy: 'delete' }, `${P}.removalPolicy: must be one of 'retain', 'destroy' (got "delete"); fix: use one of those`],
  ])('fails on %s', (_what, patch, message) => {
    let thrown: unknown;
    try {
      parseEnvironment('dev', withPatch(patch));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    // The whole message, not a substring: users read it as the instruction.
    expect((thrown as Error).message).toBe(message);
  });

  test('fails on a bad environment name', () => {
    expect(() => parseEnvironment('Prod_1', VALID)).toThrow(
      `Invalid Redstream configuration: ${ENVIRONMENTS_CONTEXT_KEY}.Prod_1: environment name "Prod_1" is not valid; fix: use 1–20 lower-case letters, digits and dashes, starting with a letter`,
    );
  });
});

describe('resolveEnvironments', () => {
  const shipped = cdkContext()[ENVIRONMENTS_CONTEXT_KEY];

  test('every shipped environment is valid, and without a selection all of them are returned', () => {
    expect(resolveEnvironments(shipped).map((e) => e.name)).toEqual(['dev', 'staging', 'prod']);
  });

  test('the shipped dev, staging and prod examples have the documented shapes', () => {
    const [dev, staging, prod] = resolveEnvironments(shipped);
    expect(dev.standbyRegions).toHaveLength(1);
    expect(dev.streams).toEqual([expect.objectContaining({ mode: 'PROVISIONED', shards: 1 })]);
    expect(dev.removalPolicy).toBe('destroy');
    expect(staging.streams.length).toBeGreaterThan(0);
    expect(prod.streams.every((s) => s.mode === 'ON_DEMAND')).toBe(true);
    expect(warehouseRegions(prod)).toEqual([prod.primaryRegion, ...prod.standbyRegions]);
    expect(prod.removalPolicy).toBe('retain');
    // Every Region that runs a warehouse has its three AZ IDs.
    for (const env of [dev, staging, prod]) {
      for (const region of warehouseRegions(env)) expect(availabilityZoneIdsFor(env, region)).toHaveLength(3);
    }
  });

  test('-c env=NAME selects one environment', () => {
    expect(resolveEnvironments(shipped, 'staging').map((e) => e.name)).toEqual(['staging']);
  });

  test('fails on an unknown environment', () => {
    expect(() => resolveEnvironments(shipped, 'qa')).toThrow(
      `Invalid Redstream configuration: env: unknown environment "qa"; fix: use -c env=<one of dev, staging, prod> or add it under ${ENVIRONMENTS_CONTEXT_KEY} in cdk.json`,
    );
  });

  test('fails when no environment is declared', () => {
    expect(() => resolveEnvironments(undefined)).toThrow(
      `Invalid Redstream configuration: ${ENVIRONMENTS_CONTEXT_KEY}: no environments declared (got undefined); fix: add at least one environment to cdk.json context`,
    );
  });
});
