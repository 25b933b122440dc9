// State kept in the data directory as one JSON file: written atomically (temporary
// name, then rename), and a file that cannot be read back is moved aside and
// reported, never silently ignored or overwritten.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface StateLoad<T> {
  value: T;
  /** Set when the file was unreadable: what was wrong and where it was moved. */
  problem?: string;
}

/**
 * Reads `path`; `accept` returns the value, or undefined when the JSON is not of the
 * expected shape (`shape` says which, for the problem text). A missing file gives `empty`.
 */
export function loadState<T>(path: string, empty: T, accept: (v: unknown) => T | undefined, shape: string, what: string): StateLoad<T> {
  if (!existsSync(path)) return { value: empty };
  let reason: string;
  try {
    const value = accept(JSON.parse(readFileSync(path, 'utf8')) as unknown);
    if (value !== undefined) return { value };
    reason = `it is not ${shape}`;
  } catch (err) {
    reason = (err as Error).message;
  }
  const aside = `${path}.corrupt-${Date.now()}`;
  renameSync(path, aside);
  return { value: empty, problem: `${what} in ${path} could not be read (${reason}); moved to ${aside}, starting without them` };
}

export function saveState(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o644 });
  renameSync(tmp, path);
}
