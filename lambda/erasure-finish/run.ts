/**
 * One run of the erasure's scheduled step, with its I/O passed in (lambda/erasure-finish/index.ts wires the AWS
 * clients; the tests wire the local stand-ins): finishErasures (lambda/archive/erase.ts) over this Region's warehouse
 * and every archive it looks after, each through S3 in the bucket's own Region, having checked, before it sweeps
 * them, that every archive bucket it was deployed with is still the one its Region's SSM parameter names.
 */
import { ErasureWarehouse, finishErasures, FinishReport } from '../archive/erase';
import { ArchiveStore, BucketRoutedArchiveStore } from '../archive/store';
import { ARCHIVE_BUCKET_LOOKUP_REFRESH_CONTEXT, ErasureFinishEnv } from './env';

export { ARCHIVE_BUCKET_LOOKUP_REFRESH_CONTEXT };

/** Every archive the step sweeps: this Region's first, then the other Regions' it looks after. */
function archivesOf(env: ErasureFinishEnv): Array<{ region: string; bucket: string }> {
  return [{ region: env.region, bucket: env.archiveBucket }, ...env.otherArchives];
}

export interface ErasureFinishRunDeps {
  /** This Region's warehouse (its audit table says what is due). */
  readonly warehouse: ErasureWarehouse;
  /** The archive store of a Region: S3 in that Region. */
  readonly storeFor: (region: string) => ArchiveStore;
  /** The value of an SSM parameter in a Region; undefined when it does not exist. */
  readonly parameterValue: (region: string, name: string) => Promise<string | undefined>;
  readonly clock: () => number;
  readonly onProgress?: (line: string) => void;
  /** Time left before the run must stop, its progress saved. @default no deadline */
  readonly remainingMs?: () => number;
}

/** An archive bucket is not the one deployed: the step must not sweep a bucket Firehose no longer writes to. */
export class ArchiveBucketMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveBucketMismatchError';
  }
}

/**
 * The archives this run sweeps, each checked against its Region's parameter: a bucket replaced since the deploy
 * (the Region stack redeployed with a new bucket) would otherwise be swept in its old place while the new one, where
 * Firehose now writes, is not — and the erasures marked finished.
 */
export async function checkedArchives(env: ErasureFinishEnv, parameterValue: ErasureFinishRunDeps['parameterValue']): Promise<void> {
  const archives = archivesOf(env);
  const problems: string[] = [];
  await Promise.all(
    archives.map(async ({ region, bucket }) => {
      let value: string | undefined;
      try {
        value = await parameterValue(region, env.archiveBucketParameter);
      } catch (err) {
        problems.push(`${region}: SSM parameter ${env.archiveBucketParameter} could not be read (${err instanceof Error ? err.message : String(err)}); the ${region} archive cannot be swept while that Region does not answer, so no erasure is finished by this run`);
        return;
      }
      if (value === undefined) problems.push(`${region}: SSM parameter ${env.archiveBucketParameter} does not exist; fix: deploy that Region's Region stack, then this Warehouse stack`);
      else if (value !== bucket) {
        // This Region's name is resolved again by every deploy; another Region's is read by a lookup that runs again
        // only when its refresh value changes (lib/erasure-finish.ts).
        const redeploy =
          region === env.region
            ? 'redeploy this Warehouse stack'
            : `redeploy this Warehouse stack with -c ${ARCHIVE_BUCKET_LOOKUP_REFRESH_CONTEXT}=<a value not used before, e.g. $(date +%s)>`;
        problems.push(`${region}: the archive bucket is now ${value} (SSM parameter ${env.archiveBucketParameter}), but this step was deployed with ${bucket}; fix: ${redeploy} so that it sweeps, and is granted, the new bucket`);
      }
    }),
  );
  if (problems.length > 0) throw new ArchiveBucketMismatchError(`erasure step stopped before sweeping any archive: ${problems.sort().join('; ')}`);
}

/**
 * The archives are checked only when a sweep is due, right before it: the views' restoration and recreation, which
 * keep ingestion going and need no archive, still happen while another Region is down.
 */
export async function runErasureFinish(env: ErasureFinishEnv, deps: ErasureFinishRunDeps): Promise<FinishReport> {
  const archives = archivesOf(env);
  const store = new BucketRoutedArchiveStore(new Map(archives.map((a) => [a.bucket, deps.storeFor(a.region)])));
  return finishErasures(
    {
      warehouses: [deps.warehouse],
      archives: archives.map((a) => ({ region: a.region, bucket: a.bucket, prefixes: env.archivePrefixes })),
      store,
      streams: env.streams,
      archiveDelayMs: env.archiveDelayMs,
    },
    env.subjectPaths,
    {
      clock: deps.clock,
      onProgress: deps.onProgress,
      remainingMs: deps.remainingMs,
      beforeArchiveSweep: () => checkedArchives(env, deps.parameterValue),
    },
  );
}
