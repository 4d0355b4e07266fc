import { forwardingDecision, forwardsRecord, STALE_CACHE } from '../../../lambda/replicator/forwarding';
import type { ActiveRegionItem } from '../../../lambda/shared/state-tables';

const T = 1_700_000_000_000;
const HERE = 'us-east-1';
const THERE = 'us-west-2';
const item = (over: Partial<ActiveRegionItem>): ActiveRegionItem => ({
  streamName: 's',
  activeRegion: HERE,
  state: 'ACTIVE',
  epoch: 3,
  activatedAt: T,
  updatedAt: T,
  ...over,
});

describe('loop guard: forward, skip or hold (invariant 7, hold rather than skip)', () => {
  test.each([
    { name: 'active here (cached)', over: {}, fresh: false, kind: 'forward' },
    { name: 'active here (fresh)', over: {}, fresh: true, kind: 'forward' },
    { name: 'active elsewhere, fresh read', over: { activeRegion: THERE }, fresh: true, kind: 'skip' },
    { name: 'active elsewhere, cached: may predate our activation', over: { activeRegion: THERE }, fresh: false, kind: 'hold' },
    { name: 'draining away from here, fresh', over: { state: 'DRAINING' as const, targetRegion: THERE }, fresh: true, kind: 'skip' },
    { name: 'draining toward here, fresh: early writes may be ours', over: { state: 'DRAINING' as const, activeRegion: THERE, targetRegion: HERE }, fresh: true, kind: 'hold' },
    { name: 'draining toward here, cached', over: { state: 'DRAINING' as const, activeRegion: THERE, targetRegion: HERE }, fresh: false, kind: 'hold' },
    { name: 'draining between two other Regions', over: { state: 'DRAINING' as const, activeRegion: THERE, targetRegion: 'eu-west-1' }, fresh: true, kind: 'skip' },
  ])('$name → $kind', ({ over, fresh, kind }) => {
    expect(forwardingDecision(item(over), HERE, fresh).kind).toBe(kind);
  });

  test('a hold on a cached item says so, so the caller re-reads', () => {
    expect(forwardingDecision(item({ activeRegion: THERE }), HERE, false)).toEqual({ kind: 'hold', reason: STALE_CACHE });
  });

  test.each([
    { name: 'arrived after T', arrival: T + 1, forwards: true },
    { name: 'arrived exactly at T', arrival: T, forwards: true },
    { name: 'arrived before T (a replica or the previous tenure)', arrival: T - 1, forwards: false },
  ])('active here: $name → forwards: $forwards', ({ arrival, forwards }) => {
    const d = forwardingDecision(item({}), HERE, true);
    if (d.kind !== 'forward') throw new Error('expected forward');
    expect(forwardsRecord(d, arrival)).toBe(forwards);
  });

  test('explains why it does not forward', () => {
    expect(forwardingDecision(item({ activeRegion: THERE }), HERE, true)).toEqual({ kind: 'skip', reason: 'active Region of s is us-west-2, not us-east-1 (epoch 3)' });
    expect(forwardingDecision(item({ state: 'DRAINING', activeRegion: THERE, targetRegion: HERE, switchId: 'x' }), HERE, true)).toEqual({
      kind: 'hold',
      reason: 'a switch of s to us-east-1 is under way (epoch 3, switch x): held until it activates',
    });
  });
});
