/**
 * AWS adapters of the failover ports. Each takes injected clients (one per Region where the port is per Region);
 * endpoints come from the SDK's standard variables (AWS_ENDPOINT_URL_DYNAMODB, …), so they run against local
 * emulators unchanged.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  GetShardIteratorCommandInput,
  KinesisClient,
  ListShardsCommand,
  ListShardsCommandInput,
} from '@aws-sdk/client-kinesis';
import { DeleteFunctionConcurrencyCommand, GetFunctionConcurrencyCommand, LambdaClient, PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, paginateQuery, PutCommand } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ActiveRegionItem, ActiveRegionState, CheckpointItem, parseCheckpointSortKey, ReplicatorFenceRecord } from '../shared/state-tables';
import { Fence, ProbeStart, ShardDescription } from './decisions';
import { MalformedItemError } from './errors';
import { ActiveRegionStore, CheckpointStore, ReplicatorFence, ReservedConcurrencyControl, ResultPublisher, ShardInspector, TrustedClock } from './ports';

/** Names of the two state tables (the same in every Region: they are global tables). */
export interface StateTables {
  readonly checkpointTableName: string;
  readonly activeRegionTableName: string;
}

/** Returns the (cached) client for a Region. */
export type RegionalClients<T> = (region: string) => T;

/** Builds one client per Region on first use and keeps it. */
export function perRegion<T>(create: (region: string) => T): RegionalClients<T> {
  const cache = new Map<string, T>();
  return (region) => {
    let client = cache.get(region);
    if (client === undefined) {
      client = create(region);
      cache.set(region, client);
    }
    return client;
  };
}

/** Document clients per Region, from the default credential chain and the standard endpoint variables. */
export function documentClients(options: { maxAttempts?: number } = {}): RegionalClients<DynamoDBDocumentClient> {
  return perRegion((region) =>
    DynamoDBDocumentClient.from(new DynamoDBClient({ region, maxAttempts: options.maxAttempts }), {
      marshallOptions: { removeUndefinedValues: true },
    }),
  );
}

/**
 * Kinesis clients per Region, from the default credential chain and `AWS_ENDPOINT_URL_KINESIS` (read by the SDK).
 * HTTP/1.1 (kinesalite has no HTTP/2) with short timeouts and one retry: the Region asked may be the one that is down,
 * and a switch must not hang on it.
 */
export function kinesisClients(options: { maxAttempts?: number; connectionTimeoutMs?: number; requestTimeoutMs?: number } = {}): RegionalClients<KinesisClient> {
  return perRegion(
    (region) =>
      new KinesisClient({
        region,
        maxAttempts: options.maxAttempts ?? 2,
        requestHandler: new NodeHttpHandler({ connectionTimeout: options.connectionTimeoutMs ?? 3_000, requestTimeout: options.requestTimeoutMs ?? 10_000 }),
      }),
  );
}

function str(item: Record<string, unknown>, field: string, table: string, key: string): string {
  const v = item[field];
  if (typeof v !== 'string' || v.length === 0) throw new MalformedItemError(table, key, `${field} must be a non-empty string (got ${JSON.stringify(v)})`);
  return v;
}

function num(item: Record<string, unknown>, field: string, table: string, key: string): number {
  const v = item[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new MalformedItemError(table, key, `${field} must be a number (got ${JSON.stringify(v)})`);
  return v;
}

function optStr(item: Record<string, unknown>, field: string, table: string, key: string): string | undefined {
  return item[field] === undefined ? undefined : str(item, field, table, key);
}

function optNum(item: Record<string, unknown>, field: string, table: string, key: string): number | undefined {
  return item[field] === undefined ? undefined : num(item, field, table, key);
}

/** Validates a raw active-Region item. */
export function parseActiveRegionItem(raw: Record<string, unknown>, table: string): ActiveRegionItem {
  const key = String(raw.streamName);
  const state = str(raw, 'state', table, key);
  if (state !== 'ACTIVE' && state !== 'DRAINING') throw new MalformedItemError(table, key, `state must be ACTIVE or DRAINING (got ${JSON.stringify(state)})`);
  return {
    streamName: str(raw, 'streamName', table, key),
    activeRegion: str(raw, 'activeRegion', table, key),
    state: state as ActiveRegionState,
    epoch: num(raw, 'epoch', table, key),
    activatedAt: num(raw, 'activatedAt', table, key),
    previousRegion: optStr(raw, 'previousRegion', table, key),
    targetRegion: optStr(raw, 'targetRegion', table, key),
    reason: optStr(raw, 'reason', table, key),
    switchId: optStr(raw, 'switchId', table, key),
    resumeTimestamp: optNum(raw, 'resumeTimestamp', table, key),
    ...(raw.fences === undefined ? {} : { fences: parseFences(raw.fences, table, key) }),
    updatedAt: optNum(raw, 'updatedAt', table, key) ?? 0,
  };
}

function parseFences(raw: unknown, table: string, key: string): ReplicatorFenceRecord[] {
  if (!Array.isArray(raw)) throw new MalformedItemError(table, key, `fences must be a list (got ${JSON.stringify(raw)})`);
  return raw.map((f: unknown) => {
    if (typeof f !== 'object' || f === null) throw new MalformedItemError(table, key, `a fence must be a map (got ${JSON.stringify(f)})`);
    const r = f as Record<string, unknown>;
    const previous = optNum(r, 'previousReservedConcurrency', table, key);
    return {
      region: str(r, 'region', table, key),
      functionName: str(r, 'functionName', table, key),
      fencedAt: num(r, 'fencedAt', table, key),
      switchId: str(r, 'switchId', table, key),
      ...(previous === undefined ? {} : { previousReservedConcurrency: previous }),
    };
  });
}

/** Validates a raw checkpoint item. `sourceRegion`/`sourceShardId` fall back to the sort key's parts. */
export function parseCheckpointItem(raw: Record<string, unknown>, table: string): CheckpointItem {
  const key = `${String(raw.streamName)}/${String(raw.shardId)}`;
  const shardId = str(raw, 'shardId', table, key);
  let parsed: { sourceRegion: string; sourceShardId: string };
  try {
    parsed = parseCheckpointSortKey(shardId);
  } catch (err) {
    throw new MalformedItemError(table, key, (err as Error).message);
  }
  const sequenceNumber = str(raw, 'sequenceNumber', table, key);
  return {
    streamName: str(raw, 'streamName', table, key),
    shardId,
    sourceRegion: optStr(raw, 'sourceRegion', table, key) ?? parsed.sourceRegion,
    sourceShardId: optStr(raw, 'sourceShardId', table, key) ?? parsed.sourceShardId,
    sequenceNumber,
    approximateArrivalTimestamp: num(raw, 'approximateArrivalTimestamp', table, key),
    updatedAt: optNum(raw, 'updatedAt', table, key) ?? 0,
    sequenceNumberPadded: optStr(raw, 'sequenceNumberPadded', table, key) ?? sequenceNumber,
  };
}

/** The active-Region table on DynamoDB: strongly consistent reads, conditional puts. */
export class DynamoDbActiveRegionStore implements ActiveRegionStore {
  constructor(
    private readonly clients: RegionalClients<DynamoDBDocumentClient>,
    private readonly tableName: string,
  ) {}

  async read(region: string, streamName: string): Promise<ActiveRegionItem | undefined> {
    const { Item } = await this.clients(region).send(new GetCommand({ TableName: this.tableName, Key: { streamName }, ConsistentRead: true }));
    return Item === undefined ? undefined : parseActiveRegionItem(Item, this.tableName);
  }

  async replace(region: string, next: ActiveRegionItem, fence: Fence): Promise<boolean> {
    const conditions = ['#epoch = :epoch', '#state = :state', '#activeRegion = :activeRegion'];
    const names: Record<string, string> = { '#epoch': 'epoch', '#state': 'state', '#activeRegion': 'activeRegion' };
    const values: Record<string, unknown> = { ':epoch': fence.epoch, ':state': fence.state, ':activeRegion': fence.activeRegion };
    if (fence.switchId !== undefined) {
      conditions.push('#switchId = :switchId');
      names['#switchId'] = 'switchId';
      values[':switchId'] = fence.switchId;
    }
    try {
      await this.clients(region).send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...next },
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || (err as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }
}

/** The checkpoint table on DynamoDB. */
export class DynamoDbCheckpointStore implements CheckpointStore {
  constructor(
    private readonly clients: RegionalClients<DynamoDBDocumentClient>,
    private readonly tableName: string,
  ) {}

  async list(region: string, streamName: string): Promise<CheckpointItem[]> {
    const items: CheckpointItem[] = [];
    const pages = paginateQuery(
      { client: this.clients(region) },
      {
        TableName: this.tableName,
        KeyConditionExpression: '#streamName = :streamName',
        ExpressionAttributeNames: { '#streamName': 'streamName' },
        ExpressionAttributeValues: { ':streamName': streamName },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const raw of page.Items ?? []) items.push(parseCheckpointItem(raw, this.tableName));
    }
    return items;
  }
}

/**
 * Shards through Kinesis ListShards (by stream name, paginated) without `ShardFilter`: every shard the stream still
 * holds, open and closed (kinesalite ignores the filter, and the low-water mark needs closed shards anyway), and the
 * first record of a shard from a position through GetShardIterator + GetRecords.
 */
export class KinesisShardInspector implements ShardInspector {
  constructor(
    private readonly clients: RegionalClients<KinesisClient>,
    /** GetRecords calls per probe before giving up (Kinesis may answer empty pages before a record). @default 25 */
    private readonly maxReadsPerProbe = 25,
  ) {}

  async list(region: string, streamName: string): Promise<ShardDescription[]> {
    const shards: ShardDescription[] = [];
    let NextToken: string | undefined;
    do {
      // With NextToken, ListShards takes no stream name.
      const input: ListShardsCommandInput = NextToken === undefined ? { StreamName: streamName } : { NextToken };
      const page = await this.clients(region).send(new ListShardsCommand(input));
      for (const shard of page.Shards ?? []) {
        if (!shard.ShardId) continue;
        shards.push({
          shardId: shard.ShardId,
          closed: shard.SequenceNumberRange?.EndingSequenceNumber !== undefined,
          ...(shard.ParentShardId ? { parentShardId: shard.ParentShardId } : {}),
          ...(shard.AdjacentParentShardId ? { adjacentParentShardId: shard.AdjacentParentShardId } : {}),
        });
      }
      NextToken = page.NextToken;
    } while (NextToken !== undefined);
    return shards;
  }

  async firstRecord(region: string, streamName: string, shardId: string, from: ProbeStart): Promise<{ sequenceNumber: string; arrivalMs: number } | undefined> {
    const client = this.clients(region);
    const input: GetShardIteratorCommandInput =
      'afterSequenceNumber' in from
        ? { StreamName: streamName, ShardId: shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: from.afterSequenceNumber }
        : { StreamName: streamName, ShardId: shardId, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(from.atTimestampMs) };
    let iterator = (await client.send(new GetShardIteratorCommand(input))).ShardIterator;
    // GetRecords may answer empty pages before it reaches a record; MillisBehindLatest 0 on an empty page means the
    // tip, and no next iterator means the end of a closed shard.
    for (let i = 0; i < this.maxReadsPerProbe && iterator !== undefined; i++) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1 }));
      const r = page.Records?.[0];
      if (r?.SequenceNumber !== undefined) {
        return { sequenceNumber: r.SequenceNumber, arrivalMs: r.ApproximateArrivalTimestamp?.getTime() ?? 0 };
      }
      if (page.MillisBehindLatest === 0 || page.NextShardIterator === undefined) return undefined;
      iterator = page.NextShardIterator;
    }
    if (iterator === undefined) return undefined;
    throw new Error(`no record and no tip of ${region}/${streamName}/${shardId} within ${this.maxReadsPerProbe} reads`);
  }
}

/** @deprecated the old name of {@link KinesisShardInspector}. */
export const KinesisShardLister = KinesisShardInspector;

/**
 * The endpoint clock of a Region from the `Date` header of a Kinesis DescribeStreamSummary response. The header has a
 * one-second resolution (truncated) and the server wrote it somewhere inside the round trip, so each sample bounds the
 * offset to an interval; two samples are intersected.
 */
export class KinesisTrustedClock implements TrustedClock {
  constructor(
    private readonly clients: RegionalClients<KinesisClient>,
    /** A stream that exists in every Region (any of the environment's). */
    private readonly streamName: string,
    private readonly localClock: () => number = Date.now,
    private readonly samples = 2,
  ) {}

  async measure(region: string): Promise<{ offsetLowMs: number; offsetHighMs: number }> {
    let low = -Infinity;
    let high = Infinity;
    for (let i = 0; i < this.samples; i++) {
      const t0 = this.localClock();
      const date = await this.serverDate(region);
      const t1 = this.localClock();
      // The server's time when it answered is in [date, date + 1 s) and it answered at a local time in [t0, t1].
      low = Math.max(low, date - t1);
      high = Math.min(high, date + 1000 - t0);
    }
    if (!(low <= high)) throw new Error(`inconsistent Date headers from ${region}`);
    return { offsetLowMs: low, offsetHighMs: high };
  }

  private async serverDate(region: string): Promise<number> {
    const client = this.clients(region);
    let date: string | undefined;
    const command = new DescribeStreamSummaryCommand({ StreamName: this.streamName });
    // A per-command middleware reads the raw response's header; the client's own stack is left as it is.
    command.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        const headers = (out.response as { headers?: Record<string, string> } | undefined)?.headers;
        date = headers?.date ?? headers?.Date;
        return out;
      },
      { step: 'deserialize', name: 'redstreamReadDateHeader' },
    );
    await client.send(command);
    const ms = date === undefined ? NaN : Date.parse(date);
    if (!Number.isFinite(ms)) throw new Error(`${region} answered without a Date header`);
    return ms;
  }
}

/** Fences a replicator with reserved concurrency 0 through the Lambda API of its Region. */
export class LambdaReplicatorFence implements ReplicatorFence {
  constructor(private readonly clients: RegionalClients<LambdaClient>) {}

  async fence(region: string, functionName: string): Promise<{ previousReservedConcurrency?: number }> {
    const client = this.clients(region);
    const { ReservedConcurrentExecutions } = await client.send(new GetFunctionConcurrencyCommand({ FunctionName: functionName }));
    await client.send(new PutFunctionConcurrencyCommand({ FunctionName: functionName, ReservedConcurrentExecutions: 0 }));
    // An earlier fence that was never lifted leaves 0: restoring 0 would keep the function fenced for ever.
    return ReservedConcurrentExecutions === undefined || ReservedConcurrentExecutions === 0 ? {} : { previousReservedConcurrency: ReservedConcurrentExecutions };
  }

  async unfence(region: string, functionName: string, previousReservedConcurrency: number | undefined): Promise<void> {
    const client = this.clients(region);
    if (previousReservedConcurrency === undefined) await client.send(new DeleteFunctionConcurrencyCommand({ FunctionName: functionName }));
    else await client.send(new PutFunctionConcurrencyCommand({ FunctionName: functionName, ReservedConcurrentExecutions: previousReservedConcurrency }));
  }
}

/** Replicator reserved concurrency through the Lambda API of each Region. */
export class LambdaReservedConcurrency implements ReservedConcurrencyControl {
  constructor(private readonly clients: RegionalClients<LambdaClient>) {}

  async set(region: string, functionName: string, reservedConcurrency: number | undefined): Promise<void> {
    const client = this.clients(region);
    if (reservedConcurrency === undefined) {
      await client.send(new DeleteFunctionConcurrencyCommand({ FunctionName: functionName }));
    } else {
      await client.send(new PutFunctionConcurrencyCommand({ FunctionName: functionName, ReservedConcurrentExecutions: reservedConcurrency }));
    }
  }
}

/** Publishes results as JSON to an SNS topic (the client must be in the topic's Region). */
export class SnsResultPublisher implements ResultPublisher {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(subject: string, message: unknown): Promise<void> {
    // SNS subjects are at most 100 printable ASCII characters.
    const safeSubject = subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
    await this.client.send(new PublishCommand({ TopicArn: this.topicArn, Subject: safeSubject, Message: JSON.stringify(message, null, 2) }));
  }
}

/** The Region of an ARN (`arn:partition:service:region:account:resource`). */
export function regionOfArn(arn: string): string {
  const region = arn.split(':')[3];
  if (!region) throw new Error(`not a Regional ARN: ${arn}`);
  return region;
}
