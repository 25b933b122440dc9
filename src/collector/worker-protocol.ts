// What the collector's main-thread side and its worker say to each other.
import type { CollectorStats } from '../model/exporter.ts';
import type { RingBuffers } from './frame-ring.ts';
import type { PackedBatch } from './handoff.ts';

/** Slots of the shared Int32Array both threads read and write with Atomics. */
export const CONTROL = {
  /** Set to 1 by the main thread: close the socket and end. */
  stop: 0,
  /** Batches posted and not yet consumed by dispatch: the hand-off's fill level. */
  inflight: 1,
  /** Set to 1 by the main thread: post a stats snapshot now. */
  statsRequested: 2,
  /** Set to 1 by the main thread: throw, as a bug in the thread would (fault injection for tests and the soak). */
  fail: 3,
} as const;
export const CONTROL_SLOTS = 4;

export interface WorkerConfig {
  interfaceId: number;
  endpoints: string;
  curveSecretKey?: string;
  maxPayloadBytes: number;
  maxFrameBytes: number;
  receiveHwm: number;
  /** The hand-off bound, in batches (of up to 512 events). */
  maxInflightBatches: number;
  /** A SharedArrayBuffer of CONTROL_SLOTS Int32 slots. */
  control: SharedArrayBuffer;
  /** With decode threads: one ring per decode thread, which the receive thread fills (frame-ring.ts). */
  decodeRings?: RingBuffers[];
}

/** What a decode thread is given: the interface's settings, its own control slots and the ring it reads. */
export interface DecodeConfig {
  interfaceId: number;
  endpoints: string;
  maxPayloadBytes: number;
  maxInflightBatches: number;
  control: SharedArrayBuffer;
  ring: RingBuffers;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  /** A batch of events packed by handoff.ts. */
  | { type: 'events'; batch: PackedBatch }
  | { type: 'stats'; stats: CollectorStats };
