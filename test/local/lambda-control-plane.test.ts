import type { KinesisStreamEvent } from 'aws-lambda';
import {
  DeleteFunctionConcurrencyCommand,
  GetEventSourceMappingCommand,
  GetFunctionConcurrencyCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
  PutFunctionConcurrencyCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { createStreams, KinesisRegionRouter, LOCAL_CREDENTIALS, localKinesisClient, RunningService, startKinesis, startKinesisRegionRouter } from '../../local/emulators';
import { EventSourceMapping, startEventSourceMapping } from '../../local/event-source-mapping';
import { LambdaControlPlane, startLambdaControlPlane } from '../../local/lambda-control-plane';
import { inProcessFunction } from '../../local/local-function';
import { eventually, putRecords, uniqueName } from './helpers';

const A = 'us-west-2';
const B = 'eu-west-1';
const FUNCTION = 'redstream-test-replicator';
let kinesalite: RunningService;
let router: KinesisRegionRouter;
let kinesis: KinesisClient;
let plane: LambdaControlPlane;
const lambdas = new Map<string, LambdaClient>();
const mappings: EventSourceMapping[] = [];

const lambda = (region: string): LambdaClient => {
  let c = lambdas.get(region);
  if (!c) {
    c = new LambdaClient({ endpoint: plane.endpoint, region, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    lambdas.set(region, c);
  }
  return c;
};

beforeAll(async () => {
  kinesalite = await startKinesis(A);
  router = await startKinesisRegionRouter({ regions: { [A]: kinesalite.endpoint } });
  kinesis = localKinesisClient(router.endpoint, A);
  plane = await startLambdaControlPlane({ regions: [A, B] });
});

afterEach(async () => {
  await Promise.all(mappings.splice(0).map((m) => m.stop()));
  plane.setRegionDown(A, false);
  plane.setDelay(A, 0);
});

afterAll(async () => {
  lambdas.forEach((c) => c.destroy());
  kinesis.destroy();
  await plane.stop();
  await router.stop();
  await kinesalite.stop();
});

/** A stream with `count` records, a function registered in Region A and its mapping. */
async function world(count: number, functionName = uniqueName(FUNCTION)) {
  const stream = uniqueName('cp');
  await createStreams(kinesis, [{ name: stream, shards: 1 }]);
  await putRecords(kinesis, stream, Array.from({ length: count }, (_, i) => ({ partitionKey: `k${i}`, data: `r${i}` })));
  const delivered: string[] = [];
  const fn = inProcessFunction(
    async (event: KinesisStreamEvent) => {
      delivered.push(...event.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString()));
    },
    { functionName, region: A },
  );
  const gate = plane.registerFunction(A, fn);
  const m = await startEventSourceMapping({
    kinesis,
    region: A,
    streamName: stream,
    target: fn,
    batchSize: 10,
    idlePollMs: 20,
    retryBackoffMs: { min: 1, max: 20 },
    stateTransitionMs: 10,
    reportBatchItemFailures: true,
    concurrency: gate,
  });
  mappings.push(m);
  plane.registerMapping(A, m);
  return { stream, fn, m, delivered, functionName };
}

test('ListEventSourceMappings by FunctionName (name or ARN) describes the Region\'s mapping; another Region has none', async () => {
  const { m, fn, functionName } = await world(0);
  for (const name of [functionName, fn.functionArn]) {
    const out = await lambda(A).send(new ListEventSourceMappingsCommand({ FunctionName: name }));
    expect(out.EventSourceMappings).toEqual([
      expect.objectContaining({
        UUID: m.uuid,
        FunctionArn: fn.functionArn,
        EventSourceArn: m.eventSourceArn,
        State: 'Enabled',
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        LastModified: expect.any(Date),
      }),
    ]);
  }
  await expect(lambda(B).send(new ListEventSourceMappingsCommand({ FunctionName: functionName }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
});

test('reserved concurrency 0 throttles the mapping (records held, not skipped); deleting it resumes delivery', async () => {
  const { m, delivered, functionName } = await world(0);
  const put = await lambda(A).send(new PutFunctionConcurrencyCommand({ FunctionName: functionName, ReservedConcurrentExecutions: 0 }));
  expect(put.ReservedConcurrentExecutions).toBe(0);
  expect((await lambda(A).send(new GetFunctionConcurrencyCommand({ FunctionName: functionName }))).ReservedConcurrentExecutions).toBe(0);

  await putRecords(kinesis, m.streamName, [{ partitionKey: 'k', data: 'while fenced' }]);
  await eventually(() => m.status()[0].throttles >= 3, 'throttles');
  expect(delivered).toEqual([]);

  await lambda(A).send(new DeleteFunctionConcurrencyCommand({ FunctionName: functionName }));
  expect((await lambda(A).send(new GetFunctionConcurrencyCommand({ FunctionName: functionName }))).ReservedConcurrentExecutions).toBeUndefined();
  await m.waitUntilCaughtUp(Date.now());
  expect(delivered).toEqual(['while fenced']);
  expect(m.status()[0].recordsDiscarded).toBe(0);
});

test('UpdateEventSourceMapping Enabled=false disables the mapping (Disabling, then Disabled); Enabled=true resumes', async () => {
  const { m, delivered } = await world(3);
  await m.waitUntilCaughtUp(Date.now());
  const off = await lambda(A).send(new UpdateEventSourceMappingCommand({ UUID: m.uuid, Enabled: false }));
  expect(off.State).toBe('Disabling');
  await eventually(() => m.state() === 'Disabled', 'Disabled');
  expect((await lambda(A).send(new GetEventSourceMappingCommand({ UUID: m.uuid }))).State).toBe('Disabled');

  await putRecords(kinesis, m.streamName, [{ partitionKey: 'k', data: 'while disabled' }]);
  await new Promise((r) => setTimeout(r, 150));
  expect(delivered).toEqual(['r0', 'r1', 'r2']);

  await lambda(A).send(new UpdateEventSourceMappingCommand({ UUID: m.uuid, Enabled: true }));
  await m.waitUntilCaughtUp(Date.now());
  expect(delivered).toEqual(['r0', 'r1', 'r2', 'while disabled']);
});

test('a Region whose control plane is down answers 503 to every call; the mapping keeps running', async () => {
  const { m, delivered, functionName } = await world(2);
  plane.setRegionDown(A, true);
  await expect(lambda(A).send(new PutFunctionConcurrencyCommand({ FunctionName: functionName, ReservedConcurrentExecutions: 0 }))).rejects.toMatchObject({
    name: 'ServiceException',
    $metadata: { httpStatusCode: 503 },
  });
  await expect(lambda(A).send(new UpdateEventSourceMappingCommand({ UUID: m.uuid, Enabled: false }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 503 } });
  await m.waitUntilCaughtUp(Date.now());
  expect(delivered).toEqual(['r0', 'r1']);
  expect(plane.reservedConcurrency(A, functionName)).toBeUndefined();
});

test('a slow control plane delays each answer', async () => {
  const { functionName } = await world(0);
  plane.setDelay(A, 300);
  const started = Date.now();
  await lambda(A).send(new GetFunctionConcurrencyCommand({ FunctionName: functionName }));
  expect(Date.now() - started).toBeGreaterThanOrEqual(290); // a lower bound only: timers never fire early (give or take the clock's millisecond)
});

test('bad requests get the API\'s errors', async () => {
  const { functionName } = await world(0);
  await expect(lambda(A).send(new GetFunctionConcurrencyCommand({ FunctionName: 'no-such-function' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  await expect(lambda(A).send(new GetEventSourceMappingCommand({ UUID: 'no-such-uuid' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  await expect(lambda(A).send(new PutFunctionConcurrencyCommand({ FunctionName: functionName, ReservedConcurrentExecutions: -1 }))).rejects.toMatchObject({
    name: 'InvalidParameterValueException',
  });
});
