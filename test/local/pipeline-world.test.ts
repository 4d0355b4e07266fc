/**
 * The local world as the pipeline wires it: each Region's replicator on its own replica of the global tables, the
 * Lambda control plane acting on the real replicators' mappings, and a split followed by the mappings. Replication
 * only (no warehouse), the dev environment of cdk.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DeleteFunctionConcurrencyCommand, ListEventSourceMappingsCommand, PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ENVIRONMENTS_CONTEXT_KEY, EnvironmentConfig, resolveEnvironments } from '../../lib/config';
import { replicatorFunctionName } from '../../lib/names';
import { stateTablesFor } from '../../lib/ops/settings';
import { checkpointSortKey } from '../../lambda/shared/state-tables';
import { LocalPipeline, startLocalPipeline } from '../../local/pipeline';
import { listShards, readWholeStream } from '../../local/shard-reader';
import { eventually, putRecords } from './helpers';

const config: EnvironmentConfig = resolveEnvironments(
  (JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context[ENVIRONMENTS_CONTEXT_KEY],
  'dev',
)[0];
let pipeline: LocalPipeline;
let primary: string;
let standby: string;
let stream: string;
let written = 0;

beforeAll(async () => {
  pipeline = await startLocalPipeline({ config, warehouse: false, tuning: { replicatorTimeoutMs: 2000, maxBatchingWindowMs: 50 } });
  [primary, standby] = pipeline.regions;
  stream = pipeline.streams[0].physicalName;
});

afterAll(async () => {
  await pipeline?.stop();
});

/** Writes `n` records to the primary and returns their payloads. */
async function write(n: number): Promise<string[]> {
  const data = Array.from({ length: n }, () => `r${++written}`);
  await putRecords(pipeline.kinesis(primary), stream, data.map((d, i) => ({ partitionKey: `k${i % 7}`, data: d })));
  return data;
}

async function inStandby(): Promise<Set<string>> {
  const byShard = await readWholeStream(pipeline.kinesisDirect(standby), stream);
  return new Set([...byShard.values()].flat().map((r) => Buffer.from(r.data).toString()));
}

test('every Region starts on its own replica holding the active-Region item; a replicator\'s checkpoint lands in its own replica first', async () => {
  for (const region of pipeline.regions) expect(await pipeline.activeRegionItem(stream, region)).toMatchObject({ activeRegion: primary, state: 'ACTIVE' });

  pipeline.dynamo.partition(standby);
  try {
    const data = await write(5);
    await pipeline.waitForMappings(Date.now(), { regions: [primary], timeoutMs: 60_000 });
    const [shard] = await listShards(pipeline.kinesis(primary), stream);
    const key = { streamName: stream, shardId: checkpointSortKey(primary, shard.shardId) };
    const table = stateTablesFor(config).checkpointTableName;
    const read = async (region: string) => (await pipeline.documents(region).send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
    expect(await read(primary)).toBeDefined();
    expect(await read(standby)).toBeUndefined(); // partitioned: nothing replicated to it
    for (const d of data) expect((await inStandby()).has(d)).toBe(true); // Kinesis replication is not affected

    pipeline.dynamo.heal(standby);
    await pipeline.dynamo.settle();
    expect(await read(standby)).toEqual(await read(primary));
  } finally {
    pipeline.dynamo.heal(standby);
  }
});

test('reserved concurrency 0 through the Region\'s Lambda control plane fences its replicator (records held), deleting it resumes', async () => {
  const lambda = pipeline.lambda(primary);
  const functionName = replicatorFunctionName(config.name);
  const listed = await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: functionName }));
  expect(listed.EventSourceMappings?.map((m) => m.State)).toEqual(pipeline.streams.map(() => 'Enabled'));

  await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: functionName, ReservedConcurrentExecutions: 0 }));
  const mapping = pipeline.mappings.find((m) => m.region === primary && m.streamName === stream);
  const throttlesBefore = mapping?.status().reduce((n, s) => n + s.throttles, 0) ?? 0;
  const data = await write(4);
  await eventually(() => (mapping?.status().reduce((n, s) => n + s.throttles, 0) ?? 0) > throttlesBefore + 2, 'the mapping to be throttled');
  const seen = await inStandby();
  expect(data.filter((d) => seen.has(d))).toEqual([]);

  await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: functionName }));
  await pipeline.waitForMappings(Date.now(), { regions: [primary], timeoutMs: 60_000 });
  const after = await inStandby();
  expect(data.filter((d) => !after.has(d))).toEqual([]);
  expect(pipeline.discardedBatches).toEqual([]);
});

test('after a split of the primary\'s shard, the replicator follows the children: everything written reaches the standby', async () => {
  const [shard] = (await listShards(pipeline.kinesis(primary), stream)).filter((s) => s.endingSequenceNumber === undefined);
  const before = await write(6);
  const split = await pipeline.splitShard(primary, stream, shard.shardId);
  const after = await write(20);
  await pipeline.waitForMappings(Date.now(), { regions: [primary], timeoutMs: 60_000 });

  const seen = await inStandby();
  expect([...before, ...after].filter((d) => !seen.has(d))).toEqual([]);
  const statuses = pipeline.mappings.find((m) => m.region === primary && m.streamName === stream)?.status() ?? [];
  expect(statuses.find((s) => s.shardId === shard.shardId)?.ended).toBe(true);
  for (const child of split.childShardIds) expect(statuses.map((s) => s.shardId)).toContain(child);
});
