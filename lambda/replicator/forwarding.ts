/**
 * The loop guard (invariant 7): whether this Region forwards a stream's records. Pure.
 *
 * A Region forwards only while the stream's active-Region item says `state: ACTIVE` with `activeRegion` equal to the
 * Region, and only records that arrived at or after `activatedAt`. Every replica a newly activated Region holds
 * arrived before its activation time (the switch protocol fences the old Region first), so no replica is sent back.
 */
import type { ActiveRegionItem } from '../shared/state-tables';

export type ForwardingDecision =
  | { readonly forward: true; readonly activatedAtMs: number; readonly epoch: number }
  | { readonly forward: false; readonly reason: string };

export function forwardingDecision(item: ActiveRegionItem, ownRegion: string): ForwardingDecision {
  if (item.activeRegion !== ownRegion) {
    return { forward: false, reason: `active Region of ${item.streamName} is ${item.activeRegion}, not ${ownRegion}` };
  }
  if (item.state !== 'ACTIVE') {
    return { forward: false, reason: `${item.streamName} is ${item.state} (epoch ${item.epoch}): a switch is under way` };
  }
  return { forward: true, activatedAtMs: item.activatedAt, epoch: item.epoch };
}

/** Whether a record that arrived at `arrivalMs` is forwarded under `decision`. */
export function forwardsRecord(decision: ForwardingDecision, arrivalMs: number): boolean {
  return decision.forward && arrivalMs >= decision.activatedAtMs;
}
