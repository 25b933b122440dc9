// The conditional store of one packet interface, in its capture process: a sink that
// IS a recording writer (the same files, index, rotation and reader as the continuous
// recording) fed only the packets of alerted flows. Every other packet passes through
// the look-back; when the main process says a flow is alerted, its look-back packets
// are written, then every later packet of it, until the main process says it ended.
// A flow is alerted once however many alerts name it: its packets are written once.
import type { ConditionalSinkSettings, ConditionalSinkStats } from '../model/conditional.ts';
import type { SlotKeys } from '../recording/file-index.ts';
import type { PacketSink } from '../recording/sink.ts';
import { RecordingWriter } from '../recording/writer.ts';
import { LookBack } from './look-back.ts';

export class ConditionalSink implements PacketSink {
  readonly #writer: RecordingWriter;
  readonly #lookback: LookBack;
  readonly #maxFlows: number;
  /** Alerted flow keys → the last packet's time. */
  readonly #alerted = new Map<string, number>();
  #generation = -1;
  #slotKeys: (string | undefined)[] = [];
  /** Look-back packets go to the writer with keys of their own (negative generations never meet the capture's). */
  #takenGeneration = -1;
  #flowsAlerted = 0;
  #flowsEnded = 0;
  #flowsRefused = 0;

  constructor(settings: ConditionalSinkSettings, dlt: number, nanoseconds: boolean) {
    this.#writer = new RecordingWriter(settings, dlt, nanoseconds);
    this.#lookback = new LookBack(settings.lookbackBytes, settings.lookbackMs);
    this.#maxFlows = settings.maxFlows;
  }

  add(memory: Uint8Array, at: number, caplen: number, wireLength: number, tsMs: number, slot: number, keys: SlotKeys): void {
    // A packet without a flow key (not IP, a damaged header) is of no flow an alert can name.
    if (slot < 0) return;
    if (keys.generation !== this.#generation) {
      this.#generation = keys.generation;
      this.#slotKeys = [];
    }
    const key = (this.#slotKeys[slot] ??= keys.keyOf(slot));
    if (this.#alerted.has(key)) {
      this.#alerted.set(key, tsMs);
      this.#writer.add(memory, at, caplen, wireLength, tsMs, slot, keys);
    } else {
      this.#lookback.add(memory, at, caplen, wireLength, tsMs, key);
    }
  }

  /** Flows with an alert from now on (their look-back packets are written first), and flows that ended. */
  flows(alerted: readonly string[], ended: readonly string[]): void {
    for (const key of ended) {
      if (this.#alerted.delete(key)) this.#flowsEnded++;
    }
    for (const key of alerted) {
      if (this.#alerted.has(key)) continue;
      if (this.#alerted.size >= this.#maxFlows) {
        this.#flowsRefused++;
        continue;
      }
      this.#alerted.set(key, 0);
      this.#flowsAlerted++;
      const keys: SlotKeys = { generation: this.#takenGeneration--, keyOf: () => key };
      const memory = this.#lookback.memory;
      this.#lookback.take(key, (p) => this.#writer.add(memory, p.at, p.caplen, p.wireLength, p.tsMs, 0, keys));
    }
  }

  /** The look-back ages by the packets' own times (a replayed file's are old), not here. */
  tick(nowMs = Date.now()): void {
    this.#writer.tick(nowMs);
  }

  close(): void {
    this.#writer.close();
  }

  stats(): ConditionalSinkStats {
    const lb = this.#lookback;
    return {
      store: this.#writer.stats(),
      alertedFlows: this.#alerted.size,
      maxFlows: this.#maxFlows,
      flowsAlerted: this.#flowsAlerted,
      flowsEnded: this.#flowsEnded,
      flowsRefused: this.#flowsRefused,
      lookback: { packets: lb.packets, bytes: lb.bytes, maxBytes: lb.maxBytes, maxMs: lb.maxMs, written: lb.written, evicted: lb.evicted },
    };
  }
}
