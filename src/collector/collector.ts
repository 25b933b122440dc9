// The main-thread side of one ZMQ interface's collector: starts the receive thread
// (worker.ts), hands its event batches to a callback, acknowledges them (which frees
// room in the bounded hand-off), and keeps the latest stats snapshot.
//
// The whole public API:
//   new ZmqCollector({ interfaceId, endpoints, curve?, ... }, (events) => ...)
//   start(): Promise<void>    opens every endpoint; rejects naming the one that failed
//   decodeThreads             threads that decode (options.decodeThreads; 1: the receive thread)
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
import { createRing } from './frame-ring.ts';
import { CONTROL, CONTROL_SLOTS, type DecodeConfig, type WorkerConfig, type WorkerMessage } from './worker-protocol.ts';

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
  /**
   * libzmq's receive high-water mark per endpoint (messages queued in libzmq; default 10 000).
   * libzmq bounds messages, not bytes: 10 000 of the usual 20-event arrays (~10 KiB) hold
   * about 100 MiB and 200 000 events, seconds of a burst; past it a SUB socket drops, which
   * v1-v3 headers show as msg_id gaps. (100 000 let a soak at twice the collector's pace hold
   * gigabytes before a single drop was counted.)
   */
  receiveHwm?: number;
  /**
   * Threads that decode (default 1: the receive thread itself). With more, the receive
   * thread only receives and each source's messages go to one decode thread (shard.ts).
   */
  decodeThreads?: number;
}

export const MAX_DECODE_THREADS = 16;
export const RECEIVE_HWM = 10_000;

/**
 * Receives each batch of accepted events, in arrival order.
 * The batch counts as consumed when this returns.
 */
export type EventsHandler = (events: CollectedEvent[]) => void;

function emptyStats(interfaceId: number): CollectorStats {
  const none = { size: 0, max: 0, dropped: 0 };
  return {
    interfaceId, messages: {}, events: {}, rejected: {}, lostMessages: 0, connections: {}, threadRestarts: 0, exporters: [], samples: [], rejectedByTopic: {},
    bounds: { exporters: none, learnedFieldIds: none, handoffBatches: none, internedStrings: none },
    decoding: { scanner: 'starting', scanned: 0, fallbacks: {} },
  };
}

/** One thread of a run: its worker, the flags it shares with us, its latest snapshot. */
interface Thread {
  worker: Worker;
  control: Int32Array;
  stats: CollectorStats;
  exited: Promise<void>;
}

/** One run: the receive thread and, with --decode-threads > 1, its decode threads; any of them ending ends the run. */
interface ThreadRun extends SupervisedRun {
  threads: Thread[];
}

/** Bytes of each decode thread's ring (frame-ring.ts): hundreds of max-size messages, thousands of usual ones. */
const RING_BYTES = 8 * 1024 * 1024;

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
    if (options.decodeThreads !== undefined && !(Number.isInteger(options.decodeThreads) && options.decodeThreads >= 1 && options.decodeThreads <= MAX_DECODE_THREADS)) {
      throw new Error(`decode threads: a whole number from 1 to ${MAX_DECODE_THREADS}, got ${options.decodeThreads}`);
    }
    this.options = options;
    this.#onEvents = onEvents;
    this.#carried = emptyStats(options.interfaceId);
  }

  /** Decode threads of each run: 1 = the receive thread decodes itself. */
  get decodeThreads(): number {
    return this.options.decodeThreads ?? 1;
  }

  /**
   * Starts one run's threads. `ready` settles when the receive thread has opened every
   * endpoint (or could not: the reason names the endpoint) and the decode threads are up.
   */
  #startRun(): { run: ThreadRun; ready: Promise<void> } {
    const o = this.options;
    const maxPayloadBytes = o.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
    const maxInflightBatches = o.maxInflightBatches ?? 256;
    const controlSlots = () => new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
    const rings = this.decodeThreads > 1 ? Array.from({ length: this.decodeThreads }, () => createRing(RING_BYTES)) : [];
    const receiveControl = controlSlots();
    const receiveConfig: WorkerConfig = {
      interfaceId: o.interfaceId,
      endpoints: o.endpoints,
      curveSecretKey: o.curve?.secretKey,
      maxPayloadBytes,
      maxFrameBytes: Math.max(16 * 1024 * 1024, maxPayloadBytes * 2),
      receiveHwm: o.receiveHwm ?? RECEIVE_HWM,
      maxInflightBatches,
      control: receiveControl.buffer as SharedArrayBuffer,
      ...(rings.length > 0 ? { decodeRings: rings } : {}),
    };
    let failed: string | undefined;
    let endRun!: (end: RunEnd) => void;
    const ended = new Promise<RunEnd>((resolve) => (endRun = resolve));
    let stopping = false;
    const readies: Promise<void>[] = [];

    const thread = (module: string, config: object, control: Int32Array): Thread => {
      const worker = startTsWorker(new URL(module, import.meta.url), config);
      let error: string | undefined;
      let ready!: () => void;
      let refused!: (err: Error) => void;
      const readyPromise = new Promise<void>((resolve, reject) => { ready = resolve; refused = reject; });
      readyPromise.catch(() => {});
      readies.push(readyPromise);
      const t: Thread = { worker, control, stats: emptyStats(o.interfaceId), exited: new Promise((resolve) => worker.once('exit', () => resolve())) };
      worker.on('error', (err) => (error ??= err.message));
      worker.once('exit', (code) => {
        const reason = error ?? `exit code ${code}`;
        refused(new Error(`ZMQ interface ${o.interfaceId} (${o.endpoints}): collector thread failed: ${reason}`));
        if (!stopping) {
          // One thread ending ends the run: the others are stopped, and the supervisor restarts them all.
          failed ??= reason;
          void run.stop().then(() => endRun({ reason: failed!, restart: true }));
        }
      });
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
            t.stats = m.stats;
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
      return t;
    };

    const threads: Thread[] = [];
    const run: ThreadRun = {
      threads,
      ended,
      async stop() {
        const first = !stopping;
        stopping = true;
        // The receive thread first; then the decode threads, once they have emptied their rings.
        Atomics.store(threads[0].control, CONTROL.stop, 1);
        await threads[0].exited;
        for (const t of threads.slice(1)) Atomics.store(t.control, CONTROL.stop, 1);
        await Promise.all(threads.map((t) => t.exited));
        if (first) endRun({ reason: failed ?? 'stopped', restart: failed !== undefined });
      },
    };
    threads.push(thread('./worker.ts', receiveConfig, receiveControl));
    rings.forEach((ring) => {
      const control = controlSlots();
      const config: DecodeConfig = { interfaceId: o.interfaceId, endpoints: o.endpoints, maxPayloadBytes, maxInflightBatches, control: control.buffer as SharedArrayBuffer, ring };
      threads.push(thread('./decode-worker.ts', config, control));
    });
    return { run, ready: Promise.all(readies).then(() => {}) };
  }

  /** Binds/connects every endpoint; rejects with the reason (e.g. address in use) naming the endpoint. */
  start(): Promise<void> {
    if (this.#supervisor) return Promise.reject(new Error(`ZMQ interface ${this.options.interfaceId} is already started`));
    this.#failure = undefined;
    let first: Promise<void> | undefined;
    const supervisor = new Supervisor({
      name: `ZMQ interface ${this.options.interfaceId} collector thread`,
      run: (attempt) => {
        const { run, ready } = this.#startRun();
        this.#run = run;
        if (attempt === 0) first = ready;
        // A restarted thread that is up again is no longer a problem.
        else void ready.then(() => { if (this.#run === run) this.#failure = undefined; }, () => {});
        void run.ended.then(() => {
          for (const t of run.threads) this.#carried = addStats(this.#carried, countersOnly(t.stats));
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
    const s = (this.#run?.threads ?? []).reduce((total, t) => addStats(total, t.stats), this.#carried);
    return { ...s, threadRestarts: this.#carried.threadRestarts, curvePublicKey: this.options.curve?.publicKey };
  }

  /** Asks the thread for a snapshot now and resolves when it has arrived. */
  refreshStats(): Promise<CollectorStats> {
    const run = this.#run;
    if (!run) return Promise.resolve(this.stats());
    // Every thread's snapshot: each posts one when asked.
    const asked = run.threads.map((t) => new Promise<void>((resolve) => {
      const before = t.stats;
      const check = () => (t.stats !== before || this.#run !== run ? resolve() : this.#statsWaiters.push(check));
      this.#statsWaiters.push(check);
      Atomics.store(t.control, CONTROL.statsRequested, 1);
    }));
    return Promise.all(asked).then(() => this.stats());
  }

  /**
   * Makes a thread throw, as a bug in it would (tests and the soak): 0 the receive
   * thread, 1… a decode thread. The run is restarted.
   */
  injectFault(thread = 0): void {
    const t = this.#run?.threads[thread];
    if (t) Atomics.store(t.control, CONTROL.fail, 1);
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
