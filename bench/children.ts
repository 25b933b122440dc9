// Every process and resource the bench starts, so that all of it is taken down
// whatever way the run ends: done, an error, Ctrl-C or SIGTERM. Children are killed
// by their own pid (never by name); cleanups (stopping a collector, a capture) run in
// reverse order of registration.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const running = new Set<ChildProcess>();
const cleanups: (() => Promise<void> | void)[] = [];

/** Starts a child the bench owns: it is killed on exit if still running. */
export function start(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  running.add(child);
  child.once('exit', () => running.delete(child));
  // A child that cannot start (ENOENT) must not crash the run through an unhandled 'error'.
  child.once('error', () => running.delete(child));
  return child;
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Collects a child's output until it exits; kills it (SIGKILL) after `timeoutMs`. */
export function finished(child: ChildProcess, timeoutMs: number): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d));
  child.stderr?.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a program to completion; rejects with its stderr when it fails. */
export async function run(command: string, args: readonly string[], timeoutMs: number): Promise<string> {
  const r = await finished(start(command, args), timeoutMs);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The last JSON line a program printed (the C tools report that way). */
export function lastJson<T>(stdout: string): T {
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as T;
}

/** Registers something to undo on exit; returns a function that unregisters it once done normally. */
export function onCleanup(fn: () => Promise<void> | void): () => void {
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

let cleaning: Promise<void> | undefined;

/** Kills every child still running and runs the registered cleanups (once). */
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    for (const child of running) child.kill('SIGKILL');
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await Promise.race([fn(), new Promise((r) => setTimeout(r, 5_000))]);
      } catch {
        // Cleaning up what is left: one failure must not stop the rest.
      }
    }
  })();
  return cleaning;
}

/** Ctrl-C, SIGTERM and crashes all end with every child killed and every cleanup run. */
export function cleanUpOnExit(log: (line: string) => void): void {
  const bail = (why: string, code: number) => {
    log(`bench: ${why}; cleaning up`);
    void cleanupAll().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => bail('interrupted', 130));
  process.once('SIGTERM', () => bail('terminated', 143));
  process.once('uncaughtException', (err) => bail(`failed: ${err.stack ?? err}`, 1));
  process.once('unhandledRejection', (err) => bail(`failed: ${(err as Error)?.stack ?? err}`, 1));
  // Children are killed even when the process exits without the handlers above.
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}
