import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * `mkdir -p`, one level at a time: Node's recursive mkdirSync spins forever on some
 * paths (under /proc it keeps retrying), and a person may type any path.
 */
export function makeDirs(dir: string): void {
  const parts = resolve(dir).split('/').filter(Boolean);
  let at = '';
  for (const part of parts) {
    at += `/${part}`;
    try {
      mkdirSync(at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
