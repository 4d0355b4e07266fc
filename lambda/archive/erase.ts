/**
 * Erasure of a subject's data everywhere Redstream keeps it (README, "Erasure"):
 *
 * 1. suppress: the subject's hash joins the suppression list first, so a merge running meanwhile, a replay or a
 *    re-send can no longer insert its records;
 * 2. events: rows whose subject paths hash to it are deleted;
 * 3. rejects: rows whose parsed payload names the subject (matched in SQL by hash), or whose raw bytes hold it as a
 *    JSON string (read in chunks under the Data API's row limit and matched here: the subject never appears in a
 *    statement), are deleted;
 * 4. archive: every object of every Region's archive that holds a record of the subject is rewritten without it, and
 *    every older version of that object (which still holds it) is deleted for good; an older version of an expired
 *    object (a delete marker on top) is written back without it, as a noncurrent version, before it is deleted;
 * 5. audit: one row with the request id, the subject's hash, the counts per place and the times.
 *
 * What cannot be erased at once is reported with when it will be gone: the streams (records expire after the
 * retention) and the streaming view (its rows go when it is recreated after that; the merge watermark makes a
 * recreation safe). {@link finishErasures} is the scheduled step that completes it after those times.
 */
import * as crypto from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ArchiveRecord, recordBytes } from './format';
import { Dialect, erasureSql, REJECT_CHUNK_BYTES, REJECT_PAGE_ROWS, RejectKeyColumns, requestIdLiteral, subjectHashIn, timestampLiteral } from './erase-sql';
import { ArchiveStore, archiveObjectText, decodeArchiveObject, encodeArchiveObject, ObjectChangedError, ObjectVersion, StoredObject } from './store';
import { checkHash, checkSubjectPaths, recordHasSubject, recordHasSuppressedSubject, subjectHash } from './subject';

/** A warehouse, as the erasure needs it: statements with text results. */
export interface ErasureWarehouse {
  readonly name: string;
  readonly dialect: Dialect;
  readonly schema: string;
  /** Runs one statement; returns its rows with every value as text (or null). */
  rows(sql: string): Promise<Array<Record<string, string | null>>>;
  /** Runs one statement that changes rows; returns how many. */
  change(sql: string): Promise<number>;
  /**
   * The scheduled step, once every stream's retention has passed since the erasure: recreates the streaming views
   * (./streaming-views.ts), so they no longer hold the erased records. Returns the views recreated and, where the
   * adapter can tell, the rows that went with them.
   */
  clearStreamingViews(): Promise<{ recreated: number; rowsRemoved: number | undefined }>;
  /**
   * Creates, with the bootstrap's statement, every configured streaming view that does not exist (a run that ended
   * between a recreation's DROP and CREATE, or a view dropped by hand): the merge fails while a view is missing, and
   * records the stream expires meanwhile never reach the warehouse. The scheduled step calls it first in every run.
   * Returns the views created (`schema.name`).
   */
  restoreStreamingViews(): Promise<string[]>;
}

export interface ErasureArchive {
  readonly region: string;
  readonly bucket: string;
  /** Prefixes to search: each stream's (`events/`) and the error prefix (`errors/`). */
  readonly prefixes: readonly string[];
}

export interface ErasureTargets {
  readonly warehouses: readonly ErasureWarehouse[];
  readonly archives: readonly ErasureArchive[];
  readonly store: ArchiveStore;
  /** Each stream's retention: records in a stream cannot be deleted, they expire. */
  readonly streams: ReadonlyArray<{ readonly name: string; readonly retentionHours: number }>;
  /** How late Firehose can still deliver a record read before the erasure (buffering plus a margin). */
  readonly archiveDelayMs: number;
}

export interface ErasureRequest {
  readonly subject: string;
  readonly paths: readonly string[];
  readonly dryRun?: boolean;
  readonly requestId?: string;
}

export interface ArchiveCounts {
  objectsScanned: number;
  recordsScanned: number;
  recordsRemoved: number;
  objectsRewritten: number;
  objectsDeleted: number;
  versionsDeleted: number;
  /**
   * Noncurrent versions of expired objects (no current object: a delete marker on top) that held other records too:
   * each is written back without the matching records and kept noncurrent (a delete marker on top again), then deleted
   * (also counted in `versionsDeleted`).
   */
  versionsRewritten: number;
  /**
   * Objects (and versions written back) rewritten or deleted, by the storage class they were in. Outside STANDARD this costs extra: in S3 Glacier
   * Instant Retrieval (the archive's lifecycle after `coldStorageAfterDays`) the rewrite is billed at least 90 days
   * and the deleted old version the days of its 90 it had not reached (README, "Erasure").
   */
  byStorageClass: Record<string, number>;
}

export interface ErasureReport {
  readonly requestId: string;
  readonly subjectHash: string;
  readonly dryRun: boolean;
  readonly requestedAt: string;
  readonly erasedAt: string;
  readonly durationMs: number;
  readonly warehouses: ReadonlyArray<{ readonly name: string; readonly eventsDeleted: number; readonly rejectsDeleted: number }>;
  readonly archive: ArchiveCounts;
  /** What is not erased yet, and when it will be. */
  readonly pending: ReadonlyArray<{ readonly place: string; readonly clearAt: string; readonly how: string }>;
}

export interface ErasureDeps {
  readonly clock: () => number;
  readonly newRequestId?: () => string;
  readonly onProgress?: (line: string) => void;
  /**
   * Time left before the caller must stop (the Lambda function's remaining time less a reserve): the scheduled step
   * stops between objects when it reaches zero, with its progress saved. @default no deadline
   */
  readonly remainingMs?: () => number;
  /**
   * The scheduled step: called once before an archive sweep starts (not when none is due), and a throw stops the run
   * there, with the views' restoration and recreation done (lambda/erasure-finish/run.ts checks the buckets'
   * names). @default none
   */
  readonly beforeArchiveSweep?: () => Promise<void>;
  /** The scheduled step: its archive progress is saved inside a day prefix after this many keys. @default 100 */
  readonly saveEveryKeys?: number;
}

const HOUR_MS = 3_600_000;

/** Runs an erasure (or, with `dryRun`, counts what it would remove and changes nothing). */
export async function erase(request: ErasureRequest, targets: ErasureTargets, deps: ErasureDeps): Promise<ErasureReport> {
  const paths = checkSubjectPaths(request.paths);
  const hash = subjectHash(request.subject);
  const requestId = requestIdLiteral(request.requestId ?? deps.newRequestId?.() ?? crypto.randomUUID());
  const started = deps.clock();
  const dryRun = request.dryRun === true;
  const say = deps.onProgress ?? (() => undefined);
  const nowIso = (): string => new Date(deps.clock()).toISOString();

  const warehouses: Array<{ name: string; eventsDeleted: number; rejectsDeleted: number }> = [];
  for (const w of targets.warehouses) {
    const sql = erasureSql(w.dialect, w.schema, paths);
    if (!dryRun) {
      await w.change(sql.suppress(hash, requestId, nowIso()));
      await w.change(auditInsert(w, requestId, hash, paths, started));
    }
    const eventsDeleted = dryRun ? Number((await w.rows(sql.countEvents([hash])))[0]?.n ?? 0) : await w.change(sql.deleteEvents([hash]));
    say(`${w.name}: ${eventsDeleted} event(s)${dryRun ? ' would be' : ''} deleted`);
    const rejects = await findRejects(w, sql, [hash], (bytes) => recordHasSubject(bytes, request.subject, paths));
    if (!dryRun) for (const r of rejects) await w.change(sql.deleteReject(r));
    say(`${w.name}: ${rejects.length} reject(s)${dryRun ? ' would be' : ''} deleted`);
    warehouses.push({ name: w.name, eventsDeleted, rejectsDeleted: rejects.length });
  }

  const matchSubject: RecordMatch = (bytes, partitionKey) => recordHasSubject(bytes, request.subject, paths) || partitionKey === request.subject;
  const { counts: archive } = await sweepArchives(targets, sweepUnits(targets, undefined, started), matchSubject, { dryRun, since: undefined, say });

  const erasedAt = deps.clock();
  const retention = Math.max(0, ...targets.streams.map((s) => s.retentionHours));
  const streamsClearAt = started + retention * HOUR_MS;
  const pending = [
    {
      place: `streams (${targets.streams.map((s) => s.name).join(', ')})`,
      clearAt: new Date(streamsClearAt).toISOString(),
      how: `records cannot be deleted from a Kinesis stream; they expire after the ${retention} h retention`,
    },
    {
      place: 'streaming materialized views',
      clearAt: new Date(streamsClearAt + MV_CLEAR_MARGIN_MS).toISOString(),
      how: 'recreated by the scheduled step after the streams have expired the records (the merge watermark makes it safe); until then the merge drops the rows',
    },
    {
      place: 'archive objects Firehose delivers after the request',
      // From a Kinesis source Firehose keeps reading a record until the stream's retention ends, buffers it, then
      // retries the S3 delivery for up to 24 h: the step sweeps them once all of that has passed.
      clearAt: new Date(archiveDueAt(streamsClearAt, targets.archiveDelayMs)).toISOString(),
      how: lateSweepHow(targets),
    },
  ];
  if (!dryRun) {
    for (const w of targets.warehouses) {
      const counts = warehouses.find((x) => x.name === w.name)!;
      await w.change(
        `UPDATE ${w.schema}.erasure_requests SET status = 'erased', erased_at = TIMESTAMP '${timestampLiteral(new Date(erasedAt).toISOString())}', ` +
          `events_deleted = ${counts.eventsDeleted}, rejects_deleted = ${counts.rejectsDeleted}, archive_records_removed = ${archive.recordsRemoved}, ` +
          `archive_objects_rewritten = ${archive.objectsRewritten + archive.objectsDeleted + archive.versionsRewritten}, archive_versions_deleted = ${archive.versionsDeleted}, ` +
          `streams_clear_at = TIMESTAMP '${timestampLiteral(new Date(streamsClearAt).toISOString())}', mv_clear_at = TIMESTAMP '${timestampLiteral(new Date(streamsClearAt).toISOString())}' ` +
          `WHERE request_id = '${requestId}'`,
      );
    }
  }
  return {
    requestId,
    subjectHash: hash,
    dryRun,
    requestedAt: new Date(started).toISOString(),
    erasedAt: new Date(erasedAt).toISOString(),
    durationMs: erasedAt - started,
    warehouses,
    archive,
    pending,
  };
}

function rejectKey(r: Record<string, string | null>): RejectKeyColumns {
  const get = (k: keyof RejectKeyColumns): string => {
    const v = r[k];
    if (typeof v !== 'string') throw new Error(`a rejects row has no ${k}`);
    return v;
  };
  return { stream_name: get('stream_name'), shard_id: get('shard_id'), sequence_number: get('sequence_number'), reason: get('reason') };
}

/**
 * The rejects of the subject. Those with a parsed JSON object are matched in SQL by hash (only their keys come back);
 * the others (raw bytes, or a payload that is an array or a scalar) are read a page of 1 000 at a time with their first
 * {@link REJECT_CHUNK_BYTES} bytes, the rest of a longer one in further chunks, and matched here, so no result row exceeds the Data API's 64 KB and the subject never appears in a statement.
 */
async function findRejects(
  w: ErasureWarehouse,
  sql: ReturnType<typeof erasureSql>,
  hashes: readonly string[] | 'suppressed',
  match: (bytes: Uint8Array) => boolean,
): Promise<RejectKeyColumns[]> {
  const found = (await w.rows(sql.rejectKeysByPayload(hashes))).map(rejectKey);
  const seen = new Set(found.map((k) => JSON.stringify(k)));
  // Pages in a stable order; a page shorter than a full one is the last. Deletions happen after the search.
  for (let page = 0; ; page++) {
    const rows = await w.rows(sql.rejectsToSearch(page));
    for (const row of rows) {
      const key = rejectKey(row);
      const total = Number(row.n_bytes ?? 0);
      const chunks: Buffer[] = [Buffer.from(row.chunk ?? '', 'hex')];
      for (let offset = REJECT_CHUNK_BYTES + 1; offset <= total; offset += REJECT_CHUNK_BYTES) {
        const [chunk] = await w.rows(sql.rejectChunk(key, offset, Math.min(REJECT_CHUNK_BYTES, total - offset + 1)));
        chunks.push(Buffer.from(chunk?.chunk ?? '', 'hex'));
      }
      // A reject found by its partition key in SQL is not deleted twice.
      if (!seen.has(JSON.stringify(key)) && match(Buffer.concat(chunks))) found.push(key);
    }
    if (rows.length < REJECT_PAGE_ROWS) break;
  }
  return found;
}

/**
 * Who sweeps the objects Firehose delivers after the request: the scheduled step of each warehouse Region sweeps its
 * own Region's archive, and the primary's (or, without a warehouse there, the first warehouse Region's) also sweeps
 * the archives of the Regions without a warehouse (lib/config.ts erasureSweepRegions; README, "Erasure"). The
 * archives come primary first and the warehouses in the configuration's order, as that function reads them.
 */
function lateSweepHow(targets: ErasureTargets): string {
  const withStep = new Set(targets.warehouses.map((w) => w.name));
  const without = targets.archives.map((a) => a.region).filter((r) => !withStep.has(r));
  const base =
    'the scheduled step of each warehouse Region sweeps its archive for objects written since the request, in its first run after that time ' +
    '(matched by the hash of a subject path or the partition key: a malformed or binary record delivered late is not found; run this erase again for it)';
  const primary = targets.archives[0]?.region;
  const keeper = primary !== undefined && withStep.has(primary) ? primary : targets.warehouses[0]?.name;
  if (without.length === 0 || keeper === undefined) return base;
  return `${base}; ${without.join(', ')} ha${without.length === 1 ? 's' : 've'} no warehouse: the step in ${keeper} sweeps ${without.length === 1 ? 'its archive' : 'their archives'} too`;
}

function auditInsert(w: ErasureWarehouse, requestId: string, hash: string, paths: readonly string[], at: number): string {
  return (
    `INSERT INTO ${w.schema}.erasure_requests (request_id, subject_hash, subject_paths, status, requested_at) ` +
    `VALUES ('${requestId}', '${hash}', '${paths.join(',')}', 'running', TIMESTAMP '${timestampLiteral(new Date(at).toISOString())}')`
  );
}

/**
 * Where the archive is listed, in a fixed order: one unit per (archive, prefix), or, for the scheduled step, per day
 * of a stream prefix (`<stream>/yyyy/MM/dd/`) that can hold an object written since `since`. A unit is what the
 * scheduled step's progress (`archive_swept_through`) counts in.
 *
 * The key's hour is when the object's OLDEST record reached Firehose, not when the object was written: Firehose
 * buffers up to 900 s, and with a Kinesis source it keeps reading (and retrying) a record until the stream's
 * retention ends, then retries delivery to S3 for up to 24 hours. So an object written at or after `since` has a key
 * hour no earlier than `since` minus the retention, a day of S3 retries and the archive delay: days before that cannot
 * hold one. Within the days listed, objects are selected by LastModified, never by the key's hour.
 */
export function sweepUnits(targets: Pick<ErasureTargets, 'archives' | 'streams' | 'archiveDelayMs'>, since: number | undefined, now: number): SweepUnit[] {
  const units: SweepUnit[] = [];
  const retentionMs = Math.max(0, ...targets.streams.map((s) => s.retentionHours)) * HOUR_MS;
  for (const a of targets.archives) {
    for (const prefix of a.prefixes) {
      const errors = prefix.startsWith('errors/');
      if (since === undefined || errors || !prefix.endsWith('/')) {
        units.push({ id: `${a.region}:${prefix}`, region: a.region, bucket: a.bucket, prefix, errors });
        continue;
      }
      const first = Math.floor((since - retentionMs - S3_DELIVERY_RETRY_MS - targets.archiveDelayMs) / DAY_MS);
      for (let day = first; day <= Math.floor(now / DAY_MS); day++) {
        const d = new Date(day * DAY_MS);
        const dayPrefix = `${prefix}${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/`;
        units.push({ id: `${a.region}:${dayPrefix}`, region: a.region, bucket: a.bucket, prefix: dayPrefix, errors });
      }
    }
  }
  return units;
}

export interface SweepUnit {
  readonly id: string;
  readonly region: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly errors: boolean;
}

/** Firehose retries delivery to S3 for up to 24 hours (Amazon Data Firehose Developer Guide, "Data delivery failure handling"). */
const S3_DELIVERY_RETRY_MS = 24 * HOUR_MS;

/**
 * When the archive can hold no more late deliveries of records read before the erasure: a record can stay in the
 * stream (and be read by Firehose) until the streams' retention has passed, Firehose buffers it (the archive delay)
 * and retries its S3 delivery for up to a day. The archive sweep of the scheduled step waits for this, the views'
 * recreation does not (it needs only the streams' retention).
 */
export function archiveDueAt(streamsClearAt: number, archiveDelayMs: number): number {
  return streamsClearAt + S3_DELIVERY_RETRY_MS + archiveDelayMs;
}
const DAY_MS = 24 * HOUR_MS;
/**
 * Margin after `mv_clear_at` before a request is due: Kinesis trims expired records in the background, so a record
 * can still be read shortly after its retention; a view recreated a little later no longer holds it.
 */
const MV_CLEAR_MARGIN_MS = HOUR_MS;
/** Attempts at one object's read-filter-write when other writers keep changing it. */
const MAX_REWRITE_ATTEMPTS = 5;

/** Where a sweep resumes: the first unit not done, and in it the last key done. */
interface SweepPosition {
  readonly unit: number;
  readonly afterKey?: string;
}

interface SweepOptions {
  readonly dryRun: boolean;
  /** Only versions written (LastModified) at or after this time; undefined: every version. */
  readonly since: number | undefined;
  readonly say: (line: string) => void;
  readonly from?: SweepPosition;
  /** True when the sweep must stop (the caller's deadline); it stops between objects. */
  readonly outOfTime?: () => boolean;
  /** Called after each unit is done, and where the sweep stopped early. */
  readonly onProgress?: (cursor: string, removedSinceLast: number) => Promise<void>;
  /** Also save the progress inside a unit after this many keys, so a run that dies mid-unit loses little. @default 100 */
  readonly saveEveryKeys?: number;
}

/**
 * Removes matching records from every archive object version: the current version of an object holding one is
 * rewritten without it (a conditional write over the ETag read, retried when another writer changed the object
 * meanwhile, so a concurrent erase cannot bring back what this one removed) and the version read is deleted for good;
 * a noncurrent version holding one is deleted when the key has a current object (an erasure's rewrite of it, which
 * holds its other records), and written back without the matching records as a noncurrent version when the key has
 * none (the lifecycle expiration or a delete put a marker on top: its other records are nowhere else), see
 * {@link sweepNoncurrent}. An object left
 * with no record is replaced by an empty version the same way, then every version read and that one are deleted.
 * Error documents (Firehose's `rawData`) are searched too.
 */
async function sweepArchives(targets: ErasureTargets, units: readonly SweepUnit[], match: RecordMatch, options: SweepOptions): Promise<{ counts: ArchiveCounts; complete: boolean }> {
  const counts: ArchiveCounts = { objectsScanned: 0, recordsScanned: 0, recordsRemoved: 0, objectsRewritten: 0, objectsDeleted: 0, versionsDeleted: 0, versionsRewritten: 0, byStorageClass: {} };
  const from = options.from ?? { unit: 0 };
  let reported = 0;
  const progress = async (cursor: string): Promise<void> => {
    await options.onProgress?.(cursor, counts.recordsRemoved - reported);
    reported = counts.recordsRemoved;
  };
  for (let u = from.unit; u < units.length; u++) {
    const unit = units[u];
    const versions = await targets.store.listPrefixVersions(unit.bucket, unit.prefix);
    const byKey = new Map<string, typeof versions>();
    for (const v of versions) byKey.set(v.key, [...(byKey.get(v.key) ?? []), v]);
    let lastKey: string | undefined;
    let keysSinceSaved = 0;
    for (const [key, kv] of byKey) {
      if (u === from.unit && from.afterKey !== undefined && key <= from.afterKey) continue;
      if (options.outOfTime?.()) {
        if (lastKey !== undefined) await progress(cursorOf(unit, lastKey));
        return { counts, complete: false };
      }
      const selected = kv.filter((v) => !v.deleteMarker && (options.since === undefined || (v.lastModifiedMs ?? Number.POSITIVE_INFINITY) >= options.since));
      await sweepKey(targets, unit, key, kv, selected, match, options.dryRun, counts);
      lastKey = key;
      // A run killed without reaching its deadline (out of memory, a crash) resumes from here, not the unit's start.
      if (options.onProgress && ++keysSinceSaved >= (options.saveEveryKeys ?? DEFAULT_SAVE_EVERY_KEYS)) {
        await progress(cursorOf(unit, key));
        keysSinceSaved = 0;
      }
    }
    await progress(unit.id);
    options.say(`archive ${unit.region} (s3://${unit.bucket}/${unit.prefix}): ${counts.recordsRemoved} record(s) so far in ${counts.objectsRewritten + counts.objectsDeleted} object(s)`);
  }
  return { counts, complete: true };
}

/** Keys between two progress saves inside a unit: one UPDATE per this many objects read (each up to 128 MiB). */
const DEFAULT_SAVE_EVERY_KEYS = 100;

/** A progress cursor: a unit done (`<unit id>`), or a unit done up to a key (`<unit id>@<key>`). */
function cursorOf(unit: SweepUnit, key?: string): string {
  return key === undefined ? unit.id : `${unit.id}@${key}`;
}

/** Where to resume after a cursor; the start when the cursor is absent or names a unit not in the list any more. */
export function positionAfter(units: readonly SweepUnit[], cursor: string | null | undefined): SweepPosition {
  if (!cursor) return { unit: 0 };
  const done = units.findIndex((u) => u.id === cursor);
  if (done >= 0) return { unit: done + 1 };
  const partial = units.findIndex((u) => cursor.startsWith(`${u.id}@`));
  return partial >= 0 ? { unit: partial, afterKey: cursor.slice(units[partial].id.length + 1) } : { unit: 0 };
}

const earlier = (a: SweepPosition, b: SweepPosition): SweepPosition =>
  a.unit !== b.unit ? (a.unit < b.unit ? a : b) : a.afterKey === undefined ? a : b.afterKey === undefined ? b : a.afterKey <= b.afterKey ? a : b;

/** Matches a record by its bytes and its partition key (undefined for error documents, which carry none). */
type RecordMatch = (bytes: Uint8Array, partitionKey: string | undefined) => boolean;

/** What one key's sweep knows across its passes ({@link sweepKey}). */
interface KeySweep {
  /** Version ids listed (in any pass) or written by this sweep: a later listing's others are new since. */
  readonly known: Set<string>;
  /**
   * Versions V of which a copy without the subject's records is known to exist (a copy, `copy-of=V`, found holding
   * none, or rewritten without them): V itself can be deleted without writing another copy.
   */
  readonly copiesOf: Set<string>;
  /** Current versions sweepCurrent read: a dry run, which hides no copy, does not count one twice. */
  readonly sweptCurrent: Set<string>;
  /** A version was deleted in this pass (or a copy undone): the key is listed again. */
  changed: boolean;
}

/** Passes over one key's versions, the first included, before the sweep gives up on a key that keeps changing. */
const MAX_KEY_PASSES = 10;

/**
 * One key: its current version ({@link sweepCurrent}), then each other version selected ({@link sweepNoncurrent}).
 * When that deleted a version, the key's versions are listed again and every version not seen before (written since
 * by a concurrent erasure) is swept the same way, until a pass changes nothing.
 *
 * Why that, with the existence check in {@link sweepNoncurrent}, leaves no copy holding another erasure's subject
 * (S3 lists and reads strongly consistently): erasures A and B both read version V (holding both subjects) of an
 * expired key; A writes back C_A (V without A), hides it and deletes V; B, later, writes back C_B (V without B, so
 * with A's records), then checks that V still exists. If B's check comes before A's delete of V, C_B was written
 * before it, so A's listing after its delete sees C_B, new to A, and removes A's records from it. Otherwise B finds
 * V gone and deletes C_B, and its own listing after that finds C_A, new to B, and removes B's records from it. Either
 * way each subject's records are removed from every copy, and V's other records stay in at least one (both copies may
survive, each without its own erasure's subject, until the lifecycle). A version of the listing found gone when read
(deleted since the prefix was listed) also makes the key listed again, so a copy written back from it meanwhile is
swept too.
 */
async function sweepKey(
  targets: ErasureTargets,
  unit: SweepUnit,
  key: string,
  listed: readonly ObjectVersion[],
  selected: readonly ObjectVersion[],
  match: RecordMatch,
  dryRun: boolean,
  counts: ArchiveCounts,
): Promise<void> {
  const ctx: KeySweep = { known: new Set(listed.map((v) => v.versionId)), copiesOf: new Set(), sweptCurrent: new Set(), changed: false };
  let batch = selected;
  for (let pass = 1; ; pass++) {
    ctx.changed = false;
    // Skipped below: only the versions sweepCurrent read. The listing's latest may have been replaced since (a
    // concurrent rewrite): sweepCurrent then read the newer one, and the listed one is searched as noncurrent.
    const handled = new Set<string>();
    if (batch.some((v) => v.isLatest)) {
      for (const id of await sweepCurrent(targets, unit, key, match, dryRun, counts, ctx)) handled.add(id);
    }
    for (const v of batch) {
      if (handled.has(v.versionId)) continue;
      await sweepNoncurrent(targets, unit, key, v.versionId, match, dryRun, counts, ctx);
    }
    if (dryRun || !ctx.changed) return;
    const relisted = await targets.store.listVersions(unit.bucket, key);
    batch = relisted.filter((v) => !v.deleteMarker && !ctx.known.has(v.versionId));
    for (const v of relisted) ctx.known.add(v.versionId);
    if (batch.length === 0) return;
    if (pass >= MAX_KEY_PASSES) throw new Error(`s3://${unit.bucket}/${key}: new versions kept appearing through ${pass} passes (concurrent erasures?); run the erasure again`);
  }
}

/**
 * The current version: read, filter, conditional write. Returns the ids of every version it read (each either held
 * no matching record or is deleted, or, dry, would be), which the noncurrent search then skips.
 *
 * A current object carrying {@link COPY_OF_METADATA} is a copy written back by an erasure that has not put its delete
 * marker on top yet (or crashed before it): the key is expired. Its rewrite keeps the metadata, and the copy (rewritten
 * or holding no matching record) is hidden under a delete marker, so the key stays expired; a plain rewrite would turn
 * it into an object replay reads, its lifecycle restarted.
 */
async function sweepCurrent(targets: ErasureTargets, unit: SweepUnit, key: string, match: RecordMatch, dryRun: boolean, counts: ArchiveCounts, ctx: KeySweep): Promise<string[]> {
  const read: string[] = [];
  const seen: string[] = [];
  let empty: string | undefined;
  let gone = false;
  let copy: { of: string; etag: string | undefined } | undefined;
  for (let attempt = 1; ; attempt++) {
    let object: StoredObject;
    try {
      object = await targets.store.get(unit.bucket, key);
    } catch (err) {
      if (!isNoSuchKey(err)) throw err;
      // Deleted meanwhile (a delete marker): nothing left to rewrite, but a version read on an earlier attempt still
      // holds the records, now as a noncurrent version of a key without a current object: handled below as such.
      if (read.length === 0) {
        // The listing showed a current object, gone since (a concurrent erasure): the key is listed again, where a
        // copy that erasure wrote back is new to this sweep.
        ctx.changed = true;
        return seen;
      }
      gone = true;
      break;
    }
    // An unversioned object's version id is "null" in a listing.
    seen.push(object.versionId ?? 'null');
    ctx.sweptCurrent.add(object.versionId ?? 'null');
    const copyOf = object.metadata?.[COPY_OF_METADATA];
    const storageClass = object.storageClass ?? 'STANDARD';
    counts.objectsScanned++;
    const rewritten = unit.errors ? await filterErrorDocuments(object.body, match, key) : await filterArchiveObject(object.body, match, key);
    counts.recordsScanned += rewritten.scanned;
    if (rewritten.removed === 0) {
      // A copy holding none: V's other records are in it. Hidden below (the key is expired).
      if (copyOf !== undefined) {
        ctx.copiesOf.add(copyOf);
        copy = { of: copyOf, etag: object.etag };
      }
      if (read.length === 0) break;
      // A concurrent erase already removed them from the version that replaced ours: only ours is left to delete.
      break;
    }
    if (object.versionId !== undefined) read.push(object.versionId);
    if (dryRun) {
      counts.recordsRemoved += rewritten.removed;
      counts.byStorageClass[storageClass] = (counts.byStorageClass[storageClass] ?? 0) + 1;
      counts.versionsDeleted += read.length;
      if (rewritten.body === undefined) counts.objectsDeleted++;
      else counts.objectsRewritten++;
      if (copyOf !== undefined) ctx.copiesOf.add(copyOf);
      return seen;
    }
    try {
      // In the class the object was in: a rewrite into STANDARD would sit there another coldStorageAfterDays. An
      // object left empty gets an empty version the same way, so a concurrent writer's If-Match fails too. The user
      // metadata (only a copy's COPY_OF_METADATA in this archive) goes along.
      const contentType = unit.errors ? 'application/octet-stream' : 'application/x-ndjson';
      // Never unconditional (the step's role may not write without If-Match, and a blind write could bring back what a
      // concurrent erasure removed).
      if (object.etag === undefined) throw new Error(`s3://${unit.bucket}/${key}: S3 returned no ETag; cannot rewrite it conditionally`);
      const written = await targets.store.put(unit.bucket, key, rewritten.body ?? Buffer.alloc(0), contentType, storageClass, object.etag, object.metadata);
      if (written.versionId !== undefined) ctx.known.add(written.versionId);
      counts.recordsRemoved += rewritten.removed;
      counts.byStorageClass[storageClass] = (counts.byStorageClass[storageClass] ?? 0) + 1;
      if (rewritten.body === undefined) {
        counts.objectsDeleted++;
        empty = written.versionId;
      } else counts.objectsRewritten++;
      if (copyOf !== undefined) {
        // Rewritten or emptied, the copy holds V's other records (or V had none): V needs no other copy.
        ctx.copiesOf.add(copyOf);
        // An emptied one is deleted below with the versions read, which puts the key's delete marker back on top.
        if (rewritten.body !== undefined) copy = { of: copyOf, etag: written.etag };
      }
      break;
    } catch (err) {
      if (!(err instanceof ObjectChangedError) || attempt >= MAX_REWRITE_ATTEMPTS) throw err;
    }
  }
  if (copy !== undefined && !dryRun) {
    await hideCopy(targets.store, unit.bucket, key, copy.etag);
    ctx.changed = true;
  }
  if (gone) {
    // Their other records are nowhere else: written back as noncurrent versions (sweepNoncurrent), not just deleted.
    for (const id of read) await sweepNoncurrent(targets, unit, key, id, match, dryRun, counts, ctx, false);
    return seen;
  }
  // The versions read still hold the records (and an emptied object's empty version is no object at all): delete them.
  for (const id of read) {
    await targets.store.deleteVersion(unit.bucket, key, id);
    counts.versionsDeleted++;
    ctx.changed = true;
  }
  if (empty !== undefined) await targets.store.deleteVersion(unit.bucket, key, empty);
  return seen;
}

/**
 * The user metadata (`x-amz-meta-…`) on a copy written back by {@link sweepNoncurrent}: the id of the version it is a
 * filtered copy of. It lets the next sweep recognise the copy if a crash left it current (see there).
 */
const COPY_OF_METADATA = 'redstream-erasure-copy-of';

/**
 * A noncurrent version holding a matching record. S3 cannot rewrite a version, so what happens to its other records
 * depends on what made it noncurrent:
 *
 * - The key has a current object: the version was replaced, and in this archive only an erasure replaces an object
 *   (Firehose writes each key once: its keys end in a unique id), with a rewrite of the version it read, conditional on
 *   its ETag (sweepCurrent). So the current object holds this version's other records (less those of subjects erased
 *   since): the version is deleted. Writing a filtered copy back as a noncurrent version is not possible here without
 *   rewriting the current object on top of it again (a new version of what replay reads, its lifecycle clock restarted).
 * - The key has no current object (its latest entry is a delete marker: the lifecycle expiration, or a delete): the
 *   version is the only place the other records are, kept for `noncurrentVersionRetentionDays`. Deleting it would drop
 *   them before that, so a filtered copy is written back and kept noncurrent: (1) the copy, in the version's storage
 *   class and content type, only if the key still has no current object (`If-None-Match: *`, so a newer object is never
 *   hidden), (2) a check that the version read still exists (else a concurrent erasure handled it, its copy holds the
 *   other records, and ours, holding that erasure's subject, is deleted again: see {@link sweepKey}), (3) a delete
 *   marker on top, only while the copy is still current (`If-Match` its ETag), (4) the version read is deleted. A
 *   version holding only matching records is deleted without a copy.
 *
 * A current object that is a copy (it carries {@link COPY_OF_METADATA}: an erasure's, between its (1) and (3), or left
 * so by a crash) stands for no object: it is swept as a current object first (filtered if it holds a matching record,
 * then hidden, {@link sweepCurrent}). If it is a copy of this version, that copy now holds the version's other records
 * and the version is deleted without another copy.
 *
 * The copy becomes noncurrent now, so the lifecycle keeps it `noncurrentVersionRetentionDays` from now, later than the
 * version it replaces would have gone (README, "Erasure").
 *
 * A crash between the steps never leaves the subject's records where the next sweep does not look: until (4) the
 * version read still holds them, and it is searched again (every version by a re-run of `erase`; by the scheduled
 * step, which selects by LastModified, as before since it was selected this time). After (1) only, the copy is briefly
 * current (the expired key visible again, without the subject): the next sweep finds the copy current, recognises it
 * by its {@link COPY_OF_METADATA} naming this version, and resumes at (3). After (3) only, the next sweep writes a
 * second copy (both noncurrent, without the subject, gone with the lifecycle): harmless, and simpler than finding the
 * first. A copy, once this version is deleted, is an ordinary noncurrent version.
 */
async function sweepNoncurrent(
  targets: ErasureTargets,
  unit: SweepUnit,
  key: string,
  versionId: string,
  match: RecordMatch,
  dryRun: boolean,
  counts: ArchiveCounts,
  ctx: KeySweep,
  /** False when the caller has counted this version as scanned already. */
  countScan = true,
): Promise<void> {
  let object: StoredObject;
  try {
    object = await targets.store.get(unit.bucket, key, versionId);
  } catch (err) {
    if (!isNoSuchKey(err)) throw err;
    // Deleted since the prefix was listed (a concurrent erasure, which may have written back a copy of it holding this
    // erasure's subject): the key is listed again, where such a copy is new to this sweep (sweepKey).
    ctx.changed = true;
    return;
  }
  const filtered = unit.errors ? await filterErrorDocuments(object.body, match, key) : await filterArchiveObject(object.body, match, key);
  if (countScan) {
    counts.objectsScanned++;
    counts.recordsScanned += filtered.scanned;
  }
  if (filtered.removed === 0) return;
  const deleteRead = async (): Promise<void> => {
    if (!dryRun) await targets.store.deleteVersion(unit.bucket, key, versionId);
    counts.versionsDeleted++;
    ctx.changed = true;
  };
  for (let attempt = 1; ; attempt++) {
    let current = await currentObject(targets.store, unit.bucket, key);
    if (current?.metadata?.[COPY_OF_METADATA] !== undefined) {
      // A copy still current (see above): filtered if it holds the subject, and hidden.
      if (!dryRun || !ctx.sweptCurrent.has(current.versionId ?? 'null')) {
        for (const id of await sweepCurrent(targets, unit, key, match, dryRun, counts, ctx)) ctx.known.add(id);
      }
      if (!dryRun) {
        if (attempt >= MAX_REWRITE_ATTEMPTS) throw new Error(`s3://${unit.bucket}/${key}: copies written back kept appearing on top (concurrent erasures?); run the erasure again`);
        continue; // look again: hidden, or replaced meanwhile
      }
      current = undefined; // dry: it would be hidden
    }
    if (current !== undefined) {
      // Replaced (see above): the current object holds the other records.
      await deleteRead();
      return;
    }
    if (ctx.copiesOf.has(versionId)) {
      // A copy of this version without the subject exists (found current above, or by sweepCurrent): no second one.
      await deleteRead();
      return;
    }
    const storageClass = object.storageClass ?? 'STANDARD';
    if (filtered.body !== undefined) {
      if (!dryRun) {
        let written: { versionId: string | undefined; etag: string | undefined };
        try {
          written = await targets.store.putIfAbsent(unit.bucket, key, filtered.body, object.contentType ?? defaultContentType(unit), storageClass, { [COPY_OF_METADATA]: versionId });
        } catch (err) {
          // An object was written at the key since we looked: it replaced this version; decide again.
          if (!(err instanceof ObjectChangedError) || attempt >= MAX_REWRITE_ATTEMPTS) throw err;
          continue;
        }
        if (written.versionId !== undefined) ctx.known.add(written.versionId);
        if (!(await targets.store.versionExists(unit.bucket, key, versionId))) {
          // A concurrent erasure deleted this version after writing back its own copy, which holds these records less
          // its subject's: ours holds its subject's. Ours goes (the key expired as before) and the key is listed again,
          // where that erasure's copy is new to this sweep (sweepKey).
          if (written.versionId === undefined) throw new Error(`s3://${unit.bucket}/${key}: S3 returned no version id for the copy written back; cannot undo it`);
          await targets.store.deleteVersion(unit.bucket, key, written.versionId);
          ctx.changed = true;
          return;
        }
        await hideCopy(targets.store, unit.bucket, key, written.etag);
      }
      counts.versionsRewritten++;
      counts.byStorageClass[storageClass] = (counts.byStorageClass[storageClass] ?? 0) + 1;
    }
    // The version is the only place its records are (no current object): they count as removed once the copy
    // stands (with a current object they are copies of records it held, counted when it was rewritten).
    counts.recordsRemoved += filtered.removed;
    await deleteRead();
    return;
  }
}

/** The key's current object, or undefined when it has none (its latest entry is a delete marker, or no entry). */
async function currentObject(store: ArchiveStore, bucket: string, key: string): Promise<StoredObject | undefined> {
  try {
    return await store.get(bucket, key);
  } catch (err) {
    if (isNoSuchKey(err)) return undefined;
    throw err;
  }
}

/**
 * A delete marker on top of a copy written back, so that it is noncurrent and the key stays expired; only while the
 * copy is still current. When the conditional delete fails (412: the copy is no longer current; 404: no current
 * object; 409 ConditionalRequestConflict: a concurrent write or delete, which says nothing about what is current now,
 * User Guide, "How to perform conditional deletes"), the current object is read again: a copy (ours, or one a
 * concurrent erasure wrote or rewrote) is hidden in turn; anything else (nothing, or a newer object) is not ours to hide.
 */
async function hideCopy(store: ArchiveStore, bucket: string, key: string, etag: string | undefined): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (etag === undefined) throw new Error(`s3://${bucket}/${key}: S3 returned no ETag for the copy written back; cannot hide it conditionally`);
    try {
      await store.deleteObject(bucket, key, etag);
      return;
    } catch (err) {
      if (!(err instanceof ObjectChangedError)) throw err;
    }
    const current = await currentObject(store, bucket, key);
    if (current?.metadata?.[COPY_OF_METADATA] === undefined) return;
    if (attempt >= MAX_REWRITE_ATTEMPTS) throw new Error(`s3://${bucket}/${key}: the copy written back could not be hidden in ${attempt} attempts (concurrent writers)`);
    etag = current.etag;
  }
}

const defaultContentType = (unit: SweepUnit): string => (unit.errors ? 'application/octet-stream' : 'application/x-ndjson');

function isNoSuchKey(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  return name === 'NoSuchKey' || name === 'NoSuchVersion';
}

async function filterArchiveObject(body: Buffer, match: RecordMatch, where: string): Promise<{ scanned: number; removed: number; body: Buffer | undefined }> {
  const records: ArchiveRecord[] = body.length === 0 ? [] : await decodeArchiveObject(body, where);
  const kept = records.filter((r) => !match(recordBytes(r), r.partitionKey));
  const removed = records.length - kept.length;
  return { scanned: records.length, removed, body: removed === 0 || kept.length === 0 ? undefined : await encodeArchiveObject(kept) };
}

/** Firehose's error documents, one JSON object a line; a line that does not parse stops the erasure (as replay does). */
async function filterErrorDocuments(body: Buffer, match: RecordMatch, where: string): Promise<{ scanned: number; removed: number; body: Buffer | undefined }> {
  const lines = (await archiveObjectText(body)).split('\n').filter((l) => l.trim() !== '');
  const kept = lines.filter((l, i) => {
    let doc: { rawData?: unknown };
    try {
      doc = JSON.parse(l) as { rawData?: unknown };
    } catch (err) {
      throw new Error(`${where}: line ${i + 1} is not a Firehose error document (${err instanceof Error ? err.message : String(err)}); erasure stopped so that no record is missed`);
    }
    return !(typeof doc.rawData === 'string' && match(Buffer.from(doc.rawData, 'base64'), undefined));
  });
  const removed = lines.length - kept.length;
  return { scanned: lines.length, removed, body: removed === 0 || kept.length === 0 ? undefined : gzipSync(`${kept.join('\n')}\n`) };
}

export interface FinishReport {
  readonly finished: ReadonlyArray<{ readonly requestId: string; readonly warehouse: string }>;
  readonly waiting: ReadonlyArray<{ readonly requestId: string; readonly warehouse: string; readonly dueAt: string }>;
  /**
   * False when the run left work for the next one, its progress saved: it stopped before its deadline, or erasures
   * became due while an archive sweep was in progress (they are swept as the next batch, by the next run).
   */
  readonly complete: boolean;
  readonly eventsDeleted: number;
  readonly rejectsDeleted: number;
  /**
   * Streaming views this run found missing and created first (a run that ended between a recreation's DROP and CREATE,
   * or a view dropped by hand).
   */
  readonly streamingViewsRestored: number;
  /** Streaming views recreated by this run (none when no erasure became due since the last recreation). */
  readonly streamingViewsRecreated: number;
  /** Rows the recreated views no longer hold, where known (the local stand-in); undefined on Redshift. */
  readonly streamingViewRowsDeleted: number | undefined;
  readonly archive: ArchiveCounts;
}

interface DueRequest {
  readonly w: ErasureWarehouse;
  readonly requestId: string;
  readonly hash: string;
  readonly requestedAt: number;
  readonly viewsRecreated: boolean;
  /** The archive phase is due (archiveDueAt): Firehose can deliver no more of the records read before the request. */
  readonly archiveDue: boolean;
  readonly archiveSwept: boolean;
  readonly sweptThrough: string | null;
}

const parseTs = (v: string | null | undefined): number => Date.parse(`${String(v).replace(' ', 'T')}Z`);

/**
 * The scheduled step (deployed on a schedule in every warehouse Region, lambda/erasure-finish; by hand
 * `npm run ops -- erase --finish`): for every erasure whose streams and streaming views are due (`mv_clear_at`
 * passed), in phases recorded in the audit row so that a run stopped by its deadline (or killed) resumes where it
 * stopped and repeats no expensive step:
 *
 * 1. recreates the streaming views once for the requests due since the last recreation (`views_recreated_at`);
 * 2. once Firehose can deliver no more records read before the request ({@link archiveDueAt}: the streams'
 *    retention, the archive delay and a day of S3 delivery retries), sweeps the archive objects written since the
 *    request, selected by LastModified
 *    (`archive_swept_through` is the last unit done, `archive_swept_at` when all are), one batch of requests per
 *    run: a batch in progress is finished before requests due since are started, so each finishes;
 * 3. sweeps events and rejects again by hash, and marks the request finished.
 *
 * Before all of that, in every run (also when nothing is due), each warehouse creates its streaming views that are
 * missing (ErasureWarehouse.restoreStreamingViews), so a run that ended between a DROP and its CREATE costs at most
 * the time to the next run.
 *
 * With `remainingMs`, it stops between objects once that reaches zero, with its progress saved. Works from hashes
 * only: it never needs the subject.
 */
export async function finishErasures(targets: ErasureTargets, paths: readonly string[], deps: ErasureDeps): Promise<FinishReport> {
  checkSubjectPaths(paths);
  const say = deps.onProgress ?? (() => undefined);
  let viewsRestored = 0;
  for (const w of targets.warehouses) {
    const restored = await w.restoreStreamingViews();
    viewsRestored += restored.length;
    if (restored.length > 0) say(`${w.name}: ${restored.length} streaming view(s) were missing and are created again: ${restored.join(', ')}`);
  }
  const now = deps.clock();
  const outOfTime = (): boolean => deps.remainingMs !== undefined && deps.remainingMs() <= 0;
  const nowLiteral = (): string => `TIMESTAMP '${timestampLiteral(new Date(deps.clock()).toISOString())}'`;
  const emptyCounts = (): ArchiveCounts => ({ objectsScanned: 0, recordsScanned: 0, recordsRemoved: 0, objectsRewritten: 0, objectsDeleted: 0, versionsDeleted: 0, versionsRewritten: 0, byStorageClass: {} });
  const finished: Array<{ requestId: string; warehouse: string }> = [];
  const waiting: Array<{ requestId: string; warehouse: string; dueAt: string }> = [];
  let eventsDeleted = 0;
  let rejectsDeleted = 0;
  let viewRows: number | undefined = 0;
  let viewsRecreated = 0;
  const due: DueRequest[] = [];
  for (const w of targets.warehouses) {
    const rows = await w.rows(
      `SELECT request_id, subject_hash, CAST(requested_at AS VARCHAR(32)) AS requested_at, CAST(mv_clear_at AS VARCHAR(32)) AS mv_clear_at, ` +
        `CAST(streams_clear_at AS VARCHAR(32)) AS streams_clear_at, ` +
        `CAST(views_recreated_at AS VARCHAR(32)) AS views_recreated_at, CAST(archive_swept_at AS VARCHAR(32)) AS archive_swept_at, archive_swept_through ` +
        `FROM ${w.schema}.erasure_requests WHERE status = 'erased' ORDER BY requested_at, request_id`,
    );
    for (const r of rows) {
      const viewsDueAt = parseTs(r.mv_clear_at) + MV_CLEAR_MARGIN_MS;
      const archiveDue = archiveDueAt(parseTs(r.streams_clear_at), targets.archiveDelayMs);
      // Not finished before both phases are due: waiting until the later, though its views may be recreated now.
      if (archiveDue > now || viewsDueAt > now) {
        waiting.push({ requestId: String(r.request_id), warehouse: w.name, dueAt: new Date(Math.max(viewsDueAt, archiveDue)).toISOString() });
      }
      if (viewsDueAt > now) continue;
      due.push({
        w,
        requestId: requestIdLiteral(String(r.request_id)),
        hash: checkHash(String(r.subject_hash)),
        requestedAt: parseTs(r.requested_at),
        viewsRecreated: r.views_recreated_at !== null,
        archiveDue: archiveDue <= now,
        archiveSwept: r.archive_swept_at !== null,
        sweptThrough: r.archive_swept_through,
      });
    }
  }
  const report = (complete: boolean, archive: ArchiveCounts): FinishReport => ({
    finished,
    waiting,
    complete,
    eventsDeleted,
    rejectsDeleted,
    streamingViewsRestored: viewsRestored,
    streamingViewsRecreated: viewsRecreated,
    streamingViewRowsDeleted: viewRows,
    archive,
  });
  if (due.length === 0) return report(true, emptyCounts());
  const ids = (rs: readonly DueRequest[]): string => rs.map((d) => `'${d.requestId}'`).join(', ');
  const byWarehouse = (rs: readonly DueRequest[]): Map<ErasureWarehouse, DueRequest[]> => {
    const m = new Map<ErasureWarehouse, DueRequest[]>();
    for (const d of rs) m.set(d.w, [...(m.get(d.w) ?? []), d]);
    return m;
  };

  // 1. The views, once per batch of requests that became due since the last recreation.
  for (const [w, rs] of byWarehouse(due.filter((d) => !d.viewsRecreated))) {
    if (outOfTime()) return report(false, emptyCounts());
    const views = await w.clearStreamingViews();
    viewsRecreated += views.recreated;
    viewRows = viewRows === undefined || views.rowsRemoved === undefined ? undefined : viewRows + views.rowsRemoved;
    await w.change(`UPDATE ${w.schema}.erasure_requests SET views_recreated_at = ${nowLiteral()} WHERE request_id IN (${ids(rs)})`);
    say(`${w.name}: ${views.recreated} streaming view(s) recreated for ${rs.length} erasure(s)`);
  }

  // 2. The archive: objects written since the earliest request of the batch (less the archive delay).
  const hashes = new Set(due.map((d) => d.hash));
  const matchHash: RecordMatch = (bytes, partitionKey) => recordHasSuppressedSubject(bytes, hashes, paths) || (partitionKey !== undefined && partitionKey !== '' && hashes.has(subjectHash(partitionKey)));
  // One batch per run, and a batch never grows once started: while any request has a cursor, only the requests
  // sharing it (the batch in progress) are swept, from that cursor; requests due since wait for the next run's batch.
  // Otherwise a request becoming due every run, with a sweep longer than one run, would restart the sweep each time
  // and none would finish. The batch done, its requests finish (step 3) in the same run.
  const pending = due.filter((d) => d.archiveDue && !d.archiveSwept);
  const started = pending.filter((d) => d.sweptThrough !== null);
  const toSweep = started.length > 0 ? started : pending;
  const swept = new Set(due.filter((d) => d.archiveSwept));
  let archive = emptyCounts();
  if (toSweep.length > 0) {
    await deps.beforeArchiveSweep?.();
    const since = Math.min(...toSweep.map((d) => d.requestedAt)) - targets.archiveDelayMs;
    const units = sweepUnits(targets, since, now);
    const from = toSweep.map((d) => positionAfter(units, d.sweptThrough)).reduce(earlier);
    const sweep = await sweepArchives(targets, units, matchHash, {
      dryRun: false,
      since,
      say,
      from,
      outOfTime,
      saveEveryKeys: deps.saveEveryKeys,
      onProgress: async (cursor, removed) => {
        for (const [w, rs] of byWarehouse(toSweep)) {
          await w.change(
            `UPDATE ${w.schema}.erasure_requests SET archive_swept_through = '${cursorLiteral(cursor)}', ` +
              `finish_archive_removed = COALESCE(finish_archive_removed, 0) + ${removed} WHERE request_id IN (${ids(rs)})`,
          );
        }
      },
    });
    archive = sweep.counts;
    if (!sweep.complete) {
      say(`stopped before the deadline; the next run resumes the archive sweep where this one stopped`);
      return report(false, archive);
    }
    for (const [w, rs] of byWarehouse(toSweep)) await w.change(`UPDATE ${w.schema}.erasure_requests SET archive_swept_at = ${nowLiteral()} WHERE request_id IN (${ids(rs)})`);
    for (const d of toSweep) swept.add(d);
  }
  const next = pending.filter((d) => !swept.has(d));
  if (next.length > 0) say(`${next.length} erasure(s) due since the archive sweep in progress started: the next run sweeps them`);

  // 3. Events and rejects by hash (cheap next to the above, and idempotent), then finished.
  for (const [w, rs] of byWarehouse(due.filter((d) => swept.has(d)))) {
    if (outOfTime()) return report(false, archive);
    const sql = erasureSql(w.dialect, w.schema, paths);
    const events = await w.change(sql.deleteSuppressedEvents());
    const rejects = await findRejects(w, sql, 'suppressed', (bytes) => recordHasSuppressedSubject(bytes, hashes, paths));
    for (const r of rejects) await w.change(sql.deleteReject(r));
    eventsDeleted += events;
    rejectsDeleted += rejects.length;
    await w.change(
      `UPDATE ${w.schema}.erasure_requests SET status = 'finished', finished_at = ${nowLiteral()}, ` +
        `finish_events_deleted = ${events}, finish_rejects_deleted = ${rejects.length} WHERE request_id IN (${ids(rs)})`,
    );
    for (const d of rs) finished.push({ requestId: d.requestId, warehouse: w.name });
  }
  return report(next.length === 0, archive);
}

/** A progress cursor inlined in SQL: a Region, a prefix and an archive key (Firehose's characters only). */
function cursorLiteral(cursor: string): string {
  if (!/^[A-Za-z0-9_.:/@=+-]{1,1024}$/.test(cursor)) throw new Error(`unexpected archive cursor ${JSON.stringify(cursor)}`);
  return cursor;
}

/** The DELETE that stands in for recreating a Postgres stand-in MV: its rows of suppressed subjects. */
export function streamingViewSweepSql(dialect: Dialect, table: string, paths: readonly string[], hashes: ReadonlySet<string>): string {
  return `DELETE FROM ${table} WHERE payload IS NOT NULL AND (${subjectHashIn(dialect, 'payload', paths, [...hashes].map((h) => `'${checkHash(h)}'`).join(', '))})`;
}
