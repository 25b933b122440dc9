// The look-back of a conditional store: the most recent packets of every flow, kept in
// one ring of pcap records in the capture process, bounded by bytes, by age and by
// count. When a flow becomes alerted, its packets still here are written out first, so
// the store holds the packets that fired the alert (an IDS alerts after it saw them).
import { RECORD_HEADER_BYTES } from '../recording/pcap-format.ts';

/** Smallest record (header and a minimal frame): sizes the entry table. */
const MIN_RECORD_BYTES = RECORD_HEADER_BYTES + 42;

export interface LookBackPacket {
  /** Where the record (header included) is in `memory`. */
  at: number;
  caplen: number;
  wireLength: number;
  tsMs: number;
}

export class LookBack {
  readonly maxBytes: number;
  readonly maxMs: number;
  readonly memory: Buffer;
  readonly #start: Int32Array;
  readonly #caplen: Int32Array;
  readonly #wire: Int32Array;
  readonly #ts: Float64Array;
  /** Flow key of each entry; undefined once taken. */
  readonly #keys: (string | undefined)[];
  /** Packets held per flow key: a flow with none is answered without a scan of the ring. */
  readonly #held = new Map<string, number>();
  readonly #capacity: number;
  #head = 0;
  #count = 0;
  #bytes = 0;
  #writePos = 0;
  evicted = 0;
  written = 0;

  constructor(maxBytes: number, maxMs: number) {
    this.maxBytes = maxBytes;
    this.maxMs = maxMs;
    this.memory = Buffer.allocUnsafe(maxBytes);
    this.#capacity = Math.max(1, Math.ceil(maxBytes / MIN_RECORD_BYTES));
    this.#start = new Int32Array(this.#capacity);
    this.#caplen = new Int32Array(this.#capacity);
    this.#wire = new Int32Array(this.#capacity);
    this.#ts = new Float64Array(this.#capacity);
    this.#keys = new Array<string | undefined>(this.#capacity);
  }

  get packets(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Keeps a copy of the record at `at` in `memory` (header and `caplen` bytes) of flow `key`. */
  add(memory: Uint8Array, at: number, caplen: number, wireLength: number, tsMs: number, key: string): void {
    const size = RECORD_HEADER_BYTES + caplen;
    if (size > this.maxBytes) {
      this.evicted++;
      return;
    }
    this.#expire(tsMs);
    this.#room(size);
    const pos = this.#writePos;
    this.memory.set(memory.subarray(at, at + size), pos);
    const i = (this.#head + this.#count) % this.#capacity;
    this.#start[i] = pos;
    this.#caplen[i] = caplen;
    this.#wire[i] = wireLength;
    this.#ts[i] = tsMs;
    this.#keys[i] = key;
    this.#held.set(key, (this.#held.get(key) ?? 0) + 1);
    this.#count++;
    this.#bytes += size;
    this.#writePos = pos + size;
  }

  /**
   * The packets of flow `key` still held, oldest first, each handed to `use` (valid
   * only during the call); they are marked taken, so a flow's packets go out once.
   */
  take(key: string, use: (p: LookBackPacket) => void): number {
    if (!this.#held.has(key)) return 0;
    this.#held.delete(key);
    let n = 0;
    const p: LookBackPacket = { at: 0, caplen: 0, wireLength: 0, tsMs: 0 };
    for (let k = 0; k < this.#count; k++) {
      const i = (this.#head + k) % this.#capacity;
      if (this.#keys[i] !== key) continue;
      this.#keys[i] = undefined;
      p.at = this.#start[i];
      p.caplen = this.#caplen[i];
      p.wireLength = this.#wire[i];
      p.tsMs = this.#ts[i];
      use(p);
      n++;
    }
    this.written += n;
    return n;
  }

  /** Drops packets older than the look-back's age at `nowMs`. */
  expire(nowMs: number): void {
    this.#expire(nowMs);
  }

  #expire(nowMs: number): void {
    const oldest = nowMs - this.maxMs;
    while (this.#count > 0 && this.#ts[this.#head] < oldest) this.#pop();
  }

  #pop(): void {
    const i = this.#head;
    const key = this.#keys[i];
    if (key !== undefined) {
      this.evicted++;
      const left = (this.#held.get(key) ?? 1) - 1;
      if (left > 0) this.#held.set(key, left);
      else this.#held.delete(key);
    }
    this.#keys[i] = undefined;
    this.#bytes -= RECORD_HEADER_BYTES + this.#caplen[i];
    this.#head = (i + 1) % this.#capacity;
    this.#count--;
    if (this.#count === 0) {
      this.#head = 0;
      this.#writePos = 0;
    }
  }

  /** Makes `size` contiguous bytes free at #writePos, dropping the oldest packets as needed. */
  #room(size: number): void {
    if (this.#count === this.#capacity) this.#pop();
    for (;;) {
      if (this.#count === 0) {
        if (this.#writePos + size > this.maxBytes) this.#writePos = 0;
        return;
      }
      const h = this.#start[this.#head];
      if (h >= this.#writePos) {
        // Free: from the write position up to the oldest packet.
        if (this.#writePos + size <= h) return;
        this.#pop();
      } else {
        // Free: from the write position to the end, and from 0 up to the oldest packet.
        if (this.#writePos + size <= this.maxBytes) return;
        this.#writePos = 0;
      }
    }
  }
}
