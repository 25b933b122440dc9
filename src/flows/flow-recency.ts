// The flow table's index: flows by key, least recently updated first out, bounded.
// A Map holds the keys; the recency order is a list threaded through the flows
// themselves (`newer`/`older`), so that "updated now" is a few pointer writes with
// nothing allocated. (lru-cache did the same with arrays of its own, but every `get`
// went through its options and status handling: 11% of the main thread's time in
// `npx tsx bench/profile-stages.ts b`.)

/** What a flow carries to be indexed: its key, and its neighbours in the list. */
export interface InRecencyList {
  readonly key: string;
  newer: this | undefined;
  older: this | undefined;
}

/** Why an entry left: evicted for room, deleted, or replaced by a `set` of its key. */
export type RemovalReason = 'evict' | 'delete' | 'set';

export class RecencyIndex<V extends InRecencyList> {
  readonly max: number;
  readonly #byKey = new Map<string, V>();
  readonly #removed: (value: V, key: string, reason: RemovalReason) => void;
  #newest: V | undefined;
  #oldest: V | undefined;

  constructor(max: number, removed: (value: V, key: string, reason: RemovalReason) => void) {
    if (!(max >= 1)) throw new RangeError(`a recency index holds at least 1 entry, not ${max}`);
    this.max = max;
    this.#removed = removed;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** The value, now the most recently used. */
  get(key: string): V | undefined {
    const v = this.#byKey.get(key);
    if (v !== undefined && v !== this.#newest) {
      this.#unlink(v);
      this.#pushNewest(v);
    }
    return v;
  }

  /** The value, its place in the order unchanged. */
  peek(key: string): V | undefined {
    return this.#byKey.get(key);
  }

  /** Adds (or replaces) under its key as the most recently used; the least recently used leaves when full. */
  set(value: V): void {
    const key = value.key;
    const old = this.#byKey.get(key);
    if (old !== undefined) {
      this.#unlink(old);
      this.#byKey.delete(key);
      this.#removed(old, key, 'set');
    } else if (this.#byKey.size >= this.max) {
      const oldest = this.#oldest!;
      this.#unlink(oldest);
      this.#byKey.delete(oldest.key);
      this.#removed(oldest, oldest.key, 'evict');
    }
    this.#byKey.set(key, value);
    this.#pushNewest(value);
  }

  delete(key: string): boolean {
    const v = this.#byKey.get(key);
    if (v === undefined) return false;
    this.#unlink(v);
    this.#byKey.delete(key);
    this.#removed(v, key, 'delete');
    return true;
  }

  /** Most recently used first. */
  forEach(visit: (value: V) => void): void {
    for (let v = this.#newest; v !== undefined; v = v.older) visit(v);
  }

  /** Least recently used first, as [key, value]; stop early by breaking (delete after, not during). */
  *oldestFirst(): Generator<[string, V]> {
    for (let v = this.#oldest; v !== undefined; v = v.newer) yield [v.key, v];
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
