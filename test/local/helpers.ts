/** Helpers for the tests of the local pipeline. */
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';

let counter = 0;
/** A stream name unique in this test file. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

/** Polls `predicate` every 20 ms until it holds; fails with `what` after `timeoutMs`. */
export async function eventually(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Writes records (one PutRecords call per 500) and fails on any failed entry. */
export async function putRecords(client: KinesisClient, streamName: string, records: ReadonlyArray<{ partitionKey: string; data: string | Uint8Array }>): Promise<void> {
  for (let i = 0; i < records.length; i += 500) {
    const out = await client.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: records.slice(i, i + 500).map((r) => ({ PartitionKey: r.partitionKey, Data: typeof r.data === 'string' ? Buffer.from(r.data) : r.data })),
      }),
    );
    if (out.FailedRecordCount) throw new Error(`${out.FailedRecordCount} records failed`);
  }
}
