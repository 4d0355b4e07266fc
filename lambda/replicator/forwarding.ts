/**
 * The loop guard (invariant 7): whether this Region forwards a stream's records, holds them, or may skip them. Pure.
 *
 * A Region forwards only while the stream's active-Region item says `state: ACTIVE` with `activeRegion` equal to the
 * Region, and only records that arrived at or after `activatedAt`. Every replica a newly activated Region holds
 * arrived before its activation time (the switch protocol fences the old Region first), so no replica is sent back.
 *
 * Hold rather than skip: a skipped record is consumed (Lambda moves past it) and never reaches another Region, which
 * nothing repairs, while a held record (reported as a batch item failure) is delivered again. So a record may be
 * skipped only on a decision the Region can trust:
 * - the item was read from the Region's own replica just now (`fresh`), never from a cache that may predate an
 *   activation of this Region (a cached item is only trusted to *forward*: the switch protocol waits out the cache
 *   lifetime before another Region starts);
 * - the item does not say that a switch toward this Region is under way: while it is DRAINING with this Region as its
 *   target, records arriving here may be early producer writes that the activation time will claim, so they are held
 *   until the activation is written (the coordinator writes it to this Region's own replica first).
 */
import type { ActiveRegionItem } from '../shared/state-tables';

export type ForwardingDecision =
  /** This Region is active: forward records that arrived at or after `activatedAtMs`, skip earlier ones. */
  | { readonly kind: 'forward'; readonly activatedAtMs: number; readonly epoch: number }
  /** Another Region's tenure (or nobody's, draining away from here): the records are not this Region's to forward. */
  | { readonly kind: 'skip'; readonly reason: string }
  /** Not sure yet: report the batch's first record as failed so Lambda delivers it again. */
  | { readonly kind: 'hold'; readonly reason: string };

/**
 * Decides from the active-Region item. `fresh` says the item was read from this Region's replica for this decision
 * (not served from a cache); a decision other than `forward` taken on a cached item is `hold` with reason
 * `stale-cache`, and the caller re-reads before deciding again.
 */
export function forwardingDecision(item: ActiveRegionItem, ownRegion: string, fresh: boolean): ForwardingDecision {
  if (item.state === 'ACTIVE' && item.activeRegion === ownRegion) {
    return { kind: 'forward', activatedAtMs: item.activatedAt, epoch: item.epoch };
  }
  if (!fresh) return { kind: 'hold', reason: STALE_CACHE };
  if (item.state === 'DRAINING' && item.targetRegion === ownRegion) {
    return {
      kind: 'hold',
      reason: `a switch of ${item.streamName} to ${ownRegion} is under way (epoch ${item.epoch}, switch ${item.switchId ?? '-'}): held until it activates`,
    };
  }
  if (item.state === 'DRAINING') {
    return { kind: 'skip', reason: `${item.streamName} is draining from ${item.activeRegion} to ${item.targetRegion ?? '?'} (epoch ${item.epoch}): nobody forwards` };
  }
  return { kind: 'skip', reason: `active Region of ${item.streamName} is ${item.activeRegion}, not ${ownRegion} (epoch ${item.epoch})` };
}

/** The reason of a hold decided on a cached item; the caller re-reads the item and decides again. */
export const STALE_CACHE = 'stale-cache';

/** Whether a record that arrived at `arrivalMs` is forwarded under a `forward` decision. */
export function forwardsRecord(decision: Extract<ForwardingDecision, { kind: 'forward' }>, arrivalMs: number): boolean {
  return arrivalMs >= decision.activatedAtMs;
}
