// One capture process as a packet interface runs it: forked with the capture's
// configuration (capture-process.ts), its messages handed to the interface, stopped with
// a 'stop' message (SIGKILL after a grace), and its end told to the supervisor: started
// again when a live capture that ran (or a restart) ended on its own; not when it was
// stopped, a replayed file was read to its end, or the first start failed (a wrong
// device or filter is the caller's to see, and a replay started again would count its
// file twice). Also: how captures are restarted, and what counts across their processes.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CaptureCommand, CaptureConfig, CaptureMessage } from '../capture/capture-protocol.ts';
import type { CaptureCounters } from '../model/flow-delta.ts';
import type { RunEnd, SupervisedRun } from '../runtime/supervisor.ts';
import { TSX_LOADER } from '../runtime/ts-worker.ts';

/** How long a capture may take to complete its files after 'stop' before it is killed. */
const STOP_GRACE_MS = 2_000;

export interface CaptureChildHandlers {
  /** The device (or file) is open. */
  ready(m: Extract<CaptureMessage, { type: 'ready' }>): void;
  batch(m: Extract<CaptureMessage, { type: 'batch' }>): void;
  /** A replayed file was read to its end (every batch before this). */
  finished(m: Extract<CaptureMessage, { type: 'finished' }>): void;
  /** The capture cannot start or go on: why (before its end). */
  failed(message: string): void;
  /** The process has closed (every message it sent handled before). */
  closed(end: RunEnd): void;
}

export class CaptureChild implements SupervisedRun {
  readonly process: ChildProcess;
  readonly ended: Promise<RunEnd>;
  #stopping = false;

  constructor(config: CaptureConfig, o: { device: string; live: boolean; attempt: number }, on: CaptureChildHandlers) {
    const child = fork(fileURLToPath(new URL('../capture/capture-process.ts', import.meta.url)), [], {
      execArgv: ['--import', TSX_LOADER],
      env: { ...process.env, FLOWBRIDGE_CAPTURE: JSON.stringify(config) },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.process = child;
    let ready = false;
    let finished = false;
    /** What the capture said before it ended, if anything. */
    let lastError: string | undefined;
    child.on('message', (m: CaptureMessage) => {
      switch (m.type) {
        case 'ready':
          ready = true;
          on.ready(m);
          break;
        case 'error':
          lastError = m.message;
          on.failed(m.message);
          break;
        case 'batch':
          on.batch(m);
          break;
        case 'finished':
          finished = true;
          on.finished(m);
          break;
      }
    });
    child.on('error', (err) => {
      lastError ??= `capture on ${o.device} failed: ${err.message}`;
      on.failed(lastError);
    });
    this.ended = new Promise<RunEnd>((resolve) => {
      // 'close', not 'exit': it comes after every message the capture sent has been handled.
      child.on('close', (code, signal) => {
        let end: RunEnd;
        if (this.#stopping || finished) end = { reason: finished ? 'finished' : 'stopped', restart: false };
        else {
          const reason = lastError ?? `capture on ${o.device} ended unexpectedly (${signal ?? `exit code ${code}`})`;
          // A live capture that ran, or a restart, goes again.
          end = { reason, restart: o.live && (ready || o.attempt > 0) };
          if (!lastError) on.failed(reason);
        }
        on.closed(end);
        resolve(end);
      });
    });
  }

  /** Tells the capture `c`, unless it has ended meanwhile (a finished replay): nothing to tell it then. */
  send(c: CaptureCommand): void {
    if (this.process.connected) this.process.send(c, () => {});
  }

  /** Stops reading; the capture completes its files and sends its last batch (killed if it takes too long). */
  async stop(): Promise<void> {
    this.#stopping = true;
    const child = this.process;
    if (child.exitCode !== null || child.signalCode !== null) return void (await this.ended);
    this.send({ type: 'stop' });
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.ended;
    clearTimeout(timer);
  }
}

/** Restarts of a capture: quick at first, at most every 5 s (a device coming back is seen within that). */
export const CAPTURE_SUPERVISION = { minBackoffMs: 250, maxBackoffMs: 5_000, stableMs: 60_000 };

/** Why a live capture cannot start now: its device is gone (no netlink: the kernel's sysfs says). */
export function deviceGone(device: string): string | undefined {
  if (device === 'any' || existsSync(`/sys/class/net/${device}`)) return undefined;
  return `device ${device} is gone; waiting for it`;
}

/** The counters of capture processes that ended plus the running one's (an interface's counters never go back). */
export function addCounters(a: CaptureCounters, b: CaptureCounters): CaptureCounters {
  const errors = { ...a.errors };
  for (const [k, n] of Object.entries(b.errors)) errors[k] = (errors[k] ?? 0) + n;
  const c: CaptureCounters = { packets: a.packets + b.packets, bytes: a.bytes + b.bytes, errors };
  if (a.kernelDrops !== undefined || b.kernelDrops !== undefined) c.kernelDrops = (a.kernelDrops ?? 0) + (b.kernelDrops ?? 0);
  return c;
}
