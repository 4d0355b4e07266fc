/**
 * Replication lag measured from the streams themselves: each record a Region forwarded is matched with its copy in
 * the target Region's stream, and the lag is the copy's arrival time minus the original's. Pure.
 *
 * Matching relies on the replicator's invariants: every record that arrived while the source was active is copied
 * unchanged (payload and partition key) and in order per partition key, so the k-th occurrence of a (key, payload)
 * in the source window matches the k-th occurrence among the target's copies. The target's copies are the records
 * that arrived there before it became active itself (producers write to a Region only once it is active).
 */
export interface TimedRecord {
  readonly partitionKey: string;
  /** Base64 of the bytes (or any exact identity of them). */
  readonly dataKey: string;
  readonly arrivalMs: number;
}

export interface ReplicationWindow {
  /** Source records that arrived in [fromMs, toMs) were forwarded. */
  readonly fromMs: number;
  readonly toMs: number;
  /** Target records that arrived in [fromMs, targetActiveFromMs) are copies from the source. */
  readonly targetActiveFromMs: number;
}

/** Lag in ms of every matched record, in source order; unmatched source records are left out. */
export function matchReplicationLag(source: readonly TimedRecord[], target: readonly TimedRecord[], window: ReplicationWindow): number[] {
  const copies = new Map<string, number[]>();
  for (const r of target) {
    if (r.arrivalMs < window.fromMs || r.arrivalMs >= window.targetActiveFromMs) continue;
    const key = `${r.partitionKey}\u0000${r.dataKey}`;
    const list = copies.get(key);
    if (list) list.push(r.arrivalMs);
    else copies.set(key, [r.arrivalMs]);
  }
  const used = new Map<string, number>();
  const lags: number[] = [];
  for (const r of source) {
    if (r.arrivalMs < window.fromMs || r.arrivalMs >= window.toMs) continue;
    const key = `${r.partitionKey}\u0000${r.dataKey}`;
    const i = used.get(key) ?? 0;
    const list = copies.get(key);
    if (!list || i >= list.length) continue;
    used.set(key, i + 1);
    lags.push(Math.max(0, list[i] - r.arrivalMs));
  }
  return lags;
}

/** The p-th percentile (0–100) by nearest rank; undefined for no samples. */
export function percentile(samples: readonly number[], p: number): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}
