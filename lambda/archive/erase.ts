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
 *    every older version of that object (which still holds it) is deleted for good;
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
import { ArchiveStore, archiveObjectText, decodeArchiveObject, encodeArchiveObject } from './store';
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
   * Objects rewritten or deleted, by the storage class they were in. Outside STANDARD this costs extra: in S3 Glacier
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

  const archive = await sweepArchives(targets, (bytes) => recordHasSubject(bytes, request.subject, paths), { dryRun, since: undefined, say });

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
      clearAt: new Date(streamsClearAt).toISOString(),
      how: 'recreated by the scheduled step after the streams have expired the records (the merge watermark makes it safe); until then the merge drops the rows',
    },
    {
      place: 'archive objects still in Firehose buffers',
      clearAt: new Date(started + targets.archiveDelayMs).toISOString(),
      how: lateSweepHow(targets),
    },
  ];
  if (!dryRun) {
    for (const w of targets.warehouses) {
      const counts = warehouses.find((x) => x.name === w.name)!;
      await w.change(
        `UPDATE ${w.schema}.erasure_requests SET status = 'erased', erased_at = TIMESTAMP '${timestampLiteral(new Date(erasedAt).toISOString())}', ` +
          `events_deleted = ${counts.eventsDeleted}, rejects_deleted = ${counts.rejectsDeleted}, archive_records_removed = ${archive.recordsRemoved}, ` +
          `archive_objects_rewritten = ${archive.objectsRewritten + archive.objectsDeleted}, archive_versions_deleted = ${archive.versionsDeleted}, ` +
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
      if (match(Buffer.concat(chunks))) found.push(key);
    }
    if (rows.length < REJECT_PAGE_ROWS) break;
  }
  return found;
}

/**
 * Who sweeps the objects Firehose delivers after the request: the scheduled step of each warehouse Region sweeps its
 * own Region's archive; a Region without a warehouse has none (README, "Erasure").
 */
function lateSweepHow(targets: ErasureTargets): string {
  const withStep = new Set(targets.warehouses.map((w) => w.name));
  const without = targets.archives.map((a) => a.region).filter((r) => !withStep.has(r));
  const base = 'the scheduled step of each warehouse Region sweeps its archive for objects written since the request';
  return without.length === 0 ? base : `${base}; ${without.join(', ')} ha${without.length === 1 ? 's' : 've'} no warehouse: run this erase again after that time to sweep ${without.length === 1 ? 'its archive' : 'their archives'}`;
}

function auditInsert(w: ErasureWarehouse, requestId: string, hash: string, paths: readonly string[], at: number): string {
  return (
    `INSERT INTO ${w.schema}.erasure_requests (request_id, subject_hash, subject_paths, status, requested_at) ` +
    `VALUES ('${requestId}', '${hash}', '${paths.join(',')}', 'running', TIMESTAMP '${timestampLiteral(new Date(at).toISOString())}')`
  );
}

/**
 * Rewrites every archive object holding a matching record without it, and deletes every older version of it. An
 * object left empty is deleted (all its versions). Error documents (Firehose's `rawData`) are searched too.
 */
async function sweepArchives(
  targets: ErasureTargets,
  match: (bytes: Uint8Array) => boolean,
  options: { dryRun: boolean; since: number | undefined; say: (line: string) => void },
): Promise<ArchiveCounts> {
  const counts: ArchiveCounts = { objectsScanned: 0, recordsScanned: 0, recordsRemoved: 0, objectsRewritten: 0, objectsDeleted: 0, versionsDeleted: 0, byStorageClass: {} };
  for (const a of targets.archives) {
    for (const prefix of a.prefixes) {
      for (const key of await targets.store.listKeys(a.bucket, prefix)) {
        if (options.since !== undefined && !objectMayBeNewerThan(key, options.since)) continue;
        const { body, versionId, storageClass = 'STANDARD' } = await targets.store.get(a.bucket, key);
        counts.objectsScanned++;
        const rewritten = prefix.startsWith('errors/') ? await filterErrorDocuments(body, match) : await filterArchiveObject(body, match, key);
        counts.recordsScanned += rewritten.scanned;
        if (rewritten.removed === 0) continue;
        counts.recordsRemoved += rewritten.removed;
        counts.byStorageClass[storageClass] = (counts.byStorageClass[storageClass] ?? 0) + 1;
        if (options.dryRun) continue;
        let keep: string | undefined;
        if (rewritten.body === undefined) counts.objectsDeleted++;
        else {
          // In the class the object was in: a rewrite into STANDARD would sit there another coldStorageAfterDays.
          keep = await targets.store.put(a.bucket, key, rewritten.body, prefix.startsWith('errors/') ? 'application/octet-stream' : 'application/x-ndjson', storageClass);
          counts.objectsRewritten++;
        }
        // Every other version still holds the records: delete them (including the one just read, `versionId`).
        for (const v of await targets.store.listVersions(a.bucket, key)) {
          if (v.versionId === keep) continue;
          await targets.store.deleteVersion(a.bucket, key, v.versionId);
          if (!v.deleteMarker) counts.versionsDeleted++;
        }
        void versionId;
      }
    }
    options.say(`archive ${a.region} (s3://${a.bucket}): ${counts.recordsRemoved} record(s) so far in ${counts.objectsRewritten + counts.objectsDeleted} object(s)`);
  }
  return counts;
}

/** Keys carry the hour their oldest record reached Firehose (…/yyyy/MM/dd/HH/…): skip hours entirely before `since`. */
function objectMayBeNewerThan(key: string, since: number): boolean {
  const m = /\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\//.exec(key);
  if (!m) return true;
  const hourEnd = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4])) + HOUR_MS;
  return hourEnd > since;
}

async function filterArchiveObject(body: Buffer, match: (bytes: Uint8Array) => boolean, where: string): Promise<{ scanned: number; removed: number; body: Buffer | undefined }> {
  const records: ArchiveRecord[] = await decodeArchiveObject(body, where);
  const kept = records.filter((r) => !match(recordBytes(r)));
  const removed = records.length - kept.length;
  return { scanned: records.length, removed, body: removed === 0 || kept.length === 0 ? undefined : await encodeArchiveObject(kept) };
}

async function filterErrorDocuments(body: Buffer, match: (bytes: Uint8Array) => boolean): Promise<{ scanned: number; removed: number; body: Buffer | undefined }> {
  const lines = (await archiveObjectText(body)).split('\n').filter((l) => l.trim() !== '');
  const kept = lines.filter((l) => {
    try {
      const doc = JSON.parse(l) as { rawData?: unknown };
      return !(typeof doc.rawData === 'string' && match(Buffer.from(doc.rawData, 'base64')));
    } catch {
      return true;
    }
  });
  const removed = lines.length - kept.length;
  return { scanned: lines.length, removed, body: removed === 0 || kept.length === 0 ? undefined : gzipSync(`${kept.join('\n')}\n`) };
}

export interface FinishReport {
  readonly finished: ReadonlyArray<{ readonly requestId: string; readonly warehouse: string }>;
  readonly waiting: ReadonlyArray<{ readonly requestId: string; readonly warehouse: string; readonly dueAt: string }>;
  readonly eventsDeleted: number;
  readonly rejectsDeleted: number;
  /** Streaming views recreated (none when no erasure was due). */
  readonly streamingViewsRecreated: number;
  /** Rows the recreated views no longer hold, where known (the local stand-in); undefined on Redshift. */
  readonly streamingViewRowsDeleted: number | undefined;
  readonly archive: ArchiveCounts;
}

/**
 * The scheduled step (deployed on a schedule in every warehouse Region, lambda/erasure-finish; by hand
 * `npm run ops -- erase --finish`): for every erasure whose streams and streaming views are due (`mv_clear_at`
 * passed), recreates the streaming views, sweeps
 * events and rejects again by hash, and the archive objects written since the request (late Firehose deliveries),
 * then marks the request finished. Works from hashes only: it never needs the subject.
 */
export async function finishErasures(targets: ErasureTargets, paths: readonly string[], deps: ErasureDeps): Promise<FinishReport> {
  checkSubjectPaths(paths);
  const now = deps.clock();
  const finished: Array<{ requestId: string; warehouse: string }> = [];
  const waiting: Array<{ requestId: string; warehouse: string; dueAt: string }> = [];
  let eventsDeleted = 0;
  let rejectsDeleted = 0;
  let viewRows: number | undefined = 0;
  let viewsRecreated = 0;
  let since: number | undefined;
  const due: Array<{ w: ErasureWarehouse; requestId: string }> = [];
  const hashes = new Set<string>();
  for (const w of targets.warehouses) {
    const rows = await w.rows(
      `SELECT request_id, subject_hash, CAST(requested_at AS VARCHAR(32)) AS requested_at, CAST(mv_clear_at AS VARCHAR(32)) AS mv_clear_at ` +
        `FROM ${w.schema}.erasure_requests WHERE status = 'erased'`,
    );
    for (const r of rows) {
      const dueAt = Date.parse(`${String(r.mv_clear_at).replace(' ', 'T')}Z`);
      if (dueAt > now) {
        waiting.push({ requestId: String(r.request_id), warehouse: w.name, dueAt: new Date(dueAt).toISOString() });
        continue;
      }
      due.push({ w, requestId: String(r.request_id) });
      hashes.add(String(r.subject_hash));
      const requested = Date.parse(`${String(r.requested_at).replace(' ', 'T')}Z`);
      since = since === undefined ? requested : Math.min(since, requested);
    }
  }
  if (due.length === 0) {
    return { finished, waiting, eventsDeleted, rejectsDeleted, streamingViewsRecreated: 0, streamingViewRowsDeleted: 0, archive: { objectsScanned: 0, recordsScanned: 0, recordsRemoved: 0, objectsRewritten: 0, objectsDeleted: 0, versionsDeleted: 0, byStorageClass: {} } };
  }
  const matchHash = (bytes: Uint8Array): boolean => recordHasSuppressedSubject(bytes, hashes, paths);
  for (const w of new Set(due.map((d) => d.w))) {
    const sql = erasureSql(w.dialect, w.schema, paths);
    const views = await w.clearStreamingViews();
    viewsRecreated += views.recreated;
    viewRows = viewRows === undefined || views.rowsRemoved === undefined ? undefined : viewRows + views.rowsRemoved;
    eventsDeleted += await w.change(sql.deleteSuppressedEvents());
    const rejects = await findRejects(w, sql, 'suppressed', matchHash);
    for (const r of rejects) await w.change(sql.deleteReject(r));
    rejectsDeleted += rejects.length;
  }
  const archive = await sweepArchives(targets, matchHash, { dryRun: false, since, say: deps.onProgress ?? (() => undefined) });
  for (const { w, requestId } of due) {
    await w.change(
      `UPDATE ${w.schema}.erasure_requests SET status = 'finished', finished_at = TIMESTAMP '${timestampLiteral(new Date(deps.clock()).toISOString())}', ` +
        `finish_events_deleted = ${eventsDeleted}, finish_rejects_deleted = ${rejectsDeleted}, finish_archive_removed = ${archive.recordsRemoved} WHERE request_id = '${requestIdLiteral(requestId)}'`,
    );
    finished.push({ requestId, warehouse: w.name });
  }
  return { finished, waiting, eventsDeleted, rejectsDeleted, streamingViewsRecreated: viewsRecreated, streamingViewRowsDeleted: viewRows, archive };
}

/** The DELETE that stands in for recreating a Postgres stand-in MV: its rows of suppressed subjects. */
export function streamingViewSweepSql(dialect: Dialect, table: string, paths: readonly string[], hashes: ReadonlySet<string>): string {
  return `DELETE FROM ${table} WHERE payload IS NOT NULL AND (${subjectHashIn(dialect, 'payload', paths, [...hashes].map((h) => `'${checkHash(h)}'`).join(', '))})`;
}
