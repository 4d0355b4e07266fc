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
import {
  documentClients,
  DynamoDbActiveRegionStore,
  DynamoDbCheckpointStore,
  kinesisClients,
  KinesisShardInspector,
  KinesisTrustedClock,
  LambdaReplicatorFence,
  LambdaReservedConcurrency,
  perRegion,
  regionOfArn,
  SnsResultPublisher,
} from './adapters';
import { parseFailoverEnv } from './env';
import { parseFailoverEvent } from './request';
import { failback, failover, FailoverDeps, status, StatusReport, SwitchResult } from './service';

const config = parseFailoverEnv(process.env);
const logger = new Logger({ serviceName: 'redstream-failover' });
const dynamo = documentClients();
const kinesis = kinesisClients();
const lambdaClients = perRegion((region) => new LambdaClient({ region }));
const deps: FailoverDeps = {
  activeRegions: new DynamoDbActiveRegionStore(dynamo, config.tables.activeRegionTableName),
  checkpoints: new DynamoDbCheckpointStore(dynamo, config.tables.checkpointTableName),
  shards: new KinesisShardInspector(kinesis),
  trustedClock: new KinesisTrustedClock(kinesis, config.settings.streams[0]),
  fence: new LambdaReplicatorFence(lambdaClients),
  concurrency: config.settings.replicatorConcurrency ? new LambdaReservedConcurrency(lambdaClients) : undefined,
  publisher: config.resultTopicArn ? new SnsResultPublisher(new SNSClient({ region: regionOfArn(config.resultTopicArn) }), config.resultTopicArn) : undefined,
  clock: Date.now,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  onProgress: (line) => logger.info(line),
};

export const handler = async (event: unknown): Promise<SwitchResult | StatusReport> => {
  const { action, options } = parseFailoverEvent(event);
  logger.info('request', { action, options });
  if (action === 'status') return status(config.settings, options, deps);
  const result = action === 'failover' ? await failover(config.settings, options, deps) : await failback(config.settings, options, deps);
  if (result.ok) logger.info('switch result', { result });
  else logger.warn('switch not done', { result });
  return result;
};
