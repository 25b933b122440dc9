// A monitored packet interface: a live capture device (`lo`, `eth1`) or a capture
// file replayed as if live (`pcap:/path`), feeding its own flow table. The capture
// runs in a child process (capture-process.ts) that hands over per-flow deltas;
// one that cannot be opened reports why and leaves the other interfaces alone.
import type { ChildProcess } from 'node:child_process';
import { Supervisor, type SupervisedRun, type SupervisorState } from '../runtime/supervisor.ts';
import { addCounters, CAPTURE_SUPERVISION, CaptureChild, deviceGone } from './capture-child.ts';
import { neededSnaplen, type CaptureCommand, type CaptureConfig } from '../capture/capture-protocol.ts';
import { SEEN_PACKETS, type Flow } from '../flows/flow-entry.ts';
import { FlowTable, type FlowTableOptions } from '../flows/flow-table.ts';
import { FlowTagLog, ownerMatches, ownersOf, type OwnerFilter } from '../recording/flow-tags.ts';
import type { CaptureCounters } from '../model/flow-delta.ts';
import type { ConditionalSinkSettings, ConditionalSinkStats } from '../model/conditional.ts';
import type { PushSinkConfig, PushTargetStats } from '../model/push.ts';
import type { RecordingSettings, RecordingStats } from '../model/recording.ts';
import type { OnDemandSinkConfig, OnDemandSinkStats } from '../model/ondemand.ts';
import { HostInterfaceTable } from './host-interfaces.ts';
import type { InterfaceStatus, PacketInterface as PacketInterfaceApi } from './interface.ts';

export interface PacketInterfaceOptions {
  id: number;
  name: string;
  /** Live capture device; or */
  device?: string;
  /** a capture file (pcap or pcapng) to replay. */
  file?: string;
  /** BPF filter (libpcap syntax), for devices and files alike. */
  filter?: string;
  /**
   * Flow table bounds and timeouts. A replayed file's flows are kept (no idle
   * timeout, no grace limit): the file is read once and stays on show.
   */
  flowTable?: Partial<FlowTableOptions>;
  /** Live: bytes kept of each packet (default 256: every header decoded fits). */
  snaplen?: number;
  /** Live: kernel ring size (default 32 MiB). */
  bufferBytes?: number;
  /** Live: promiscuous mode (default true: a mirror port's traffic is not addressed to us). */
  promiscuous?: boolean;
  /** Replay at the file's own pace rather than as fast as possible (default false). */
  pace?: boolean;
  /** Flows per hand-off batch; packets of further new flows are dropped and counted (default 65536). */
  maxBatchFlows?: number;
  /** Continuous recording of the packets (off when absent). */
  recording?: RecordingSettings;
  /** Push targets of the packets. */
  push?: PushSinkConfig[];
  /** The conditional store (packets of alerted flows), when this interface is chosen for it. */
  conditional?: ConditionalSinkSettings;
  /** Where restarts of the capture, and a device gone and back, are told (default: nowhere). */
  log?: (line: string) => void;
  /** Backoff of the capture's restarts (default CAPTURE_SUPERVISION: 250 ms doubling to 5 s, reset after a minute). */
  supervision?: Partial<typeof CAPTURE_SUPERVISION>;
}

const DEFAULTS = { snaplen: 256, bufferBytes: 32 * 1024 * 1024, promiscuous: true, pace: false, maxBatchFlows: 65_536 };
/** Batches the capture may have in flight before it holds them back (keeps aggregating). */
const MAX_INFLIGHT_BATCHES = 16;
/** Longest a stopped on-demand capture waits for the capture process to complete its pieces. */
const ONDEMAND_CLOSE_MS = 10_000;

export class PacketInterface implements PacketInterfaceApi {
  readonly kind = 'packet' as const;
  readonly id: number;
  readonly name: string;
  readonly device: string;
  /** A live device (not a replayed file). */
  readonly live: boolean;
  readonly flows: FlowTable;
  readonly hostCounters = new HostInterfaceTable();
  readonly #config: CaptureConfig;
  readonly #log: ((line: string) => void) | undefined;
  readonly #supervision: Partial<typeof CAPTURE_SUPERVISION> | undefined;
  #child: ChildProcess | undefined;
  #starting: Promise<void> | undefined;
  /** Keeps the capture process running (restarts it); undefined when stopped. */
  #supervisor: Supervisor | undefined;
  /** The first start failed (its process has ended): start() may try again. */
  #startFailed = false;
  /** Restarts counted by supervisors of earlier starts (a reopen for new sinks starts anew). */
  #restartsBefore = 0;
  #status: InterfaceStatus = { state: 'stopped' };
  #counters: CaptureCounters = { packets: 0, bytes: 0, errors: {} };
  #replayed: Promise<void> = Promise.resolve();
  /** Batches the flow table could not apply (counted as 'apply-error'). */
  #applyErrors = 0;
  /** What the capture process last said of its recording. */
  #recording: RecordingStats | undefined;
  /** Who made the recorded flows (recording interfaces only). */
  #tags: FlowTagLog | undefined;
  /** What each push target last reported. */
  #push = new Map<string, PushTargetStats>();
  /** The snapshot length the running capture opened with. */
  #openedSnaplen = 0;
  /** What the on-demand capture sink last reported. */
  #ondemand: OnDemandSinkStats | undefined;
  /** Flow keys with an alert, told to the capture's conditional store (bounded by its maxFlows). */
  readonly #alerted = new Set<string>();
  #conditionalStats: ConditionalSinkStats | undefined;
  /** Told of each on-demand report (a stop waits for its sink to close). */
  readonly #ondemandWatchers = new Set<(s: OnDemandSinkStats) => void>();

  constructor(options: PacketInterfaceOptions) {
    if ((options.device === undefined) === (options.file === undefined)) throw new Error(`interface ${options.name}: give a device or a file`);
    this.id = options.id;
    this.name = options.name;
    this.device = options.device ?? options.file!;
    this.live = options.device !== undefined;
    this.#log = options.log;
    this.#supervision = options.supervision;
    const o = { ...DEFAULTS, ...options };
    this.#config = {
      source: options.device !== undefined ? { device: options.device } : { file: options.file! },
      filter: options.filter,
      snaplen: o.snaplen,
      bufferBytes: o.bufferBytes,
      promiscuous: o.promiscuous,
      pace: o.pace,
      maxInflightBatches: MAX_INFLIGHT_BATCHES,
      maxBatchFlows: o.maxBatchFlows,
      recording: options.recording,
      push: options.push?.length ? options.push : undefined,
      conditional: options.conditional,
    };
    const keep = options.file !== undefined ? { idleTimeoutMs: Infinity, closedGraceMs: Infinity } : {};
    this.#tags = options.recording && new FlowTagLog(options.recording.dir);
    this.flows = new FlowTable({ ...options.flowTable, ...keep, onRemoved: (flow) => {
      this.#tag(flow);
      this.#conditionalEnded(flow.key);
      options.flowTable?.onRemoved?.(flow);
    } });
  }

  status(): InterfaceStatus {
    return { ...this.#status };
  }

  capture(): CaptureCounters {
    const errors = { ...this.#counters.errors };
    if (this.#applyErrors > 0) errors['apply-error'] = this.#applyErrors;
    return { ...this.#counters, errors };
  }

  /** The recording settings in force (undefined: not recording). */
  recordingSettings(): RecordingSettings | undefined {
    return this.#config.recording;
  }

  /** The recording's state and counters; `enabled: false` when this interface does not record. */
  recording(): RecordingStats {
    const s = this.#config.recording;
    if (!s) return { enabled: false, state: 'stopped', since: 0, packets: 0, bytes: 0, files: 0, diskBytes: 0, maxDiskBytes: 0, deletedFiles: 0, dropped: {}, log: [] };
    if (this.#recording) return { ...this.#recording, state: this.#child || this.#recording.state !== 'running' ? this.#recording.state : 'stopped' };
    return { enabled: true, state: 'stopped', since: 0, packets: 0, bytes: 0, files: 0, diskBytes: 0, maxDiskBytes: s.maxDiskBytes, deletedFiles: 0, dropped: {}, log: [] };
  }

  /** Turns recording on (or changes its settings) or off. */
  async setRecording(settings: RecordingSettings | undefined): Promise<void> {
    if (JSON.stringify(settings) === JSON.stringify(this.#config.recording)) return;
    this.#config.recording = settings;
    this.#recording = undefined;
    this.#tags = settings && new FlowTagLog(settings.dir);
    await this.#sinksChanged();
  }

  /** The push targets of this interface's packets (none: []). */
  async setPushTargets(targets: PushSinkConfig[]): Promise<void> {
    if (JSON.stringify(targets) === JSON.stringify(this.#config.push ?? [])) return;
    this.#config.push = targets.length ? targets : undefined;
    this.#push = new Map([...this.#push].filter(([desc]) => targets.some((t) => t.desc === desc)));
    await this.#sinksChanged();
  }

  /** What each push target last reported (from the capture process). */
  pushStats(): PushTargetStats[] {
    return [...this.#push.values()];
  }

  /**
   * Starts (config) or stops (undefined) this interface's on-demand capture sink. A stop
   * resolves once the capture process has completed the sink's pieces (or has ended).
   */
  async setOnDemandCapture(config: OnDemandSinkConfig | undefined): Promise<void> {
    const previous = this.#config.ondemand;
    if (JSON.stringify(config) === JSON.stringify(previous)) return;
    this.#config.ondemand = config;
    const closed = previous && this.#child ? this.#onDemandClosed(previous.runId, this.#child) : undefined;
    await this.#sinksChanged();
    await closed;
  }

  /** The conditional store's settings (undefined: this interface keeps no packets of alerted flows). */
  conditionalSettings(): ConditionalSinkSettings | undefined {
    return this.#config.conditional;
  }

  /** Turns the conditional store on, changes it, or (undefined) turns it off. */
  async setConditional(settings: ConditionalSinkSettings | undefined): Promise<void> {
    if (JSON.stringify(settings) === JSON.stringify(this.#config.conditional)) return;
    this.#config.conditional = settings;
    this.#conditionalStats = undefined;
    if (!settings) this.#alerted.clear();
    await this.#sinksChanged();
  }

  /**
   * Flows with an alert (flow keys of this interface's table): their packets go to the
   * conditional store from their look-back on, until they leave the table. Returns the
   * keys that were not alerted before.
   */
  alertFlows(keys: readonly string[]): string[] {
    const settings = this.#config.conditional;
    if (!settings) return [];
    const fresh = keys.filter((k) => !this.#alerted.has(k) && this.#alerted.size < settings.maxFlows);
    if (fresh.length === 0) return [];
    for (const k of fresh) this.#alerted.add(k);
    this.#sendConditional(fresh, []);
    return fresh;
  }

  /** What the conditional store last reported (undefined: none, or no report yet). */
  conditional(): ConditionalSinkStats | undefined {
    return this.#config.conditional ? this.#conditionalStats : undefined;
  }

  #conditionalEnded(key: string): void {
    if (this.#alerted.delete(key)) this.#sendConditional([], [key]);
  }

  #sendConditional(alerted: string[], ended: string[]): void {
    const child = this.#child;
    if (child?.connected) child.send({ type: 'conditional-flows', alerted, ended } satisfies CaptureCommand, () => {});
  }

  /** What the on-demand capture sink last reported (its run id says which capture). */
  onDemandStats(): OnDemandSinkStats | undefined {
    return this.#ondemand;
  }

  #onDemandClosed(runId: string, child: ChildProcess): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#ondemandWatchers.delete(watch);
        child.off('close', done);
        resolve();
      };
      const watch = (s: OnDemandSinkStats) => {
        if (s.runId === runId && s.state !== 'running') done();
      };
      const timer = setTimeout(done, ONDEMAND_CLOSE_MS);
      this.#ondemandWatchers.add(watch);
      child.once('close', done);
    });
  }

  #onDemandReport(s: OnDemandSinkStats | undefined): void {
    if (!s) return;
    this.#ondemand = s;
    for (const watch of [...this.#ondemandWatchers]) watch(s);
  }

  /**
   * A running capture takes new sinks as it runs when its snapshot length suits them;
   * one that needs longer packets reopens the device (its flows stay; packets during
   * the ~second of reopening are not seen).
   */
  async #sinksChanged(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    if (this.#openedSnaplen >= neededSnaplen(this.#config) && child.connected) {
      child.send({ type: 'sinks', recording: this.#config.recording, push: this.#config.push, ondemand: this.#config.ondemand, conditional: this.#config.conditional } satisfies CaptureCommand, () => {});
      return;
    }
    await this.stop();
    await this.start();
  }

  /**
   * Keys of the flows between `fromMs` and `toMs` whose process, user or container
   * match `filter`: flows still in the table, and recorded flows that left it.
   */
  recordedFlowKeys(filter: OwnerFilter, fromMs: number, toMs: number): Set<string> {
    const keys = this.#tags?.keys(filter, fromMs, toMs) ?? new Set<string>();
    this.flows.forEach((flow) => {
      if (flow.lastSeen < fromMs || flow.firstSeen > toMs) return;
      if (ownersOf([flow.sideA, flow.sideB]).some((o) => ownerMatches(o, filter))) keys.add(flow.key);
    });
    return keys;
  }

  #tag(flow: Flow): void {
    if (!this.#tags || (!flow.sideA && !flow.sideB) || !(flow.seen & SEEN_PACKETS)) return;
    const sides = ownersOf([flow.sideA, flow.sideB]);
    if (sides.length === 0) return;
    try {
      this.#tags.append({ key: flow.key, firstMs: flow.firstSeen, lastMs: flow.lastSeen, sides });
      const oldest = this.#recording?.oldest;
      if (oldest !== undefined) this.#tags.compact(oldest);
    } catch {
      // A full disk: the recording reports it; flows still in the table stay findable.
    }
  }

  /** For a replayed file: resolves once every packet has been read and applied (or the replay failed). */
  replayed(): Promise<void> {
    return this.#replayed;
  }

  /**
   * Starts capturing; rejects with a clear message (naming the device) when it cannot.
   * Starting twice is one start. Once a live capture has run, a capture process that
   * ends on its own is started again by the supervisor (with backoff), and a device
   * that is gone is waited for; the flows held stay.
   */
  start(): Promise<void> {
    // Running already, or supervised (a replayed file stays running after its capture process ended).
    // A first start that failed (its process has ended, its supervisor with it) may be tried again.
    if (this.#startFailed) this.#supervisor = undefined;
    if (this.#supervisor || this.#child || this.#status.state === 'running') return this.#starting ?? Promise.resolve();
    this.#startFailed = false;
    // Counters are the interface's, not one capture's: they carry on across a reopen for new
    // sinks or a stop and start (Prometheus counters never go back while flowbridge runs).
    this.#status = { state: 'starting' };
    const supervisor = new Supervisor({
      name: `capture on ${this.device}`,
      run: (attempt) => this.#run(attempt),
      blocked: this.live ? () => deviceGone(this.device) : undefined,
      onChange: (s) => this.#supervised(s),
      log: this.#log && ((line) => this.#log!(`flowbridge: interface ${this.id} ${this.name}: ${line}`)),
      ...CAPTURE_SUPERVISION,
      ...this.#supervision,
    });
    this.#supervisor = supervisor;
    supervisor.start();
    return this.#starting!;
  }

  /** The capture process's pid while one runs. */
  get capturePid(): number | undefined {
    return this.#child?.pid;
  }

  /** Restarts of the capture process since this interface was made. */
  get restarts(): number {
    return this.#restartsBefore + (this.#supervisor?.state().restarts ?? 0);
  }

  /** The supervisor's word on the interface's status: down (and why) between runs. */
  #supervised(s: SupervisorState): void {
    const restarts = this.#restartsBefore + s.restarts;
    const shown = restarts > 0 ? { restarts } : {};
    if (s.phase === 'backoff') {
      const ms = Math.max(0, (s.nextStartAt ?? Date.now()) - Date.now());
      this.#status = { state: 'error', error: `${s.lastExit}; restarting in ${ms} ms`, ...shown };
    } else if (s.phase === 'waiting') {
      this.#status = { state: 'error', error: s.waitingFor, ...shown };
    } else if (restarts > 0 && this.#status.state !== 'stopped') {
      this.#status = { ...this.#status, ...shown };
    }
  }

  /** One capture process: ends with whether the supervisor should start another. */
  #run(attempt: number): SupervisedRun {
    // What the ended processes counted stays: counters carry on across restarts.
    const base = { ...this.#counters };
    const counted = (c: CaptureCounters) => { this.#counters = addCounters(base, c); };
    const sinksReported = (m: { recording?: RecordingStats; push?: PushTargetStats[]; ondemand?: OnDemandSinkStats; conditional?: ConditionalSinkStats }) => {
      if (m.recording) this.#recording = m.recording;
      for (const p of m.push ?? []) this.#push.set(p.desc, p);
      this.#onDemandReport(m.ondemand);
      if (m.conditional) this.#conditionalStats = m.conditional;
    };
    let finish: () => void = () => {};
    if (attempt === 0 && 'file' in this.#config.source) this.#replayed = new Promise((resolve) => (finish = resolve));
    let ready: () => void = () => {};
    let refused: (err: Error) => void = () => {};
    const starting = new Promise<void>((resolve, reject) => {
      ready = resolve;
      refused = reject;
    });
    // A failed start is reported by status(); callers that do not await it must not crash the process.
    starting.catch(() => {});
    if (attempt === 0) this.#starting = starting;
    let opened = false;
    /** Why the first start failed, if it did. */
    let firstError: string | undefined;
    const child: CaptureChild = new CaptureChild(this.#config, { device: this.device, live: this.live, attempt }, {
      ready: (m) => {
        opened = true;
        this.#openedSnaplen = m.snaplen;
        this.#status = { state: 'running', ...(this.restarts > 0 ? { restarts: this.restarts } : {}) };
        if (attempt > 0) this.#log?.(`flowbridge: interface ${this.id} ${this.name}: capture on ${this.device} runs again (restart ${this.restarts})`);
        // A capture reopened: its conditional store follows the flows alerted before.
        if (this.#alerted.size) child.send({ type: 'conditional-flows', alerted: [...this.#alerted], ended: [] });
        ready();
      },
      batch: (m) => {
        try {
          this.flows.applyPackets(m.deltas);
        } catch {
          // A bug of ours met by this batch: counted, and the capture goes on.
          this.#applyErrors++;
        } finally {
          child.send({ type: 'applied' });
        }
        counted(m.counters);
        sinksReported(m);
      },
      finished: (m) => {
        // The file is read: the capture process ends, the interface stays up showing its flows.
        counted(m.counters);
        sinksReported(m);
        finish();
      },
      failed: (message) => {
        // The first start's failure is the caller's to see (a wrong device or filter), once its process has ended.
        if (attempt === 0 && !opened) {
          this.#status = { state: 'error', error: message };
          firstError ??= message;
        }
        finish();
      },
      closed: (end) => {
        if (this.#child === child.process) this.#child = undefined;
        if (firstError !== undefined) {
          this.#startFailed = true;
          refused(new Error(firstError));
        }
        // Stopped before it was ready (a no-op once started).
        refused(new Error(`capture on ${this.device} was stopped`));
        finish();
        const ranOut = end.reason !== 'stopped' && end.reason !== 'finished' && !end.restart;
        if (ranOut) this.#status = { state: 'error', error: end.reason, ...(this.restarts > 0 ? { restarts: this.restarts } : {}) };
      },
    });
    this.#child = child.process;
    return child;
  }

  async stop(): Promise<void> {
    const supervisor = this.#supervisor;
    this.#supervisor = undefined;
    if (supervisor) this.#restartsBefore += supervisor.state().restarts;
    // Between runs (restarting, or waiting for its device) the interface was not capturing: now it is stopped.
    const between = supervisor && ['backoff', 'waiting'].includes(supervisor.state().phase);
    if (this.#status.state !== 'error' || between) this.#status = { state: 'stopped' };
    await supervisor?.stop();
  }
}
