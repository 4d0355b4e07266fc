/**
 * The failover function's handler against DynamoDB Local and kinesalite (behind the Region router), configured only
 * through its environment variables (AWS_ENDPOINT_URL_KINESIS reaches the ListShards adapter through the SDK).
 */
import type * as HandlerModule from '../../../lambda/failover/handler';
import {
  createStreams,
  KinesisRegionRouter,
  localKinesisClient,
  RunningService,
  startDynamoDb,
  startKinesis,
  startKinesisRegionRouter,
} from '../../../local/emulators';
import { activeItem, PRIMARY, STANDBY, STREAM } from './factories';
import { LocalState, localState } from './local-state';

let dynamo: RunningService;
let kinesalites: RunningService[] = [];
let router: KinesisRegionRouter;
let state: LocalState;
let handler: (event: unknown) => Promise<unknown>;
const saved = { ...process.env };

beforeAll(async () => {
  dynamo = await startDynamoDb();
  kinesalites = await Promise.all([startKinesis(PRIMARY), startKinesis(STANDBY)]);
  router = await startKinesisRegionRouter({ regions: { [PRIMARY]: kinesalites[0].endpoint, [STANDBY]: kinesalites[1].endpoint } });
  for (const [i, region] of [PRIMARY, STANDBY].entries()) {
    const kinesis = localKinesisClient(kinesalites[i].endpoint, region);
    await createStreams(kinesis, [{ name: STREAM, shards: 1 }]);
    kinesis.destroy();
  }
  state = await localState(dynamo.endpoint);
  await state.putActive(activeItem());
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_KINESIS: router.endpoint,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: PRIMARY,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    REDSTREAM_ENVIRONMENT: 'dev',
    REGIONS: `${PRIMARY},${STANDBY}`,
    STREAM_NAMES: STREAM,
    CHECKPOINT_TABLE_NAME: state.tables.checkpointTableName,
    ACTIVE_REGION_TABLE_NAME: state.tables.activeRegionTableName,
    // Zero waits keep the test fast; the protocol's order of steps is covered by the service tests.
    REPLICATOR_TIMEOUT_SECONDS: '1',
    ACTIVE_REGION_CACHE_TTL_SECONDS: '0',
    PROPAGATION_TIMEOUT_SECONDS: '5',
    POLL_INTERVAL_SECONDS: '1',
    RESUME_SAFETY_MARGIN_SECONDS: '60',
    FAILBACK_MAX_LAG_SECONDS: '60',
    REPLICATOR_FENCE_FUNCTION_NAME: 'redstream-dev-replicator',
  });
  // Loaded after the environment is set: the handler parses it once, at module scope (cold start).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ({ handler } = require('../../../lambda/failover/handler') as typeof HandlerModule);
});

afterAll(async () => {
  process.env = saved;
  state?.destroy();
  await router?.stop();
  await Promise.all(kinesalites.map((k) => k.stop()));
  await dynamo?.stop();
});

test('fails over on request and reports the result; status and a repeat are read-only', async () => {
  const result = await handler({ action: 'failover', targetRegion: STANDBY, expectedRegion: PRIMARY, reason: 'automatic: health alarm' });
  // The old Region's only shard has no checkpoint: listed and probed through AWS_ENDPOINT_URL_KINESIS, it holds no
  // record since the activation, so nothing is unreplicated; the activation time comes from the standby's Date header.
  // The clock check against the standby's Date header (1 s resolution) may warn of a skew when a loaded machine
  // stalls its round trips; nothing else may warn.
  expect((result as { warnings: string[] }).warnings.filter((w) => !/AWS clock; times are corrected$/.test(w))).toEqual([]);
  expect(result).toMatchObject({
    ok: true,
    action: 'failover',
    streams: [{ streamName: STREAM, outcome: 'switched', epoch: 3, lowWaterMark: { basis: 'observed', uncheckpointedShards: ['shardId-000000000000'], unprobedShards: [] } }],
  });
  expect(await state.activeRegions.read(STANDBY, STREAM)).toMatchObject({ state: 'ACTIVE', activeRegion: STANDBY, reason: 'automatic: health alarm' });

  // The alarm fires again (or in the other Region): same request, nothing changes.
  expect(await handler({ action: 'failover', targetRegion: STANDBY, expectedRegion: PRIMARY })).toMatchObject({ ok: true, streams: [{ outcome: 'noop' }] });
  expect(await handler({ action: 'status' })).toMatchObject({ streams: [{ item: { activeRegion: STANDBY, epoch: 3 } }] });
});

test('an invalid event fails the invocation with the field name', async () => {
  await expect(handler({ action: 'failover' })).rejects.toThrow('targetRegion: is required for a failover');
});
