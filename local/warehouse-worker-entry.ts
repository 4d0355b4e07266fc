/**
 * Worker-thread side of the local warehouse (see warehouse-worker.ts): PGlite with the rendered Postgres SQL and the
 * loader, answering the main thread's requests. Bundled with esbuild and loaded by the worker; not imported by
 * anything else.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setupPostgresWarehouse } from '../lib/sql/postgres';
import { localKinesisClient } from './emulators';
import { startWarehouseLoader, WarehouseLoader } from './warehouse-loader';
import type { WarehouseWorkerProps } from './warehouse-worker';

/** What the main thread passes as workerData. */
type Setup = WarehouseWorkerProps;

type Request =
  | { id: number; op: 'query'; sql: string; params?: unknown[] }
  | { id: number; op: 'mergeNow' }
  | { id: number; op: 'waitUntilCaughtUp'; sinceMs: number; timeoutMs?: number }
  | { id: number; op: 'stop' };

interface PGliteInstance {
  exec(sql: string): Promise<unknown>;
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  close(): Promise<void>;
}

// The AWS SDK's once-per-thread notice that its 2027 releases need Node 22 is noise on the supported Node 20.19+: its
// own documented switch (a worker thread has its own copy of process.env; the demo and jest set it for the parent).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const setup = workerData as Setup;
  const port = parentPort!;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PGlite } = require('@electric-sql/pglite') as { PGlite: new () => PGliteInstance };
  const db = new PGlite();
  const warehouse = await setupPostgresWarehouse(db, setup.sql);
  const kinesis = localKinesisClient(setup.kinesisEndpoint, setup.region);
  const loader: WarehouseLoader = await startWarehouseLoader({
    kinesis,
    streams: setup.streams,
    warehouse,
    mergeIntervalMs: setup.mergeIntervalMs,
    idlePollMs: setup.idlePollMs,
  });
  const sendTotals = (): void => port.postMessage({ type: 'totals', totals: { ...loader.totals } });
  const ticker = setInterval(sendTotals, 100);
  port.on('message', (req: Request) => {
    void (async () => {
      try {
        let result: unknown;
        if (req.op === 'query') result = (await db.query(req.sql, req.params)).rows;
        else if (req.op === 'mergeNow') result = await loader.mergeNow();
        else if (req.op === 'waitUntilCaughtUp') await loader.waitUntilCaughtUp(req.sinceMs, { timeoutMs: req.timeoutMs });
        else {
          clearInterval(ticker);
          await loader.stop();
          kinesis.destroy();
          await db.close();
        }
        sendTotals();
        port.postMessage({ type: 'reply', id: req.id, result });
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        port.postMessage({ type: 'reply', id: req.id, error: { name: e.name, message: e.message } });
      }
    })();
  });
  port.postMessage({ type: 'ready', schema: warehouse.schema });
}

main().catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  parentPort?.postMessage({ type: 'failed', error: { name: e.name, message: e.message } });
});
