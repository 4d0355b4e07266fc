/**
 * The operator CLI in-process against DynamoDB Local and one kinesalite per Region (behind the Region router, which
 * can take a Region's Kinesis down): each command's output and exit code; bad arguments.
 */
import { KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { perRegion } from '../../../lambda/failover/adapters';
import { CliDeps, EXIT_FAILED, EXIT_OK, EXIT_USAGE, runCli } from '../../../lambda/ops/cli';
import { ConfigurationError } from '../../../lambda/ops/context';
import {
  createStreams,
  KinesisRegionRouter,
  localKinesisClient,
  RunningService,
  startDynamoDb,
  startKinesis,
  startKinesisRegionRouter,
} from '../../../local/emulators';
import { activeItem, checkpoint, PRIMARY, STANDBY, STREAM } from '../failover/factories';
import { FakeClock, LocalState, localState } from '../failover/local-state';

const ENVIRONMENTS = {
  dev: {
    account: '111111111111',
    primaryRegion: PRIMARY,
    standbyRegions: [STANDBY],
    streams: [{ name: 'events', mode: 'PROVISIONED', shards: 2 }],
  },
};

const SHARD_0 = 'shardId-000000000000';
const SHARD_1 = 'shardId-000000000001';

let dynamo: RunningService;
let kinesalites: RunningService[] = [];
let router: KinesisRegionRouter;
const kinesisCreated: KinesisClient[] = [];
const kinesisClients = perRegion((region) => {
  const c = localKinesisClient(router.endpoint, region);
  kinesisCreated.push(c);
  return c;
});
let state: LocalState;
let clock: FakeClock;

beforeAll(async () => {
  dynamo = await startDynamoDb();
  kinesalites = await Promise.all([startKinesis(PRIMARY), startKinesis(STANDBY)]);
  router = await startKinesisRegionRouter({ regions: { [PRIMARY]: kinesalites[0].endpoint, [STANDBY]: kinesalites[1].endpoint } });
  // The events stream of the config below, with its two shards, in both Regions.
  for (const region of [PRIMARY, STANDBY]) await createStreams(kinesisClients(region), [{ name: STREAM, shards: 2 }]);
});
afterAll(async () => {
  kinesisCreated.forEach((c) => c.destroy());
  await router?.stop();
  await Promise.all(kinesalites.map((k) => k.stop()));
  await dynamo?.stop();
});
beforeEach(async () => {
  state = await localState(dynamo.endpoint);
  clock = new FakeClock(Date.parse('2026-11-22T02:00:00.000Z'));
  await state.putActive(activeItem());
});
afterEach(() => {
  state.destroy();
  router.setRegionDown(PRIMARY, false);
  router.setRegionDown(STANDBY, false);
});

/**
 * A real record's sequence number in a shard of the events stream: the probes read after a checkpoint, so the
 * checkpoints of these tests must name records that exist (Kinesis rejects an iterator after a foreign number).
 */
async function recordIn(region: string, shardId: string): Promise<string> {
  const explicitHashKey = shardId === SHARD_0 ? '0' : (2n ** 127n).toString();
  const out = await kinesisClients(region).send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: 'k', ExplicitHashKey: explicitHashKey, Data: Buffer.from('x') }));
  expect(out.ShardId).toBe(shardId);
  return out.SequenceNumber!;
}

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string[] }> {
  return runWith({}, ...argv);
}

async function runWith(extra: Partial<CliDeps>, ...argv: string[]): Promise<{ code: number; out: string; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const deps: CliDeps = {
    ...extra,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    loadEnvironments: () => ENVIRONMENTS,
    env: { REDSTREAM_CHECKPOINT_TABLE: state.tables.checkpointTableName, REDSTREAM_ACTIVE_REGION_TABLE: state.tables.activeRegionTableName },
    dynamoClients: state.clients,
    kinesisClients,
    clock: clock.clock,
    sleep: clock.sleep,
    newSwitchId: () => 'switch-1',
    // The fake clock stands for the endpoints' clock too (kinesalite's Date header is the machine's real time).
    trustedClock: { measure: async () => ({ offsetLowMs: 0, offsetHighMs: 0 }) },
  };
  const code = await runCli(argv, deps);
  return { code, out: out.join('\n'), err };
}

describe('bad usage: exit 2, one clear line on stderr, nothing on stdout', () => {
  test.each([
    [[], /^ops: error: no command given/],
    [['promote'], /^ops: error: unknown command "promote" \(commands: status, failover, failback[,)]/],
    [['status', '--verbose'], /^ops: error: unknown option --verbose/],
    [['status'], /^ops: error: no environment: pass --env NAME or set REDSTREAM_ENV/],
    [['status', '--env', 'qa'], /^ops: error: unknown environment "qa" \(environments: dev\)/],
    [['status', '--env', 'dev', '--to', STANDBY], /^ops: error: option --to does not apply to status/],
    [['status', '--env', 'dev', '--env', 'prod'], /^ops: error: option --env is given twice/],
    [['--env', 'dev', 'status'], /^ops: error: no command given: the command comes first/],
    [['failover', '--env', 'dev', '--to', '--json'], /^ops: error: option --to needs a value/],
    [['failover', '--env', 'dev'], /^ops: error: failover needs --to REGION/],
    [['failover', '--env', 'dev', '--to'], /^ops: error: option --to needs a value/],
    [['failover', '--env', 'dev', '--to', 'eu-west-1'], /^ops: error: --to eu-west-1 is not a Region of dev \(Regions: us-east-1, us-west-2\)/],
    [['failover', '--env', 'dev', '--to', STANDBY, '--streams', 'clicks'], /^ops: error: unknown stream "clicks" in dev \(streams: events\)/],
    [['failover', '--env', 'dev', '--to', STANDBY, '--json=yes'], /^ops: error: option --json takes no value/],
    [['failover', '--env', 'dev', '--to', STANDBY, '--propagation-timeout', 'soon'], /^ops: error: --propagation-timeout must be a whole number/],
    [['status', 'failover'], /^ops: error: unexpected argument "failover"/],
  ])('%j', async (argv, message) => {
    const { code, out, err } = await run(...argv);
    expect(code).toBe(EXIT_USAGE);
    expect(out).toBe('');
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(message);
    expect(err[0]).toMatch(/run with --help for usage$/);
  });
});

test('an invalid environment config in cdk.json is a configuration error (exit 1), naming the field', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['status', '--env', 'dev'], {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    loadEnvironments: () => ({ dev: { ...ENVIRONMENTS.dev, primaryRegion: 'mars-1' } }),
    env: {},
  });
  expect(code).toBe(EXIT_FAILED);
  expect(out).toEqual([]);
  expect(err).toEqual([expect.stringMatching(/^ops: error: Invalid Redstream configuration: redstream:environments\.dev\.primaryRegion/)]);
});

test.each([
  ['no environments context', () => undefined, /^ops: error: cdk\.json has no redstream:environments context$/],
  ['an unreadable cdk.json', () => { throw new ConfigurationError('cannot read cdk.json: Unexpected token'); }, /^ops: error: cannot read cdk\.json: Unexpected token$/],
])('%s is a configuration error: exit 1, one line', async (_name, loadEnvironments, message) => {
  const err: string[] = [];
  const code = await runCli(['status', '--env', 'dev'], { stdout: () => undefined, stderr: (t) => err.push(t), loadEnvironments, env: {} });
  expect(code).toBe(EXIT_FAILED);
  expect(err).toEqual([expect.stringMatching(message)]);
});

test('--help prints the usage with the exit codes and exits 0', async () => {
  const { code, out } = await run('--help');
  expect(code).toBe(EXIT_OK);
  expect(out).toMatch(/^Usage: npm run ops -- <command> \[options\]/);
  expect(out).toMatch(/Exit codes: 0 done .*, 1 refused .*\n2 bad usage/);
  for (const command of ['status', 'failover', 'failback']) expect(out).toMatch(new RegExp(`^  ${command} `, 'm'));
});

test.each([['-h'], ['failover', '--help'], ['status', '-h']])('%j prints usage on stdout and exits 0, nothing on stderr', async (...argv) => {
  const { code, out, err } = await run(...argv);
  expect(code).toBe(EXIT_OK);
  expect(out).toMatch(/^Usage: npm run ops -- /);
  expect(err).toEqual([]);
  if (argv[0] === 'failover') expect(out).toMatch(/^Usage: npm run ops -- failover --to REGION \[options\]/);
});

test('status: active Region, epoch, replicas, per-shard checkpoints, low-water mark and lag', async () => {
  const seq0 = await recordIn(PRIMARY, SHARD_0);
  const seq1 = await recordIn(PRIMARY, SHARD_1);
  await state.putCheckpoint(checkpoint(PRIMARY, 'shardId-000000000000', clock.now - 9_000, { updatedAt: clock.now - 8_000, sequenceNumber: seq0 }));
  await state.putCheckpoint(checkpoint(PRIMARY, 'shardId-000000000001', clock.now - 4_000, { updatedAt: clock.now - 1_000, sequenceNumber: seq1 }));

  const { code, out } = await run('status', '--env', 'dev');

  expect(code).toBe(EXIT_OK);
  expect(out.split('\n')).toEqual([
    'environment dev: primary us-east-1, standby us-west-2 (read from us-east-1 at 2026-11-22T02:00:00.000Z)',
    `${STREAM}: ACTIVE in us-east-1, epoch 1, activated 1970-01-01T00:00:00.000Z`,
    '  replicas: us-east-1 ACTIVE us-east-1 epoch 1 | us-west-2 ACTIVE us-east-1 epoch 1',
    // Both shards are probed after their checkpoints in kinesalite and hold nothing unreplicated: the mark is now.
    '  low-water mark from us-east-1: 2026-11-22T02:00:00.000Z (observed, 2 shard(s)); resume timestamp if failed over now: 2026-11-22T01:59:00.000Z; current lag 0.0 s',
    `  us-east-1/shardId-000000000000  seq ${seq0}  arrived 2026-11-22T01:59:51.000Z  lag 1.0 s  age 9.0 s`,
    `  us-east-1/shardId-000000000001  seq ${seq1}  arrived 2026-11-22T01:59:56.000Z  lag 3.0 s  age 4.0 s`,
  ]);

  const asJson = await run('status', '--env', 'dev', '--json', '--streams', 'events');
  expect(asJson.code).toBe(EXIT_OK);
  expect(JSON.parse(asJson.out)).toMatchObject({ environment: 'dev', streams: [{ streamName: STREAM, item: { epoch: 1 }, maxLagMs: 0 }] });
});

test('failover: switches and prints the resume timestamp; a repeat is a no-op (exit 0); the wrong --from is refused (exit 1)', async () => {
  await state.putCheckpoint(checkpoint(PRIMARY, SHARD_0, clock.now - 30_000, { sequenceNumber: await recordIn(PRIMARY, SHARD_0) }));
  await state.putCheckpoint(checkpoint(PRIMARY, SHARD_1, clock.now - 10_000, { sequenceNumber: await recordIn(PRIMARY, SHARD_1) }));

  const first = await run('failover', '--env', 'dev', '--to', STANDBY, '--from', PRIMARY, '--reason', 'us-east-1 degraded');
  expect(first.code).toBe(EXIT_OK);
  expect(first.out.split('\n')).toEqual([
    'failover to us-west-2 (dev, switch switch-1): OK',
    `  ${STREAM}: switched: switched from us-east-1 to us-west-2 (epoch 1 → 3)`,
    '    activated at 2026-11-22T02:02:06.000Z',
    '    producers and consumers resume from 2026-11-22T02:01:06.000Z (nothing of us-east-1 was unreplicated when it was read: 2026-11-22T02:02:06.000Z minus the safety margin)',
  ]);
  expect(first.err.filter((l) => l.startsWith('warning:'))).toEqual([]);
  expect(first.err).toContain('every replica shows the drain; waiting 126 s for in-flight forwarding to end');
  // Without a terminal the wait is a countdown of plain lines, one per 10 %.
  const countdown = first.err.filter((l) => l.startsWith('waiting: '));
  expect(countdown[0]).toBe('waiting: 0% (0/126 s), time left unknown');
  expect(countdown).toContain('waiting: 50% (63/126 s), 1:03 left');
  expect(countdown.at(-1)).toBe('waiting: 100% (126/126 s), done');
  expect(countdown).toHaveLength(11);
  expect(await state.activeRegions.read(STANDBY, STREAM)).toMatchObject({ state: 'ACTIVE', activeRegion: STANDBY, epoch: 3, reason: 'us-east-1 degraded' });

  const again = await run('failover', '--env', 'dev', '--to', STANDBY, '--json');
  expect(again.code).toBe(EXIT_OK);
  expect(JSON.parse(again.out)).toMatchObject({ ok: true, streams: [{ outcome: 'noop', epoch: 3 }] });

  const wrongFrom = await run('failover', '--env', 'dev', '--to', PRIMARY, '--from', PRIMARY);
  expect(wrongFrom.code).toBe(EXIT_FAILED);
  expect(wrongFrom.out).toMatch(/NOT DONE\n {2}redstream-dev-events: refused: expected us-east-1 to be active, but us-west-2 is \(epoch 3\)/);
});

test('failover: a shard of the old Region without a checkpoint is probed from the old activation time (kinesalite, AT_TIMESTAMP), and is named', async () => {
  await state.putActive(activeItem({ activatedAt: Date.parse('2026-11-22T01:00:00.000Z') }));
  await state.putCheckpoint(checkpoint(PRIMARY, SHARD_0, clock.now - 30_000, { sequenceNumber: await recordIn(PRIMARY, SHARD_0) }));
  // Shard 1 holds a record since the activation that was never replicated. (kinesalite stamps arrivals with the
  // machine's real time, later than this test's clock, so the mark stays at the observation time.)
  await recordIn(PRIMARY, SHARD_1);

  const before = await run('status', '--env', 'dev');
  expect(before.out).toContain(
    '  low-water mark from us-east-1: 2026-11-22T02:00:00.000Z (observed, 2 shard(s); unreplicated records in: shardId-000000000001; no checkpoint: shardId-000000000001); ' +
      'resume timestamp if failed over now: 2026-11-22T01:59:00.000Z',
  );

  const { code, out, err } = await run('failover', '--env', 'dev', '--to', STANDBY);
  expect(code).toBe(EXIT_OK);
  expect(out.split('\n')[3]).toBe(
    '    producers and consumers resume from 2026-11-22T02:01:06.000Z (nothing of us-east-1 was unreplicated when it was read: 2026-11-22T02:02:06.000Z minus the safety margin)',
  );
  expect(err.filter((l) => l.startsWith('warning:'))).toEqual([]);
  expect(await state.activeRegions.read(STANDBY, STREAM)).toMatchObject({ activeRegion: STANDBY, resumeTimestamp: Date.parse('2026-11-22T02:01:06.000Z') });
});

test('failover with the old Region\'s Kinesis down: resume from the checkpoints, with a warning naming the fallback (exit 0)', async () => {
  await state.putActive(activeItem({ activatedAt: Date.parse('2026-11-22T01:00:00.000Z') }));
  await state.putCheckpoint(checkpoint(PRIMARY, SHARD_0, clock.now - 30_000));
  router.setRegionDown(PRIMARY, true);

  const { code, out, err } = await run('failover', '--env', 'dev', '--to', STANDBY, '--from', PRIMARY);

  expect(code).toBe(EXIT_OK);
  expect(out.split('\n').slice(3)).toEqual([
    '    producers and consumers resume from 2026-11-22T01:58:30.000Z (checkpoint of a shard of us-east-1 that could not be read (shardId-000000000000) 2026-11-22T01:59:30.000Z minus the safety margin)',
    '    WARNING: checkpointed shards only: the shards of us-east-1 could not be listed (see the warning)',
  ]);
  expect(err.filter((l) => l.startsWith('warning:'))).toEqual([
    'warning: redstream-dev-events: the shards of us-east-1 could not be listed (ServiceUnavailable: router: Region us-east-1 is down), ' +
      'so the resume timestamp covers only the 1 shard(s) with a checkpoint; a shard without one may hold unreplicated records from before it. ' +
      'If in doubt, re-send from 2026-11-22T01:00:00.000Z (when us-east-1 became active) minus the safety margin',
  ]);
  expect(await state.activeRegions.read(STANDBY, STREAM)).toMatchObject({ state: 'ACTIVE', activeRegion: STANDBY });
});

test('failover on a terminal: the wait for in-flight forwarding is one line redrawn in place with a bar and the time left', async () => {
  const chunks: string[] = [];
  const { code, err } = await runWith({ interactive: true, stderrWrite: (c) => chunks.push(c) }, 'failover', '--env', 'dev', '--to', STANDBY);
  expect(code).toBe(EXIT_OK);
  expect(err.some((l) => l.startsWith('waiting: '))).toBe(false);
  expect(chunks).toHaveLength(126 + 2);
  expect(chunks[0]).toMatch(/^\rwaiting \[\.{24}\] {3}0% 0\/126 s · time left unknown\x1b\[K$/);
  expect(chunks[63]).toMatch(/^\rwaiting \[#{12}\.{12}\] {2}50% 63\/126 s · 1:03 left\x1b\[K$/);
  expect(chunks.at(-1)).toBe('\n');
});

test('failover --dry-run writes nothing and exits 0', async () => {
  const { code, out } = await run('failover', '--env', 'dev', '--to', STANDBY, '--dry-run');
  expect(code).toBe(EXIT_OK);
  expect(out).toMatch(/^failover to us-west-2 \(dev, switch switch-1\): DRY RUN, would succeed\n {2}redstream-dev-events: would-switch: would drain \(epoch 1 → 2\)/);
  expect(await state.activeRegions.read(PRIMARY, STREAM)).toMatchObject({ state: 'ACTIVE', activeRegion: PRIMARY, epoch: 1 });
});

test('failback: refused while the standby\'s shards cannot be read (exit 1), done once they can and hold nothing unreplicated (exit 0)', async () => {
  expect((await run('failover', '--env', 'dev', '--to', STANDBY)).code).toBe(EXIT_OK);

  router.setRegionDown(STANDBY, true);
  const unlisted = await run('failback', '--env', 'dev');
  expect(unlisted.code).toBe(EXIT_FAILED);
  expect(unlisted.out).toMatch(/refused: failback refused: the shards of us-west-2 could not be listed \(ServiceUnavailable: router: Region us-west-2 is down\), so its replication cannot be shown to have caught up; /);
  const status = await run('status', '--env', 'dev', '--region', PRIMARY);
  expect(status.out).toMatch(/failback to us-east-1: not ready: the shards of us-west-2 could not be listed/);

  router.setRegionDown(STANDBY, false);
  const done = await run('failback', '--env', 'dev', '--reason', 'back home');
  expect(done.code).toBe(EXIT_OK);
  expect(done.out).toMatch(/: OK\n {2}redstream-dev-events: switched: switched from us-west-2 to us-east-1 \(epoch 3 → 5\)/);
});

test('an AWS error is one line and exit 1', async () => {
  const { code, err } = await run('status', '--env', 'dev', '--active-region-table', 'missing-table', '--region', PRIMARY);
  expect(code).toBe(EXIT_FAILED);
  expect(err).toEqual([expect.stringMatching(/^ops: error: ResourceNotFoundException: /)]);
});
