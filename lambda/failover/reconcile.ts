/**
 * Reconcile (DESIGN.md "Failover"): records that producers wrote to a Region that did not forward them (stranded
 * before a switch, early writers during it, strays after it) are found by comparing each Region's stream with the
 * active Region's over a time window, and copied into the active Region in per-key order. Pure: the reads and the
 * writes are the caller's (lambda/archive/replay.ts runs the writes).
 *
 * A record is identified by its partition key and bytes, as a set, not a multiset: the active Region holding one
 * copy is enough. Counting copies would never settle: an echo (a replica the new active Region sent back once at the
 * start of its tenure) leaves the old Region with two copies of a record the active one holds once, and copying the
 * difference would be forwarded back and make the difference again. Producer re-sends carry the same bytes and
 * would be duplicates anyway; the warehouse keeps one row per event id.
 *
 * Idempotent by construction: after a run, every record found is present in the active Region, so a second run over
 * the same window finds nothing (no progress record is needed).
 */
import { ArchiveRecord } from '../archive/format';

export interface ReconcileWindow {
  /** Epoch ms, inclusive. */
  readonly fromMs: number;
  /** Epoch ms, exclusive. */
  readonly toMs: number;
}

/**
 * How much wider the active Region's window is read than the others': a replica arrives in the active Region up to
 * the replication lag after (or, for a forwarded original, before) its copy elsewhere.
 */
export const DEFAULT_ACTIVE_WINDOW_MARGIN_MS = 10 * 60_000;

export interface ReconcilePlan {
  /** Records to write to the active Region, in the order to write them (per key: source arrival order). */
  readonly missing: ArchiveRecord[];
  /** Records found per Region in the window (the active Region's over the widened window). */
  readonly found: Record<string, number>;
  /** Missing records by the Region they were found in (a record found in several is counted where first seen). */
  readonly missingByRegion: Record<string, number>;
}

/** The identity of a record across Regions: partition key and bytes. */
export function recordIdentity(r: Pick<ArchiveRecord, 'partitionKey' | 'data'>): string {
  return `${r.partitionKey.length}:${r.partitionKey}:${r.data}`;
}

/**
 * The records of `others` (each Region's window) that the active Region does not hold, one copy each, ordered per
 * partition key by arrival (then Region and shard position, for a stable order). `activeRecords` is the active
 * Region's stream over the window widened by the margin.
 */
export function planReconcile(
  activeRegion: string,
  activeRecords: readonly ArchiveRecord[],
  others: ReadonlyArray<{ readonly region: string; readonly records: readonly ArchiveRecord[] }>,
): ReconcilePlan {
  const held = new Set(activeRecords.map(recordIdentity));
  const found: Record<string, number> = { [activeRegion]: activeRecords.length };
  const missingByRegion: Record<string, number> = {};
  const chosen = new Map<string, ArchiveRecord>();
  for (const { region, records } of others) {
    if (region === activeRegion) throw new Error(`the active Region ${activeRegion} is not one of the others`);
    found[region] = records.length;
    missingByRegion[region] = 0;
    for (const r of records) {
      const id = recordIdentity(r);
      if (held.has(id)) continue;
      const seen = chosen.get(id);
      // Of several copies, the earliest arrival is the one a producer wrote first.
      if (seen === undefined) {
        chosen.set(id, r);
        missingByRegion[region] += 1;
      } else if (r.approximateArrivalTimestampMs < seen.approximateArrivalTimestampMs) {
        missingByRegion[seen.region] -= 1;
        missingByRegion[region] += 1;
        chosen.set(id, r);
      }
    }
  }
  const missing = [...chosen.values()].sort(
    (a, b) =>
      a.approximateArrivalTimestampMs - b.approximateArrivalTimestampMs ||
      a.region.localeCompare(b.region) ||
      a.shardId.localeCompare(b.shardId) ||
      compareDecimal(a.sequenceNumber, b.sequenceNumber),
  );
  return { missing, found, missingByRegion };
}

function compareDecimal(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
