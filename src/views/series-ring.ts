// One metric over time at one resolution: a fixed ring of buckets (values and the start
// of the bucket each slot holds), so memory is fixed when it is made: 16 bytes a slot.
// A bucket either sums what was added in it (bytes, events) or keeps the last value
// (a gauge such as active flows).

export type SeriesMode = 'sum' | 'gauge';

export interface SeriesPoint {
  /** Start of the bucket, epoch milliseconds. */
  t: number;
  v: number;
}

export class SeriesRing {
  readonly #values: Float64Array;
  /** Start (ms) of the bucket each slot holds; -1 when empty. */
  readonly #starts: Float64Array;

  constructor(readonly slots: number, readonly stepMs: number, readonly mode: SeriesMode = 'sum') {
    this.#values = new Float64Array(slots);
    this.#starts = new Float64Array(slots).fill(-1);
  }

  /** Bytes this ring holds (values and bucket starts). */
  get memoryBytes(): number {
    return this.slots * 16;
  }

  /** Adds (sum) or sets (gauge) `value` in the bucket holding `atMs`. A bucket older than the ring keeps is ignored. */
  add(atMs: number, value: number): void {
    const start = Math.floor(atMs / this.stepMs) * this.stepMs;
    const i = Math.floor(start / this.stepMs) % this.slots;
    if (this.#starts[i] !== start) {
      if (this.#starts[i] > start) return; // older than the ring's span
      this.#starts[i] = start;
      this.#values[i] = 0;
    }
    this.#values[i] = this.mode === 'sum' ? this.#values[i] + value : value;
  }

  /** The buckets of the span ending at `nowMs` (oldest first, every step present, empty buckets 0). */
  points(nowMs: number, span = this.slots): SeriesPoint[] {
    const last = Math.floor(nowMs / this.stepMs) * this.stepMs;
    const n = Math.min(span, this.slots);
    const out: SeriesPoint[] = new Array(n);
    for (let k = 0; k < n; k++) {
      const t = last - (n - 1 - k) * this.stepMs;
      const i = Math.floor(t / this.stepMs) % this.slots;
      out[k] = { t, v: this.#starts[i] === t ? this.#values[i] : 0 };
    }
    return out;
  }
}
