// A stop with a bound: one that finishes says nothing is left; one held up by a child
// that will not end in time returns what it had not done when the bound passed.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, expect, it } from 'vitest';
import { stopWithin } from '../../src/runtime/graceful-stop.ts';
import { childRun } from '../../src/runtime/supervisor.ts';

const stubborn: ChildProcess[] = [];
afterEach(() => {
  for (const c of stubborn.splice(0)) c.kill('SIGKILL');
});

it('returns nothing left when the stop finishes within the bound', async () => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const run = childRun(child);
  expect(await stopWithin(() => run.stop(), () => ['never asked'], 10_000)).toBeUndefined();
  expect(child.signalCode).toBe('SIGTERM');
});

it('returns the steps not done when the bound passes first, and a stop that throws still ends', async () => {
  // A child that ignores SIGTERM: its stop waits for the SIGKILL a minute later.
  const child = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000); console.log("ready")'], { stdio: ['ignore', 'pipe', 'ignore'] });
  stubborn.push(child);
  // Once it says so, its handler is in place.
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  const run = childRun(child, { graceMs: 60_000 });
  const pending = new Set<string>();
  const stop = async () => {
    pending.add('stubborn child');
    await run.stop();
    pending.delete('stubborn child');
  };
  expect(await stopWithin(stop, () => [...pending], 500)).toEqual(['stubborn child']);
  expect(child.exitCode).toBeNull();
  expect(await stopWithin(async () => { throw new Error('broken'); }, () => [], 10_000)).toBeUndefined();
});
