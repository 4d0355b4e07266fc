import { CachedActiveRegionSource } from '../../../lambda/replicator/adapters/state';
import type { ActiveRegionSource } from '../../../lambda/replicator/replicate';
import type { ActiveRegionItem } from '../../../lambda/shared/state-tables';

function counting(items: Record<string, ActiveRegionItem | undefined>) {
  const reads: string[] = [];
  const source: ActiveRegionSource = {
    tableName: 'active',
    get: async (s) => {
      reads.push(s);
      return items[s];
    },
  };
  return { source, reads };
}

const item: ActiveRegionItem = { streamName: 's', activeRegion: 'us-east-1', state: 'ACTIVE', epoch: 1, activatedAt: 0, updatedAt: 0 };

describe('CachedActiveRegionSource', () => {
  test('serves from the cache within the TTL and reads again after it', async () => {
    const { source, reads } = counting({ s: item });
    let now = 1_000;
    const cached = new CachedActiveRegionSource(source, 5_000, () => now);
    await cached.get('s');
    now += 4_999;
    await cached.get('s');
    expect(reads).toHaveLength(1);
    now += 1;
    await cached.get('s');
    expect(reads).toHaveLength(2);
    expect(cached.tableName).toBe('active');
  });

  test('a TTL of 0 reads every time, and a missing item is never cached', async () => {
    const { source, reads } = counting({ s: item });
    const uncached = new CachedActiveRegionSource(source, 0, () => 0);
    await uncached.get('s');
    await uncached.get('s');
    expect(reads).toHaveLength(2);
    const missing = counting({});
    const c = new CachedActiveRegionSource(missing.source, 5_000, () => 0);
    expect(await c.get('x')).toBeUndefined();
    expect(await c.get('x')).toBeUndefined();
    expect(missing.reads).toHaveLength(2);
  });
});

test('getFresh reads the replica and refreshes the cache', async () => {
  const { source, reads } = counting({ s: item });
  const cached = new CachedActiveRegionSource(source, 5_000, () => 0);
  await cached.get('s');
  await cached.getFresh('s');
  expect(reads).toHaveLength(2);
  await cached.get('s');
  expect(reads).toHaveLength(2);
});
