// The collector-thread end of the bounded hand-off, shared by the receive thread (when
// it decodes itself) and the decode threads: accepted events are packed into batches
// of up to BATCH_EVENTS, a batch leaves when full or BATCH_MAX_AGE_MS old, and when the
// main thread is `maxInflight` batches behind, a batch is dropped and counted as
// 'handoff-full' (never queued without bound). Stats snapshots go the same way.
import type { CollectorStats } from '../model/exporter.ts';
import type { Bound } from '../model/telemetry.ts';
import { BatchPacker, transferListOf } from './handoff.ts';
import type { Ingest } from './ingest.ts';
import { CONTROL, type WorkerMessage } from './worker-protocol.ts';

export const BATCH_EVENTS = 512;
const BATCH_MAX_AGE_MS = 5;
const STATS_EVERY_MS = 250;

export class HandoffSender {
  readonly batch = new BatchPacker();
  readonly #control: Int32Array;
  readonly #maxInflight: number;
  readonly #ingest: Ingest;
  readonly #post: (m: WorkerMessage, transfer?: ArrayBuffer[]) => void;
  readonly #where: string;
  #started = 0;
  #lastStats = 0;
  #dropped = 0;

  constructor(o: { control: Int32Array; maxInflight: number; ingest: Ingest; post: (m: WorkerMessage, transfer?: ArrayBuffer[]) => void; where: string }) {
    this.#control = o.control;
    this.#maxInflight = o.maxInflight;
    this.#ingest = o.ingest;
    this.#post = o.post;
    this.#where = o.where;
  }

  /** Call before a message is ingested (starts the batch's clock). */
  before(now: number): void {
    if (this.batch.count === 0) this.#started = now;
  }

  /** Call after: sends a full batch. */
  after(now: number): void {
    if (this.batch.count >= BATCH_EVENTS) this.flush(now);
  }

  /** Between messages, or idle: sends an old partial batch, and stats when due or asked for. */
  tick(now: number, idle: boolean, extra?: () => Partial<CollectorStats>): void {
    if (this.batch.count > 0 && (idle || now - this.#started >= BATCH_MAX_AGE_MS)) this.flush(now);
    if (now - this.#lastStats >= STATS_EVERY_MS || Atomics.exchange(this.#control, CONTROL.statsRequested, 0) === 1) this.stats(now, extra);
  }

  stats(now: number, extra?: () => Partial<CollectorStats>): void {
    this.flush(now);
    this.#lastStats = now;
    this.#post({ type: 'stats', stats: { ...this.#ingest.stats(now, this.bound()), ...extra?.() } });
  }

  bound(): Bound {
    return { size: Atomics.load(this.#control, CONTROL.inflight), max: this.#maxInflight, dropped: this.#dropped };
  }

  flush(now: number): void {
    const batch = this.batch;
    if (batch.count === 0) return;
    if (Atomics.load(this.#control, CONTROL.inflight) >= this.#maxInflight) {
      this.#ingest.reject('handoff-full', 'flow', this.#where, `${batch.count} events dropped: dispatch is ${this.#maxInflight} batches behind`, undefined, now, batch.count);
      batch.clear();
      this.#dropped++;
    } else {
      Atomics.add(this.#control, CONTROL.inflight, 1);
      const packed = batch.take();
      this.#post({ type: 'events', batch: packed }, transferListOf(packed));
    }
  }
}
