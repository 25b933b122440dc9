// Runs bpftrace and keeps it running: its output lines go to `onLine`; when it exits
// it is started again after a backoff that doubles from `minBackoffMs` to `maxBackoffMs`
// (back to the minimum once a run lasted a minute), and every exit and restart is logged.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

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
  readonly #o: Required<Omit<SupervisorOptions, 'onAttached'>> & Pick<SupervisorOptions, 'onAttached'>;
  #child: ChildProcess | undefined;
  #timer: NodeJS.Timeout | undefined;
  #backoff: number;
  #stopped = false;
  restarts = 0;
  attached = false;

  constructor(o: SupervisorOptions) {
    this.#o = { minBackoffMs: 250, maxBackoffMs: 30_000, ...o };
    this.#backoff = this.#o.minBackoffMs;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): void {
    if (this.#stopped) return;
    const startedAt = Date.now();
    const child = spawn(this.#o.bpftrace, ['-B', 'line', '-e', this.#o.program], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // A perf buffer of 4 MiB per CPU (bpftrace's default is 256 KiB) absorbs bursts of
      // thousands of connections while the agent is busy; what overflows is counted.
      env: { ...process.env, BPFTRACE_MAP_KEYS_MAX: '65536', BPFTRACE_STRLEN: '64', BPFTRACE_PERF_RB_PAGES: '1024' },
    });
    this.#child = child;
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
    child.on('error', (err) => this.#o.log(`agent: bpftrace could not start: ${err.message}`));
    child.on('close', (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      this.attached = false;
      if (this.#stopped) return;
      if (Date.now() - startedAt > 60_000) this.#backoff = this.#o.minBackoffMs;
      const wait = this.#backoff;
      this.#backoff = Math.min(this.#backoff * 2, this.#o.maxBackoffMs);
      this.restarts++;
      this.#o.log(`agent: bpftrace (pid ${child.pid}) exited (${signal ? `signal ${signal}` : `code ${code}`}); restarting in ${wait} ms (restart ${this.restarts})`);
      this.#timer = setTimeout(() => this.start(), wait);
    });
  }

  stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const child = this.#child;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('close', () => resolve());
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    });
  }
}
