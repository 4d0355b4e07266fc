/** Test fixture: the two state tables in DynamoDB Local, per-Region document clients, a fake clock. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbActiveRegionStore, DynamoDbCheckpointStore, perRegion, RegionalClients, StateTables } from '../../../lambda/failover/adapters';
import { ProbeStart, ShardDescription } from '../../../lambda/failover/decisions';
import { ShardInspector } from '../../../lambda/failover/ports';
import { FailoverDeps } from '../../../lambda/failover/service';
import { ActiveRegionItem, CheckpointItem } from '../../../lambda/shared/state-tables';
import { createStateTables, LOCAL_CREDENTIALS } from '../../../local/emulators';

let tableCounter = 0;

export interface LocalState {
  readonly tables: StateTables;
  readonly clients: RegionalClients<DynamoDBDocumentClient>;
  readonly activeRegions: DynamoDbActiveRegionStore;
  readonly checkpoints: DynamoDbCheckpointStore;
  putActive(item: ActiveRegionItem): Promise<void>;
  putCheckpoint(item: CheckpointItem): Promise<void>;
  destroy(): void;
}

/** Fresh tables (unique names) in the shared DynamoDB Local; one client per Region, all reaching the same database. */
export async function localState(endpoint: string): Promise<LocalState> {
  tableCounter += 1;
  const suffix = `${process.pid}-${tableCounter}`;
  const tables: StateTables = { checkpointTableName: `checkpoints-${suffix}`, activeRegionTableName: `active-region-${suffix}` };
  await createStateTables(endpoint, tables);
  const created: DynamoDBDocumentClient[] = [];
  const clients = perRegion((region) => {
    const c = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint, region, credentials: LOCAL_CREDENTIALS }), {
      marshallOptions: { removeUndefinedValues: true },
    });
    created.push(c);
    return c;
  });
  return {
    tables,
    clients,
    activeRegions: new DynamoDbActiveRegionStore(clients, tables.activeRegionTableName),
    checkpoints: new DynamoDbCheckpointStore(clients, tables.checkpointTableName),
    putActive: async (item) => {
      await clients('us-east-1').send(new PutCommand({ TableName: tables.activeRegionTableName, Item: { ...item } }));
    },
    putCheckpoint: async (item) => {
      await clients('us-east-1').send(new PutCommand({ TableName: tables.checkpointTableName, Item: { ...item } }));
    },
    destroy: () => created.forEach((c) => c.destroy()),
  };
}

/** A clock that only moves when the code under test sleeps (or the test advances it). */
export class FakeClock {
  constructor(public now = 1_700_000_000_000) {}
  readonly sleeps: number[] = [];
  /** Called before each sleep returns; lets a test act "during" a wait. */
  onSleep?: (ms: number) => Promise<void>;
  clock = (): number => this.now;
  sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.now += ms;
    if (this.onSleep) await this.onSleep(ms);
  };
}

/**
 * The shard port, as a test sets it up: shards per Region and stream (none unless set), the oldest unreplicated record
 * per shard (none unless set), Regions that are down.
 */
export class FakeShards implements ShardInspector {
  private readonly shards = new Map<string, ShardDescription[]>();
  private readonly firsts = new Map<string, { sequenceNumber: string; arrivalMs: number } | Error>();
  /** Regions whose Kinesis does not answer. */
  readonly down = new Set<string>();
  readonly calls: Array<{ region: string; streamName: string; shardId?: string; from?: ProbeStart }> = [];

  set(region: string, streamName: string, shards: ReadonlyArray<string | ShardDescription>): this {
    this.shards.set(`${region}|${streamName}`, shards.map((s) => (typeof s === 'string' ? { shardId: s, closed: false } : s)));
    return this;
  }

  /** What a probe of the shard finds: its oldest unreplicated record, or an error. */
  pending(region: string, streamName: string, shardId: string, first: { sequenceNumber: string; arrivalMs: number } | Error): this {
    this.firsts.set(`${region}|${streamName}|${shardId}`, first);
    return this;
  }

  list = async (region: string, streamName: string): Promise<ShardDescription[]> => {
    this.calls.push({ region, streamName });
    if (this.down.has(region)) throw Object.assign(new Error(`${region} is down`), { name: 'ServiceUnavailable' });
    return [...(this.shards.get(`${region}|${streamName}`) ?? [])];
  };

  firstRecord = async (region: string, streamName: string, shardId: string, from: ProbeStart): Promise<{ sequenceNumber: string; arrivalMs: number } | undefined> => {
    this.calls.push({ region, streamName, shardId, from });
    if (this.down.has(region)) throw Object.assign(new Error(`${region} is down`), { name: 'ServiceUnavailable' });
    const f = this.firsts.get(`${region}|${streamName}|${shardId}`);
    if (f instanceof Error) throw f;
    return f;
  };
}

export function depsFor(state: LocalState, clock: FakeClock, extra: Partial<FailoverDeps> = {}): FailoverDeps {
  return {
    activeRegions: state.activeRegions,
    checkpoints: state.checkpoints,
    shards: new FakeShards(),
    // The fake clock is the endpoints' clock too (no skew, no uncertainty) unless a test says otherwise.
    trustedClock: { measure: async () => ({ offsetLowMs: 0, offsetHighMs: 0 }) },
    clock: clock.clock,
    sleep: clock.sleep,
    ...extra,
  };
}
