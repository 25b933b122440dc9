// The bounded local buffer between flowbridge and JetStream: records wait here while
// NATS is unreachable or slow, are published with their message id (a retry of the
// same id is stored once by the stream's de-duplication), and leave only when the
// stream acknowledged them. Past the bound new records are dropped and counted.
import { FailingSince, type NatsLink, type Ready } from './connection.ts';

export type OutboxKind = 'flows' | 'alerts' | 'processes' | 'events';
const KINDS: readonly OutboxKind[] = ['flows', 'alerts', 'processes', 'events'];

export interface Outgoing {
  kind: OutboxKind;
  subject: string;
  data: Uint8Array;
  /** Nats-Msg-Id: the same update always carries the same id. */
  msgId: string;
}

export interface OutboxStats {
  /** Records waiting or in flight. */
  size: number;
  bound: number;
  inFlight: number;
  published: Record<OutboxKind, number>;
  /** Publishes the stream recognised as a retry of an id it already had. */
  duplicates: number;
  /** Publishes that failed (timeout, no stream leader) and were retried. */
  retries: number;
  dropped: Record<OutboxKind, number>;
  lastError?: string;
}

/** Publishes in flight at once: enough to keep a cluster busy, few enough to retry cheaply. */
const MAX_IN_FLIGHT = 256;
const RETRY_PAUSE_MS = 250;

const zeros = (): Record<OutboxKind, number> => Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<OutboxKind, number>;

export class Outbox {
  readonly bound: number;
  #queue: Outgoing[] = [];
  #head = 0;
  #inFlight = 0;
  #ready: Ready | undefined;
  #paused = false;
  #pumping = false;
  readonly #published = zeros();
  readonly #dropped = zeros();
  #duplicates = 0;
  #retries = 0;
  #lastError: string | undefined;
  readonly #link: NatsLink;
  /** Publishing failing with nothing acknowledged since. */
  readonly #failing = new FailingSince();
  readonly #idle: (() => void)[] = [];

  constructor(link: NatsLink, bound: number) {
    this.bound = bound;
    this.#link = link;
    link.onChange((ready) => {
      this.#ready = ready;
      this.#pump();
    });
  }

  get size(): number {
    return this.#queue.length - this.#head + this.#inFlight;
  }

  /** Takes a record; false when the buffer is full (the record is dropped and counted). */
  push(message: Outgoing): boolean {
    if (this.size >= this.bound) {
      this.#dropped[message.kind]++;
      return false;
    }
    this.#queue.push(message);
    this.#pump();
    return true;
  }

  stats(): OutboxStats {
    const s: OutboxStats = { size: this.size, bound: this.bound, inFlight: this.#inFlight, published: { ...this.#published }, duplicates: this.#duplicates, retries: this.#retries, dropped: { ...this.#dropped } };
    if (this.#lastError) s.lastError = this.#lastError;
    return s;
  }

  /** Resolves when everything buffered was published (or after timeoutMs). */
  async flushed(timeoutMs: number): Promise<boolean> {
    if (this.size === 0) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.size === 0), timeoutMs);
      this.#idle.push(() => { clearTimeout(timer); resolve(true); });
    });
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#ready && !this.#paused && this.#inFlight < MAX_IN_FLIGHT && this.#head < this.#queue.length) {
        const m = this.#queue[this.#head++];
        this.#inFlight++;
        this.#publish(this.#ready, m);
      }
      // Compact now and then: the array only grows at its end.
      if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
    } finally {
      this.#pumping = false;
    }
  }

  #publish(ready: Ready, m: Outgoing): void {
    ready.js.publish(m.subject, m.data, { msgID: m.msgId, timeout: 2_000 }).then(
      (ack) => {
        this.#inFlight--;
        this.#failing.ok();
        this.#published[m.kind]++;
        if (ack.duplicate) this.#duplicates++;
        this.#afterOne();
      },
      (err: Error) => {
        this.#inFlight--;
        this.#retries++;
        this.#lastError = err.message;
        this.#failOver(ready);
        // Back at the front: it goes again, with the same id, once the pause is over.
        if (this.#head > 0) this.#queue[--this.#head] = m;
        else this.#queue.unshift(m);
        if (!this.#paused) {
          this.#paused = true;
          setTimeout(() => { this.#paused = false; this.#pump(); }, RETRY_PAUSE_MS).unref();
        }
      },
    );
  }

  /** Publishing through this server has failed for FAILOVER_AFTER_MS with nothing acknowledged: try another. */
  #failOver(ready: Ready): void {
    if (this.#failing.tooLong()) this.#link.failOver(ready.nc, `publishing: ${this.#lastError}`);
  }

  #afterOne(): void {
    this.#pump();
    if (this.size === 0) for (const done of this.#idle.splice(0)) done();
  }
}
