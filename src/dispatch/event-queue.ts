// A bounded FIFO of socket events waiting to be merged into one interface's flow
// table. A ring buffer: no allocation per event, O(1) at both ends. When full, the
// caller is told and counts the drop; the queue never grows past its bound.
import type { SocketEvent } from '../model/event.ts';

export class EventQueue {
  readonly bound: number;
  readonly #events: (SocketEvent | undefined)[];
  /** Name of the ZMQ interface each event came through. */
  readonly #via: string[];
  #head = 0;
  #size = 0;

  constructor(bound: number) {
    if (!Number.isInteger(bound) || bound < 1) throw new RangeError(`queue bound must be a positive integer, got ${bound}`);
    this.bound = bound;
    this.#events = new Array(bound);
    this.#via = new Array(bound);
  }

  get size(): number {
    return this.#size;
  }

  /** Appends, or returns false (and keeps nothing) when the queue is full. */
  push(event: SocketEvent, via: string): boolean {
    if (this.#size === this.bound) return false;
    const i = (this.#head + this.#size) % this.bound;
    this.#events[i] = event;
    this.#via[i] = via;
    this.#size++;
    return true;
  }

  /** Hands at most `max` events, oldest first, to `fn`; returns how many. */
  drain(max: number, fn: (event: SocketEvent, via: string) => void): number {
    const n = Math.min(max, this.#size);
    for (let k = 0; k < n; k++) {
      const i = this.#head;
      const event = this.#events[i]!;
      this.#events[i] = undefined;
      this.#head = (i + 1) % this.bound;
      this.#size--;
      fn(event, this.#via[i]);
    }
    return n;
  }
}
