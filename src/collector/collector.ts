// The main-thread side of one ZMQ interface's collector: starts the receive thread
// (worker.ts), hands its event batches to a callback, acknowledges them (which frees
// room in the bounded hand-off), and keeps the latest stats snapshot.
//
// The whole public API:
//   new ZmqCollector({ interfaceId, endpoints, curve?, ... }, (events) => ...)
//   start(): Promise<void>    opens every endpoint; rejects naming the one that failed
//   stop(): Promise<void>     closes the sockets and ends the thread
//   stats() / refreshStats()  the latest snapshot / a fresh one
//   failure                   why the thread is not receiving (it died; restarted with backoff), if so
//   injectFault()             makes the thread throw as a bug would (tests, soak)
// and, from their modules: parseEndpoints (endpoint.ts), loadOrCreateCurveKeys (curve.ts).
import type { Worker } from 'node:worker_threads';
import type { CollectedEvent } from '../model/event.ts';
import type { CollectorStats } from '../model/exporter.ts';
import { Supervisor, type RunEnd, type SupervisedRun } from '../runtime/supervisor.ts';
import { startTsWorker } from '../runtime/ts-worker.ts';
import type { CurveKeys } from './curve.ts';
import { parseEndpoints } from './endpoint.ts';
import { unpackBatch } from './handoff.ts';
import { addStats, countersOnly } from './stats-total.ts';
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
    interfaceId, messages: {}, events: {}, rejected: {}, lostMessages: 0, connections: {}, threadRestarts: 0, exporters: [], samples: [], rejectedByTopic: {},
    bounds: { exporters: none, learnedFieldIds: none, handoffBatches: none },
  };
}

/** One run of the receive thread: its worker and the flags it shares with us. */
interface ThreadRun extends SupervisedRun {
  control: Int32Array;
  worker: Worker;
  /** The latest snapshot it posted. */
  stats: CollectorStats;
}

export class ZmqCollector {
  readonly options: CollectorOptions;
  readonly #onEvents: EventsHandler;
  #supervisor: Supervisor | undefined;
  #run: ThreadRun | undefined;
  /** The counters of runs that ended (stats-total.ts). */
  #carried: CollectorStats;
  #statsWaiters: (() => void)[] = [];
  #failure: string | undefined;

  /** Throws at once when `endpoints` is malformed, saying what is accepted. */
  constructor(options: CollectorOptions, onEvents: EventsHandler) {
    parseEndpoints(options.endpoints);
    this.options = options;
    this.#onEvents = onEvents;
    this.#carried = emptyStats(options.interfaceId);
  }

  #config(control: Int32Array): WorkerConfig {
    const o = this.options;
    const maxPayloadBytes = o.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
    return {
      interfaceId: o.interfaceId,
      endpoints: o.endpoints,
      curveSecretKey: o.curve?.secretKey,
      maxPayloadBytes,
      maxFrameBytes: Math.max(16 * 1024 * 1024, maxPayloadBytes * 2),
      receiveHwm: o.receiveHwm ?? 100_000,
      maxInflightBatches: o.maxInflightBatches ?? 256,
      control: control.buffer as SharedArrayBuffer,
    };
  }

  /**
   * Starts one receive thread. `ready` settles when it has opened every endpoint (or
   * could not: the reason names the endpoint).
   */
  #startThread(): { run: ThreadRun; ready: Promise<void> } {
    const o = this.options;
    const control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
    const worker = startTsWorker(new URL('./worker.ts', import.meta.url), this.#config(control));
    let error: string | undefined;
    let ready!: () => void;
    let refused!: (err: Error) => void;
    const readyPromise = new Promise<void>((resolve, reject) => { ready = resolve; refused = reject; });
    readyPromise.catch(() => {});
    const ended = new Promise<RunEnd>((resolve) => {
      worker.on('error', (err) => (error ??= err.message));
      worker.once('exit', (code) => {
        const stopping = Atomics.load(control, CONTROL.stop) === 1;
        const reason = error ?? `exit code ${code}`;
        refused(new Error(`ZMQ interface ${o.interfaceId} (${o.endpoints}): collector thread failed: ${reason}`));
        resolve({ reason, restart: !stopping });
      });
    });
    const run: ThreadRun = {
      control, worker, stats: emptyStats(o.interfaceId), ended,
      async stop() {
        Atomics.store(control, CONTROL.stop, 1);
        await ended;
      },
    };
    worker.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'events':
          try {
            this.#onEvents(unpackBatch(m.batch));
          } finally {
            Atomics.sub(control, CONTROL.inflight, 1);
          }
          break;
        case 'stats':
          run.stats = m.stats;
          for (const w of this.#statsWaiters.splice(0)) w();
          break;
        case 'ready':
          ready();
          break;
        case 'error':
          // The worker names the endpoint: "cannot bind tcp://*:5556c: Address already in use".
          error = m.message;
          refused(new Error(`ZMQ interface ${o.interfaceId}: ${m.message}`));
          break;
      }
    });
    return { run, ready: readyPromise };
  }

  /** Binds/connects every endpoint; rejects with the reason (e.g. address in use) naming the endpoint. */
  start(): Promise<void> {
    if (this.#supervisor) return Promise.reject(new Error(`ZMQ interface ${this.options.interfaceId} is already started`));
    this.#failure = undefined;
    let first: Promise<void> | undefined;
    const supervisor = new Supervisor({
      name: `ZMQ interface ${this.options.interfaceId} collector thread`,
      run: (attempt) => {
        const { run, ready } = this.#startThread();
        this.#run = run;
        if (attempt === 0) first = ready;
        // A restarted thread that is up again is no longer a problem.
        else void ready.then(() => { if (this.#run === run) this.#failure = undefined; }, () => {});
        void run.ended.then(() => {
          this.#carried = addStats(this.#carried, countersOnly(run.stats));
          if (this.#run === run) this.#run = undefined;
          for (const w of this.#statsWaiters.splice(0)) w();
        });
        return run;
      },
      onChange: (state) => {
        this.#carried.threadRestarts = state.restarts;
        if (state.phase === 'backoff' || state.phase === 'waiting') {
          const inMs = Math.max(0, (state.nextStartAt ?? Date.now()) - Date.now());
          this.#failure = `collector thread ended (${state.lastExit}); restart ${state.restarts + 1} in ${inMs} ms`;
        }
      },
    });
    this.#supervisor = supervisor;
    supervisor.start();
    return first!.catch(async (err: Error) => {
      // Opening the endpoints failed: a configuration error, not something to retry.
      this.#supervisor = undefined;
      await supervisor.stop();
      throw err;
    });
  }

  /** Why the collector is not receiving on its own (until its thread runs again), if so. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** The latest snapshot (the thread posts one every 250 ms), with the counters of threads that ended. */
  stats(): CollectorStats {
    const current = this.#run?.stats ?? emptyStats(this.options.interfaceId);
    const s = addStats(this.#carried, current);
    return { ...s, threadRestarts: this.#carried.threadRestarts, curvePublicKey: this.options.curve?.publicKey };
  }

  /** Asks the thread for a snapshot now and resolves when it has arrived. */
  refreshStats(): Promise<CollectorStats> {
    const run = this.#run;
    if (!run) return Promise.resolve(this.stats());
    return new Promise((resolve) => {
      this.#statsWaiters.push(() => resolve(this.stats()));
      Atomics.store(run.control, CONTROL.statsRequested, 1);
    });
  }

  /** Makes the receive thread throw, as a bug in it would (tests and the soak): it is restarted. */
  injectFault(): void {
    if (this.#run) Atomics.store(this.#run.control, CONTROL.fail, 1);
  }

  /** Closes every socket and ends the thread. */
  async stop(): Promise<void> {
    const supervisor = this.#supervisor;
    if (!supervisor) return;
    this.#supervisor = undefined;
    await supervisor.stop();
    this.#failure = undefined;
  }
}
