import { ActiveRegionItem, CheckpointItem, checkpointSortKey, padSequenceNumber } from '../../../lambda/shared/state-tables';

export const PRIMARY = 'us-east-1';
export const STANDBY = 'us-west-2';
export const STREAM = 'redstream-dev-events';

export function activeItem(overrides: Partial<ActiveRegionItem> = {}): ActiveRegionItem {
  return { streamName: STREAM, activeRegion: PRIMARY, state: 'ACTIVE', epoch: 1, activatedAt: 0, updatedAt: 0, ...overrides };
}

export function drainingItem(overrides: Partial<ActiveRegionItem> = {}): ActiveRegionItem {
  return activeItem({ state: 'DRAINING', epoch: 2, previousRegion: PRIMARY, targetRegion: STANDBY, switchId: 'other', ...overrides });
}

export function checkpoint(sourceRegion: string, shard: string, arrival: number, overrides: Partial<CheckpointItem> = {}): CheckpointItem {
  const sequenceNumber = overrides.sequenceNumber ?? '49590338271490256608559692538361571095921575989136588898';
  return {
    streamName: STREAM,
    shardId: checkpointSortKey(sourceRegion, shard),
    sourceRegion,
    sourceShardId: shard,
    sequenceNumber,
    sequenceNumberPadded: padSequenceNumber(sequenceNumber),
    approximateArrivalTimestamp: arrival,
    updatedAt: arrival + 500,
    ...overrides,
  };
}
