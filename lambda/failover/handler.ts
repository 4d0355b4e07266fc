/**
 * The failover function: runs a failover, failback or status (see `request.ts` for the input) with the fenced switch
 * protocol, and returns the result; a switch result is also published to RESULT_TOPIC_ARN when set. Invoked by the
 * operator (`aws lambda invoke`), or by the EventBridge rule of automatic mode on the health alarm. Kinesis (endpoint
 * from AWS_ENDPOINT_URL_KINESIS when set) gives it the shards, the oldest unreplicated records and the trusted clock;
 * Lambda (AWS_ENDPOINT_URL_LAMBDA) fences replicators for forced switches.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { writeBudget } from '../archive/replay-plan';
import { kinesisReconcileDeps, ReconcileResult, runReconcile } from './reconcile-run';
import {
  documentClients,
  kinesisClients,
  LambdaReservedConcurrency,
  perRegion,
  regionOfArn,
  SnsResultPublisher,
} from './adapters';
import { dynamoDbFailoverDeps } from './api';
import { parseFailoverEnv } from './env';
import { parseFailoverEvent } from './request';
import { failback, failover, FailoverDeps, status, StatusReport, SwitchResult } from './service';

const config = parseFailoverEnv(process.env);
const logger = new Logger({ serviceName: 'redstream-failover' });
const dynamo = documentClients();
const kinesis = kinesisClients();
const lambdaClients = perRegion((region) => new LambdaClient({ region }));
const deps: FailoverDeps = dynamoDbFailoverDeps(config.tables, {
  clients: dynamo,
  kinesisClients: kinesis,
  trustedClockStream: config.settings.streams[0],
  lambdaClients,
  concurrency: config.settings.replicatorConcurrency ? new LambdaReservedConcurrency(lambdaClients) : undefined,
  publisher: config.resultTopicArn ? new SnsResultPublisher(new SNSClient({ region: regionOfArn(config.resultTopicArn) }), config.resultTopicArn) : undefined,
  onProgress: (line) => logger.info(line),
});

/** The stray check's metric: records in another Region's stream that the active Region lacks (early, stray, stranded). */
export const STRAY_METRIC = 'RecordsMissingFromActiveRegion';
const metrics = new Metrics({ namespace: 'Redstream', serviceName: 'redstream-failover' });

/**
 * A dry-run reconcile of a recent window (ending `lagMinutes` ago, so replication in flight is not counted) for every
 * stream; publishes how many records are missing from the active Region. Exact (by partition key and bytes), at the
 * cost of reading the window of every stream in every Region once per run.
 */
async function strayCheck(streams: readonly string[], minutes: number, lagMinutes: number): Promise<ReconcileResult[]> {
  const toMs = Date.now() - lagMinutes * 60_000;
  const out: ReconcileResult[] = [];
  for (const stream of streams) {
    const result = await runReconcile(
      { environment: config.settings.environment, streamName: stream, regions: config.settings.regions, window: { fromMs: toMs - minutes * 60_000, toMs }, budget: writeBudget(1, 1), dryRun: true },
      kinesisReconcileDeps(kinesis, stream, { activeRegions: deps.activeRegions, clock: Date.now, sleep: deps.sleep }),
    );
    metrics.addDimensions({ stream });
    metrics.addMetric(STRAY_METRIC, MetricUnit.Count, result.plan.missing);
    metrics.publishStoredMetrics();
    if (result.plan.missing > 0) logger.warn('records missing from the active Region: run `npm run ops -- reconcile`', { stream, ...result.plan, window: result.window });
    out.push(result);
  }
  return out;
}

export const handler = async (event: unknown): Promise<SwitchResult | StatusReport | ReconcileResult[]> => {
  const { action, options, window } = parseFailoverEvent(event);
  logger.info('request', { action, options });
  if (action === 'status') return status(config.settings, options, deps);
  if (action === 'stray-check') return strayCheck(options.streams ?? config.settings.streams, window!.minutes, window!.lagMinutes);
  const result = action === 'failover' ? await failover(config.settings, options, deps) : await failback(config.settings, options, deps);
  if (result.ok) logger.info('switch result', { result });
  else logger.warn('switch not done', { result });
  return result;
};
