/**
 * Where archive objects live in a Region's archive bucket. The Firehose delivery stream (lib/archive-transform.ts)
 * and the local archive (local/archive.ts) use the same prefixes:
 *
 * - records: `<stream>/<yyyy>/<MM>/<dd>/<HH>/<object>.gz`, where `<stream>` is the logical stream name and the hour
 *   is UTC. Firehose names the hour after the arrival time of the oldest record in the object (its `timestamp`
 *   namespace), so an object also holds records of the following minutes, up to the buffering interval, and a record
 *   may sit in an object of a later hour when delivery lags. Readers of a time window therefore list a margin of
 *   hours around it and filter on each record's own arrival time ({@link hourPrefixesForWindow}).
 * - failures: `errors/<stream>/<error-output-type>/<yyyy>/<MM>/<dd>/<HH>/…` (Firehose's processing-failed documents).
 *
 * Pure: no I/O, no clock.
 */

/** The Firehose `Prefix` expression of a stream's records. */
export function firehoseDataPrefix(streamPrefix: string): string {
  return `${streamPrefix}/!{timestamp:yyyy/MM/dd/HH}/`;
}

/** The prefix under which Firehose writes the records the transformation failed on (`processing-failed` documents). */
export function processingFailedPrefix(streamPrefix: string): string {
  return `errors/${streamPrefix}/processing-failed`;
}

/** The Firehose `ErrorOutputPrefix` expression of a stream. */
export function firehoseErrorPrefix(streamPrefix: string): string {
  return `errors/${streamPrefix}/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/`;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** The hourly prefix `<stream>/yyyy/MM/dd/HH/` of an instant (UTC). */
export function hourPrefix(streamPrefix: string, epochMs: number): string {
  const d = new Date(epochMs);
  return `${streamPrefix}/${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}/`;
}

/** Firehose's object name for an object started at `epochMs`: `<delivery stream>-<version>-yyyy-MM-dd-HH-mm-ss-<id>.gz`. */
export function objectKey(streamPrefix: string, epochMs: number, deliveryStreamName: string, uniqueId: string): string {
  const d = new Date(epochMs);
  const stamp = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}-${pad(d.getUTCHours())}-${pad(d.getUTCMinutes())}-${pad(d.getUTCSeconds())}`;
  return `${hourPrefix(streamPrefix, epochMs)}${deliveryStreamName}-1-${stamp}-${uniqueId}.gz`;
}

const HOUR_MS = 3_600_000;

/**
 * The hourly prefixes that can hold records that arrived in [fromMs, toMs]: one hour before the window (an object
 * named after an earlier record can hold the window's first records) through `lagHours` after it (delivery lag:
 * buffering up to 15 minutes, plus any Firehose backlog). Ordered oldest first.
 */
export function hourPrefixesForWindow(streamPrefix: string, fromMs: number, toMs: number, lagHours = 1): string[] {
  if (!(toMs >= fromMs)) throw new RangeError(`window end ${toMs} is before its start ${fromMs}`);
  const first = Math.floor(fromMs / HOUR_MS) - 1;
  const last = Math.floor(toMs / HOUR_MS) + lagHours;
  const out: string[] = [];
  for (let h = first; h <= last; h++) out.push(hourPrefix(streamPrefix, h * HOUR_MS));
  return out;
}
