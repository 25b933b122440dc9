// The flow table's eviction order: flows from least to most recently updated, bounded.
// A list threaded through the flows themselves (`newer`/`older`), so that "updated now"
// is a few pointer writes with nothing allocated; the flows are found through their
// tuples (flow-tuples.ts), never through this list. (lru-cache kept a Map of key strings
// and arrays of its own beside it, and every `get` went through its options and status
// handling: 11% of the main thread's time in `npx tsx bench/profile-stages.ts b`.)

/** What a flow carries to be in the list. */
export interface InRecencyList {
  newer: this | undefined;
  older: this | undefined;
}

/** Why an entry left: evicted to make room, or removed. */
export type RemovalReason = 'evict' | 'delete';

export class RecencyList<V extends InRecencyList> {
  readonly max: number;
  readonly #removed: (value: V, reason: RemovalReason) => void;
  #newest: V | undefined;
  #oldest: V | undefined;
  #size = 0;

  constructor(max: number, removed: (value: V, reason: RemovalReason) => void) {
    if (!(max >= 1)) throw new RangeError(`a recency list holds at least 1 entry, not ${max}`);
    this.max = max;
    this.#removed = removed;
  }

  get size(): number {
    return this.#size;
  }

  /** Adds as the most recently used (it must not be in the list); the least recently used leaves when full. */
  add(v: V): void {
    if (this.#size >= this.max) this.#take(this.#oldest!, 'evict');
    this.#pushNewest(v);
    this.#size++;
  }

  /** Makes an entry of the list the most recently used. */
  touch(v: V): void {
    if (v === this.#newest) return;
    this.#unlink(v);
    this.#pushNewest(v);
  }

  /** Takes an entry of the list out (told as 'delete'). */
  remove(v: V): void {
    this.#take(v, 'delete');
  }

  /** Most recently used first. */
  forEach(visit: (value: V) => void): void {
    for (let v = this.#newest; v !== undefined; v = v.older) visit(v);
  }

  /** Least recently used first; stop early by breaking (remove after, not during). */
  *oldestFirst(): Generator<V> {
    for (let v = this.#oldest; v !== undefined; v = v.newer) yield v;
  }

  #take(v: V, reason: RemovalReason): void {
    // Not in the list (never added, or already out): nothing to take.
    if (v.newer === undefined && v !== this.#newest) return;
    this.#unlink(v);
    this.#size--;
    this.#removed(v, reason);
  }

  #unlink(v: V): void {
    if (v.newer) v.newer.older = v.older;
    else this.#newest = v.older;
    if (v.older) v.older.newer = v.newer;
    else this.#oldest = v.newer;
    v.newer = undefined;
    v.older = undefined;
  }

  #pushNewest(v: V): void {
    v.older = this.#newest;
    v.newer = undefined;
    if (this.#newest) this.#newest.newer = v;
    else this.#oldest = v;
    this.#newest = v;
  }
}
