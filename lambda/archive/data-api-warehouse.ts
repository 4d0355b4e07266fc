/**
 * The erasure's warehouse port (./erase.ts ErasureWarehouse) over the Redshift Data API. Each result row stays within
 * the Data API's limits because the erasure asks only for keys, counts and bounded chunks (./erase-sql.ts).
 */
import { DescribeStatementCommand, ExecuteStatementCommand, GetStatementResultCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { fieldText, waitForStatement } from '../sql-runner/data-api';
import { ErasureWarehouse } from './erase';
import { recreateStatements, StreamingViewDefinition } from './streaming-views';

/**
 * A warehouse through the Data API, in one session that first turns on case-sensitive identifiers (the subject
 * paths are quoted, mixed-case SUPER attributes, and the streaming views must be created with the setting their
 * AUTO REFRESH runs with). Used by `ops erase` and by the erasure's scheduled step (lambda/erasure-finish).
 */
export class DataApiErasureWarehouse implements ErasureWarehouse {
  readonly dialect = 'redshift' as const;
  private sessionId: string | undefined;

  constructor(
    private readonly client: RedshiftDataClient,
    readonly name: string,
    private readonly target: { workgroupName: string; database: string; secretArn?: string },
    readonly schema: string,
    private readonly options: {
      /** The streaming views to recreate in the scheduled step (lib/sql/render.ts renderStreamingViews). @default none */
      readonly streamingViews?: readonly StreamingViewDefinition[];
      /** Wait between DescribeStatement polls. @default 250 */
      readonly pollIntervalMs?: number;
    } = {},
  ) {}

  private async run(sql: string): Promise<string> {
    const wait = { pollIntervalMs: this.options.pollIntervalMs ?? 250, remainingMs: () => Number.POSITIVE_INFINITY };
    for (let attempt = 1; ; attempt++) {
      if (this.sessionId === undefined) {
        const setup = await this.client.send(
          new ExecuteStatementCommand({ WorkgroupName: this.target.workgroupName, Database: this.target.database, SecretArn: this.target.secretArn, Sql: 'SET enable_case_sensitive_identifier TO true', SessionKeepAliveSeconds: 900 }),
        );
        await waitForStatement(this.client, setup.Id!, 'erase-session', wait);
        this.sessionId = setup.SessionId;
      }
      let id: string;
      try {
        id = (await this.client.send(new ExecuteStatementCommand({ SessionId: this.sessionId, Sql: sql, StatementName: 'redstream-erase' }))).Id!;
      } catch (err) {
        // The session closed (idle past SessionKeepAliveSeconds, or ended by the service): the statement never ran, so
        // a new session (with its setting) and one retry are safe.
        if (attempt === 1 && isSessionGone(err)) {
          this.sessionId = undefined;
          continue;
        }
        throw err;
      }
      await waitForStatement(this.client, id, 'erase', wait);
      return id;
    }
  }

  async rows(sql: string): Promise<Array<Record<string, string | null>>> {
    const id = await this.run(sql);
    const rows: Array<Record<string, string | null>> = [];
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(new GetStatementResultCommand({ Id: id, NextToken: nextToken }));
      const names = (page.ColumnMetadata ?? []).map((c) => c.name ?? '');
      for (const record of page.Records ?? []) rows.push(Object.fromEntries(record.map((f, i) => [names[i], fieldText(f)])));
      nextToken = page.NextToken;
    } while (nextToken);
    return rows;
  }

  async change(sql: string): Promise<number> {
    const id = await this.run(sql);
    const d = await this.client.send(new DescribeStatementCommand({ Id: id }));
    return Number(d.ResultRows ?? 0);
  }

  /**
   * Recreates every streaming view from its bootstrap statement (DROP, then CREATE; ./streaming-views.ts says why
   * the merge's watermark makes that safe). The new view holds only what the streams still hold.
   */
  async clearStreamingViews(): Promise<{ recreated: number; rowsRemoved: number | undefined }> {
    let recreated = 0;
    for (const view of this.options.streamingViews ?? []) {
      for (const sql of recreateStatements(view)) await this.run(sql);
      recreated++;
    }
    return { recreated, rowsRemoved: undefined };
  }
}

/**
 * The Data API refuses a statement for a session that is closed (SessionData status CLOSED once
 * SessionKeepAliveSeconds have passed idle) with a client error naming the session; the exact text is not documented,
 * so any ValidationException or ResourceNotFoundException that mentions the session counts.
 */
export function isSessionGone(err: unknown): boolean {
  const e = err as { name?: string; message?: string };
  return (e.name === 'ValidationException' || e.name === 'ResourceNotFoundException') && /session/i.test(e.message ?? '');
}
