/** Reconcile: the plan (pure, table-driven) and the command end to end against kinesalite in two Regions. */
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { ArchiveRecord } from '../../../lambda/archive/format';
import { perRegion } from '../../../lambda/failover/adapters';
import { planReconcile } from '../../../lambda/failover/reconcile';
import { CliDeps, EXIT_OK, runCli } from '../../../lambda/ops/cli';
import {
  createStreams,
  KinesisRegionRouter,
  localKinesisClient,
  RunningService,
  startDynamoDb,
  startKinesis,
  startKinesisRegionRouter,
} from '../../../local/emulators';
import { StreamReplaySource } from '../../../lambda/archive/replay';
import { activeItem, PRIMARY, STANDBY, STREAM } from './factories';
import { LocalState, localState } from './local-state';

const rec = (region: string, key: string, data: string, at: number, seq = String(at)): ArchiveRecord => ({
  stream: STREAM,
  region,
  shardId: 'shardId-000000000000',
  sequenceNumber: seq,
  subsequenceNumber: 0,
  partitionKey: key,
  approximateArrivalTimestampMs: at,
  data: Buffer.from(data).toString('base64'),
});

describe('planReconcile', () => {
  test('a record in another Region that the active one lacks is missing; one it holds (replica) is not', () => {
    const plan = planReconcile(STANDBY, [rec(STANDBY, 'a', '1', 10)], [{ region: PRIMARY, records: [rec(PRIMARY, 'a', '1', 5), rec(PRIMARY, 'b', '2', 6)] }]);
    expect(plan.missing.map((r) => [r.partitionKey, Buffer.from(r.data, 'base64').toString()])).toEqual([['b', '2']]);
    expect(plan).toMatchObject({ found: { [STANDBY]: 1, [PRIMARY]: 2 }, missingByRegion: { [PRIMARY]: 1 } });
  });

  test('copies are a set: an echo (two copies in the old Region, one in the active) is not missing, so reconcile settles', () => {
    const plan = planReconcile(STANDBY, [rec(STANDBY, 'a', '1', 10)], [{ region: PRIMARY, records: [rec(PRIMARY, 'a', '1', 5), rec(PRIMARY, 'a', '1', 12)] }]);
    expect(plan.missing).toEqual([]);
  });

  test('several copies of a missing record: one, the earliest; per key in arrival order across Regions', () => {
    const plan = planReconcile(
      'eu-west-1',
      [],
      [
        { region: PRIMARY, records: [rec(PRIMARY, 'k', 'x', 30), rec(PRIMARY, 'k', 'y', 10)] },
        { region: STANDBY, records: [rec(STANDBY, 'k', 'x', 20), rec(STANDBY, 'k', 'z', 40)] },
      ],
    );
    expect(plan.missing.map((r) => `${r.region}:${Buffer.from(r.data, 'base64').toString()}@${r.approximateArrivalTimestampMs}`)).toEqual([
      `${PRIMARY}:y@10`,
      `${STANDBY}:x@20`,
      `${STANDBY}:z@40`,
    ]);
    expect(plan.missingByRegion).toEqual({ [PRIMARY]: 1, [STANDBY]: 2 });
  });

  test('the same key and bytes in another partition key is another record', () => {
    expect(planReconcile(STANDBY, [rec(STANDBY, 'a', '1', 1)], [{ region: PRIMARY, records: [rec(PRIMARY, 'b', '1', 1)] }]).missing).toHaveLength(1);
  });
});

describe('ops reconcile against kinesalite', () => {
  let dynamo: RunningService;
  let kinesalites: RunningService[];
  let router: KinesisRegionRouter;
  let state: LocalState;
  const kinesis = perRegion((region) => localKinesisClient(router.endpoint, region));

  beforeAll(async () => {
    dynamo = await startDynamoDb();
    kinesalites = await Promise.all([startKinesis(PRIMARY), startKinesis(STANDBY)]);
    router = await startKinesisRegionRouter({ regions: { [PRIMARY]: kinesalites[0].endpoint, [STANDBY]: kinesalites[1].endpoint } });
    for (const region of [PRIMARY, STANDBY]) await createStreams(kinesis(region), [{ name: STREAM, shards: 2 }]);
    state = await localState(dynamo.endpoint);
    // Failed over: the standby is active.
    await state.putActive(activeItem({ activeRegion: STANDBY, epoch: 3 }));
  });
  afterAll(async () => {
    state.destroy();
    await router.stop();
    await Promise.all(kinesalites.map((k) => k.stop()));
    await dynamo.stop();
  });

  async function run(...argv: string[]): Promise<{ code: number; out: string; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const deps: CliDeps = {
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      loadEnvironments: () => ({ dev: { account: '111111111111', primaryRegion: PRIMARY, standbyRegions: [STANDBY], streams: [{ name: 'events', mode: 'PROVISIONED', shards: 2 }] } }),
      env: { REDSTREAM_CHECKPOINT_TABLE: state.tables.checkpointTableName, REDSTREAM_ACTIVE_REGION_TABLE: state.tables.activeRegionTableName },
      dynamoClients: state.clients,
      kinesisClients: kinesis,
      sleep: async () => undefined,
    };
    return { code: await runCli(argv, deps), out: out.join('\n'), err };
  }

  const put = (region: string, records: Array<[string, string]>) =>
    kinesis(region).send(new PutRecordsCommand({ StreamName: STREAM, Records: records.map(([k, d]) => ({ PartitionKey: k, Data: Buffer.from(d) })) }));

  test('copies the old Region\'s stranded and stray writes into the active Region in per-key order, once', async () => {
    const from = Date.now() - 1_000;
    // Replicated before the outage: in both Regions.
    await put(PRIMARY, [['u1', 'e1']]);
    await put(STANDBY, [['u1', 'e1']]);
    // Stranded in the old Region: never forwarded. Key u2 has three records whose order must hold.
    await put(PRIMARY, [['u2', 'e2'], ['u3', 'e3']]);
    await put(PRIMARY, [['u2', 'e4']]);
    await put(PRIMARY, [['u2', 'e5']]);

    const dry = await run('reconcile', '--env', 'dev', '--from', String(from), '--dry-run');
    expect(dry.code).toBe(EXIT_OK);
    expect(dry.out).toMatch(/missing from us-west-2: 4 \(4 from us-east-1\); nothing written \(dry run\)/);

    const first = await run('reconcile', '--env', 'dev', '--from', String(from), '--json');
    expect(first.code).toBe(EXIT_OK);
    expect(JSON.parse(first.out).streams[0]).toMatchObject({ activeRegion: STANDBY, plan: { missing: 4 }, write: { written: 4, outcome: 'completed' } });

    const inActive = await new StreamReplaySource(kinesis(STANDBY), STREAM, STANDBY).read(from, Date.now() + 1);
    const u2 = inActive.filter((r) => r.partitionKey === 'u2').sort((a, b) => (BigInt(a.sequenceNumber) < BigInt(b.sequenceNumber) ? -1 : 1));
    expect(u2.map((r) => Buffer.from(r.data, 'base64').toString())).toEqual(['e2', 'e4', 'e5']);
    expect(inActive.filter((r) => r.partitionKey === 'u1')).toHaveLength(1);

    const again = await run('reconcile', '--env', 'dev', '--from', String(from));
    expect(again.out).toMatch(/missing from us-west-2: 0; 0 written/);
  });

  test('refused while a switch is under way', async () => {
    await state.putActive(activeItem({ activeRegion: STANDBY, state: 'DRAINING', targetRegion: PRIMARY, epoch: 4 }));
    const r = await run('reconcile', '--env', 'dev', '--dry-run');
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toMatch(/a switch to us-east-1 is under way \(epoch 4\); reconcile once it is ACTIVE/);
    await state.putActive(activeItem({ activeRegion: STANDBY, epoch: 3 }));
  });
});
