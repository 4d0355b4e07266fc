/**
 * Restoring missing streaming views (lambda/archive/streaming-view-restore.ts), shared by the merge runner and the
 * erasure step, when the other one creates the same view at the same time: a CREATE that loses the race ("already
 * exists") is not a failure and the view is not reported as created by this caller. A small catalog double: the port
 * is two functions, no AWS call.
 */
import { createdBeforeFailure, createMissingStreamingViews, StreamingViewsPartlyCreatedError, StreamingViewStatements } from '../../lambda/archive/streaming-view-restore';
import { StreamingViewDefinition } from '../../lambda/archive/streaming-views';
import { renderStreamingViews } from '../../lib/sql/render';

const VIEWS: StreamingViewDefinition[] = renderStreamingViews({
  region: 'us-east-1',
  streams: [
    { name: 'events', physicalName: 'redstream-dev-events' },
    { name: 'telemetry', physicalName: 'redstream-dev-telemetry' },
  ],
});

/** A catalog where `existing` views are; `racedBy` creates a view just before this caller's CREATE of it runs. */
function catalog(existing: Set<string>, racedBy: Set<string> = new Set()): StreamingViewStatements & { creates: string[] } {
  const creates: string[] = [];
  return {
    creates,
    rows: async () => [...existing].map((v) => ({ schema_name: v.split('.')[0], name: v.split('.')[1] })),
    execute: async (sql) => {
      const view = VIEWS.find((v) => v.sql === sql)!;
      const name = `${view.schema}.${view.name}`;
      creates.push(name);
      if (racedBy.has(name)) existing.add(name);
      if (existing.has(name)) throw new Error(`ERROR: relation "${view.name}" already exists`);
      existing.add(name);
    },
  };
}

const options = { whenStillMissing: 'the next run creates it', createRetryDelaysMs: [0, 0], sleep: async () => undefined };

test('views another caller created meanwhile are not reported as created, and their lost CREATE is not an error', async () => {
  const [events, telemetry] = VIEWS.map((v) => `${v.schema}.${v.name}`);
  const db = catalog(new Set(), new Set([events]));
  const created = await createMissingStreamingViews(db, VIEWS, options);
  expect(created.map((v) => `${v.schema}.${v.name}`)).toEqual([telemetry]);
  // One CREATE each: the lost one found the view present before a retry.
  expect(db.creates).toEqual([events, telemetry]);
});

test('the last attempt lost the race with no retry left: the catalog is asked before failing', async () => {
  const [events] = VIEWS.map((v) => `${v.schema}.${v.name}`);
  const db = catalog(new Set([`${VIEWS[1].schema}.${VIEWS[1].name}`]), new Set([events]));
  expect(await createMissingStreamingViews(db, VIEWS, { ...options, createRetryDelaysMs: [] })).toEqual([]);
});

test('a CREATE that keeps failing for another reason still fails, naming the view and who creates it later', async () => {
  const db: StreamingViewStatements = {
    rows: async () => [],
    execute: async () => {
      throw new Error('ERROR: permission denied for schema redstream');
    },
  };
  await expect(createMissingStreamingViews(db, VIEWS.slice(0, 1), options)).rejects.toThrow(
    /streaming view redstream\.stream_events is missing: its CREATE failed 3 time\(s\) \(last: ERROR: permission denied.*the next run creates it/,
  );
});

test('a CREATE that keeps failing after another view was created: the error carries the created view, for the caller to report', async () => {
  const [events, telemetry] = VIEWS.map((v) => `${v.schema}.${v.name}`);
  const existing = new Set<string>();
  const db: StreamingViewStatements = {
    rows: async () => [...existing].map((v) => ({ schema_name: v.split('.')[0], name: v.split('.')[1] })),
    execute: async (sql) => {
      if (sql === VIEWS[1].sql) throw new Error('ERROR: permission denied for schema redstream');
      existing.add(events);
    },
  };
  const err = await createMissingStreamingViews(db, VIEWS, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StreamingViewsPartlyCreatedError);
  expect(createdBeforeFailure(err).map((v) => `${v.schema}.${v.name}`)).toEqual([events]);
  expect((err as Error).message).toMatch(new RegExp(`streaming view ${telemetry.replace('.', '\\.')} is missing: its CREATE failed 3 time\\(s\\).*\\(created again before it: ${events.replace('.', '\\.')}\\)$`));
  expect(existing).toEqual(new Set([events]));
  // A failure before any view was created is the CREATE's own error, with nothing to report.
  expect(createdBeforeFailure(new Error('x'))).toEqual([]);
});
