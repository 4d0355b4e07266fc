/**
 * The archive bucket behind a small interface (one adapter over the S3 client), and reading / writing archive
 * objects (GZIP NDJSON, lambda/archive/format.ts). The S3 client comes from the caller, configured with the SDK's
 * standard endpoint variables (`AWS_ENDPOINT_URL_S3`), so the same code runs against the local S3 stand-in.
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
  StorageClass,
} from '@aws-sdk/client-s3';
import { ArchiveRecord, parseArchiveText, toArchiveLine } from './format';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

export interface ObjectVersion {
  readonly key: string;
  readonly versionId: string;
  readonly isLatest: boolean;
  readonly deleteMarker: boolean;
  /** When S3 stored this version (ListObjectVersions' LastModified), epoch ms; undefined when S3 did not say. */
  readonly lastModifiedMs?: number;
}

/**
 * A conditional write lost a race: the object changed (or went) since it was read (S3 412 PreconditionFailed, 404
 * NoSuchKey for an If-Match on a key that is gone, or 409 ConditionalRequestConflict). Read it again and retry.
 */
export class ObjectChangedError extends Error {
  constructor(readonly bucket: string, readonly key: string) {
    super(`s3://${bucket}/${key} changed since it was read`);
    this.name = 'ObjectChangedError';
  }
}

export interface StoredObject {
  readonly body: Buffer;
  readonly versionId: string | undefined;
  readonly etag?: string;
  readonly storageClass?: string;
  readonly contentType?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface ArchiveStore {
  /** Keys under a prefix, in S3's order (every page). */
  listKeys(bucket: string, prefix: string): Promise<string[]>;
  /**
   * The bytes, version id, ETag, storage class (`STANDARD` when S3 does not say), content type and user metadata
   * (`x-amz-meta-*`, names without the prefix) of the current version, or of `versionId` (a noncurrent one).
   */
  get(bucket: string, key: string, versionId?: string): Promise<StoredObject>;
  /**
   * Writes a new version (in `storageClass`, default STANDARD, with user `metadata`, default none); returns its version
   * id and ETag. With `ifMatch` (an ETag) the write happens only if the current version still has that ETag, else it
   * throws {@link ObjectChangedError}.
   */
  put(bucket: string, key: string, body: Buffer, contentType: string, storageClass?: string, ifMatch?: string, metadata?: Readonly<Record<string, string>>): Promise<{ versionId: string | undefined; etag: string | undefined }>;
  /** Whether this version of the key still exists (HeadObject with its version id: no body read, no retrieval charge). */
  versionExists(bucket: string, key: string, versionId: string): Promise<boolean>;
  /**
   * Writes the object only if the key has no current version (none, or a delete marker): S3's `If-None-Match: *`,
   * which "only applies to the current version of an object in a versioned bucket" (User Guide, "How to prevent
   * object overwrites with conditional writes"). Else throws {@link ObjectChangedError}. Returns the new version's id
   * and ETag.
   */
  putIfAbsent(bucket: string, key: string, body: Buffer, contentType: string, storageClass: string, metadata: Readonly<Record<string, string>>): Promise<{ versionId: string | undefined; etag: string | undefined }>;
  /**
   * DeleteObject without a version id: a delete marker on top, the current version becomes noncurrent. With `ifMatch`
   * (an ETag) only if the current version still has it (S3 conditional deletes), else {@link ObjectChangedError}.
   */
  deleteObject(bucket: string, key: string, ifMatch?: string): Promise<void>;
  /** Every version and delete marker of exactly this key, newest first. */
  listVersions(bucket: string, key: string): Promise<ObjectVersion[]>;
  /** Every version and delete marker under a prefix (ListObjectVersions, every page), in S3's order: by key, newest first. */
  listPrefixVersions(bucket: string, prefix: string): Promise<ObjectVersion[]>;
  /** Removes one version for good. */
  deleteVersion(bucket: string, key: string, versionId: string): Promise<void>;
}

export class S3ArchiveStore implements ArchiveStore {
  constructor(private readonly client: S3Client) {}

  async listKeys(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async get(bucket: string, key: string, versionId?: string): Promise<StoredObject & { storageClass: string }> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    if (!out.Body) throw new Error(`GetObject s3://${bucket}/${key} returned no body`);
    // S3 sends x-amz-storage-class for every class but STANDARD.
    return {
      body: Buffer.from(await out.Body.transformToByteArray()),
      versionId: out.VersionId,
      etag: out.ETag,
      storageClass: out.StorageClass ?? 'STANDARD',
      contentType: out.ContentType,
      metadata: out.Metadata ?? {},
    };
  }

  putIfAbsent(bucket: string, key: string, body: Buffer, contentType: string, storageClass: string, metadata: Readonly<Record<string, string>>): Promise<{ versionId: string | undefined; etag: string | undefined }> {
    return this.putObject(bucket, key, body, contentType, storageClass, { ifNoneMatch: '*' }, metadata);
  }

  async deleteObject(bucket: string, key: string, ifMatch?: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, ...(ifMatch !== undefined ? { IfMatch: ifMatch } : {}) }));
    } catch (err) {
      // Conditional deletes (User Guide, "How to perform conditional deletes"): 412 when the ETag no longer matches,
      // 404 NoSuchKey when there is no current object.
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (ifMatch !== undefined && (status === 412 || status === 404 || status === 409)) throw new ObjectChangedError(bucket, key);
      throw err;
    }
  }

  put(bucket: string, key: string, body: Buffer, contentType: string, storageClass?: string, ifMatch?: string, metadata?: Readonly<Record<string, string>>): Promise<{ versionId: string | undefined; etag: string | undefined }> {
    return this.putObject(bucket, key, body, contentType, storageClass, ifMatch !== undefined ? { ifMatch } : {}, metadata);
  }

  /**
   * One PutObject, conditional or not. S3 conditional writes (User Guide, "How to prevent object overwrites with
   * conditional writes"): 412 when the ETag no longer matches (If-Match) or the key has a current object
   * (If-None-Match), 409 ConditionalRequestConflict on a concurrent write, 404 when the key is gone (If-Match): each is
   * an {@link ObjectChangedError}.
   */
  private async putObject(
    bucket: string,
    key: string,
    body: Buffer,
    contentType: string,
    storageClass: string | undefined,
    condition: { readonly ifMatch?: string; readonly ifNoneMatch?: '*' },
    metadata: Readonly<Record<string, string>> | undefined,
  ): Promise<{ versionId: string | undefined; etag: string | undefined }> {
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          ...(storageClass && storageClass !== 'STANDARD' ? { StorageClass: storageClass as StorageClass } : {}),
          ...(condition.ifMatch !== undefined ? { IfMatch: condition.ifMatch } : {}),
          ...(condition.ifNoneMatch !== undefined ? { IfNoneMatch: condition.ifNoneMatch } : {}),
          ...(metadata !== undefined ? { Metadata: { ...metadata } } : {}),
        }),
      );
      return { versionId: out.VersionId, etag: out.ETag };
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const changed = condition.ifMatch !== undefined ? [412, 409, 404] : condition.ifNoneMatch !== undefined ? [412, 409] : [];
      if (status !== undefined && changed.includes(status)) throw new ObjectChangedError(bucket, key);
      throw err;
    }
  }

  async versionExists(bucket: string, key: string, versionId: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
      return true;
    } catch (err) {
      // A HEAD response has no body: a version that does not exist is a bare 404 (the SDK names it NotFound).
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw err;
    }
  }

  async listPrefixVersions(bucket: string, prefix: string): Promise<ObjectVersion[]> {
    const out: ObjectVersion[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
      const entries: Array<ObjectVersion & { order: number }> = [];
      let order = 0;
      // Versions and delete markers come in two lists; each is in S3's order (key, then newest first) and so is their merge by key and time.
      for (const v of page.Versions ?? []) {
        if (v.Key && v.VersionId) entries.push({ key: v.Key, versionId: v.VersionId, isLatest: v.IsLatest === true, deleteMarker: false, lastModifiedMs: v.LastModified?.getTime(), order: order++ });
      }
      for (const m of page.DeleteMarkers ?? []) {
        if (m.Key && m.VersionId) entries.push({ key: m.Key, versionId: m.VersionId, isLatest: m.IsLatest === true, deleteMarker: true, lastModifiedMs: m.LastModified?.getTime(), order: order++ });
      }
      entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.isLatest !== b.isLatest ? (a.isLatest ? -1 : 1) : (b.lastModifiedMs ?? 0) - (a.lastModifiedMs ?? 0) || a.order - b.order));
      for (const { order: _order, ...v } of entries) out.push(v);
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    }
    return out;
  }

  async listVersions(bucket: string, key: string): Promise<ObjectVersion[]> {
    // The key as a prefix also lists longer keys that start with it.
    return (await this.listPrefixVersions(bucket, key)).filter((v) => v.key === key);
  }

  async deleteVersion(bucket: string, key: string, versionId: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  }
}

/**
 * An S3 client for one Region's archive. With `AWS_ENDPOINT_URL_S3` set (a local S3 stand-in, which has no virtual
 * hosts) it addresses buckets by path; the SDK reads the endpoint variable itself.
 */
export function s3ClientFor(region: string, env: Readonly<Record<string, string | undefined>>): S3Client {
  return new S3Client({ region, ...(env.AWS_ENDPOINT_URL_S3 ? { endpoint: env.AWS_ENDPOINT_URL_S3, forcePathStyle: true } : {}) });
}

/**
 * Several Regions' archives behind one store: each call goes to the store of the bucket's Region (an S3 client of
 * the Region the bucket lives in). A bucket it was not given is refused rather than sent to some other Region.
 */
export class BucketRoutedArchiveStore implements ArchiveStore {
  constructor(private readonly byBucket: ReadonlyMap<string, ArchiveStore>) {}

  private of(bucket: string): ArchiveStore {
    const store = this.byBucket.get(bucket);
    if (!store) throw new Error(`no archive store for bucket ${bucket} (known: ${[...this.byBucket.keys()].join(', ')})`);
    return store;
  }
  listKeys(bucket: string, prefix: string): Promise<string[]> {
    return this.of(bucket).listKeys(bucket, prefix);
  }
  get(bucket: string, key: string, versionId?: string): ReturnType<ArchiveStore['get']> {
    return this.of(bucket).get(bucket, key, versionId);
  }
  put(bucket: string, key: string, body: Buffer, contentType: string, storageClass?: string, ifMatch?: string, metadata?: Readonly<Record<string, string>>): ReturnType<ArchiveStore['put']> {
    return this.of(bucket).put(bucket, key, body, contentType, storageClass, ifMatch, metadata);
  }
  versionExists(bucket: string, key: string, versionId: string): Promise<boolean> {
    return this.of(bucket).versionExists(bucket, key, versionId);
  }
  putIfAbsent(bucket: string, key: string, body: Buffer, contentType: string, storageClass: string, metadata: Readonly<Record<string, string>>): ReturnType<ArchiveStore['putIfAbsent']> {
    return this.of(bucket).putIfAbsent(bucket, key, body, contentType, storageClass, metadata);
  }
  deleteObject(bucket: string, key: string, ifMatch?: string): ReturnType<ArchiveStore['deleteObject']> {
    return this.of(bucket).deleteObject(bucket, key, ifMatch);
  }
  listVersions(bucket: string, key: string): Promise<ObjectVersion[]> {
    return this.of(bucket).listVersions(bucket, key);
  }
  listPrefixVersions(bucket: string, prefix: string): Promise<ObjectVersion[]> {
    return this.of(bucket).listPrefixVersions(bucket, prefix);
  }
  deleteVersion(bucket: string, key: string, versionId: string): Promise<void> {
    return this.of(bucket).deleteVersion(bucket, key, versionId);
  }
}

/** An archive object's bytes: the records' lines, GZIP. */
export async function encodeArchiveObject(records: readonly ArchiveRecord[]): Promise<Buffer> {
  return gzip(Buffer.from(records.map(toArchiveLine).join(''), 'utf8'));
}

/** The text of an archive object (GZIP, or plain if it is not compressed). */
export async function archiveObjectText(body: Buffer): Promise<string> {
  const isGzip = body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
  return (isGzip ? await gunzip(body) : body).toString('utf8');
}

/** The records of an archive object. */
export async function decodeArchiveObject(body: Buffer, where: string): Promise<ArchiveRecord[]> {
  return parseArchiveText(await archiveObjectText(body), where);
}
