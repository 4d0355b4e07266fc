/**
 * Firehose data transformation of the archive (see transform.ts for the contract and its limits). Thin entry point:
 * no environment, no AWS calls; one structured log line per invocation with the counts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { transformFirehoseEvent } from './transform';

const logger = new Logger({ serviceName: 'redstream-archive-transform' });

export const handler = async (event: FirehoseTransformationEvent, context: Context): Promise<FirehoseTransformationResult> => {
  logger.addContext(context);
  const outcome = transformFirehoseEvent(event);
  const summary = { records: event.records.length, archived: outcome.archived, failed: outcome.failed, responseDataBytes: outcome.responseDataBytes };
  // A failed record is not lost (Firehose writes it under the error prefix) but it is not in the contract: say so.
  if (outcome.failed > 0) logger.error('records sent to the error prefix', { ...summary, failures: outcome.failures });
  else logger.info('archived', summary);
  return outcome.result;
};
