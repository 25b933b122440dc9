// Conditional pcap (seed 002): the packets of flows with an alert, from the packets
// that fired it to the end of the flow, kept once per flow in a store per packet
// interface rotated by its size bound. What the capture process runs with, what it
// reports, and what the API and /metrics show.
import type { RecordingSettings, RecordingStats } from './recording.ts';

/** The conditional store of one interface, as the capture process runs it. */
export interface ConditionalSinkSettings extends RecordingSettings {
  /** Look-back: recent packets of every flow kept in memory, so an alerted flow's store starts with the packets that fired. */
  lookbackMs: number;
  lookbackBytes: number;
  /** Alerted flows followed at most at once; past it an alert's flow is refused and counted. */
  maxFlows: number;
}

/** What the conditional store of one interface reports (from the capture process). */
export interface ConditionalSinkStats {
  /** The store itself: the recording engine's writer. */
  store: RecordingStats;
  /** Flows whose packets are being written now, and the bound. */
  alertedFlows: number;
  maxFlows: number;
  /** Flows alerted (each once) and ended since the store started; flows refused at the bound. */
  flowsAlerted: number;
  flowsEnded: number;
  flowsRefused: number;
  lookback: {
    packets: number;
    bytes: number;
    maxBytes: number;
    maxMs: number;
    /** Packets taken out of the look-back into the store when their flow became alerted. */
    written: number;
    /** Packets that left the look-back by age or size (the normal case). */
    evicted: number;
  };
}

/** One packet interface's conditional store, as the API shows it. */
export interface ConditionalInterfaceStats extends ConditionalSinkStats {
  interface: string;
  interfaceId: number;
  dir: string;
  /** Bytes the interface captured (wire bytes) since its capture started. */
  capturedBytes: number;
}

export interface ConditionalStats {
  /** Interface name → store bound in bytes. */
  settings: Record<string, number>;
  interfaces: ConditionalInterfaceStats[];
  /** Alerts told to a store (matched on one of its interfaces). */
  alertsApplied: number;
  /** Over every store: bytes written (pcap records), and their share of all bytes captured on those interfaces. */
  storedBytes: number;
  capturedBytes: number;
  storedShare: number;
  /** Files deleted by the size bound. */
  rotations: number;
}
