/**
 * The erasure's scheduled step in one warehouse Region (lib/erasure-finish.ts runs it every
 * `warehouse.erasureFinishIntervalHours`): finishErasures (lambda/archive/erase.ts, through ./run.ts) against this
 * Region's warehouse, through the Data API, and the archive buckets it looks after (this Region's, and those of
 * Regions without a warehouse), each through S3 in its own Region. It works from the audit table's hashes only, never a
 * subject. A failure throws, so the function's Errors metric (and its alarm) shows it; the next run retries (every
 * step is idempotent). A run stops two minutes before its timeout with its progress in the audit table (phases per
 * request), and the next run resumes there.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { DataApiErasureWarehouse } from '../archive/data-api-warehouse';
import { FinishReport } from '../archive/erase';
import { S3ArchiveStore, s3ClientFor } from '../archive/store';
import { parseErasureFinishEnv } from './env';
import { runErasureFinish } from './run';

const env = parseErasureFinishEnv(process.env);
const logger = new Logger({ serviceName: 'redstream-erasure-finish' });
const redshiftData = new RedshiftDataClient({});
// One S3 and one SSM client per Region swept: each archive bucket is read and written in its own Region.
const regions = [env.region, ...env.otherArchives.map((a) => a.region)];
const stores = new Map(regions.map((r) => [r, new S3ArchiveStore(s3ClientFor(r, process.env))]));
const ssm = new Map(regions.map((r) => [r, new SSMClient({ region: r })]));
/**
 * Time kept back from the function's timeout: the object being rewritten when the deadline comes (up to 128 MiB
 * decoded and re-encoded) and the statements that save the progress.
 */
const RESERVE_MS = 120_000;

async function parameterValue(region: string, name: string): Promise<string | undefined> {
  try {
    return (await ssm.get(region)!.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
  } catch (err) {
    if ((err as { name?: string }).name === 'ParameterNotFound') return undefined;
    throw err;
  }
}

export const handler = async (_event: unknown, context: Context): Promise<FinishReport> => {
  logger.addContext(context);
  // Per invocation: a Data API session outlives neither its SessionKeepAliveSeconds nor a warm container's idle time.
  const warehouse = new DataApiErasureWarehouse(
    redshiftData,
    env.region,
    { workgroupName: env.workgroupName, database: env.database, secretArn: env.secretArn },
    env.schema,
    { streamingViews: env.streamingViews, pollIntervalMs: env.pollIntervalMs, remainingMs: () => context.getRemainingTimeInMillis() },
  );
  const report = await runErasureFinish(env, {
    warehouse,
    storeFor: (region) => stores.get(region)!,
    parameterValue,
    clock: Date.now,
    onProgress: (line) => logger.info(line),
    remainingMs: () => context.getRemainingTimeInMillis() - RESERVE_MS,
  });
  if (!report.complete) logger.warn('erasure step left work for the next run (its deadline, or erasures due since the archive sweep in progress started); progress saved, the next run resumes', { finished: report.finished.length });
  logger.info('erasure step finished', { ...report, waiting: report.waiting.length });
  return report;
};
