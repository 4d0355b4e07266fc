/**
 * Creating the streaming views that are missing, shared by the erasure's scheduled step (./data-api-warehouse.ts) and
 * the merge runner (lambda/merge/run.ts): which configured views SVV_MV_INFO does not list, and each one's CREATE (the
 * bootstrap's statement), retried after a short backoff. The statements run through a small port, so each caller
 * keeps its own Data API session (both turn on case-sensitive identifiers first: AUTO REFRESH runs with the setting
 * the view was created with).
 */
import { StatementTimeoutError } from '../sql-runner/errors';
import { existingViewsSql, missingViews, StreamingViewDefinition } from './streaming-views';

/** Waits before the retries of a streaming view's CREATE (a short backoff: the view is missing meanwhile). */
export const CREATE_RETRY_DELAYS_MS: readonly number[] = [1_000, 4_000, 15_000];
/** Kept back from the caller's remaining time before a retry: waitForStatement's own reserve (5 s) and a poll. */
const RETRY_RESERVE_MS = 10_000;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Where the statements run: one Data API session of the caller. */
export interface StreamingViewStatements {
  /** Runs a query and returns its rows by column name (for {@link existingViewsSql}: `schema_name`, `name`). */
  rows(sql: string): Promise<Array<Record<string, string | null>>>;
  /** Runs one statement and waits until it finished. */
  execute(sql: string): Promise<void>;
}

export interface StreamingViewCreateOptions {
  /** Milliseconds the caller may still spend: a failed CREATE is not retried without the time for it. @default no deadline */
  readonly remainingMs?: () => number;
  /** Waits before each retry of a CREATE. @default CREATE_RETRY_DELAYS_MS */
  readonly createRetryDelaysMs?: readonly number[];
  readonly sleep?: (ms: number) => Promise<void>;
  /** What the error of a CREATE that kept failing says happens next (who creates the view later). */
  readonly whenStillMissing: string;
}

/**
 * A view's CREATE kept failing after this call had created others: those exist again, and the caller still reports
 * them (log, metric) before it fails.
 */
export class StreamingViewsPartlyCreatedError extends Error {
  constructor(
    public readonly created: readonly StreamingViewDefinition[],
    public readonly failure: Error,
  ) {
    super(`${failure.message} (created again before it: ${created.map((v) => `${v.schema}.${v.name}`).join(', ')})`, { cause: failure });
    this.name = 'StreamingViewsPartlyCreatedError';
  }
}

/**
 * Creates the views of `views` that SVV_MV_INFO does not list, with their bootstrap statement; returns those this call
 * created, in order (not one that someone else, the merge or the erasure step, created meanwhile). A CREATE that kept
 * failing ends the call: with {@link StreamingViewsPartlyCreatedError} when views were created before it.
 */
export async function createMissingStreamingViews(
  db: StreamingViewStatements,
  views: readonly StreamingViewDefinition[],
  options: StreamingViewCreateOptions,
): Promise<StreamingViewDefinition[]> {
  if (views.length === 0) return [];
  const missing = missingViews(views, await db.rows(existingViewsSql('redshift', views)));
  const created: StreamingViewDefinition[] = [];
  for (const view of missing) {
    let outcome: 'created' | 'present';
    try {
      outcome = await createStreamingView(db, view, view.sql, options);
    } catch (err) {
      if (created.length === 0) throw err;
      throw new StreamingViewsPartlyCreatedError(created, err instanceof Error ? err : new Error(String(err)));
    }
    if (outcome === 'created') created.push(view);
  }
  return created;
}

/** The views a failed {@link createMissingStreamingViews} had created before it failed (none for another error). */
export function createdBeforeFailure(err: unknown): readonly StreamingViewDefinition[] {
  return err instanceof StreamingViewsPartlyCreatedError ? err.created : [];
}

/**
 * The CREATE of a view that is missing, retried after each of the delays while there is time. Before a retry it
 * asks whether the view exists: a CREATE whose wait failed (a throttled DescribeStatement) may have run. A CREATE
 * stopped by the deadline (cancelled by waitForStatement) is not retried.
 */
export async function createStreamingView(db: StreamingViewStatements, view: StreamingViewDefinition, create: string, options: StreamingViewCreateOptions): Promise<'created' | 'present'> {
  const delays = options.createRetryDelaysMs ?? CREATE_RETRY_DELAYS_MS;
  const sleep = options.sleep ?? defaultSleep;
  const remaining = (): number => options.remainingMs?.() ?? Number.POSITIVE_INFINITY;
  let attempts = 0;
  let last: unknown;
  for (let i = 0; i <= delays.length; i++) {
    try {
      if (i > 0) {
        if (last instanceof StatementTimeoutError || remaining() < delays[i - 1] + RETRY_RESERVE_MS) break;
        await sleep(delays[i - 1]);
        if (missingViews([view], await db.rows(existingViewsSql('redshift', [view]))).length === 0) return 'present';
      }
      attempts++;
      await db.execute(create);
      return 'created';
    } catch (err) {
      last = err;
    }
  }
  // No retry left (or no time for one): a view another caller created meanwhile (its CREATE won; ours found it
  // existing) is not a failure.
  if (!(last instanceof StatementTimeoutError)) {
    try {
      if (missingViews([view], await db.rows(existingViewsSql('redshift', [view]))).length === 0) return 'present';
    } catch {
      // The CREATE's error below says more than this one.
    }
  }
  const name = `${view.schema}.${view.name}`;
  throw new Error(
    `streaming view ${name} is missing: its CREATE failed ${attempts} time(s) (last: ${last instanceof Error ? last.message : String(last)}). ` +
      `The merge fails until it exists again; ${options.whenStillMissing}`,
    { cause: last },
  );
}
