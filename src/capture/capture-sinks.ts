// The sinks of one capture: the continuous recording and the push targets, fed every
// whole packet the capture reads, changed while the capture runs (a sink whose settings
// changed is closed and opened anew; the others go on untouched).
import { ConditionalSink } from '../conditional/conditional-sink.ts';
import type { ConditionalSinkSettings, ConditionalSinkStats } from '../model/conditional.ts';
import type { PushSinkConfig, PushTargetStats } from '../model/push.ts';
import type { RecordingSettings, RecordingStats } from '../model/recording.ts';
import { completeLeftSplits } from '../push/left-splits.ts';
import { PushLog } from '../push/push-log.ts';
import { PushSink } from '../push/push-sink.ts';
import type { OnDemandSinkConfig, OnDemandSinkStats } from '../model/ondemand.ts';
import { OnDemandSink } from '../ondemand/ondemand-sink.ts';
import type { SlotKeys } from '../recording/file-index.ts';
import { RecordingWriter } from '../recording/writer.ts';

export interface SinksConfig {
  recording?: RecordingSettings;
  push?: PushSinkConfig[];
  /** The conditional store (the packets of alerted flows). */
  conditional?: ConditionalSinkSettings;
  ondemand?: OnDemandSinkConfig;
}

export interface SinksReport {
  recording?: RecordingStats;
  push?: PushTargetStats[];
  conditional?: ConditionalSinkStats;
  /** The on-demand capture running, or the last one (closed: its pieces are complete). */
  ondemand?: OnDemandSinkStats;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export class CaptureSinks {
  readonly #dlt: number;
  readonly #snaplen: number;
  readonly #nanoseconds: boolean;
  #recording: RecordingWriter | undefined;
  #recordingSettings: RecordingSettings | undefined;
  readonly #push = new Map<string, { config: PushSinkConfig; sink: PushSink }>();
  /** Targets whose sink could not be made, and why. */
  readonly #failed = new Map<string, PushTargetStats>();
  #ondemand: { config: OnDemandSinkConfig; sink: OnDemandSink } | undefined;
  /** What the last on-demand capture said when it closed (or why it could not start). */
  #ondemandLast: OnDemandSinkStats | undefined;
  #conditional: { settings: ConditionalSinkSettings; sink: ConditionalSink } | undefined;
  /** Every sink, for the per-packet loop. */
  #all: (RecordingWriter | PushSink | OnDemandSink | ConditionalSink)[] = [];

  constructor(dlt: number, snaplen: number, nanoseconds: boolean) {
    this.#dlt = dlt;
    this.#snaplen = snaplen;
    this.#nanoseconds = nanoseconds;
  }

  get empty(): boolean {
    return this.#all.length === 0;
  }

  configure(c: SinksConfig): void {
    if (!same(c.recording, this.#recordingSettings)) {
      this.#recording?.close();
      this.#recordingSettings = c.recording;
      this.#recording = c.recording && new RecordingWriter(c.recording, this.#dlt, this.#nanoseconds);
    }
    const wanted = new Map((c.push ?? []).map((p) => [p.desc, p]));
    for (const [desc, { config, sink }] of this.#push) {
      if (same(wanted.get(desc), config)) continue;
      sink.close();
      this.#push.delete(desc);
    }
    this.#failed.clear();
    for (const [desc, config] of wanted) {
      if (this.#push.has(desc)) continue;
      try {
        // Splits an earlier capture process left when it was killed are completed first.
        const left = completeLeftSplits(config);
        if (left.length) {
          const log = new PushLog(config.logPath);
          for (const line of left) log.line(line);
        }
        this.#push.set(desc, { config, sink: new PushSink(config, this.#dlt, this.#snaplen, this.#nanoseconds) });
      } catch (err) {
        this.#failed.set(desc, { desc, state: 'failed', error: (err as Error).message, files: 0, bytes: 0, packets: 0, filteredOut: 0, dropped: {} });
      }
    }
    if (!same(c.ondemand, this.#ondemand?.config)) this.#configureOnDemand(c.ondemand);
    if (!same(c.conditional, this.#conditional?.settings)) {
      this.#conditional?.sink.close();
      this.#conditional = c.conditional && { settings: c.conditional, sink: new ConditionalSink(c.conditional, this.#dlt, this.#nanoseconds) };
    }
    this.#all = [...(this.#conditional ? [this.#conditional.sink] : []), ...(this.#recording ? [this.#recording] : []), ...[...this.#push.values()].map((p) => p.sink), ...(this.#ondemand ? [this.#ondemand.sink] : [])];
  }

  #configureOnDemand(config: OnDemandSinkConfig | undefined): void {
    if (this.#ondemand) {
      this.#ondemand.sink.close();
      this.#ondemandLast = this.#ondemand.sink.stats();
      this.#ondemand = undefined;
    }
    if (!config) return;
    try {
      this.#ondemand = { config, sink: new OnDemandSink(config, this.#dlt, this.#snaplen, this.#nanoseconds) };
    } catch (err) {
      this.#ondemandLast = { runId: config.runId, state: 'failed', error: (err as Error).message, pieces: [], packets: 0, filteredOut: 0, overwritten: 0, dropped: {} };
    }
  }

  /** The main process's word on alerted and ended flows, for the conditional store. */
  conditionalFlows(alerted: readonly string[], ended: readonly string[]): void {
    this.#conditional?.sink.flows(alerted, ended);
  }

  add(memory: Uint8Array, at: number, caplen: number, wireLength: number, tsMs: number, slot: number, keys: SlotKeys): void {
    const all = this.#all;
    for (let i = 0; i < all.length; i++) all[i].add(memory, at, caplen, wireLength, tsMs, slot, keys);
  }

  tick(nowMs = Date.now()): void {
    for (const s of this.#all) s.tick(nowMs);
  }

  close(): void {
    for (const s of this.#all) s.close();
    if (this.#ondemand) this.#ondemandLast = this.#ondemand.sink.stats();
    this.#ondemand = undefined;
  }

  report(): SinksReport {
    const r: SinksReport = {};
    if (this.#recording) r.recording = this.#recording.stats();
    if (this.#conditional) r.conditional = this.#conditional.sink.stats();
    if (this.#push.size || this.#failed.size) r.push = [...[...this.#push.values()].map((p) => p.sink.stats()), ...this.#failed.values()];
    const ondemand = this.#ondemand?.sink.stats() ?? this.#ondemandLast;
    if (ondemand) r.ondemand = ondemand;
    return r;
  }
}
