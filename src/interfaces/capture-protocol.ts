// What a packet interface and its capture process say to each other.
import type { CaptureCounters } from './interface.ts';
import type { FlowDelta } from './packet-batch.ts';

export interface CaptureConfig {
  /** Live capture device, or a capture file to replay. */
  source: { device: string } | { file: string };
  filter?: string;
  /** Batches allowed in flight before the capture keeps aggregating instead of sending. */
  maxInflightBatches: number;
  /** Flows per batch before packets of new flows are dropped (and counted). */
  maxBatchFlows: number;
}

/** From the collector to the capture: a batch was applied (frees hand-off room), or stop. */
export type CaptureCommand = { type: 'applied' } | { type: 'stop' };

export type CaptureMessage =
  | { type: 'ready'; dlt: number }
  | { type: 'error'; message: string }
  | { type: 'batch'; deltas: FlowDelta[]; counters: CaptureCounters }
  /** A replayed file has been read to its end. */
  | { type: 'finished'; counters: CaptureCounters };
