/** DynamoDB adapters for the checkpoint and active-Region tables (item shapes: lambda/shared/state-tables.ts). */
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ActiveRegionItem, CheckpointItem } from '../../shared/state-tables';
import { MalformedStateItemError } from '../errors';
import type { ActiveRegionSource, CheckpointStore } from '../replicate';

export class DynamoCheckpointStore implements CheckpointStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async get(streamName: string, shardSortKey: string): Promise<CheckpointItem | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { streamName, shardId: shardSortKey }, ConsistentRead: true }));
    const item = out.Item;
    if (!item) return undefined;
    if (typeof item.sequenceNumber !== 'string' || !/^\d+$/.test(item.sequenceNumber)) {
      throw new MalformedStateItemError(this.tableName, `${streamName}/${shardSortKey}`, `sequenceNumber ${JSON.stringify(item.sequenceNumber)} is not a decimal string`);
    }
    return item as CheckpointItem;
  }

  /**
   * Conditional put: only over a missing item or one whose padded sequence number is not larger (equal: the same
   * checkpoint with a new `replicatedAfter`, whose entries are facts whichever invocation wrote them).
   */
  async advance(item: CheckpointItem): Promise<'written' | 'stale'> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(streamName) OR sequenceNumberPadded <= :padded',
          ExpressionAttributeValues: { ':padded': item.sequenceNumberPadded },
        }),
      );
      return 'written';
    } catch (err) {
      if (err instanceof Error && err.name === 'ConditionalCheckFailedException') return 'stale';
      throw err;
    }
  }
}

export class DynamoActiveRegionSource implements ActiveRegionSource {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async get(streamName: string): Promise<ActiveRegionItem | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { streamName }, ConsistentRead: true }));
    const item = out.Item;
    if (!item) return undefined;
    const bad = (field: string, expected: string): never => {
      throw new MalformedStateItemError(this.tableName, streamName, `${field} must be ${expected} (got ${JSON.stringify(item[field])})`);
    };
    if (typeof item.activeRegion !== 'string' || item.activeRegion === '') bad('activeRegion', 'a Region name');
    if (item.state !== 'ACTIVE' && item.state !== 'DRAINING') bad('state', 'ACTIVE or DRAINING');
    if (typeof item.epoch !== 'number' || !Number.isInteger(item.epoch)) bad('epoch', 'an integer');
    if (typeof item.activatedAt !== 'number' || !Number.isFinite(item.activatedAt)) bad('activatedAt', 'epoch milliseconds');
    return item as ActiveRegionItem;
  }
}

/**
 * Caches items for `ttlMs` (0: no caching). The TTL must stay below the failover's wait between fencing the old
 * Region and activating the new one (invariant 7). A missing item is never cached. The core trusts a cached item only
 * to forward; before it skips or holds a batch it calls {@link getFresh}, which reads the replica and refreshes the
 * cache, so a cached DRAINING or another Region's item never outlives this Region's activation.
 */
export class CachedActiveRegionSource implements ActiveRegionSource {
  private readonly cache = new Map<string, { item: ActiveRegionItem; expiresAt: number }>();

  constructor(
    private readonly inner: ActiveRegionSource,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get tableName(): string {
    return this.inner.tableName;
  }

  async get(streamName: string): Promise<ActiveRegionItem | undefined> {
    const hit = this.cache.get(streamName);
    if (hit && this.now() < hit.expiresAt) return hit.item;
    return this.getFresh(streamName);
  }

  async getFresh(streamName: string): Promise<ActiveRegionItem | undefined> {
    const t = this.now();
    const item = await this.inner.get(streamName);
    if (item && this.ttlMs > 0) this.cache.set(streamName, { item, expiresAt: t + this.ttlMs });
    else this.cache.delete(streamName);
    return item;
  }
}
