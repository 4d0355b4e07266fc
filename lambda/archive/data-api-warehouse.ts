/**
 * The erasure's warehouse port (./erase.ts ErasureWarehouse) over the Redshift Data API. Each result row stays within
 * the Data API's limits because the erasure asks only for keys, counts and bounded chunks (./erase-sql.ts).
 */
import { DescribeStatementCommand, ExecuteStatementCommand, GetStatementResultCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { fieldText, waitForStatement } from '../sql-runner/data-api';
import { ErasureWarehouse } from './erase';
import { createMissingStreamingViews, createStreamingView, StreamingViewCreateOptions, StreamingViewStatements } from './streaming-view-restore';
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
      /**
       * Milliseconds the caller may still spend (the Lambda function's remaining time): a statement still running
       * when it runs low is cancelled and the call fails (lambda/sql-runner/data-api.ts waitForStatement), and a
       * failed CREATE is not retried without the time for it. @default no deadline
       */
      readonly remainingMs?: () => number;
      /** Waits before each retry of a streaming view's CREATE. @default CREATE_RETRY_DELAYS_MS (./streaming-view-restore.ts) */
      readonly createRetryDelaysMs?: readonly number[];
      readonly sleep?: (ms: number) => Promise<void>;
    } = {},
  ) {}

  private remaining(): number {
    return this.options.remainingMs?.() ?? Number.POSITIVE_INFINITY;
  }

  private async run(sql: string): Promise<string> {
    const wait = { pollIntervalMs: this.options.pollIntervalMs ?? 250, remainingMs: () => this.remaining() };
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
   *
   * The DROP and the CREATE are two statements, two transactions. The Data API documents BatchExecuteStatement as
   * running its statements as one transaction, all rolled back if one fails
   * (https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_BatchExecuteStatement.html), but the Redshift
   * documentation does not say whether CREATE MATERIALIZED VIEW of a streaming view (AUTO REFRESH YES, FROM a Kinesis
   * external schema) may run inside a transaction block: the CREATE MATERIALIZED VIEW page
   * (https://docs.aws.amazon.com/redshift/latest/dg/materialized-view-create-sql-command.html) and the streaming
   * ingestion pages state no rule either way, and REFRESH MATERIALIZED VIEW "runs as a transaction of its own"
   * (https://docs.aws.amazon.com/redshift/latest/dg/materialized-view-refresh-sql-command.html). So nothing relies on
   * it. Instead a CREATE that fails is retried (with a short backoff), and every run of the scheduled step first
   * creates the views that are missing ({@link restoreStreamingViews}).
   */
  async clearStreamingViews(): Promise<{ recreated: number; rowsRemoved: number | undefined }> {
    let recreated = 0;
    for (const view of this.options.streamingViews ?? []) {
      const [drop, create] = recreateStatements(view);
      await this.run(drop);
      await this.createMissing(view, create);
      recreated++;
    }
    return { recreated, rowsRemoved: undefined };
  }

  /** Creates the configured streaming views that do not exist (SVV_MV_INFO), with the bootstrap's statement. */
  async restoreStreamingViews(): Promise<string[]> {
    const missing = await createMissingStreamingViews(this.statements(), this.options.streamingViews ?? [], this.createOptions());
    return missing.map((v) => `${v.schema}.${v.name}`);
  }

  private async createMissing(view: StreamingViewDefinition, create: string): Promise<void> {
    await createStreamingView(this.statements(), view, create, this.createOptions());
  }

  private statements(): StreamingViewStatements {
    return { rows: (sql) => this.rows(sql), execute: async (sql) => void (await this.run(sql)) };
  }

  private createOptions(): StreamingViewCreateOptions {
    return {
      remainingMs: () => this.remaining(),
      createRetryDelaysMs: this.options.createRetryDelaysMs,
      sleep: this.options.sleep,
      whenStillMissing:
        "the next merge that fails on it creates it (warehouse.mergeRestoresStreamingViews), and the next run of the erasure's scheduled step creates it first (now: npm run ops -- erase --finish)",
    };
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
