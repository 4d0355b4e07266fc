/**
 * A small local S3 that speaks the REST API subset Redstream's archive uses, with versioning, for tests and the
 * demo. Clients reach it through the SDK's standard endpoint override (`AWS_ENDPOINT_URL_S3`, or `endpoint`) with
 * `forcePathStyle: true`: requests are `/<bucket>/<key>`.
 *
 * Operations: CreateBucket, PutBucketVersioning / GetBucketVersioning, PutObject (with `If-Match`: 412
 * PreconditionFailed when the current version's ETag differs, 404 NoSuchKey when there is none; with
 * `If-None-Match: *`: 412 when the key has a current version that is not a delete marker, as S3's conditional writes;
 * `x-amz-meta-*` user metadata, returned by GET and HEAD), GetObject, HeadObject (both with `versionId`), DeleteObject
 * (a delete marker on a versioned bucket; with `If-Match`, only if the current version has that ETag — 412, or 404
 * NoSuchKey when there is no current object, as S3's conditional deletes; with `versionId`, removes that version for good),
 * ListObjectsV2 (prefix, delimiter, start-after, continuation, max-keys ≤ 1000, `encoding-type=url`) and
 * ListObjectVersions (prefix, key / version-id markers, max-keys ≤ 1000), DeleteObjects. {@link LocalS3.failNext} makes it
 * answer one request with an error S3 can give but the stand-in never produces by itself (409
 * ConditionalRequestConflict, 503 SlowDown), for tests of those paths.
 *
 * Why not s3rver: it has no versioning, and its ListObjectsV2 with a delimiter misses deeper prefixes
 * (../shared/TOOLCHAIN.md). What this one checks as S3 does: bucket existence, Content-MD5 and
 * `x-amz-checksum-crc32` of uploads, the 1000-key page limit, UTF-8 binary key order, version semantics
 * (unversioned and suspended buckets keep one `null` version per key; a delete marker hides a key from
 * GetObject and ListObjectsV2 but not from ListObjectVersions). It checks no signature, no ACL, no encryption; it
 * holds everything in memory, and {@link LocalS3.writeTo} copies the current objects to a directory.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

interface Version {
  readonly key: string;
  readonly versionId: string;
  readonly deleteMarker: boolean;
  readonly body: Buffer;
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  /** User metadata (`x-amz-meta-<name>`), names in lower case. */
  readonly metadata: Readonly<Record<string, string>>;
  /** S3 storage class; a lifecycle transition ({@link LocalS3.transition}) changes it in place, as S3 does. */
  storageClass: string;
}

interface Bucket {
  versioning: 'Unversioned' | 'Enabled' | 'Suspended';
  /** Per key, newest version first. */
  readonly keys: Map<string, Version[]>;
}

export interface LocalS3 {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Bucket names. */
  buckets(): string[];
  /** Writes every current (latest, not deleted) object to `<dir>/<bucket>/<key>`. */
  writeTo(dir: string): void;
  /** Counts of what is stored (for tests and reports). */
  stats(bucket: string): { objects: number; versions: number; deleteMarkers: number; bytes: number };
  /**
   * A lifecycle transition's stand-in: moves the current version of `key` to `storageClass` (e.g.
   * `GLACIER_IR`, as the archive's `coldStorageAfterDays` rule does), keeping its version id and bytes.
   */
  transition(bucket: string, key: string, storageClass: string): void;
  /**
   * Fault injection: the next request that matches `when` (method, and bucket / key / a request header when given)
   * is answered with `error` and changes nothing; once. For errors S3 returns in races or under load that the
   * stand-in, serving one request at a time, never produces: 409 ConditionalRequestConflict on a conditional write
   * or delete (User Guide, "How to perform conditional deletes"), 503 SlowDown.
   */
  failNext(when: FaultMatch, error: { readonly status: number; readonly code: string; readonly message?: string }): void;
  stop(): Promise<void>;
}

/** Which request a {@link LocalS3.failNext} fault answers. */
export interface FaultMatch {
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'DELETE' | 'POST';
  readonly bucket?: string;
  readonly key?: string;
  /** Only a request carrying this header (lower case), e.g. `if-match`. */
  readonly header?: string;
}

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** The storage classes PutObject accepts (S3 API reference, PutObject `x-amz-storage-class`). */
const STORAGE_CLASSES = new Set(['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE', 'OUTPOSTS', 'GLACIER_IR', 'SNOW', 'EXPRESS_ONEZONE']);
const MAX_KEYS = 1000;

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly resource = '',
  ) {
    super(message);
  }
}

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
const tag = (name: string, value: string | number | boolean | undefined): string => (value === undefined ? '' : `<${name}>${xml(String(value))}</${name}>`);
/** S3's key order is the order of the keys' UTF-8 bytes. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

function newVersionId(): string {
  // Opaque like S3's; a time prefix keeps ids of one key unique and ordered for debugging.
  return `${Date.now().toString(36)}.${crypto.randomBytes(12).toString('base64url')}`;
}

/** Decodes an `aws-chunked` body (SigV4 streaming or unsigned-with-trailer uploads). */
function decodeAwsChunked(raw: Buffer): { body: Buffer; trailers: Record<string, string> } {
  const parts: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let pos = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', pos);
    if (eol < 0) throw new S3Error(400, 'IncompleteBody', 'malformed aws-chunked body');
    const size = parseInt(raw.subarray(pos, eol).toString('latin1').split(';')[0], 16);
    if (!Number.isFinite(size)) throw new S3Error(400, 'IncompleteBody', 'malformed aws-chunked chunk size');
    pos = eol + 2;
    if (size === 0) break;
    parts.push(raw.subarray(pos, pos + size));
    pos += size + 2;
  }
  for (const line of raw.subarray(pos).toString('latin1').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) trailers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { body: Buffer.concat(parts), trailers };
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Starts a local S3 on 127.0.0.1 on a free port. `clock` sets the LastModified of what is written (a test can place
 * writes in time); it is the only time the stand-in reports. @default Date.now
 */
export async function startLocalS3(options: { readonly clock?: () => number } = {}): Promise<LocalS3> {
  const buckets = new Map<string, Bucket>();
  const faults: Array<{ when: FaultMatch; error: S3Error }> = [];
  const now = (): Date => new Date((options.clock ?? Date.now)());

  const bucketOf = (name: string): Bucket => {
    const b = buckets.get(name);
    if (!b) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', name);
    return b;
  };
  const latest = (b: Bucket, key: string): Version | undefined => b.keys.get(key)?.[0];

  function putVersion(b: Bucket, v: Omit<Version, 'versionId'>): Version {
    const versions = b.keys.get(v.key) ?? [];
    const versionId = b.versioning === 'Enabled' ? newVersionId() : 'null';
    // Unversioned and suspended buckets keep one `null` version: a new one replaces it.
    const kept = versionId === 'null' ? versions.filter((x) => x.versionId !== 'null') : versions;
    const stored: Version = { ...v, versionId };
    b.keys.set(v.key, [stored, ...kept]);
    return stored;
  }

  function findVersion(b: Bucket, key: string, versionId: string | undefined): Version {
    const versions = b.keys.get(key) ?? [];
    if (versionId !== undefined) {
      const v = versions.find((x) => x.versionId === versionId);
      if (!v) throw new S3Error(404, 'NoSuchVersion', 'The specified version does not exist.', key);
      if (v.deleteMarker) throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', key);
      return v;
    }
    const v = versions[0];
    if (!v || v.deleteMarker) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', key);
    return v;
  }

  function objectHeaders(v: Version, b: Bucket): Record<string, string> {
    const h: Record<string, string> = {
      ETag: v.etag,
      'Last-Modified': v.lastModified.toUTCString(),
      'Content-Length': String(v.body.length),
      'Content-Type': v.contentType ?? 'binary/octet-stream',
      'Accept-Ranges': 'bytes',
    };
    if (v.contentEncoding) h['Content-Encoding'] = v.contentEncoding;
    for (const [name, value] of Object.entries(v.metadata)) h[`x-amz-meta-${name}`] = value;
    // S3 returns this header for every storage class except STANDARD.
    if (v.storageClass !== 'STANDARD') h['x-amz-storage-class'] = v.storageClass;
    if (b.versioning !== 'Unversioned') h['x-amz-version-id'] = v.versionId;
    return h;
  }

  function listObjectsV2(name: string, b: Bucket, q: URLSearchParams): string {
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxKeys = Math.min(MAX_KEYS, Number(q.get('max-keys') ?? MAX_KEYS));
    const token = q.get('continuation-token');
    const tokenEntry = token !== null ? Buffer.from(token, 'base64url').toString('utf8') : undefined;
    const startAfter = q.get('start-after') ?? '';
    const urlEncode = q.get('encoding-type') === 'url';
    const enc = (k: string): string => (urlEncode ? encodeURIComponent(k).replace(/%2F/g, '/') : k);
    const keys = [...b.keys.entries()]
      .filter(([k, vs]) => k.startsWith(prefix) && vs[0] && !vs[0].deleteMarker)
      .map(([k]) => k)
      .sort(byteOrder);
    const contents: string[] = [];
    const prefixes: string[] = [];
    let count = 0;
    let last: string | undefined;
    let truncated = false;
    for (const k of keys) {
      // A common prefix rolls up every key under it; it is listed once, at its first key.
      let entry = k;
      let common: string | undefined;
      if (delimiter) {
        const i = k.indexOf(delimiter, prefix.length);
        if (i >= 0) common = k.slice(0, i + delimiter.length);
      }
      if (common !== undefined) entry = common;
      if (startAfter && byteOrder(k, startAfter) <= 0) continue;
      // A page ends at a key or a common prefix; the next page starts after it (after every key it rolls up).
      if (tokenEntry !== undefined && byteOrder(entry, tokenEntry) <= 0) continue;
      if (common !== undefined && prefixes.includes(common)) continue;
      if (count === maxKeys) {
        truncated = true;
        break;
      }
      if (common !== undefined) prefixes.push(common);
      else {
        const v = latest(b, k)!;
        contents.push(`<Contents>${tag('Key', enc(k))}${tag('LastModified', v.lastModified.toISOString())}${tag('ETag', v.etag)}${tag('Size', v.body.length)}${tag('StorageClass', v.storageClass)}</Contents>`);
      }
      last = common ?? k;
      count++;
    }
    const next = truncated && last !== undefined ? Buffer.from(last, 'utf8').toString('base64url') : undefined;
    return (
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="${XMLNS}">${tag('Name', name)}${tag('Prefix', enc(prefix))}` +
      `${delimiter ? tag('Delimiter', enc(delimiter)) : ''}${tag('MaxKeys', maxKeys)}${tag('KeyCount', count)}${tag('IsTruncated', truncated)}` +
      `${token !== null ? tag('ContinuationToken', token) : ''}${next ? tag('NextContinuationToken', next) : ''}${urlEncode ? tag('EncodingType', 'url') : ''}` +
      `${q.has('start-after') ? tag('StartAfter', enc(q.get('start-after')!)) : ''}` +
      `${contents.join('')}${prefixes.map((p) => `<CommonPrefixes>${tag('Prefix', enc(p))}</CommonPrefixes>`).join('')}</ListBucketResult>`
    );
  }

  function listVersions(name: string, b: Bucket, q: URLSearchParams): string {
    const prefix = q.get('prefix') ?? '';
    const maxKeys = Math.min(MAX_KEYS, Number(q.get('max-keys') ?? MAX_KEYS));
    const keyMarker = q.get('key-marker') ?? '';
    const versionMarker = q.get('version-id-marker') ?? '';
    const entries: string[] = [];
    let truncated = false;
    let nextKey: string | undefined;
    let nextVersion: string | undefined;
    let count = 0;
    outer: for (const k of [...b.keys.keys()].filter((x) => x.startsWith(prefix)).sort(byteOrder)) {
      const cmp = keyMarker ? byteOrder(k, keyMarker) : 1;
      if (cmp < 0 || (cmp === 0 && !versionMarker)) continue;
      const versions = b.keys.get(k)!;
      let start = 0;
      if (cmp === 0) {
        start = versions.findIndex((v) => v.versionId === versionMarker) + 1;
        if (start === 0) throw new S3Error(400, 'InvalidArgument', 'Invalid version id specified', versionMarker);
      }
      for (let i = start; i < versions.length; i++) {
        if (count === maxKeys) {
          truncated = true;
          break outer;
        }
        const v = versions[i];
        const common = `${tag('Key', k)}${tag('VersionId', v.versionId)}${tag('IsLatest', i === 0)}${tag('LastModified', v.lastModified.toISOString())}`;
        entries.push(v.deleteMarker ? `<DeleteMarker>${common}</DeleteMarker>` : `<Version>${common}${tag('ETag', v.etag)}${tag('Size', v.body.length)}${tag('StorageClass', v.storageClass)}</Version>`);
        nextKey = k;
        nextVersion = v.versionId;
        count++;
      }
    }
    return (
      `<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="${XMLNS}">${tag('Name', name)}${tag('Prefix', prefix)}${tag('KeyMarker', keyMarker)}` +
      `${tag('VersionIdMarker', versionMarker)}${tag('MaxKeys', maxKeys)}${tag('IsTruncated', truncated)}` +
      `${truncated ? tag('NextKeyMarker', nextKey) + tag('NextVersionIdMarker', nextVersion) : ''}${entries.join('')}</ListVersionsResult>`
    );
  }

  function deleteObject(b: Bucket, key: string, versionId: string | undefined, ifMatch?: string): Record<string, string> {
    const versions = b.keys.get(key) ?? [];
    // Conditional deletes evaluate the current version only (User Guide, "How to perform conditional deletes").
    if (ifMatch !== undefined && versionId === undefined) checkIfMatch(b, key, ifMatch);
    if (versionId !== undefined) {
      const v = versions.find((x) => x.versionId === versionId);
      const rest = versions.filter((x) => x.versionId !== versionId);
      if (rest.length > 0) b.keys.set(key, rest);
      else b.keys.delete(key);
      // Deleting a version that does not exist succeeds, as in S3.
      return { 'x-amz-version-id': versionId, ...(v?.deleteMarker ? { 'x-amz-delete-marker': 'true' } : {}) };
    }
    if (b.versioning === 'Unversioned') {
      b.keys.delete(key);
      return {};
    }
    const marker = putVersion(b, { key, deleteMarker: true, body: Buffer.alloc(0), etag: '', lastModified: now(), contentType: undefined, contentEncoding: undefined, metadata: {}, storageClass: 'STANDARD' });
    return { 'x-amz-delete-marker': 'true', 'x-amz-version-id': marker.versionId };
  }

  /** `If-Match` on PutObject and DeleteObject: 404 NoSuchKey without a current object, 412 when its ETag differs. */
  function checkIfMatch(b: Bucket, key: string, ifMatch: string): void {
    const current = latest(b, key);
    if (!current || current.deleteMarker) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', key);
    const unquote = (e: string): string => e.trim().replace(/^"|"$/g, '');
    if (ifMatch.trim() !== '*' && unquote(ifMatch) !== unquote(current.etag)) {
      throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', key);
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const q = url.searchParams;
    const segments = url.pathname.split('/').slice(1);
    const bucketName = decodeURIComponent(segments[0] ?? '');
    const key = segments.slice(1).map(decodeURIComponent).join('/');
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    const fault = faults.findIndex(
      ({ when }) =>
        when.method === method &&
        (when.bucket === undefined || when.bucket === bucketName) &&
        (when.key === undefined || when.key === key) &&
        (when.header === undefined || req.headers[when.header] !== undefined),
    );
    if (fault >= 0) throw faults.splice(fault, 1)[0].error;
    const send = (status: number, body: string | Buffer = '', headers: Record<string, string> = {}): void => {
      const isXml = typeof body === 'string' && body.length > 0;
      res.writeHead(status, { ...(isXml ? { 'Content-Type': 'application/xml' } : {}), 'x-amz-request-id': crypto.randomBytes(8).toString('hex'), ...headers });
      res.end(method === 'HEAD' ? undefined : body);
    };

    if (!bucketName) {
      const list = [...buckets.keys()].sort(byteOrder).map((n) => `<Bucket>${tag('Name', n)}${tag('CreationDate', new Date(0).toISOString())}</Bucket>`);
      send(200, `<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult xmlns="${XMLNS}"><Buckets>${list.join('')}</Buckets></ListAllMyBucketsResult>`);
      return;
    }

    if (key === '') {
      if (method === 'PUT' && q.has('versioning')) {
        const b = bucketOf(bucketName);
        const status = /<Status>\s*(Enabled|Suspended)\s*<\/Status>/.exec(raw.toString('utf8'))?.[1];
        if (!status) throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
        b.versioning = status as 'Enabled' | 'Suspended';
        send(200);
      } else if (method === 'GET' && q.has('versioning')) {
        const b = bucketOf(bucketName);
        send(200, `<?xml version="1.0" encoding="UTF-8"?><VersioningConfiguration xmlns="${XMLNS}">${b.versioning === 'Unversioned' ? '' : tag('Status', b.versioning)}</VersioningConfiguration>`);
      } else if (method === 'PUT') {
        if (buckets.has(bucketName)) throw new S3Error(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', bucketName);
        if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucketName)) throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.', bucketName);
        buckets.set(bucketName, { versioning: 'Unversioned', keys: new Map() });
        send(200, '', { Location: `/${bucketName}` });
      } else if (method === 'HEAD') {
        bucketOf(bucketName);
        send(200);
      } else if (method === 'GET' && q.has('versions')) {
        send(200, listVersions(bucketName, bucketOf(bucketName), q));
      } else if (method === 'GET') {
        if (q.get('list-type') !== '2') throw new S3Error(501, 'NotImplemented', 'only ListObjectsV2 (list-type=2) is implemented by the local S3');
        send(200, listObjectsV2(bucketName, bucketOf(bucketName), q));
      } else if (method === 'POST' && q.has('delete')) {
        const b = bucketOf(bucketName);
        const body = raw.toString('utf8');
        const results: string[] = [];
        for (const m of body.matchAll(/<Object>([\s\S]*?)<\/Object>/g)) {
          const k = /<Key>([\s\S]*?)<\/Key>/.exec(m[1])?.[1] ?? '';
          const vid = /<VersionId>([\s\S]*?)<\/VersionId>/.exec(m[1])?.[1];
          const unescaped = k.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
          deleteObject(b, unescaped, vid);
          results.push(`<Deleted>${tag('Key', unescaped)}${tag('VersionId', vid)}</Deleted>`);
        }
        send(200, `<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="${XMLNS}">${results.join('')}</DeleteResult>`);
      } else if (method === 'DELETE') {
        const b = bucketOf(bucketName);
        if (b.keys.size > 0) throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', bucketName);
        buckets.delete(bucketName);
        send(204);
      } else {
        throw new S3Error(501, 'NotImplemented', `${method} on a bucket is not implemented by the local S3`);
      }
      return;
    }

    const b = bucketOf(bucketName);
    const versionId = q.get('versionId') ?? undefined;
    if (method === 'PUT') {
      if (req.headers['x-amz-copy-source']) throw new S3Error(501, 'NotImplemented', 'CopyObject is not implemented by the local S3');
      const encoding = String(req.headers['content-encoding'] ?? '');
      const chunked = encoding.includes('aws-chunked') || String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-');
      const decoded = chunked ? decodeAwsChunked(raw) : { body: raw, trailers: {} as Record<string, string> };
      const body = decoded.body;
      const md5 = req.headers['content-md5'];
      if (typeof md5 === 'string' && crypto.createHash('md5').update(body).digest('base64') !== md5) {
        throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.', key);
      }
      const crc = (req.headers['x-amz-checksum-crc32'] as string | undefined) ?? decoded.trailers['x-amz-checksum-crc32'];
      if (crc !== undefined) {
        const actual = Buffer.alloc(4);
        actual.writeUInt32BE(zlib.crc32(body) >>> 0);
        if (actual.toString('base64') !== crc) throw new S3Error(400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum.', key);
      }
      const storageClass = String(req.headers['x-amz-storage-class'] ?? 'STANDARD');
      if (!STORAGE_CLASSES.has(storageClass)) throw new S3Error(400, 'InvalidStorageClass', 'The storage class you specified is not valid', key);
      const ifMatch = req.headers['if-match'];
      if (typeof ifMatch === 'string') checkIfMatch(b, key, ifMatch);
      const ifNoneMatch = req.headers['if-none-match'];
      if (typeof ifNoneMatch === 'string') {
        // S3 accepts only `*` here. It applies to the current version: a delete marker is no object.
        if (ifNoneMatch.trim() !== '*') throw new S3Error(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented', key);
        const current = latest(b, key);
        if (current && !current.deleteMarker) throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', key);
      }
      const metadata = Object.fromEntries(
        Object.entries(req.headers)
          .filter(([h, v]) => h.startsWith('x-amz-meta-') && typeof v === 'string')
          .map(([h, v]) => [h.slice('x-amz-meta-'.length), v as string]),
      );
      const storedEncoding = encoding.split(',').map((s) => s.trim()).filter((s) => s && s !== 'aws-chunked').join(', ') || undefined;
      const v = putVersion(b, {
        key,
        deleteMarker: false,
        body,
        etag: `"${crypto.createHash('md5').update(body).digest('hex')}"`,
        lastModified: now(),
        contentType: req.headers['content-type'],
        contentEncoding: storedEncoding,
        metadata,
        storageClass,
      });
      send(200, '', { ETag: v.etag, ...(b.versioning !== 'Unversioned' ? { 'x-amz-version-id': v.versionId } : {}) });
    } else if (method === 'GET' || method === 'HEAD') {
      let v: Version;
      try {
        v = findVersion(b, key, versionId);
      } catch (err) {
        // HEAD responses have no body: S3 answers with the status alone.
        if (method === 'HEAD' && err instanceof S3Error) {
          send(err.status);
          return;
        }
        throw err;
      }
      res.writeHead(200, objectHeaders(v, b));
      res.end(method === 'HEAD' ? undefined : v.body);
    } else if (method === 'DELETE') {
      const ifMatch = req.headers['if-match'];
      send(204, '', deleteObject(b, key, versionId, typeof ifMatch === 'string' ? ifMatch : undefined));
    } else {
      throw new S3Error(501, 'NotImplemented', `${method} on an object is not implemented by the local S3`);
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const e = err instanceof S3Error ? err : new S3Error(500, 'InternalError', err instanceof Error ? err.message : String(err));
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(e.status, { 'Content-Type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error>${tag('Code', e.code)}${tag('Message', e.message)}${tag('Resource', e.resource)}</Error>`);
    });
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });

  return {
    endpoint,
    buckets: () => [...buckets.keys()],
    writeTo(dir) {
      for (const [name, b] of buckets) {
        for (const [key, versions] of b.keys) {
          const v = versions[0];
          if (!v || v.deleteMarker) continue;
          const file = path.join(dir, name, ...key.split('/'));
          fs.mkdirSync(path.dirname(file), { recursive: true });
          fs.writeFileSync(file, v.body);
        }
      }
    },
    stats(name) {
      const b = bucketOf(name);
      let objects = 0;
      let versions = 0;
      let deleteMarkers = 0;
      let bytes = 0;
      for (const vs of b.keys.values()) {
        if (vs[0] && !vs[0].deleteMarker) objects++;
        for (const v of vs) {
          if (v.deleteMarker) deleteMarkers++;
          else {
            versions++;
            bytes += v.body.length;
          }
        }
      }
      return { objects, versions, deleteMarkers, bytes };
    },
    transition(name, key, storageClass) {
      if (!STORAGE_CLASSES.has(storageClass)) throw new Error(`not an S3 storage class: ${storageClass}`);
      const v = bucketOf(name).keys.get(key)?.[0];
      if (!v || v.deleteMarker) throw new Error(`no current object s3://${name}/${key}`);
      v.storageClass = storageClass;
    },
    failNext(when, error) {
      faults.push({ when, error: new S3Error(error.status, error.code, error.message ?? error.code, when.key ?? '') });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
