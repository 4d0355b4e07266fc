/**
 * The local warehouse (PGlite + loader + scheduled merges) in its own worker thread. PGlite is WebAssembly that runs
 * synchronously: on the main thread, every insert and merge would stall the Region router and the event source
 * mappings, and replication with them. Same behaviour as `startWarehouseLoader` on a `setupPostgresWarehouse`
 * database; queries go to the worker.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { MergeRun } from '../lib/sql/postgres';
import type { WarehouseSqlParams } from '../lib/sql/render';
import { bundle } from './local-function';
import type { LoaderStream, LoaderTotals, WarehouseLoader } from './warehouse-loader';

export interface WarehouseWorkerProps {
  /** The Region router's endpoint; the loader reads the warehouse Region's stream through it. */
  readonly kinesisEndpoint: string;
  readonly region: string;
  readonly streams: readonly LoaderStream[];
  readonly sql: WarehouseSqlParams;
  readonly mergeIntervalMs: number;
  readonly idlePollMs: number;
}

export interface WarehouseWorker {
  readonly schema: string;
  readonly loader: WarehouseLoader;
  /** Runs a query in the warehouse and returns its rows. */
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  stop(): Promise<void>;
}

export class WarehouseWorkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WarehouseWorkerError';
  }
}

const ENTRY = path.join(__dirname, 'warehouse-worker-entry.ts');

type Message =
  | { type: 'ready'; schema: string }
  | { type: 'failed'; error: { name: string; message: string } }
  | { type: 'totals'; totals: LoaderTotals }
  | { type: 'reply'; id: number; result?: unknown; error?: { name: string; message: string } };

export async function startWarehouseWorker(props: WarehouseWorkerProps): Promise<WarehouseWorker> {
  const file = await bundle(ENTRY, 'warehouse');
  const worker = new Worker(file, { workerData: { ...props }, execArgv: ['--enable-source-maps'] });
  const totals: LoaderTotals = { appended: 0, merges: 0, inserted: 0, duplicates: 0, rejected: 0, readErrors: 0, lastReadError: undefined };
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let exited: Error | undefined;
  const fail = (err: Error): void => {
    exited ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('error', (err) => fail(new WarehouseWorkerError(`warehouse worker failed: ${err.message}`)));
  worker.on('exit', (code) => fail(new WarehouseWorkerError(`warehouse worker exited with code ${code}`)));
  const schema = await new Promise<string>((resolve, reject) => {
    worker.on('message', (msg: Message) => {
      if (msg.type === 'ready') resolve(msg.schema);
      else if (msg.type === 'failed') reject(new WarehouseWorkerError(`warehouse did not start: ${msg.error.name}: ${msg.error.message}`));
      else if (msg.type === 'totals') Object.assign(totals, msg.totals);
      else if (msg.type === 'reply') {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) p?.reject(Object.assign(new WarehouseWorkerError(msg.error.message), { name: msg.error.name }));
        else p?.resolve(msg.result);
      }
    });
    worker.once('exit', (code) => reject(new WarehouseWorkerError(`warehouse worker exited with code ${code} while starting`)));
  }).catch(async (err: unknown) => {
    await worker.terminate();
    fs.rmSync(file, { force: true });
    throw err;
  });
  const call = <T>(req: Record<string, unknown>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (exited) {
        reject(exited);
        return;
      }
      const id = ++nextId;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...req, id });
    });
  let stopped = false;
  return {
    schema,
    loader: {
      totals,
      waitUntilCaughtUp: (sinceMs, options = {}) => call<void>({ op: 'waitUntilCaughtUp', sinceMs, timeoutMs: options.timeoutMs }),
      mergeNow: () => call<MergeRun>({ op: 'mergeNow' }),
      stop: () => call<void>({ op: 'stop' }),
    },
    query: async <T>(sql: string, params?: unknown[]) => ({ rows: await call<T[]>({ op: 'query', sql, params }) }),
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        if (!exited) await call<void>({ op: 'stop' });
      } finally {
        await worker.terminate();
        fs.rmSync(file, { force: true });
      }
    },
  };
}
