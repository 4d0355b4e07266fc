/**
 * kinesalite in its own worker thread, one per local Region: the same server as `startKinesis` (local/emulators.ts)
 * but off the main thread, so a busy main thread (the embedded warehouse, the producer) does not stall every Kinesis
 * call of the replicators, and the other way round. The worker's environment carries the Region, which kinesalite
 * puts in its ARNs.
 */
import { Worker } from 'node:worker_threads';
import type { RunningService } from './emulators';

const BOOTSTRAP = `
const { parentPort, workerData } = require('node:worker_threads');
const kinesalite = require(workerData.kinesalite);
const server = kinesalite({ createStreamMs: workerData.createStreamMs, deleteStreamMs: 10, updateStreamMs: 10, shardLimit: 1000 });
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (msg) => {
  if (msg === 'stop') {
    if (server.closeAllConnections) server.closeAllConnections();
    server.close(() => parentPort.postMessage('stopped'));
  }
});
`;

/** Starts an in-memory kinesalite for `region` in a worker thread. */
export async function startKinesisWorker(region: string, options: { createStreamMs?: number } = {}): Promise<RunningService> {
  const worker = new Worker(BOOTSTRAP, {
    eval: true,
    env: { ...process.env, AWS_REGION: region },
    execArgv: [],
    workerData: { kinesalite: require.resolve('kinesalite'), createStreamMs: options.createStreamMs ?? 10 },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (m: { port: number }) => resolve(m.port));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`kinesalite worker for ${region} exited with code ${code}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        worker.once('message', () => {
          clearTimeout(timer);
          resolve();
        });
        worker.postMessage('stop');
      });
      await worker.terminate();
    },
  };
}
