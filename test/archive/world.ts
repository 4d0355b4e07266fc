/** A small local world for archive tests: kinesalite per Region, the local S3, clients. */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { createStreams, LOCAL_CREDENTIALS, localKinesisClient, RunningService, startKinesis } from '../../local/emulators';
import { LocalS3, startLocalS3 } from '../../local/s3';

export interface ArchiveWorld {
  readonly s3: LocalS3;
  readonly s3Client: S3Client;
  kinesis(region: string): KinesisClient;
  stop(): Promise<void>;
}

export async function startArchiveWorld(regions: readonly string[], streams: ReadonlyArray<{ name: string; shards: number }>): Promise<ArchiveWorld> {
  const kinesalites = new Map<string, RunningService>();
  const clients = new Map<string, KinesisClient>();
  for (const region of regions) {
    const k = await startKinesis(region);
    kinesalites.set(region, k);
    const c = localKinesisClient(k.endpoint, region);
    clients.set(region, c);
    await createStreams(c, streams);
  }
  const s3 = await startLocalS3();
  const s3Client = new S3Client({ region: regions[0], endpoint: s3.endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
  return {
    s3,
    s3Client,
    kinesis: (region) => {
      const c = clients.get(region);
      if (!c) throw new Error(`no local Region ${region}`);
      return c;
    },
    async stop() {
      s3Client.destroy();
      for (const c of clients.values()) c.destroy();
      await s3.stop();
      for (const k of kinesalites.values()) await k.stop();
    },
  };
}
