// What a packet interface and its capture process say to each other.
import type { CaptureCounters } from '../model/flow-delta.ts';
import type { FlowDelta } from '../model/flow-delta.ts';
import type { ConditionalSinkSettings, ConditionalSinkStats } from '../model/conditional.ts';
import type { PushSinkConfig, PushTargetStats } from '../model/push.ts';
import type { RecordingSettings, RecordingStats } from '../model/recording.ts';
import type { OnDemandSinkConfig, OnDemandSinkStats } from '../model/ondemand.ts';

export interface CaptureConfig {
  /** Live capture device, or a capture file to replay. */
  source: { device: string } | { file: string };
  filter?: string;
  /** Live: bytes kept of each packet (headers only are decoded). */
  snaplen: number;
  /** Live: kernel ring size in bytes. */
  bufferBytes: number;
  /** Live: capture traffic not addressed to this host too (a mirror port needs it). */
  promiscuous: boolean;
  /** Replay: at the file's own pace instead of as fast as possible. */
  pace: boolean;
  /** Batches allowed in flight before the capture keeps aggregating instead of sending. */
  maxInflightBatches: number;
  /** Flows per batch before packets of new flows are dropped (and counted as batch-full). */
  maxBatchFlows: number;
  /** Continuous recording of this interface's packets, when enabled. */
  recording?: RecordingSettings;
  /** Push targets of this interface. */
  push?: PushSinkConfig[];
  /** The on-demand capture running on this interface, if one. */
  ondemand?: OnDemandSinkConfig;
  /** The conditional store of this interface (packets of alerted flows), when chosen. */
  conditional?: ConditionalSinkSettings;
}

/** The snapshot length a capture needs: whole packets for the sinks that keep them, headers otherwise. */
export function neededSnaplen(c: Pick<CaptureConfig, 'snaplen' | 'recording' | 'push' | 'ondemand' | 'conditional'>): number {
  return Math.max(c.snaplen, c.recording?.snaplen ?? 0, c.push?.length || c.ondemand ? WHOLE_PACKETS : 0, c.conditional?.snaplen ?? 0);
}
export const WHOLE_PACKETS = 65535;

/** From the collector to the capture: a batch was applied (frees hand-off room), or stop. */
export type CaptureCommand =
  | { type: 'applied' }
  | { type: 'stop' }
  /** The sinks change while the capture runs (its snapshot length already suits them). */
  | { type: 'sinks'; recording?: RecordingSettings; push?: PushSinkConfig[]; ondemand?: OnDemandSinkConfig; conditional?: ConditionalSinkSettings }
  /** Flows with an alert from now on (their packets go to the conditional store), and alerted flows that ended. */
  | { type: 'conditional-flows'; alerted: string[]; ended: string[] };

export type CaptureMessage =
  | { type: 'ready'; dlt: number; snaplen: number }
  /** The capture cannot start or cannot go on; the process ends after saying so. */
  | { type: 'error'; message: string }
  | { type: 'batch'; deltas: FlowDelta[]; counters: CaptureCounters; recording?: RecordingStats; push?: PushTargetStats[]; ondemand?: OnDemandSinkStats; conditional?: ConditionalSinkStats }
  /** A replayed file has been read to its end (every batch before this one). */
  | { type: 'finished'; counters: CaptureCounters; recording?: RecordingStats; push?: PushTargetStats[]; ondemand?: OnDemandSinkStats; conditional?: ConditionalSinkStats };
