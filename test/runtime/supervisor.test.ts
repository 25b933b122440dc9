// The generic supervisor on real children: node processes that exit or are killed, a
// worker thread that throws, a start that waits while something it needs is missing,
// and a stop that ends the child and every restart to come.
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { afterEach, expect, it } from 'vitest';
import { childRun, Supervisor, workerRun } from '../../src/runtime/supervisor.ts';
import { waitFor } from '../support/wait.ts';

const supervisors: Supervisor[] = [];
afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stop()));
});

function supervise(o: ConstructorParameters<typeof Supervisor>[0]): Supervisor {
  const s = new Supervisor(o);
  supervisors.push(s);
  return s;
}

const node = (script: string) => spawn(process.execPath, ['-e', script], { stdio: 'ignore' });

it('restarts a process that exits, with a backoff doubling to its max, counting restarts and keeping the reason', async () => {
  const log: string[] = [];
  const pids: number[] = [];
  const s = supervise({
    name: 'exiter', log: (l) => log.push(l), minBackoffMs: 10, maxBackoffMs: 40,
    run: () => {
      const child = node('process.exit(3)');
      pids.push(child.pid!);
      return childRun(child);
    },
  });
  s.start();
  await waitFor(() => s.state().restarts >= 4, 'four restarts');
  expect(new Set(pids).size).toBe(pids.length);
  expect(s.state().lastExit).toBe('exit code 3');
  // The waits the log announces: 10, 20, 40, then never more than the max.
  const waits = log.map((l) => Number(/restarting in (\d+) ms/.exec(l)![1]));
  expect(waits.slice(0, 4)).toEqual([10, 20, 40, 40]);
  expect(log[0]).toBe('exiter ended (exit code 3); restarting in 10 ms (restart 1)');
  await s.stop();
  const stopped = s.state().restarts;
  expect(s.state().phase).toBe('stopped');
  // Stopped means no restart comes later.
  await new Promise((r) => setTimeout(r, 100));
  expect(s.state().restarts).toBe(stopped);
});

it('restarts a process killed with SIGKILL and says so; stop() ends the running one', async () => {
  const pids: number[] = [];
  const phases: string[] = [];
  const s = supervise({
    name: 'sleeper', minBackoffMs: 10, onChange: (st) => phases.push(st.phase),
    run: () => {
      const child = node('setInterval(() => {}, 1000)');
      pids.push(child.pid!);
      return childRun(child, { graceMs: 2000 });
    },
  });
  const first = s.start()!;
  process.kill(pids[0], 'SIGKILL');
  expect(await first.ended).toEqual({ reason: 'SIGKILL', restart: true });
  await waitFor(() => s.state().phase === 'running' && s.state().restarts === 1, 'the restarted child');
  expect(s.state().lastExit).toBe('SIGKILL');
  expect(phases).toEqual(['running', 'backoff', 'running']);
  const second = s.current!;
  await s.stop();
  // The child is gone (signal 0 finds no process) and its end says it was not to be restarted.
  expect(await second.ended).toEqual({ reason: 'SIGTERM', restart: false });
  expect(() => process.kill(pids[1], 0)).toThrow(/ESRCH/);
  expect(s.state()).toMatchObject({ phase: 'stopped', restarts: 1 });
});

it('does not restart a run that ended for good', async () => {
  const s = supervise({
    name: 'once', minBackoffMs: 10,
    run: () => ({ ended: Promise.resolve({ reason: 'finished', restart: false }), stop: async () => {} }),
  });
  s.start();
  await waitFor(() => s.state().phase === 'ended');
  expect(s.state()).toEqual({ phase: 'ended', restarts: 0, lastExit: 'finished' });
});

it('waits while blocked() names what is missing, checking again on its backoff, and starts once it is there', async () => {
  let present = false;
  let checks = 0;
  let runs = 0;
  const s = supervise({
    name: 'device user', minBackoffMs: 5, maxBackoffMs: 20,
    blocked: () => {
      checks++;
      return present ? undefined : 'device x is gone; waiting for it';
    },
    run: () => {
      runs++;
      // The first run dies at once; later ones keep running.
      return childRun(node(runs === 1 ? 'process.exit(1)' : 'setInterval(() => {}, 1000)'));
    },
  });
  s.start();
  await waitFor(() => s.state().phase === 'waiting' && checks >= 3, 'a few checks while blocked');
  expect(s.state()).toMatchObject({ phase: 'waiting', waitingFor: 'device x is gone; waiting for it', lastExit: 'exit code 1', restarts: 0 });
  expect(runs).toBe(1);
  present = true;
  await waitFor(() => s.state().phase === 'running', 'the run once unblocked');
  expect(s.state()).toMatchObject({ phase: 'running', restarts: 1 });
  expect(runs).toBe(2);
});

it('restarts a worker thread that throws, with the error as the reason', async () => {
  let runs = 0;
  const s = supervise({
    name: 'worker', minBackoffMs: 5,
    run: () => {
      runs++;
      const code = runs === 1 ? 'throw new Error("boom")' : 'setInterval(() => {}, 1000)';
      return workerRun(new Worker(code, { eval: true }));
    },
  });
  s.start();
  await waitFor(() => s.state().phase === 'running' && s.state().restarts === 1, 'the worker started again');
  expect(s.state().lastExit).toBe('uncaught boom');
  await s.stop();
  expect(s.state().phase).toBe('stopped');
});

it('a run that cannot even start (a throw) is retried like one that ended', async () => {
  let runs = 0;
  const s = supervise({
    name: 'flaky', minBackoffMs: 5,
    run: () => {
      if (++runs < 3) throw new Error(`attempt ${runs} failed`);
      return childRun(node('setInterval(() => {}, 1000)'));
    },
  });
  s.start();
  await waitFor(() => s.state().phase === 'running');
  expect(s.state()).toMatchObject({ restarts: 2, lastExit: 'attempt 2 failed' });
});
