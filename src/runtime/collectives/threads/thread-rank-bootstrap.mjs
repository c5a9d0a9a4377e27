/**
 * First module of every rank worker. Plain JavaScript on purpose: a worker thread starts
 * without the parent's loader hooks (Node 20 does not apply `--import tsx` in worker
 * execArgv), so this file registers tsx's ESM loader in the worker, then imports the
 * TypeScript rank main (`thread-rank-main.ts`), which runs the user's entry.
 *
 * @example
 * new Worker(new URL('./thread-rank-bootstrap.mjs', import.meta.url), { workerData });
 */
import { workerData } from 'node:worker_threads';

if (workerData.loader) {
  const { register } = await import(workerData.loader);
  register();
}
await import(workerData.main);
