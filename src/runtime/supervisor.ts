// Keeps one child (a process, a worker thread, anything that runs and may end) running:
// when a run ends and says it should run again, the next one starts after a backoff
// that doubles from `minBackoffMs` to `maxBackoffMs`, back to the minimum once a run
// lasted `stableMs`. Before each restart an optional check may say why not now (a
// capture device that is gone): the supervisor then waits, checking again on the same
// backoff, and says what it waits for. Restarts are counted, the last end's reason is
// kept, and stop() ends the run in hand and every restart to come.
//
// A run is two things: a promise of how it ended, and a way to end it. `childRun` and
// `workerRun` make one of a ChildProcess or a Worker; a caller with its own stop
// protocol (a message first, a signal later) builds its own.
import type { ChildProcess } from 'node:child_process';
import type { Worker } from 'node:worker_threads';

/** How a run ended: why, and whether it should be started again (false: a clean or final end). */
export interface RunEnd {
  reason: string;
  restart: boolean;
}

export interface SupervisedRun {
  /** Settles once the run has ended (never rejects). */
  readonly ended: Promise<RunEnd>;
  /** Asks the run to end; resolves once it has. */
  stop(): Promise<void>;
}

export type SupervisorPhase =
  /** A run is in hand. */
  | 'running'
  /** The last run ended; the next starts at `nextStartAt`. */
  | 'backoff'
  /** `blocked()` said why not now (`waitingFor`); checked again at `nextStartAt`. */
  | 'waiting'
  /** The last run ended for good (restart: false). */
  | 'ended'
  | 'stopped';

export interface SupervisorState {
  phase: SupervisorPhase;
  /** Runs started after the first. */
  restarts: number;
  /** Why the last run ended. */
  lastExit?: string;
  /** What a restart waits for (phase `waiting`). */
  waitingFor?: string;
  /** Epoch ms of the next start or check (phases `backoff`, `waiting`). */
  nextStartAt?: number;
}

export interface SupervisorOptions {
  /** Starts one run (`attempt` 0 is the first). A throw is an end that is restarted. */
  run: (attempt: number) => SupervisedRun;
  /** Checked before each restart: a reason not to start now, or undefined to start. */
  blocked?: () => string | undefined;
  /** Told of every change of state (after it happened). */
  onChange?: (state: SupervisorState) => void;
  log?: (line: string) => void;
  /** What the log lines call the child (`capture on lo`). */
  name: string;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A run that lasted this long resets the backoff to the minimum. */
  stableMs?: number;
}

export const SUPERVISOR_DEFAULTS = { minBackoffMs: 250, maxBackoffMs: 30_000, stableMs: 60_000 };

export class Supervisor {
  readonly #o: SupervisorOptions & typeof SUPERVISOR_DEFAULTS;
  #state: SupervisorState = { phase: 'stopped', restarts: 0 };
  #run: SupervisedRun | undefined;
  #timer: NodeJS.Timeout | undefined;
  #backoff: number;
  #attempt = 0;
  #stopped = false;

  constructor(options: SupervisorOptions) {
    this.#o = { ...SUPERVISOR_DEFAULTS, ...options };
    this.#backoff = this.#o.minBackoffMs;
  }

  state(): SupervisorState {
    return { ...this.#state };
  }

  /** The run in hand (undefined between runs). */
  get current(): SupervisedRun | undefined {
    return this.#run;
  }

  /** Starts the first run now; returns it. */
  start(): SupervisedRun | undefined {
    this.#stopped = false;
    this.#launch();
    return this.#run;
  }

  /** Ends the run in hand and cancels any restart; resolves once the run has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const run = this.#run;
    this.#set({ phase: 'stopped', restarts: this.#state.restarts, lastExit: this.#state.lastExit });
    if (run) await run.stop();
  }

  #set(state: SupervisorState): void {
    this.#state = state;
    this.#o.onChange?.(this.state());
  }

  #launch(): void {
    if (this.#stopped) return;
    const attempt = this.#attempt++;
    const restarts = this.#state.restarts + (attempt > 0 ? 1 : 0);
    const startedAt = Date.now();
    let run: SupervisedRun;
    try {
      run = this.#o.run(attempt);
    } catch (err) {
      this.#state = { ...this.#state, restarts };
      this.#ended({ reason: (err as Error).message, restart: true }, startedAt);
      return;
    }
    this.#run = run;
    this.#set({ phase: 'running', restarts, lastExit: this.#state.lastExit });
    void run.ended.then((end) => {
      if (this.#run !== run) return;
      this.#run = undefined;
      this.#ended(end, startedAt);
    });
  }

  #ended(end: RunEnd, startedAt: number): void {
    const { restarts } = this.#state;
    if (this.#stopped) {
      this.#set({ phase: 'stopped', restarts, lastExit: end.reason });
      return;
    }
    if (!end.restart) {
      this.#set({ phase: 'ended', restarts, lastExit: end.reason });
      return;
    }
    if (Date.now() - startedAt >= this.#o.stableMs) this.#backoff = this.#o.minBackoffMs;
    this.#schedule(end.reason);
  }

  /** Waits one backoff, then starts (or, when blocked, waits again). */
  #schedule(lastExit: string, waitingFor?: string): void {
    const wait = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, this.#o.maxBackoffMs);
    const { restarts } = this.#state;
    this.#set({ phase: waitingFor ? 'waiting' : 'backoff', restarts, lastExit, nextStartAt: Date.now() + wait, ...(waitingFor ? { waitingFor } : {}) });
    if (!waitingFor) this.#o.log?.(`${this.#o.name} ended (${lastExit}); restarting in ${wait} ms (restart ${restarts + 1})`);
    this.#timer = setTimeout(() => {
      if (this.#stopped) return;
      const blocked = this.#o.blocked?.();
      if (blocked) {
        if (blocked !== waitingFor) this.#o.log?.(`${this.#o.name}: ${blocked}`);
        this.#schedule(lastExit, blocked);
        return;
      }
      this.#launch();
    }, wait);
    this.#timer.unref?.();
  }
}

const exitReason = (code: number | null, signal: NodeJS.Signals | null) => (signal ? `${signal}` : `exit code ${code}`);

/**
 * A child process as a run: it ends when the process has closed (every message it sent
 * handled); stop() sends `stopSignal`, then SIGKILL after `graceMs`. Any end but a stop
 * is restarted.
 */
export function childRun(child: ChildProcess, options: { stopSignal?: NodeJS.Signals; graceMs?: number } = {}): SupervisedRun {
  let stopping = false;
  const closed = new Promise<RunEnd>((resolve) => {
    child.once('error', (err) => {
      // Never spawned: no 'close' comes.
      if (child.pid === undefined) resolve({ reason: err.message, restart: !stopping });
    });
    child.once('close', (code, signal) => resolve({ reason: exitReason(code, signal), restart: !stopping }));
  });
  return {
    ended: closed,
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return void (await closed);
      child.kill(options.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), options.graceMs ?? 5_000);
      await closed;
      clearTimeout(timer);
    },
  };
}

/** A worker thread as a run: it ends when the thread exits (an uncaught error is its reason); stop() terminates it. */
export function workerRun(worker: Worker): SupervisedRun {
  let stopping = false;
  let error: Error | undefined;
  worker.on('error', (err) => (error = err));
  const exited = new Promise<RunEnd>((resolve) => {
    worker.once('exit', (code) => resolve({ reason: error ? `uncaught ${error.message}` : `exit code ${code}`, restart: !stopping }));
  });
  return {
    ended: exited,
    async stop() {
      stopping = true;
      await worker.terminate();
      await exited;
    },
  };
}
