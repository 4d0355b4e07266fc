/**
 * The local world of the erasure tests (test/archive/erase-finish*.test.ts): a PGlite warehouse with the portable SQL
 * for one stream, and the local S3 (with the test's clock, so that objects can be written at chosen times) behind the
 * archive store; and what is still stored in a bucket, every version decoded.
 */
import { PGlite } from '@electric-sql/pglite';
import { S3Client } from '@aws-sdk/client-s3';
import { recordBytes } from '../../lambda/archive/format';
import { ArchiveStore, S3ArchiveStore, decodeArchiveObject } from '../../lambda/archive/store';
import { PostgresWarehouse, setupPostgresWarehouse } from '../../lib/sql/postgres';
import { LOCAL_CREDENTIALS } from '../../local/emulators';
import { LocalS3, startLocalS3 } from '../../local/s3';

export interface EraseWorld {
  readonly db: PGlite;
  /** The warehouse in schema `wh`, Region us-east-1, its one stream `events`. */
  readonly wh: PostgresWarehouse;
  readonly s3: LocalS3;
  readonly client: S3Client;
  readonly store: S3ArchiveStore;
  stop(): Promise<void>;
}

export async function startEraseWorld(physicalStreamName: string, s3Clock: () => number): Promise<EraseWorld> {
  const db = new PGlite();
  await db.waitReady;
  const wh = await setupPostgresWarehouse(db, { schema: 'wh', region: 'us-east-1', streams: [{ name: 'events', physicalName: physicalStreamName }] });
  const s3 = await startLocalS3({ clock: s3Clock });
  const client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
  return {
    db,
    wh,
    s3,
    client,
    store: new S3ArchiveStore(client),
    async stop() {
      client.destroy();
      await s3.stop();
      await db.close();
    },
  };
}

/** Every version of every object in a bucket, decoded, a record a line with its partition key: what is still stored anywhere. */
export async function everyVersionText(store: ArchiveStore, bucket: string): Promise<string> {
  let out = '';
  for (const v of await store.listPrefixVersions(bucket, '')) {
    if (v.deleteMarker) continue;
    const { body } = await store.get(bucket, v.key, v.versionId);
    for (const r of body.length === 0 ? [] : await decodeArchiveObject(body, v.key)) out += `${recordBytes(r).toString('utf8')} pk=${r.partitionKey}\n`;
  }
  return out;
}
