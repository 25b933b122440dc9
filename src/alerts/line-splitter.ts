// Newline-delimited records out of a byte stream (a file read in chunks, a socket),
// with a bound on a line: a longer one is cut (its rest skipped up to the next
// newline) and reported once, so one runaway writer cannot make the reader hold
// unbounded memory.

/** Longest line taken (Suricata's records are a few KiB; a packet-dumping one stays far below). */
export const MAX_LINE_BYTES = 1024 * 1024;

export interface LineSink {
  line(text: string, bytes: number): void;
  /** A line past the bound: `excerpt` is its start. */
  tooLong(excerpt: Buffer): void;
}

export class LineSplitter {
  readonly #max: number;
  readonly #sink: LineSink;
  #parts: Buffer[] = [];
  #held = 0;
  /** Inside a line already reported too long: drop up to its newline. */
  #skipping = false;

  constructor(sink: LineSink, maxLineBytes = MAX_LINE_BYTES) {
    this.#sink = sink;
    this.#max = maxLineBytes;
  }

  /** Bytes of an unfinished line held. */
  get held(): number {
    return this.#held;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      this.#take(chunk.subarray(start, nl), true);
      start = nl + 1;
    }
    if (start < chunk.length) this.#take(chunk.subarray(start), false);
  }

  /** Forgets an unfinished line (the file was truncated or replaced). */
  reset(): void {
    this.#parts = [];
    this.#held = 0;
    this.#skipping = false;
  }

  #take(piece: Buffer, complete: boolean): void {
    if (this.#skipping) {
      if (complete) this.#skipping = false;
      return;
    }
    if (this.#held + piece.length > this.#max) {
      const excerpt = Buffer.concat([...this.#parts, piece.subarray(0, 512)]).subarray(0, 512);
      this.reset();
      this.#skipping = !complete;
      this.#sink.tooLong(excerpt);
      return;
    }
    if (!complete) {
      this.#parts.push(Buffer.from(piece));
      this.#held += piece.length;
      return;
    }
    const whole = this.#parts.length ? Buffer.concat([...this.#parts, piece]) : piece;
    this.#parts = [];
    this.#held = 0;
    let end = whole.length;
    if (end > 0 && whole[end - 1] === 0x0d) end--;
    if (end === 0) return;
    this.#sink.line(whole.toString('utf8', 0, end), whole.length + 1);
  }
}
