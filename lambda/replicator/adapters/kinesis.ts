/** The Kinesis adapter: one client per target Region, PutRecords with a per-call abort. */
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { EntryResult } from '../planner';
import type { PutRecordsRequest, RecordWriter } from '../replicate';

/**
 * Kinesis clients for `regions`, keyed by Region. HTTP/1.1 (kinesalite has no HTTP/2), no SDK retries (the
 * replicator retries itself, within the invocation's deadline). The endpoint comes from the SDK's standard
 * `AWS_ENDPOINT_URL_KINESIS` when set.
 */
export function kinesisClientsFor(regions: readonly string[], options: { connectionTimeoutMs: number }): Map<string, KinesisClient> {
  return new Map(
    regions.map((region) => [
      region,
      new KinesisClient({
        region,
        maxAttempts: 1,
        requestHandler: new NodeHttpHandler({ connectionTimeout: options.connectionTimeoutMs }),
      }),
    ]),
  );
}

export class KinesisRecordWriter implements RecordWriter {
  constructor(private readonly clients: ReadonlyMap<string, KinesisClient>) {}

  async putRecords(request: PutRecordsRequest): Promise<EntryResult[]> {
    const client = this.clients.get(request.region);
    if (!client) throw new Error(`no Kinesis client for Region ${request.region}`);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), request.timeoutMs);
    try {
      const out = await client.send(
        new PutRecordsCommand({
          StreamName: request.streamName,
          Records: request.entries.map((e) => ({ Data: e.data, PartitionKey: e.partitionKey })),
        }),
        { abortSignal: controller.signal },
      );
      return (out.Records ?? []).map((r): EntryResult =>
        r.ErrorCode ? { ok: false, errorCode: r.ErrorCode, errorMessage: r.ErrorMessage } : { ok: true },
      );
    } finally {
      clearTimeout(timer);
    }
  }
}
