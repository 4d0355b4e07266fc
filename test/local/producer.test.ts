import { KinesisClient } from '@aws-sdk/client-kinesis';
import { createStreams, KinesisRegionRouter, localKinesisClient, RunningService, startKinesis, startKinesisRegionRouter } from '../../local/emulators';
import { Producer } from '../../local/producer';
import { malformedRecord } from '../../local/segment-events';
import { readWholeStream } from '../../local/shard-reader';
import { eventually, uniqueName } from './helpers';

const [A, B] = ['us-east-1', 'us-west-2'];
let kinesalites: RunningService[];
let router: KinesisRegionRouter;
const clients = new Map<string, KinesisClient>();
const direct = new Map<string, KinesisClient>();

beforeAll(async () => {
  kinesalites = [await startKinesis(A), await startKinesis(B)];
  router = await startKinesisRegionRouter({ regions: { [A]: kinesalites[0].endpoint, [B]: kinesalites[1].endpoint } });
  for (const [i, r] of [A, B].entries()) {
    clients.set(r, localKinesisClient(router.endpoint, r));
    direct.set(r, localKinesisClient(kinesalites[i].endpoint, r));
  }
});

afterAll(async () => {
  for (const c of [...clients.values(), ...direct.values()]) c.destroy();
  await router.stop();
  for (const k of kinesalites) await k.stop();
});

async function stream(): Promise<string> {
  const name = uniqueName('producer');
  for (const r of [A, B]) await createStreams(direct.get(r)!, [{ name, shards: 2 }]);
  return name;
}

const event = (id: string, user = 'u1'): { partitionKey: string; data: Buffer } => ({ partitionKey: user, data: Buffer.from(JSON.stringify({ messageId: id, type: 'track' })) });
const payloads = async (region: string, name: string): Promise<string[]> =>
  [...(await readWholeStream(direct.get(region)!, name)).values()].flat().map((r) => Buffer.from(r.data).toString('utf8'));

test('writes every record and keeps a ledger of ids, re-sends and malformed records', async () => {
  const name = await stream();
  const bad = malformedRecord('not_object', 'b1');
  const producer = new Producer({ source: [event('1'), event('2', 'u2'), event('1'), bad], streamName: name, region: A, clientFor: (r) => clients.get(r)!, ratePerSecond: 0 });

  await producer.run();

  expect((await payloads(A, name)).sort()).toEqual([...[event('1'), event('2'), event('1')].map((e) => e.data.toString()), Buffer.from(bad.data).toString()].sort());
  const { ledger } = producer;
  expect([ledger.produced, ledger.firstWrites, ledger.resends, ledger.malformedCount, ledger.replays]).toEqual([4, 4, 1, 1, 0]);
  expect([...ledger.validIds].sort()).toEqual(['1', '2']);
  expect(ledger.malformedByReason()).toEqual({ not_object: 1 });
  expect(ledger.writes.every((w) => w.region === A && /^\d+$/.test(w.sequenceNumber))).toBe(true);
});

test('holds records while its Region is down, then re-sends in the new Region everything written since the resume time', async () => {
  const name = await stream();
  const source = Array.from({ length: 40 }, (_, i) => event(`m${i}`, `u${i % 3}`));
  // One producer writes the first 20 while A is up; then A goes down under a second one.
  const first = new Producer({ source: source.slice(0, 20), streamName: name, region: A, clientFor: (r) => clients.get(r)!, ratePerSecond: 0 });
  await first.run();

  router.setRegionDown(A, true);
  const rest = new Producer({ source: source.slice(20), streamName: name, region: A, clientFor: (r) => clients.get(r)!, ratePerSecond: 0, maxBackoffMs: 20 });
  const run = rest.run();
  await eventually(() => rest.ledger.failedCalls >= 2, 'failed calls while the Region is down');
  expect(rest.ledger.firstWrites).toBe(0);

  await rest.pause();
  expect(rest.switchRegion(B, 0)).toBe(0); // it wrote nothing to A: nothing to re-send
  rest.resume();
  await run;
  await rest.run();
  router.setRegionDown(A, false);

  expect((await payloads(B, name)).sort()).toEqual(source.slice(20).map((e) => e.data.toString()).sort());
  expect(rest.ledger.firstWrites).toBe(20);

  // A producer that had written to A re-sends its writes since the resume time, in order, then goes on in B.
  const resumeFrom = first.ledger.writes[10].writtenAtMs;
  const expected = first.ledger.writes.filter((w) => w.writtenAtMs >= resumeFrom).length;
  expect(first.switchRegion(B, resumeFrom)).toBe(expected);
  first.resume();
  await first.run();
  expect(first.ledger.replays).toBe(expected);
  expect(first.ledger.writes.filter((w) => w.region === B).every((w) => w.replay)).toBe(true);
  const bPayloads = await payloads(B, name);
  expect(bPayloads).toHaveLength(20 + expected);
});
