// On-demand captures, one per packet interface at most: a start checks the request,
// clears the captures directory when asked, hands the interface's capture an on-demand
// sink (the capture reopens only if its snapshot length is too short) and notes the
// run beside its pieces; a stop waits for the sink to complete its pieces and moves
// them into the captures directory. A capture runs with no page open; stopping
// flowbridge stops it the same way, and a run a crash interrupted is moved in at start.
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PacketInterface } from '../interfaces/interface.ts';
import type { OnDemandRequest, OnDemandSinkConfig, OnDemandSinkStats, OnDemandStatus } from '../model/ondemand.ts';
import { makeDirs } from '../runtime/make-dirs.ts';
import { loadState, saveState } from '../runtime/state-file.ts';
import { captureRequest, CaptureRequestError, pieces } from './capture-request.ts';
import { CaptureStore, RUN_FILE, type RunFile } from './capture-store.ts';

/** How long a start waits for the capture to say whether its sink opened (a filter valid for Ethernet may not be for the link). */
const SINK_REPORT_MS = 5_000;
const LAST_RUNS = 'ondemand.json';

interface Run extends RunFile {
  iface: PacketInterface;
  dir: string;
}

/** The last run of an interface, shown while it is stopped (and kept across restarts). */
interface LastRun extends OnDemandRequest {
  startedBy: string;
  startedAt: number;
  stoppedAt: number;
  files: string[];
  bytes: number;
  packets: number;
  filteredOut: number;
  overwritten: number;
  dropped: Record<string, number>;
  error?: string;
}

export class OnDemandCaptures {
  readonly store: CaptureStore;
  readonly problems: string[] = [];
  /** Pieces a crash had left in .running, moved into the captures directory at start. */
  readonly recovered: string[];
  readonly #dataDir: string;
  readonly #running = new Map<number, Run>();
  /** Interfaces with a start or stop under way (a second one is refused, not queued). */
  readonly #busy = new Set<number>();
  readonly #last: Map<string, LastRun>;

  constructor(dataDir: string) {
    this.#dataDir = dataDir;
    this.store = new CaptureStore(dataDir);
    this.recovered = this.store.recover();
    const accept = (v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, LastRun>) : undefined);
    const { value, problem } = loadState<Record<string, LastRun>>(join(dataDir, LAST_RUNS), {}, accept, 'an object of last runs by interface', 'on-demand capture runs');
    this.#last = new Map(Object.entries(value));
    this.problems.push(...this.store.problems, ...(problem ? [problem] : []));
  }

  status(iface: PacketInterface): OnDemandStatus {
    const run = this.#running.get(iface.id);
    if (run) {
      const s = this.#report(run);
      const files = [...(s?.pieces ?? []), ...(s?.current ? [s.current] : [])];
      return {
        interface: iface.name, status: 'Running', filter: run.filter, maxCaptureMB: run.maxCaptureMB, deleteFilesOnStart: run.deleteFilesOnStart,
        startedBy: run.startedBy, startedAt: new Date(run.startedAt).toISOString(), stoppedAt: null,
        bytes: files.reduce((n, f) => n + f.bytes, 0), files: files.map((f) => f.name),
        packets: s?.packets ?? 0, filteredOut: s?.filteredOut ?? 0, overwritten: s?.overwritten ?? 0, dropped: s?.dropped ?? {}, ...(s?.error ? { error: s.error } : {}),
      };
    }
    const last = this.#last.get(iface.name);
    if (!last) {
      return {
        interface: iface.name, status: 'Stopped', filter: '', maxCaptureMB: 10, deleteFilesOnStart: false, startedBy: null, startedAt: null, stoppedAt: null,
        bytes: 0, files: [], packets: 0, filteredOut: 0, overwritten: 0, dropped: {},
      };
    }
    const { startedAt, stoppedAt, ...rest } = last;
    return { interface: iface.name, status: 'Stopped', ...rest, startedAt: new Date(startedAt).toISOString(), stoppedAt: new Date(stoppedAt).toISOString() };
  }

  /** Starts a capture on `iface` for `startedBy`; refuses (changing nothing) what cannot run. */
  async start(iface: PacketInterface, body: unknown, startedBy: string): Promise<OnDemandStatus> {
    const running = this.#running.get(iface.id);
    if (running) {
      throw new CaptureRequestError(`a capture is already running on ${iface.name} (started by ${running.startedBy} at ${new Date(running.startedAt).toISOString()}): stop it first with POST /api/v1/interfaces/${iface.id}/capture/stop`, 409);
    }
    if (this.#busy.has(iface.id)) throw new CaptureRequestError(`a capture on ${iface.name} is starting or stopping: try again when it has`, 409);
    if (!iface.live) throw new CaptureRequestError(`${iface.name} replays a file: on-demand capture needs a live device (${iface.device})`, 400);
    const request = captureRequest(body);
    const state = iface.status();
    if (state.state === 'error' || state.state === 'stopped') {
      throw new CaptureRequestError(`the capture of ${iface.name} is not running (${state.state}${state.error ? `: ${state.error}` : ''}): nothing to capture from`, 409);
    }
    this.#busy.add(iface.id);
    try {
      if (request.deleteFilesOnStart) this.store.clear();
      const startedAt = Date.now();
      const run: Run = { runId: randomUUID(), interface: iface.name, startedBy, startedAt, ...request, iface, dir: this.store.runDir(iface.name) };
      rmSync(run.dir, { recursive: true, force: true });
      makeDirs(run.dir);
      const { iface: _, dir: __, ...file } = run;
      writeFileSync(join(run.dir, RUN_FILE), JSON.stringify(file, null, 2) + '\n');
      const config: OnDemandSinkConfig = { runId: run.runId, dir: run.dir, baseName: this.store.freeBase(startedAt), filter: request.filter, ...pieces(request.maxCaptureMB) };
      this.#running.set(iface.id, run);
      try {
        await iface.setOnDemandCapture(config);
        const report = await this.#firstReport(run);
        if (report?.state === 'failed') throw new CaptureRequestError(report.error ?? 'the capture could not start its on-demand sink', 400);
      } catch (err) {
        this.#running.delete(iface.id);
        await iface.setOnDemandCapture(undefined).catch(() => {});
        rmSync(run.dir, { recursive: true, force: true });
        if (err instanceof CaptureRequestError) throw err;
        throw new CaptureRequestError(`the capture of ${iface.name} could not take the on-demand capture: ${(err as Error).message}`, 409);
      }
      return this.status(iface);
    } finally {
      this.#busy.delete(iface.id);
    }
  }

  /** Stops the capture of `iface`: its pieces are completed and moved into the captures directory. */
  async stop(iface: PacketInterface): Promise<OnDemandStatus> {
    const run = this.#running.get(iface.id);
    if (!run || this.#busy.has(iface.id)) throw new CaptureRequestError(`no capture is running on ${iface.name}${run ? ' (it is starting or stopping)' : ''}: start one with POST /api/v1/interfaces/${iface.id}/capture/start`, 409);
    this.#busy.add(iface.id);
    try {
      await iface.setOnDemandCapture(undefined);
      const s = this.#report(run);
      const files = this.store.moveIn(run.dir, iface.name, run.startedBy);
      const sizes = new Map(this.store.list().map((f) => [f.name, f.bytes]));
      this.#last.set(iface.name, {
        filter: run.filter, maxCaptureMB: run.maxCaptureMB, deleteFilesOnStart: run.deleteFilesOnStart, startedBy: run.startedBy, startedAt: run.startedAt, stoppedAt: Date.now(),
        files, bytes: files.reduce((n, f) => n + (sizes.get(f) ?? 0), 0),
        packets: s?.packets ?? 0, filteredOut: s?.filteredOut ?? 0, overwritten: s?.overwritten ?? 0, dropped: s?.dropped ?? {}, ...(s?.error ? { error: s.error } : {}),
      });
      this.#running.delete(iface.id);
      saveState(join(this.#dataDir, LAST_RUNS), Object.fromEntries(this.#last));
      return this.status(iface);
    } finally {
      this.#busy.delete(iface.id);
    }
  }

  /** Stops every running capture (flowbridge is stopping): their pieces are kept. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#running.values()].map((run) => this.stop(run.iface).catch(() => {})));
  }

  /** Running captures now (for telemetry). */
  get runningCount(): number {
    return this.#running.size;
  }

  #report(run: Run): OnDemandSinkStats | undefined {
    const s = run.iface.onDemandStats();
    return s?.runId === run.runId ? s : undefined;
  }

  /** Waits (bounded) for the capture's first word on this run's sink. */
  async #firstReport(run: Run): Promise<OnDemandSinkStats | undefined> {
    const deadline = Date.now() + SINK_REPORT_MS;
    for (;;) {
      const s = this.#report(run);
      if (s || Date.now() > deadline || run.iface.status().state !== 'running') return s;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
