/**
 * The baseline of `bench:e2e`: a naive forwarder, run as a local Lambda function exactly like the replicator (its own
 * worker thread, the same event source mapping). It sends each batch to every target Region in PutRecords calls of up
 * to 500 entries, one after the other, and fails the whole batch if any entry failed: no per-key order, no
 * checkpoint, no active-Region check. Endpoints come from the SDK's standard variables, as the replicator's do.
 */
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { KinesisStreamEvent } from 'aws-lambda';

const targets = (process.env.TARGET_REGIONS ?? '').split(',').filter(Boolean);
if (targets.length === 0) throw new Error('TARGET_REGIONS is required');
const clients = targets.map((region) => new KinesisClient({ region, maxAttempts: 1, requestHandler: new NodeHttpHandler() }));

export async function handler(event: KinesisStreamEvent): Promise<void> {
  const records = event.Records ?? [];
  if (records.length === 0) return;
  const streamName = records[0].eventSourceARN.split(':stream/')[1];
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; i < records.length; i += 500) {
        const out = await client.send(
          new PutRecordsCommand({
            StreamName: streamName,
            Records: records.slice(i, i + 500).map((r) => ({ PartitionKey: r.kinesis.partitionKey, Data: Buffer.from(r.kinesis.data, 'base64') })),
          }),
        );
        if (out.FailedRecordCount) throw new Error(`${out.FailedRecordCount} entries failed`);
      }
    }),
  );
}
