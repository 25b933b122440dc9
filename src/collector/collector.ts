// The main-thread side of a ZMQ interface's collector: starts the receive worker,
// hands its event batches to a callback, acknowledges them (which frees hand-off
// room), and keeps the latest stats snapshot.
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../runtime/ts-worker.ts';
import type { CollectedEvent } from '../model/event.ts';
import type { CollectorStats } from '../model/exporter.ts';
import type { CurveKeys } from './curve.ts';
import { parseEndpoints } from './endpoint.ts';
import { unpackBatch, type EventOrigin } from './handoff.ts';
import { MAX_PAYLOAD_BYTES } from './payload.ts';
import { CONTROL, CONTROL_SLOTS, type WorkerConfig, type WorkerMessage } from './worker-protocol.ts';

export interface CollectorOptions {
  interfaceId: number;
  /** ntopng endpoint list: `tcp://*:5556c,ipc:///run/x.sock`. */
  endpoints: string;
  curve?: CurveKeys;
  maxPayloadBytes?: number;
  /** Batches in flight between the worker and dispatch before events are dropped (and counted). */
  maxInflightBatches?: number;
  /** libzmq's receive high-water mark (messages queued in libzmq). */
  receiveHwm?: number;
}

export type { EventOrigin };

/**
 * Receives each batch of accepted events; `origins[i]` is the exporter that sent
 * `events[i]` (an entry of `stats().exporters`, same endpoint and sourceId).
 */
export type EventsHandler = (events: CollectedEvent[], origins: EventOrigin[]) => void;

function emptyStats(interfaceId: number): CollectorStats {
  return { interfaceId, messages: {}, events: {}, rejected: {}, lostMessages: 0, exporters: [], samples: [] };
}

export class ZmqCollector {
  readonly options: CollectorOptions;
  readonly #onEvents: EventsHandler;
  readonly #control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
  #worker: Worker | undefined;
  #stats: CollectorStats;
  #statsWaiters: (() => void)[] = [];
  #failure: string | undefined;

  constructor(options: CollectorOptions, onEvents: EventsHandler) {
    parseEndpoints(options.endpoints); // a bad endpoint is refused here, before anything starts
    this.options = options;
    this.#onEvents = onEvents;
    this.#stats = emptyStats(options.interfaceId);
  }

  /** Binds/connects every endpoint; rejects with the reason (e.g. address in use) naming the endpoint. */
  start(): Promise<void> {
    const o = this.options;
    const maxPayloadBytes = o.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
    const config: WorkerConfig = {
      interfaceId: o.interfaceId,
      endpoints: o.endpoints,
      curveSecretKey: o.curve?.secretKey,
      maxPayloadBytes,
      maxFrameBytes: Math.max(16 * 1024 * 1024, maxPayloadBytes * 2),
      receiveHwm: o.receiveHwm ?? 100_000,
      maxInflightBatches: o.maxInflightBatches ?? 256,
      control: this.#control.buffer as SharedArrayBuffer,
    };
    const worker = startTsWorker(new URL('./worker.ts', import.meta.url), config);
    this.#worker = worker;
    return new Promise((resolve, reject) => {
      let started = false;
      worker.on('message', (m: WorkerMessage) => {
        switch (m.type) {
          case 'events':
            try {
              const { events, origins } = unpackBatch(m.batch);
              this.#onEvents(events, origins);
            } finally {
              Atomics.sub(this.#control, CONTROL.inflight, 1);
            }
            break;
          case 'stats':
            this.#stats = { ...m.stats, curvePublicKey: o.curve?.publicKey };
            for (const w of this.#statsWaiters.splice(0)) w();
            break;
          case 'ready':
            started = true;
            resolve();
            break;
          case 'error':
            // The worker names the endpoint: "cannot bind tcp://*:5556c: Address already in use".
            reject(new Error(`ZMQ interface ${o.interfaceId}: ${m.message}`));
            break;
        }
      });
      worker.on('error', (err) => {
        this.#failure = `collector thread failed: ${err.message}`;
        if (!started) reject(new Error(`ZMQ interface ${o.interfaceId} (${o.endpoints}): ${this.#failure}`));
      });
      worker.on('exit', (code) => {
        this.#worker = undefined;
        if (Atomics.load(this.#control, CONTROL.stop) === 0) this.#failure ??= `collector thread exited (code ${code})`;
        for (const w of this.#statsWaiters.splice(0)) w();
      });
    });
  }

  /** Why the collector stopped receiving on its own, if it did. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** The latest snapshot (the worker posts one every 250 ms). */
  stats(): CollectorStats {
    return this.#stats;
  }

  /** Asks the worker for a snapshot now and resolves when it has arrived. */
  refreshStats(): Promise<CollectorStats> {
    if (!this.#worker) return Promise.resolve(this.#stats);
    return new Promise((resolve) => {
      this.#statsWaiters.push(() => resolve(this.#stats));
      Atomics.store(this.#control, CONTROL.statsRequested, 1);
    });
  }

  async stop(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    Atomics.store(this.#control, CONTROL.stop, 1);
    await new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  }
}
