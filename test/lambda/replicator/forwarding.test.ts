import { forwardingDecision, forwardsRecord } from '../../../lambda/replicator/forwarding';
import type { ActiveRegionItem } from '../../../lambda/shared/state-tables';

const T = 1_700_000_000_000;
const item = (over: Partial<ActiveRegionItem>): ActiveRegionItem => ({
  streamName: 's',
  activeRegion: 'us-east-1',
  state: 'ACTIVE',
  epoch: 3,
  activatedAt: T,
  updatedAt: T,
  ...over,
});

describe('loop guard', () => {
  test.each([
    { name: 'active here, arrived after T', over: {}, arrival: T + 1, forwards: true },
    { name: 'active here, arrived exactly at T', over: {}, arrival: T, forwards: true },
    { name: 'active here, arrived before T (a replica)', over: {}, arrival: T - 1, forwards: false },
    { name: 'active elsewhere', over: { activeRegion: 'us-west-2' }, arrival: T + 1, forwards: false },
    { name: 'draining here', over: { state: 'DRAINING' as const }, arrival: T + 1, forwards: false },
    { name: 'draining elsewhere', over: { state: 'DRAINING' as const, activeRegion: 'us-west-2' }, arrival: T + 1, forwards: false },
  ])('$name → forwards: $forwards', ({ over, arrival, forwards }) => {
    expect(forwardsRecord(forwardingDecision(item(over), 'us-east-1'), arrival)).toBe(forwards);
  });

  test('explains why it does not forward', () => {
    expect(forwardingDecision(item({ activeRegion: 'us-west-2' }), 'us-east-1')).toEqual({
      forward: false,
      reason: 'active Region of s is us-west-2, not us-east-1',
    });
    expect(forwardingDecision(item({ state: 'DRAINING' }), 'us-east-1')).toEqual({ forward: false, reason: 's is DRAINING (epoch 3): a switch is under way' });
  });
});
