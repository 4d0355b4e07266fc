/**
 * A fix to kinesalite 3.3.3 (unmaintained since 2020) where it is kinder or harsher than Kinesis on what Redstream
 * relies on.
 *
 * GetShardIterator AT_TIMESTAMP: kinesalite scans the shard for the first record that arrived at or after the
 * timestamp and never answers when there is none (its `.head()` callback is not called), so the request hangs until
 * the client's timeout. Kinesis answers with an iterator from which later records are read (the failover probes a
 * caught-up shard from the activation time, the reconcile reads a window that may be empty). This wraps the action:
 * same validation and answer when a record is found; otherwise an iterator positioned at the time the scan began, so
 * a record that arrives while the scan runs is still read (never skipped).
 *
 * Applied before kinesalite's index is first required (it binds its actions at load time).
 */
/* eslint-disable @typescript-eslint/no-require-imports */

type Callback = (err: unknown, result?: unknown) => void;
type Action = ((store: KinesaliteStore, data: Record<string, unknown>, cb: Callback) => void) & { redstreamPatched?: boolean };

interface KinesaliteStore {
  getStream(name: string, cb: (err: unknown, stream?: KinesaliteStream) => void): void;
  getStreamDb(name: string): { createReadStream(opts: Record<string, unknown>): unknown };
}
interface KinesaliteStream {
  Shards: Array<{ SequenceNumberRange: { StartingSequenceNumber: string } }>;
  _seqIx: number[];
}
interface KinesaliteDb {
  resolveShardId(id: unknown): { shardId: string; shardIx: number };
  parseSequence(seq: string): { shardCreateTime: number; shardIx: number };
  stringifySequence(o: { shardCreateTime: number; seqIx: number; seqTime: number; shardIx: number }): string;
  createShardIterator(streamName: unknown, shardId: string, seq: string): string;
  shardIxToHex(ix: number): string;
  lazy(stream: unknown, cb: Callback): { filter(f: (item: { key: string; value: { ApproximateArrivalTimestamp: number } }) => boolean): { join(f: (items: Array<{ key: string }>) => void): void } };
}

let applied = false;

/** Installs the AT_TIMESTAMP fix in this process (idempotent). Must run before `require('kinesalite')`. */
export function applyKinesaliteFixes(): void {
  if (applied) return;
  applied = true;
  const actionPath = require.resolve('kinesalite/actions/getShardIterator');
  const original = require(actionPath) as Action;
  if (original.redstreamPatched) return;
  const db = require('kinesalite/db') as KinesaliteDb;
  const patched: Action = (store, data, cb) => {
    if (data.ShardIteratorType !== 'AT_TIMESTAMP' || data.Timestamp == null || data.StartingSequenceNumber) {
      original(store, data, cb);
      return;
    }
    const scanStartedAt = Date.now();
    let shard: { shardId: string; shardIx: number };
    try {
      shard = db.resolveShardId(data.ShardId);
    } catch {
      original(store, data, cb); // the original's error for an unknown shard
      return;
    }
    store.getStream(String(data.StreamName), (err, stream) => {
      if (err || !stream || shard.shardIx >= stream.Shards.length || Number(data.Timestamp) * 1000 > scanStartedAt) {
        original(store, data, cb); // the original's validation errors, unchanged
        return;
      }
      const opts = { gt: db.shardIxToHex(shard.shardIx), lt: db.shardIxToHex(shard.shardIx + 1) };
      db.lazy(store.getStreamDb(String(data.StreamName)).createReadStream(opts), cb)
        .filter((item) => item.value.ApproximateArrivalTimestamp >= Number(data.Timestamp))
        .join((items) => {
          if (items.length > 0) {
            cb(null, { ShardIterator: db.createShardIterator(data.StreamName, shard.shardId, items[0].key.split('/')[1]) });
            return;
          }
          const start = db.parseSequence(stream.Shards[shard.shardIx].SequenceNumberRange.StartingSequenceNumber);
          const seq = db.stringifySequence({
            shardCreateTime: start.shardCreateTime,
            seqIx: stream._seqIx[Math.floor(shard.shardIx / 5)],
            seqTime: scanStartedAt,
            shardIx: start.shardIx,
          });
          cb(null, { ShardIterator: db.createShardIterator(data.StreamName, shard.shardId, seq) });
        });
    });
  };
  patched.redstreamPatched = true;
  const cached = require.cache[actionPath];
  if (cached) cached.exports = patched;
}
