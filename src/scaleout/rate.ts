// Messages per second over the last few seconds, from a counter sampled as it is read
// (bounded: a sample per quarter second over the window).
const WINDOW_MS = 5_000;

export class Rate {
  #samples: { at: number; count: number }[] = [];

  /** The rate now, given the counter's value now. */
  read(count: number, now = Date.now()): number {
    // At most four samples a second are kept, however often it is read.
    const last = this.#samples.at(-1);
    if (!last || now - last.at >= 250) this.#samples.push({ at: now, count });
    while (this.#samples.length > 2 && now - this.#samples[1].at >= WINDOW_MS) this.#samples.shift();
    const first = this.#samples[0];
    const seconds = (now - first.at) / 1000;
    return seconds > 0 ? (count - first.count) / seconds : 0;
  }
}
