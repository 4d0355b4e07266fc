import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { LocalS3, startLocalS3 } from '../../local/s3';
import { LOCAL_CREDENTIALS } from '../../local/emulators';

let s3: LocalS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await startLocalS3();
  client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
});
afterAll(async () => {
  client.destroy();
  await s3.stop();
});

const text = async (bucket: string, key: string, versionId?: string): Promise<string> => {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  return out.Body!.transformToString();
};
const errorName = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    return err instanceof S3ServiceException ? err.name : String(err);
  }
  return 'no error';
};

describe('local S3 with the real @aws-sdk/client-s3', () => {
  test('objects: put, get, head, overwrite and delete in an unversioned bucket; missing bucket and key errors', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'plain' }));
    expect(await errorName(client.send(new CreateBucketCommand({ Bucket: 'plain' })))).toBe('BucketAlreadyOwnedByYou');
    await client.send(new PutObjectCommand({ Bucket: 'plain', Key: 'a/b c/ü.txt', Body: 'one', ContentType: 'text/plain' }));
    await client.send(new PutObjectCommand({ Bucket: 'plain', Key: 'a/b c/ü.txt', Body: 'two' }));
    expect(await text('plain', 'a/b c/ü.txt')).toBe('two');
    const head = await client.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'a/b c/ü.txt' }));
    expect(head.ContentLength).toBe(3);
    expect(head.VersionId).toBeUndefined();
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await client.send(new PutObjectCommand({ Bucket: 'plain', Key: 'bin', Body: binary }));
    const got = await client.send(new GetObjectCommand({ Bucket: 'plain', Key: 'bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(binary)).toBe(true);
    await client.send(new DeleteObjectCommand({ Bucket: 'plain', Key: 'bin' }));
    expect(await errorName(client.send(new GetObjectCommand({ Bucket: 'plain', Key: 'bin' })))).toBe('NoSuchKey');
    expect(await errorName(client.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'bin' })))).toBe('NotFound');
    expect(await errorName(client.send(new GetObjectCommand({ Bucket: 'nope', Key: 'x' })))).toBe('NoSuchBucket');
  });

  test('ListObjectsV2: prefixes at any depth, delimiter roll-up, pages of at most 1000 with continuation', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'listing' }));
    const keys: string[] = [];
    for (let h = 0; h < 3; h++) for (let i = 0; i < 420; i++) keys.push(`events/2026/12/02/0${h}/obj-${String(i).padStart(4, '0')}.gz`);
    keys.push('errors/events/processing-failed/2026/12/02/00/x.gz', 'other/2026/a.gz');
    for (let i = 0; i < keys.length; i += 40) await Promise.all(keys.slice(i, i + 40).map((Key) => client.send(new PutObjectCommand({ Bucket: 'listing', Key, Body: 'x' }))));

    const all: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const out = await client.send(new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'events/2026/12/', ContinuationToken: token }));
      expect(out.KeyCount).toBeLessThanOrEqual(1000);
      all.push(...(out.Contents ?? []).map((c) => c.Key!));
      token = out.NextContinuationToken;
      pages++;
    } while (token);
    expect(pages).toBe(2);
    expect(all).toEqual(keys.filter((k) => k.startsWith('events/')).sort());

    const deep = await client.send(new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'events/2026/12/02/01/' }));
    expect(deep.KeyCount).toBe(420);
    const hours = await client.send(new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'events/2026/12/02/', Delimiter: '/' }));
    expect(hours.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['events/2026/12/02/00/', 'events/2026/12/02/01/', 'events/2026/12/02/02/']);
    expect(hours.Contents ?? []).toEqual([]);
    const top = await client.send(new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/', MaxKeys: 2 }));
    expect(top.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['errors/', 'events/']);
    const rest = await client.send(new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/', ContinuationToken: top.NextContinuationToken }));
    expect(rest.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['other/']);
  });

  test('versioning: every put is a version, delete leaves a marker, versions can be read and removed for good', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'versioned' }));
    await client.send(new PutBucketVersioningCommand({ Bucket: 'versioned', VersioningConfiguration: { Status: 'Enabled' } }));
    const v1 = (await client.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'k', Body: 'v1' }))).VersionId!;
    const v2 = (await client.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'k', Body: 'v2' }))).VersionId!;
    await client.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'k2', Body: 'other' }));
    expect(v1).not.toBe(v2);
    expect(await text('versioned', 'k')).toBe('v2');
    expect(await text('versioned', 'k', v1)).toBe('v1');

    const del = await client.send(new DeleteObjectCommand({ Bucket: 'versioned', Key: 'k' }));
    expect(del.DeleteMarker).toBe(true);
    expect(await errorName(client.send(new GetObjectCommand({ Bucket: 'versioned', Key: 'k' })))).toBe('NoSuchKey');
    expect((await client.send(new ListObjectsV2Command({ Bucket: 'versioned' }))).Contents?.map((c) => c.Key)).toEqual(['k2']);

    const versions = await client.send(new ListObjectVersionsCommand({ Bucket: 'versioned', Prefix: 'k' }));
    expect(versions.DeleteMarkers?.map((m) => [m.Key, m.IsLatest])).toEqual([['k', true]]);
    expect(versions.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest])).toEqual([
      ['k', v2, false],
      ['k', v1, false],
      ['k2', expect.any(String), true],
    ]);

    // Removing the marker brings v2 back; removing versions deletes them for good.
    await client.send(new DeleteObjectCommand({ Bucket: 'versioned', Key: 'k', VersionId: versions.DeleteMarkers![0].VersionId }));
    expect(await text('versioned', 'k')).toBe('v2');
    await client.send(new DeleteObjectCommand({ Bucket: 'versioned', Key: 'k', VersionId: v1 }));
    expect(await errorName(client.send(new GetObjectCommand({ Bucket: 'versioned', Key: 'k', VersionId: v1 })))).toBe('NoSuchVersion');
    expect(s3.stats('versioned')).toEqual({ objects: 2, versions: 2, deleteMarkers: 0, bytes: 7 });
  });

  test('ListObjectVersions pages with key and version markers', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'many-versions' }));
    await client.send(new PutBucketVersioningCommand({ Bucket: 'many-versions', VersioningConfiguration: { Status: 'Enabled' } }));
    for (let i = 0; i < 5; i++) await client.send(new PutObjectCommand({ Bucket: 'many-versions', Key: 'a', Body: String(i) }));
    const seen: string[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      const page = await client.send(new ListObjectVersionsCommand({ Bucket: 'many-versions', MaxKeys: 2, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
      seen.push(...(page.Versions ?? []).map((v) => v.VersionId!));
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    }
    expect(new Set(seen).size).toBe(5);
  });

  test('storage class: STANDARD by default and not sent back, PutObject and a lifecycle transition set it, an unknown class is refused', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'classes' }));
    await client.send(new PutObjectCommand({ Bucket: 'classes', Key: 'a', Body: 'a' }));
    expect((await client.send(new GetObjectCommand({ Bucket: 'classes', Key: 'a' }))).StorageClass).toBeUndefined();
    s3.transition('classes', 'a', 'GLACIER_IR');
    expect((await client.send(new HeadObjectCommand({ Bucket: 'classes', Key: 'a' }))).StorageClass).toBe('GLACIER_IR');
    expect((await client.send(new ListObjectsV2Command({ Bucket: 'classes' }))).Contents?.[0].StorageClass).toBe('GLACIER_IR');
    await client.send(new PutObjectCommand({ Bucket: 'classes', Key: 'b', Body: 'b', StorageClass: 'GLACIER_IR' }));
    expect((await client.send(new GetObjectCommand({ Bucket: 'classes', Key: 'b' }))).StorageClass).toBe('GLACIER_IR');
    expect(await errorName(client.send(new PutObjectCommand({ Bucket: 'classes', Key: 'c', Body: 'c', StorageClass: 'COLD' as never })))).toBe('InvalidStorageClass');
  });
  test('conditional PutObject with If-Match: written only over the ETag read; 412 PreconditionFailed after another write, 404 NoSuchKey when the key is gone', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'conditional' }));
    await client.send(new PutBucketVersioningCommand({ Bucket: 'conditional', VersioningConfiguration: { Status: 'Enabled' } }));
    const first = await client.send(new PutObjectCommand({ Bucket: 'conditional', Key: 'k', Body: 'v1' }));
    // Two writers read v1; the first conditional write wins, the second is refused and v2 stays.
    await client.send(new PutObjectCommand({ Bucket: 'conditional', Key: 'k', Body: 'v2', IfMatch: first.ETag }));
    expect(await errorName(client.send(new PutObjectCommand({ Bucket: 'conditional', Key: 'k', Body: 'v3', IfMatch: first.ETag })))).toBe('PreconditionFailed');
    expect(await text('conditional', 'k')).toBe('v2');
    expect(await errorName(client.send(new PutObjectCommand({ Bucket: 'conditional', Key: 'gone', Body: 'x', IfMatch: first.ETag })))).toBe('NoSuchKey');
  });

  test('conditional PutObject with If-None-Match: * writes only where the key has no current object (a delete marker is none); conditional DeleteObject with If-Match puts the marker only over the ETag given', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'absent' }));
    await client.send(new PutBucketVersioningCommand({ Bucket: 'absent', VersioningConfiguration: { Status: 'Enabled' } }));
    const first = await client.send(new PutObjectCommand({ Bucket: 'absent', Key: 'k', Body: 'v1', IfNoneMatch: '*' }));
    expect(await errorName(client.send(new PutObjectCommand({ Bucket: 'absent', Key: 'k', Body: 'v2', IfNoneMatch: '*' })))).toBe('PreconditionFailed');
    expect(await errorName(client.send(new PutObjectCommand({ Bucket: 'absent', Key: 'k', Body: 'v2', IfNoneMatch: first.ETag })))).toBe('NotImplemented');
    await client.send(new DeleteObjectCommand({ Bucket: 'absent', Key: 'k' }));
    // Over a delete marker, with user metadata, returned by GET and HEAD.
    const copy = await client.send(new PutObjectCommand({ Bucket: 'absent', Key: 'k', Body: 'copy', IfNoneMatch: '*', Metadata: { 'redstream-note': 'a b' } }));
    expect((await client.send(new GetObjectCommand({ Bucket: 'absent', Key: 'k' }))).Metadata).toEqual({ 'redstream-note': 'a b' });
    expect((await client.send(new HeadObjectCommand({ Bucket: 'absent', Key: 'k', VersionId: copy.VersionId }))).Metadata).toEqual({ 'redstream-note': 'a b' });
    expect((await client.send(new GetObjectCommand({ Bucket: 'absent', Key: 'k', VersionId: first.VersionId }))).Metadata).toEqual({});

    expect(await errorName(client.send(new DeleteObjectCommand({ Bucket: 'absent', Key: 'k', IfMatch: first.ETag })))).toBe('PreconditionFailed');
    expect(await text('absent', 'k')).toBe('copy');
    const marker = await client.send(new DeleteObjectCommand({ Bucket: 'absent', Key: 'k', IfMatch: copy.ETag }));
    expect(marker.DeleteMarker).toBe(true);
    expect(await errorName(client.send(new DeleteObjectCommand({ Bucket: 'absent', Key: 'k', IfMatch: copy.ETag })))).toBe('NoSuchKey');
    const versions = await client.send(new ListObjectVersionsCommand({ Bucket: 'absent', Prefix: 'k' }));
    expect(versions.Versions?.map((v) => v.VersionId).sort()).toEqual([first.VersionId, copy.VersionId].sort());
    expect(versions.DeleteMarkers).toHaveLength(2);
  });

  test('failNext answers the next matching request with the error given, once, and changes nothing: a 409 ConditionalRequestConflict on a conditional delete', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'faults' }));
    await client.send(new PutBucketVersioningCommand({ Bucket: 'faults', VersioningConfiguration: { Status: 'Enabled' } }));
    const put = await client.send(new PutObjectCommand({ Bucket: 'faults', Key: 'k', Body: 'v1' }));
    s3.failNext({ method: 'DELETE', bucket: 'faults', key: 'k', header: 'if-match' }, { status: 409, code: 'ConditionalRequestConflict', message: 'A conflicting operation occurred.' });
    // Not matched: a GET, and a DELETE of another key.
    expect(await text('faults', 'k')).toBe('v1');
    await client.send(new PutObjectCommand({ Bucket: 'faults', Key: 'other', Body: 'x' }));
    await client.send(new DeleteObjectCommand({ Bucket: 'faults', Key: 'other', IfMatch: '*' }));
    const err = await client.send(new DeleteObjectCommand({ Bucket: 'faults', Key: 'k', IfMatch: put.ETag })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3ServiceException);
    expect(err).toMatchObject({ name: 'ConditionalRequestConflict', $metadata: { httpStatusCode: 409 } });
    expect(await text('faults', 'k')).toBe('v1');
    // Once: the same request now succeeds.
    expect((await client.send(new DeleteObjectCommand({ Bucket: 'faults', Key: 'k', IfMatch: put.ETag }))).DeleteMarker).toBe(true);
  });

  test('LastModified is the time of the write by the stand-in clock, in ListObjectsV2, ListObjectVersions and GetObject', async () => {
    let at = Date.parse('2026-12-01T10:00:00Z');
    const timed = await startLocalS3({ clock: () => at });
    const c = new S3Client({ region: 'us-east-1', endpoint: timed.endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
    try {
      await c.send(new CreateBucketCommand({ Bucket: 'timed' }));
      await c.send(new PutBucketVersioningCommand({ Bucket: 'timed', VersioningConfiguration: { Status: 'Enabled' } }));
      await c.send(new PutObjectCommand({ Bucket: 'timed', Key: 'k', Body: 'v1' }));
      at += 3_600_000;
      await c.send(new PutObjectCommand({ Bucket: 'timed', Key: 'k', Body: 'v2' }));
      expect((await c.send(new ListObjectsV2Command({ Bucket: 'timed' }))).Contents?.map((o) => o.LastModified?.toISOString())).toEqual(['2026-12-01T11:00:00.000Z']);
      expect((await c.send(new ListObjectVersionsCommand({ Bucket: 'timed' }))).Versions?.map((v) => v.LastModified?.toISOString())).toEqual(['2026-12-01T11:00:00.000Z', '2026-12-01T10:00:00.000Z']);
      expect((await c.send(new GetObjectCommand({ Bucket: 'timed', Key: 'k' }))).LastModified?.toISOString()).toBe('2026-12-01T11:00:00.000Z');
    } finally {
      c.destroy();
      await timed.stop();
    }
  });
});
