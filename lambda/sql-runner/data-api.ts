/**
 * Adapter over the Redshift Data API: runs statements in one session (so session settings such as
 * `enable_case_sensitive_identifier` apply to every later statement), waits for each (the API is asynchronous),
 * and turns FAILED / ABORTED into a {@link StatementFailedError} with the database's error text.
 */
import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  Field,
  paginateGetStatementResult,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { StatementFailedError, StatementTimeoutError, WarehouseSqlError } from './errors';

/** Where statements run. Without `secretArn` the Data API authenticates with the caller's IAM identity. */
export interface DataApiTarget {
  readonly workgroupName: string;
  readonly database: string;
  readonly secretArn?: string;
}

export interface SqlExecutor {
  /** Runs one statement and waits until it finished. */
  execute(label: string, sql: string, parameters?: Readonly<Record<string, string>>): Promise<void>;
  /** Runs one query and returns its rows, each field as text or null. */
  query(label: string, sql: string, parameters?: Readonly<Record<string, string>>): Promise<Array<Array<string | null>>>;
}

export interface DataApiOptions {
  /** Delay between DescribeStatement calls. */
  readonly pollIntervalMs: number;
  /** Milliseconds the caller may still spend; when it runs low, the statement is cancelled and the call fails. */
  readonly remainingMs: () => number;
  /** Time kept in reserve to report a failure before the function's deadline. @default 5000 */
  readonly reserveMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Statements run before the first one, in the same session. */
  readonly sessionSetup?: readonly string[];
  /**
   * Cancel a statement still running at the deadline. The merge runner turns this off: a long merge then finishes
   * in Redshift on its own, and the next run waits for its lock instead of rolling it back. @default true
   */
  readonly cancelOnDeadline?: boolean;
  /** Seconds the Data API keeps the session after a statement. @default 900 */
  readonly sessionKeepAliveSeconds?: number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function fieldText(f: Field): string | null {
  if (f.isNull) return null;
  if (f.stringValue !== undefined) return f.stringValue;
  if (f.longValue !== undefined) return String(f.longValue);
  if (f.doubleValue !== undefined) return String(f.doubleValue);
  if (f.booleanValue !== undefined) return String(f.booleanValue);
  return null;
}

/** Runs statements one after another in one Data API session. */
export class DataApiSession implements SqlExecutor {
  private sessionId: string | undefined;
  private setupDone = false;

  constructor(
    private readonly client: RedshiftDataClient,
    private readonly target: DataApiTarget,
    private readonly options: DataApiOptions,
  ) {}

  async execute(label: string, sql: string, parameters?: Readonly<Record<string, string>>): Promise<void> {
    await this.ensureSetup();
    await this.run(label, sql, parameters);
  }

  async query(label: string, sql: string, parameters?: Readonly<Record<string, string>>): Promise<Array<Array<string | null>>> {
    await this.ensureSetup();
    const id = await this.run(label, sql, parameters);
    const rows: Array<Array<string | null>> = [];
    for await (const page of paginateGetStatementResult({ client: this.client }, { Id: id })) {
      for (const record of page.Records ?? []) rows.push(record.map(fieldText));
    }
    return rows;
  }

  private async ensureSetup(): Promise<void> {
    if (this.setupDone) return;
    this.setupDone = true;
    for (const [i, sql] of (this.options.sessionSetup ?? []).entries()) await this.run(`session-setup-${i + 1}`, sql);
  }

  /** Submits a statement (opening the session on first use) and waits for it; returns its id. */
  private async run(label: string, sql: string, parameters?: Readonly<Record<string, string>>): Promise<string> {
    const params = parameters ? Object.entries(parameters).map(([name, value]) => ({ name, value })) : undefined;
    const where = this.sessionId
      ? { SessionId: this.sessionId }
      : {
          WorkgroupName: this.target.workgroupName,
          Database: this.target.database,
          SecretArn: this.target.secretArn,
          SessionKeepAliveSeconds: this.options.sessionKeepAliveSeconds ?? 900,
        };
    const out = await this.client.send(new ExecuteStatementCommand({ ...where, Sql: sql, Parameters: params, StatementName: label.slice(0, 500) }));
    if (!out.Id) throw new WarehouseSqlError(`statement ${label}: the Data API returned no statement id`);
    this.sessionId ??= out.SessionId;
    await waitForStatement(this.client, out.Id, label, this.options);
    return out.Id;
  }
}

/** Polls DescribeStatement until the statement finished; throws with the database's error text otherwise. */
export async function waitForStatement(client: RedshiftDataClient, id: string, label: string, options: DataApiOptions): Promise<void> {
  const sleep = options.sleep ?? defaultSleep;
  const reserve = options.reserveMs ?? 5000;
  for (;;) {
    const d = await client.send(new DescribeStatementCommand({ Id: id }));
    switch (d.Status) {
      case 'FINISHED':
        return;
      case 'FAILED':
      case 'ABORTED': {
        const failed = d.SubStatements?.find((s) => s.Status === 'FAILED' || s.Status === 'ABORTED');
        throw new StatementFailedError(label, d.Status, d.Error ?? failed?.Error ?? 'no error text returned');
      }
      default:
        if (options.remainingMs() < reserve + options.pollIntervalMs) {
          if (options.cancelOnDeadline ?? true) {
            // Best effort: the timeout error below is what fails the call, whether or not the cancel succeeds.
            await client.send(new CancelStatementCommand({ Id: id })).catch(() => undefined);
          }
          throw new StatementTimeoutError(label, id, options.cancelOnDeadline ?? true);
        }
        await sleep(options.pollIntervalMs);
    }
  }
}

/** Runs statements as one Data API batch (one transaction, one session) and waits for it. */
export async function runBatch(client: RedshiftDataClient, target: DataApiTarget, label: string, sqls: readonly string[], options: DataApiOptions): Promise<string> {
  const out = await client.send(
    new BatchExecuteStatementCommand({
      WorkgroupName: target.workgroupName,
      Database: target.database,
      SecretArn: target.secretArn,
      Sqls: [...sqls],
      StatementName: label,
    }),
  );
  if (!out.Id) throw new WarehouseSqlError(`batch ${label}: the Data API returned no statement id`);
  await waitForStatement(client, out.Id, label, options);
  return out.Id;
}
