/** `ops preflight`: the pure checks, table-driven over gathered facts, and the command through the CLI dispatcher. */
import { EnvironmentConfig, parseEnvironment } from '../../../lib/config';
import { runCli } from '../../../lambda/ops/cli';
import {
  AvailabilityZone,
  CheckSkipped,
  evaluatePreflight,
  Existing,
  formatPreflight,
  KinesisLimits,
  LambdaConcurrency,
  Outcome,
  PreflightCheck,
  PreflightProbes,
  RegionFacts,
  RegionProbe,
  runPreflight,
} from '../../../lambda/ops/preflight';

const ACCOUNT = '123456789012';

function config(overrides: Record<string, unknown> = {}): EnvironmentConfig {
  return parseEnvironment('dev', {
    account: ACCOUNT,
    primaryRegion: 'us-east-1',
    standbyRegions: ['us-west-2'],
    streams: [{ name: 'events', mode: 'PROVISIONED', shards: 2 }, { name: 'telemetry' }],
    warehouse: { availabilityZoneIds: { 'us-east-1': ['use1-az1', 'use1-az2', 'use1-az4'] } },
    ...overrides,
  });
}

const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
const failed = (error: string): Outcome<never> => ({ ok: false, error });
const FREE: Existing = { exists: false };

const ZONES: AvailabilityZone[] = [
  { zoneId: 'use1-az1', zoneName: 'us-east-1c', state: 'available', zoneType: 'availability-zone' },
  { zoneId: 'use1-az2', zoneName: 'us-east-1a', state: 'available', zoneType: 'availability-zone' },
  { zoneId: 'use1-az4', zoneName: 'us-east-1b', state: 'available', zoneType: 'availability-zone' },
  { zoneId: 'use1-az3', zoneName: 'us-east-1e', state: 'impaired', zoneType: 'availability-zone' },
  { zoneId: 'use1-bos1-az1', zoneName: 'us-east-1-bos-1a', state: 'available', zoneType: 'local-zone' },
];

interface FactsPatch {
  lambda?: Outcome<LambdaConcurrency>;
  kinesis?: Outcome<KinesisLimits>;
  zones?: Outcome<readonly AvailabilityZone[]>;
  endpointZones?: Outcome<readonly string[] | undefined>;
  stream?: Outcome<Existing>;
  table?: Outcome<Existing>;
  namespace?: Outcome<Existing>;
}

/** Facts of a healthy, empty account; `patch` changes one thing in the primary Region. */
function facts(cfg: EnvironmentConfig, patch: FactsPatch = {}): RegionFacts[] {
  return ['us-east-1', 'us-west-2'].map((region) => {
    const p = region === 'us-east-1' ? patch : {};
    return {
      region,
      lambda: p.lambda ?? ok({ concurrencyLimit: 1000, unreservedConcurrency: 1000 }),
      kinesis: p.kinesis ?? ok({ shardLimit: 500, openShardCount: 0, onDemandStreamCount: 0, onDemandStreamCountLimit: 50 }),
      streams: new Map(cfg.streams.map((s) => [`redstream-dev-${s.name}`, p.stream ?? ok(FREE)])),
      tables: new Map(['redstream-dev-checkpoints', 'redstream-dev-active-region'].map((t) => [t, p.table ?? ok(FREE)])),
      warehouse:
        region === 'us-east-1'
          ? { zones: p.zones ?? ok(ZONES), kinesisEndpointZoneNames: p.endpointZones ?? ok(['us-east-1a', 'us-east-1b', 'us-east-1c']), namespace: p.namespace ?? ok(FREE), workgroup: ok(FREE) }
          : undefined,
    };
  });
}

const primaryCheck = (checks: readonly PreflightCheck[], check: string) => checks.filter((c) => c.region === 'us-east-1' && c.check === check);

describe('evaluatePreflight', () => {
  test('a healthy empty account: everything ok except the Redshift Serverless zones, which only a person can confirm', () => {
    const report = evaluatePreflight(config(), facts(config()));
    expect(report.exitCode).toBe(0);
    expect(report.checks.filter((c) => c.status !== 'ok').map((c) => `${c.region} ${c.check} ${c.status}`)).toEqual(['us-east-1 redshift-serverless-zones warn']);
    expect(primaryCheck(report.checks, 'availability-zones')[0].detail).toBe(
      'use1-az1 (us-east-1c in this account), use1-az2 (us-east-1a in this account), use1-az4 (us-east-1b in this account): available',
    );
    // Names: 2 streams + 2 tables per Region, namespace and workgroup where the warehouse runs.
    expect(report.checks.filter((c) => c.check === 'name')).toHaveLength(10);
  });

  test.each<[string, Record<string, unknown>, FactsPatch, string, 'fail' | 'warn' | 'error', RegExp, RegExp | undefined]>([
    [
      'a template reservation that leaves under 100 unreserved',
      { replicator: { reservedConcurrency: 10 } },
      { lambda: ok({ concurrencyLimit: 50, unreservedConcurrency: 50 }) },
      'lambda-concurrency',
      'fail',
      /reserving 10 for the replicator would leave 40, below Lambda's minimum of 100, so the Region stack fails to deploy/,
      /quota of at least 110 in us-east-1 .*or remove replicator.reservedConcurrency/,
    ],
    [
      'a failover reservation that would leave under 100 unreserved',
      { replicator: { reservedConcurrency: 10 }, failover: { moveReservedConcurrency: true } },
      { lambda: ok({ concurrencyLimit: 50, unreservedConcurrency: 50 }) },
      'lambda-concurrency',
      'warn',
      /a failover to us-east-1 would reserve 10 .* the move would fail/,
      /quota of at least 110/,
    ],
    [
      'fewer executions than shards (2 provisioned + 4 for the on-demand stream)',
      {},
      { lambda: ok({ concurrencyLimit: 5, unreservedConcurrency: 5 }) },
      'lambda-concurrency',
      'warn',
      /reads 6 shard\(s\) at once .* only 5 concurrent executions/,
      /higher Lambda "Concurrent executions" quota/,
    ],
    [
      'no room for the provisioned shards',
      {},
      { kinesis: ok({ shardLimit: 200, openShardCount: 199, onDemandStreamCount: 0, onDemandStreamCountLimit: 50 }) },
      'kinesis-shards',
      'fail',
      /2 new provisioned shard\(s\) but only 1 free of the 200-shard quota \(199 open\)/,
      /"Shards per Region" quota of at least 201 in us-east-1/,
    ],
    [
      'no room for another on-demand stream',
      {},
      { kinesis: ok({ shardLimit: 500, openShardCount: 0, onDemandStreamCount: 50, onDemandStreamCountLimit: 50 }) },
      'kinesis-on-demand-streams',
      'fail',
      /1 new on-demand stream\(s\) but only 0 free of the 50-stream quota/,
      /make streams PROVISIONED/,
    ],
    [
      'an AZ ID this account does not have',
      { warehouse: { availabilityZoneIds: { 'us-east-1': ['use1-az1', 'use1-az2', 'use1-az9'] } } },
      {},
      'availability-zones',
      'fail',
      /^use1-az9 does not exist in us-east-1$/,
      /this account's are: use1-az1 \(us-east-1c\), use1-az2 \(us-east-1a\), use1-az4 \(us-east-1b\)$/,
    ],
    [
      'an impaired zone',
      { warehouse: { availabilityZoneIds: { 'us-east-1': ['use1-az1', 'use1-az2', 'use1-az3'] } } },
      {},
      'availability-zones',
      'fail',
      /use1-az3 is impaired/,
      /three available AZ IDs/,
    ],
    [
      'a Kinesis endpoint not offered in a configured zone',
      {},
      { endpointZones: ok(['us-east-1a', 'us-east-1c']) },
      'kinesis-endpoint-zones',
      'fail',
      /com\.amazonaws\.us-east-1\.kinesis-streams is not offered in use1-az4/,
      /replace use1-az4 in warehouse\.availabilityZoneIds\.us-east-1/,
    ],
    [
      'a stream name taken by something else',
      {},
      { stream: ok({ exists: true, environmentTag: undefined }) },
      'name',
      'fail',
      /stream redstream-dev-events: taken by a resource that is not dev's \(redstream:environment=none\)/,
      /delete or rename that stream in us-east-1, or use another environment name/,
    ],
    [
      'a namespace of another environment',
      {},
      { namespace: ok({ exists: true, environmentTag: 'staging' }) },
      'name',
      'fail',
      /namespace redstream-dev: taken .*redstream:environment=staging/,
      /delete or rename that namespace/,
    ],
    [
      'a lookup that is denied',
      {},
      { lambda: failed('AccessDeniedException: not authorized to perform lambda:GetAccountSettings') },
      'lambda-concurrency',
      'error',
      /could not call lambda:GetAccountSettings: AccessDeniedException/,
      /credentials of account 123456789012 that may call lambda:GetAccountSettings in us-east-1/,
    ],
    [
      'a table lookup that fails',
      {},
      { table: failed('TimeoutError: socket hang up') },
      'name',
      'error',
      /table redstream-dev-checkpoints: could not call dynamodb:DescribeTable/,
      /read-only/,
    ],
  ])('%s', (_what, overrides, patch, check, status, detail, fix) => {
    const cfg = config(overrides);
    const report = evaluatePreflight(cfg, facts(cfg, patch));
    const found = primaryCheck(report.checks, check).filter((c) => c.status !== 'ok');
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]).toMatchObject({ status, detail: expect.stringMatching(detail) });
    if (fix) expect(found[0].fix).toMatch(fix);
    expect(report.exitCode).toBe(status === 'warn' ? 0 : 1);
  });

  test('existing resources tagged with this environment are a redeploy, and count as already in the quotas', () => {
    const cfg = config();
    const report = evaluatePreflight(
      cfg,
      facts(cfg, {
        stream: ok({ exists: true, environmentTag: 'dev' }),
        table: ok({ exists: true, environmentTag: 'dev' }),
        kinesis: ok({ shardLimit: 2, openShardCount: 2, onDemandStreamCount: 50, onDemandStreamCountLimit: 50 }),
      }),
    );
    expect(report.exitCode).toBe(0);
    expect(primaryCheck(report.checks, 'name')[0].detail).toBe("stream redstream-dev-events: exists, this environment's (redstream:environment=dev): a redeploy");
    expect(primaryCheck(report.checks, 'kinesis-shards')[0].detail).toBe('0 new provisioned shard(s); 0 free of 2');
  });

  test('the text report: one line per check, its fix under it, and the verdict', () => {
    const cfg = config({ replicator: { reservedConcurrency: 10 } });
    const text = formatPreflight(evaluatePreflight(cfg, facts(cfg, { lambda: ok({ concurrencyLimit: 50, unreservedConcurrency: 50 }) })));
    const lines = text.split('\n');
    expect(lines[0]).toBe('preflight of dev (account 123456789012) in us-east-1, us-west-2');
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}FAIL {2}lambda-concurrency +concurrency quota 50, 50 unreserved: reserving 10/));
    expect(lines[lines.findIndex((l) => l.includes('FAIL  lambda-concurrency')) + 1]).toMatch(/^ +fix: request a Lambda "Concurrent executions" quota of at least 110/);
    expect(lines[lines.length - 1]).toBe('not ready: 1 failed, 0 could not be checked, 1 warning(s); fix them and run preflight again');
  });
});

/** A probe answering from the same facts as above; each lookup is recorded. */
class FakeProbe implements RegionProbe {
  readonly calls: string[] = [];
  constructor(private readonly overrides: Partial<Record<keyof RegionProbe, () => Promise<unknown>>> = {}) {}
  private answer<T>(name: keyof RegionProbe, arg: string, value: T): Promise<T> {
    this.calls.push(arg ? `${name}(${arg})` : name);
    const o = this.overrides[name];
    return o ? (o() as Promise<T>) : Promise.resolve(value);
  }
  lambdaConcurrency() { return this.answer('lambdaConcurrency', '', { concurrencyLimit: 1000, unreservedConcurrency: 1000 }); }
  kinesisLimits() { return this.answer('kinesisLimits', '', { shardLimit: 500, openShardCount: 0, onDemandStreamCount: 0, onDemandStreamCountLimit: 50 }); }
  availabilityZones() { return this.answer('availabilityZones', '', ZONES as readonly AvailabilityZone[]); }
  endpointServiceZoneNames(name: string) { return this.answer('endpointServiceZoneNames', name, ['us-east-1a', 'us-east-1b', 'us-east-1c'] as readonly string[] | undefined); }
  stream(name: string) { return this.answer('stream', name, FREE); }
  table(name: string) { return this.answer('table', name, FREE); }
  namespace(name: string) { return this.answer('namespace', name, FREE); }
  workgroup(name: string) { return this.answer('workgroup', name, FREE); }
}

function probes(byRegion: Record<string, FakeProbe>): PreflightProbes {
  return { forRegion: (region) => byRegion[region] };
}

describe('runPreflight', () => {
  test('looks up every Region, the warehouse only where it runs; a lookup that throws is an error check, not a crash', async () => {
    const east = new FakeProbe({ kinesisLimits: () => Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'LimitExceededException' })) });
    const west = new FakeProbe();
    const report = await runPreflight(config(), probes({ 'us-east-1': east, 'us-west-2': west }));
    expect(east.calls.sort()).toEqual(
      [
        'availabilityZones',
        'endpointServiceZoneNames(com.amazonaws.us-east-1.kinesis-streams)',
        'kinesisLimits',
        'lambdaConcurrency',
        'namespace(redstream-dev)',
        'stream(redstream-dev-events)',
        'stream(redstream-dev-telemetry)',
        'table(redstream-dev-active-region)',
        'table(redstream-dev-checkpoints)',
        'workgroup(redstream-dev)',
      ].sort(),
    );
    expect(west.calls).not.toContain('availabilityZones');
    expect(report.exitCode).toBe(1);
    expect(primaryCheck(report.checks, 'kinesis-shards')[0]).toMatchObject({ status: 'error', detail: 'could not call kinesis:DescribeLimits: LimitExceededException: Rate exceeded' });
  });
});

describe('skipped checks (the local world of npm run demo -- --serve)', () => {
  test('a probe that skips is a skip check with its reason: no failure, no fix, and a verdict that is not a deploy verdict', async () => {
    const skip = (reason: string) => () => Promise.reject(new CheckSkipped(reason));
    const probe = () => new FakeProbe({ lambdaConcurrency: skip('no quota here'), kinesisLimits: skip('no limits here'), availabilityZones: skip('no EC2 here'), namespace: skip('no Redshift here') });
    const report = await runPreflight(config(), probes({ 'us-east-1': probe(), 'us-west-2': probe() }));
    expect(report.exitCode).toBe(0);
    expect(primaryCheck(report.checks, 'lambda-concurrency')).toEqual([{ region: 'us-east-1', check: 'lambda-concurrency', status: 'skip', detail: 'skipped: no quota here' }]);
    expect(primaryCheck(report.checks, 'availability-zones')[0]).toMatchObject({ status: 'skip', detail: 'skipped: no EC2 here' });
    // Nothing to confirm by hand about zones that were not looked up.
    expect(primaryCheck(report.checks, 'redshift-serverless-zones')).toEqual([{ region: 'us-east-1', check: 'redshift-serverless-zones', status: 'skip', detail: 'skipped: the zones were not looked up' }]);
    expect(report.checks.find((c) => c.detail.startsWith('namespace'))).toMatchObject({ status: 'skip', detail: 'namespace redstream-dev: skipped: no Redshift here' });
    const text = formatPreflight(report).split('\n');
    expect(text).toContainEqual(expect.stringMatching(/^ {2}skip {2}lambda-concurrency +skipped: no quota here$/));
    expect(text.some((l) => l.includes('fix:'))).toBe(false);
    expect(text[text.length - 1]).toMatch(/^nothing failed, but \d+ check\(s\) were skipped \(\d+ ok, 0 warning\(s\)\): not a verdict on a deploy$/);
  });

  test('a skip does not hide a failure', async () => {
    const east = new FakeProbe({ lambdaConcurrency: () => Promise.reject(new CheckSkipped('no quota here')), stream: () => Promise.resolve({ exists: true, environmentTag: 'prod' }) });
    const report = await runPreflight(config(), probes({ 'us-east-1': east, 'us-west-2': new FakeProbe() }));
    expect(report.exitCode).toBe(1);
    expect(formatPreflight(report).split('\n').pop()).toMatch(/^not ready: 2 failed, 0 could not be checked, \d+ warning\(s\), 1 skipped;/);
  });
});

describe('npm run ops -- preflight', () => {
  const ENVIRONMENTS = { dev: { account: ACCOUNT, primaryRegion: 'us-east-1', standbyRegions: ['us-west-2'], streams: [{ name: 'events' }], warehouse: { availabilityZoneIds: { 'us-east-1': ['use1-az1', 'use1-az2', 'use1-az4'] } } } };

  async function run(argv: string[], byRegion: Record<string, FakeProbe>) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), loadEnvironments: () => ENVIRONMENTS, env: {}, preflightProbes: probes(byRegion) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  test('ready: exit 0 and the report on stdout', async () => {
    const { code, out, err } = await run(['preflight', '--env', 'dev'], { 'us-east-1': new FakeProbe(), 'us-west-2': new FakeProbe() });
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out.split('\n').pop()).toBe('ready to deploy: 16 ok, 1 warning(s)');
  });

  test('something to fix: exit 1, and --json gives the same report as data', async () => {
    const taken = () => Promise.resolve({ exists: true });
    const { code, out } = await run(['preflight', '--env', 'dev', '--json'], { 'us-east-1': new FakeProbe(), 'us-west-2': new FakeProbe({ stream: taken }) });
    expect(code).toBe(1);
    const report = JSON.parse(out) as { exitCode: number; checks: PreflightCheck[] };
    expect(report.exitCode).toBe(1);
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([expect.objectContaining({ region: 'us-west-2', check: 'name', detail: expect.stringContaining('stream redstream-dev-events: taken') })]);
  });

  test('bad usage: no environment, an unknown one (exit 2)', async () => {
    expect((await run(['preflight'], {})).code).toBe(2);
    const unknown = await run(['preflight', '--env', 'qa'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown environment "qa"/);
  });
});
