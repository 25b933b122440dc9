// Running TypeScript in a new thread or process. The project runs TypeScript
// through tsx, whose loader a worker thread or child process does not inherit:
// these register it first, so they behave the same under tsx, vitest and benchmarks.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

// Resolved from the package directory (vitest does not support import.meta.resolve).
const tsxDir = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));

/** For `node --import <this>`: registers tsx in a child process. */
export const TSX_LOADER = pathToFileURL(join(tsxDir, 'dist', 'loader.mjs')).href;
const TSX_ESM_API = pathToFileURL(join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;

/**
 * Young generation of worker threads: a collector allocates ~10 small objects per
 * event, and a larger nursery makes its scavenges rarer (fewer pauses, fewer drops).
 */
const YOUNG_GENERATION_MB = 64;

export function startTsWorker(module: URL, workerData: unknown): Worker {
  const bootstrap = `
import(${JSON.stringify(TSX_ESM_API)})
  .then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); });
`;
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
}
