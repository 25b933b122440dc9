// Starts a worker thread running a TypeScript module. The project runs TypeScript
// through tsx, whose loader a new thread does not inherit: a tiny bootstrap
// registers it first, so workers behave the same under tsx, vitest and benchmarks.
import { Worker } from 'node:worker_threads';

const TSX_API = import.meta.resolve('tsx/esm/api');

export function startTsWorker(module: URL, workerData: unknown): Worker {
  const bootstrap = `
import(${JSON.stringify(TSX_API)})
  .then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); });
`;
  return new Worker(bootstrap, { eval: true, workerData });
}
