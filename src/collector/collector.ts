// The main-thread side of one ZMQ interface's collector: starts the receive thread
// (worker.ts), hands its event batches to a callback, acknowledges them (which frees
// room in the bounded hand-off), and keeps the latest stats snapshot.
//
// The whole public API:
//   new ZmqCollector({ interfaceId, endpoints, curve?, ... }, (events) => ...)
//   start(): Promise<void>    opens every endpoint; rejects naming the one that failed
//   stop(): Promise<void>     closes the sockets and ends the thread
//   stats() / refreshStats()  the latest snapshot / a fresh one
//   failure                   why the thread stopped on its own, if it did
// and, from their modules: parseEndpoints (endpoint.ts), loadOrCreateCurveKeys (curve.ts).
import type { Worker } from 'node:worker_threads';
import type { CollectedEvent } from '../model/event.ts';
import type { CollectorStats } from '../model/exporter.ts';
import { startTsWorker } from '../runtime/ts-worker.ts';
import type { CurveKeys } from './curve.ts';
import { parseEndpoints } from './endpoint.ts';
import { unpackBatch } from './handoff.ts';
import { MAX_PAYLOAD_BYTES } from './wire/payload.ts';
import { CONTROL, CONTROL_SLOTS, type WorkerConfig, type WorkerMessage } from './worker-protocol.ts';

export type { CurveKeys } from './curve.ts';
export { loadOrCreateCurveKeys } from './curve.ts';
export { parseEndpoints, type ZmqEndpoint } from './endpoint.ts';

export interface CollectorOptions {
  interfaceId: number;
  /** ntopng's endpoint list, comma separated: `tcp://*:5556c,ipc:///run/x.sock` (see endpoint.ts). */
  endpoints: string;
  /** CURVE server keys (loadOrCreateCurveKeys): producers then must encrypt with the public key. */
  curve?: CurveKeys;
  /** Payloads larger than this, compressed or inflated, are rejected as 'oversize' (default 128 KiB, as ntopng). */
  maxPayloadBytes?: number;
  /** Batches (of up to 512 events) handed over and not yet consumed before new ones are dropped, and counted as 'handoff-full'. */
  maxInflightBatches?: number;
  /** libzmq's receive high-water mark per endpoint (messages queued in libzmq). */
  receiveHwm?: number;
}

/**
 * Receives each batch of accepted events, in arrival order.
 * The batch counts as consumed when this returns.
 */
export type EventsHandler = (events: CollectedEvent[]) => void;

function emptyStats(interfaceId: number): CollectorStats {
  const none = { size: 0, max: 0, dropped: 0 };
  return {
    interfaceId, messages: {}, events: {}, rejected: {}, lostMessages: 0, exporters: [], samples: [], rejectedByTopic: {},
    bounds: { exporters: none, learnedFieldIds: none, handoffBatches: none },
  };
}

export class ZmqCollector {
  readonly options: CollectorOptions;
  readonly #onEvents: EventsHandler;
  /** Shared with the worker: stop flag, hand-off fill level, stats request (worker-protocol.ts). */
  readonly #control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
  #worker: Worker | undefined;
  #stats: CollectorStats;
  #statsWaiters: (() => void)[] = [];
  #failure: string | undefined;

  /** Throws at once when `endpoints` is malformed, saying what is accepted. */
  constructor(options: CollectorOptions, onEvents: EventsHandler) {
    parseEndpoints(options.endpoints);
    this.options = options;
    this.#onEvents = onEvents;
    this.#stats = emptyStats(options.interfaceId);
  }

  /** Binds/connects every endpoint; rejects with the reason (e.g. address in use) naming the endpoint. */
  start(): Promise<void> {
    if (this.#worker) return Promise.reject(new Error(`ZMQ interface ${this.options.interfaceId} is already started`));
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
    this.#control.fill(0);
    this.#failure = undefined;
    const worker = startTsWorker(new URL('./worker.ts', import.meta.url), config);
    this.#worker = worker;
    return new Promise((resolve, reject) => {
      let started = false;
      worker.on('message', (m: WorkerMessage) => {
        switch (m.type) {
          case 'events':
            try {
              this.#onEvents(unpackBatch(m.batch));
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
        // Exiting without being asked to (and after a successful start) is a failure.
        if (started && Atomics.load(this.#control, CONTROL.stop) === 0) this.#failure ??= `collector thread exited (code ${code})`;
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

  /** Closes every socket and ends the thread. */
  async stop(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    Atomics.store(this.#control, CONTROL.stop, 1);
    await new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  }
}
