// A user of the capture's whole packets: the continuous recording, each push target
// (and later each on-demand capture and the conditional store). The capture process
// holds every packet as a pcap record in memory it owns and hands each one to every
// sink; a sink decides what it keeps and where it goes.
import type { SlotKeys } from './file-index.ts';

export interface PacketSink {
  /**
   * The pcap record at `at` in `memory` (16-byte header in this machine's byte order,
   * then `caplen` bytes), captured at `tsMs`, of the flow in `slot` of `keys` (-1: none).
   */
  add(memory: Uint8Array, at: number, caplen: number, wireLength: number, tsMs: number, slot: number, keys: SlotKeys): void;
  /** Called every ~100 ms: write out, rotate, retry. */
  tick(nowMs?: number): void;
  /** Completes what is open; no packet comes after. */
  close(): void;
}
