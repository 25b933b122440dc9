// Runs bpftrace and keeps it running through the generic supervisor (src/runtime/supervisor.ts:
// backoff doubling from `minBackoffMs` to `maxBackoffMs`, back to the minimum after a minute of
// running, restarts counted and logged). What is bpftrace's own lives here: how it is started,
// its output lines to `onLine`, the line that says its probes are attached.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { childRun, Supervisor, type SupervisedRun } from '../runtime/supervisor.ts';

export interface SupervisorOptions {
  bpftrace: string;
  program: string;
  onLine: (line: string) => void;
  log: (line: string) => void;
  /** Called each time bpftrace has attached its probes: it printed `readyLine`. */
  onAttached?: (pid: number) => void;
  readyLine: string;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** How long the agent leaves bpftrace's output pipe alone after reading it. */
export const READ_EVERY_MS = 5;

/** bpftrace's harmless warning on these kernels: not worth a log line. */
const QUIET = /couldn't set RLIMIT_MEMLOCK/;

export class BpftraceSupervisor {
  readonly #o: SupervisorOptions;
  readonly #supervisor: Supervisor;
  #pid: number | undefined;
  attached = false;

  constructor(o: SupervisorOptions) {
    this.#o = o;
    this.#supervisor = new Supervisor({
      name: 'agent: bpftrace',
      log: o.log,
      minBackoffMs: o.minBackoffMs ?? 250,
      maxBackoffMs: o.maxBackoffMs ?? 30_000,
      run: () => this.#run(),
    });
  }

  get pid(): number | undefined {
    return this.#pid;
  }

  get restarts(): number {
    return this.#supervisor.state().restarts;
  }

  start(): void {
    this.#supervisor.start();
  }

  stop(): Promise<void> {
    return this.#supervisor.stop();
  }

  #run(): SupervisedRun {
    const child = spawn(this.#o.bpftrace, ['-B', 'line', '-e', this.#o.program], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // A perf buffer of 4 MiB per CPU (bpftrace's default is 256 KiB) absorbs bursts of
      // thousands of connections while the agent is busy; what overflows is counted.
      env: { ...process.env, BPFTRACE_MAP_KEYS_MAX: '65536', BPFTRACE_STRLEN: '64', BPFTRACE_PERF_RB_PAGES: '1024' },
    });
    this.#pid = child.pid;
    this.attached = false;
    // Lines split by hand: thousands a second, and readline's machinery costs more than the
    // split. After each read the pipe is left alone for READ_EVERY_MS, so a busy bpftrace's
    // lines arrive many to a read (its writes wait in the pipe, then in its own buffer)
    // instead of waking the agent for each one.
    let rest = '';
    const out = child.stdout!;
    out.setEncoding('latin1');
    out.on('data', (chunk: string) => {
      out.pause();
      setTimeout(() => out.resume(), READ_EVERY_MS);
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        if (line === this.#o.readyLine) {
          this.attached = true;
          this.#o.log(`agent: bpftrace (pid ${child.pid}) running: probes attached`);
          this.#o.onAttached?.(child.pid!);
        } else if (!line.startsWith('Attaching ')) this.#o.onLine(line);
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (!QUIET.test(line) && line.trim()) this.#o.log(`agent: bpftrace: ${line}`);
    });
    const run = childRun(child, { stopSignal: 'SIGINT', graceMs: 3000 });
    void run.ended.then(() => {
      if (this.#pid === child.pid) this.#pid = undefined;
      this.attached = false;
    });
    return run;
  }
}
