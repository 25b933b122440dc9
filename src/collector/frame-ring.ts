// A single-producer, single-consumer ring of received messages in shared memory: the
// receive thread writes each message's frames straight into it (libzmq copies a frame
// into the ring, nothing copies it again), a decode thread reads them in order. Bounded
// by its size; a writer that finds no room waits (libzmq then queues, up to its
// receive high-water mark, and producers' msg_id gaps show what was lost beyond).
//
// Positions are byte counters that wrap as u32; a record never wraps: when it does not
// fit before the end, a padding record fills the rest. A record is
//   u32 length (bytes, 4-aligned) | u8 endpoint | u8 frame count | u8 peer length | u8 0
//   | u32 header size | u32 payload size | u32 payload bytes stored | peer | header | payload
// sizes being the frames' full sizes (what was stored may be truncated, as zmq_recv does).

const WRITE = 0;
const READ = 1;
const CONTROL_SLOTS = 2;
const PAD = 0xffffffff;
export const RECORD_HEAD = 20;
/** Header bytes kept (every header layout is 24–40 bytes; longer ones are refused by their size). */
export const HEADER_KEPT = 64;
/** Peer address bytes kept. */
export const PEER_KEPT = 64;

export interface RingBuffers {
  data: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

export function createRing(bytes: number): RingBuffers {
  if (bytes & (bytes - 1)) throw new RangeError('a ring size is a power of two');
  return { data: new SharedArrayBuffer(bytes), control: new SharedArrayBuffer(CONTROL_SLOTS * 4) };
}

const align = (n: number) => (n + 3) & ~3;

/** A message read from the ring: views into shared memory, valid until release(). */
export interface RingRecord {
  endpoint: number;
  frameCount: number;
  peer: string | undefined;
  header: Buffer;
  headerSize: number;
  payload: Buffer;
  payloadSize: number;
}

class RingBase {
  readonly bytes: Buffer;
  readonly view: DataView;
  readonly control: Int32Array;
  readonly size: number;

  constructor(b: RingBuffers) {
    this.bytes = Buffer.from(b.data);
    this.view = new DataView(b.data);
    this.control = new Int32Array(b.control);
    this.size = b.data.byteLength;
  }

  /** Bytes written and not yet released. */
  get used(): number {
    return (Atomics.load(this.control, WRITE) - Atomics.load(this.control, READ)) >>> 0;
  }
}

/** The receive thread's end. */
export class RingWriter extends RingBase {
  #at = 0;
  #start = 0;

  /**
   * Room for a record of at most `payloadRoom` payload bytes, contiguous, or false
   * when the ring has none now. Then: header(), payloadArea(), commit().
   */
  reserve(payloadRoom: number): boolean {
    const need = align(RECORD_HEAD + PEER_KEPT + HEADER_KEPT + payloadRoom);
    const write = Atomics.load(this.control, WRITE) >>> 0;
    const free = this.size - this.used;
    const offset = write & (this.size - 1);
    const tail = this.size - offset;
    if (tail < need) {
      // Pad to the end, then the record starts at 0.
      if (free < tail + need) return false;
      if (tail >= 4) this.view.setUint32(offset, PAD, true);
      Atomics.store(this.control, WRITE, (write + tail) | 0);
      this.#start = 0;
    } else {
      if (free < need) return false;
      this.#start = offset;
    }
    return true;
  }

  /** Writes the record's head and the header and peer; returns where the payload goes (its `room` bytes). */
  begin(endpoint: number, header: Buffer, headerSize: number, peer: string | undefined, room: number): Buffer {
    const s = this.#start;
    const v = this.view;
    const peerLen = peer === undefined ? 0 : this.bytes.write(peer, s + RECORD_HEAD, PEER_KEPT, 'latin1');
    v.setUint8(s + 4, endpoint);
    v.setUint8(s + 6, peer === undefined ? 255 : peerLen);
    v.setUint32(s + 8, headerSize, true);
    const headerAt = s + RECORD_HEAD + peerLen;
    const kept = Math.min(headerSize, HEADER_KEPT, header.length);
    header.copy(this.bytes, headerAt, 0, kept);
    this.#at = headerAt + kept;
    return this.bytes.subarray(this.#at, this.#at + room);
  }

  /** Completes the record with its frame count and payload size (`stored` bytes of it were written). */
  commit(frameCount: number, payloadSize: number, stored: number): void {
    const s = this.#start;
    this.view.setUint8(s + 5, Math.min(frameCount, 255));
    this.view.setUint32(s + 12, payloadSize, true);
    this.view.setUint32(s + 16, stored, true);
    const length = align(this.#at + stored - s);
    this.view.setUint32(s, length, true);
    Atomics.store(this.control, WRITE, (Atomics.load(this.control, WRITE) + length) | 0);
    Atomics.notify(this.control, WRITE);
  }

  /** Waits up to `ms` for the reader to free room. */
  waitForRoom(ms: number): void {
    Atomics.wait(this.control, READ, Atomics.load(this.control, READ), ms);
  }
}

/** A decode thread's end. */
export class RingReader extends RingBase {
  #length = 0;

  /** The next record, or undefined when the ring is empty. Call release() when done with it. */
  next(): RingRecord | undefined {
    for (;;) {
      if (this.used === 0) return undefined;
      const read = Atomics.load(this.control, READ) >>> 0;
      const s = read & (this.size - 1);
      const tail = this.size - s;
      if (tail < 4 || this.view.getUint32(s, true) === PAD) {
        Atomics.store(this.control, READ, (read + tail) | 0);
        continue;
      }
      const v = this.view;
      const length = v.getUint32(s, true);
      const peerLen = v.getUint8(s + 6);
      const headerSize = v.getUint32(s + 8, true);
      const payloadSize = v.getUint32(s + 12, true);
      const stored = v.getUint32(s + 16, true);
      const peerBytes = peerLen === 255 ? 0 : peerLen;
      const headerAt = s + RECORD_HEAD + peerBytes;
      const headerKept = Math.min(headerSize, HEADER_KEPT);
      this.#length = length;
      return {
        endpoint: v.getUint8(s + 4),
        frameCount: v.getUint8(s + 5),
        peer: peerLen === 255 ? undefined : this.bytes.toString('latin1', s + RECORD_HEAD, s + RECORD_HEAD + peerBytes),
        header: this.bytes.subarray(headerAt, headerAt + headerKept),
        headerSize,
        payload: this.bytes.subarray(headerAt + headerKept, headerAt + headerKept + stored),
        payloadSize,
      };
    }
  }

  /** Frees the record last returned by next(). */
  release(): void {
    Atomics.store(this.control, READ, (Atomics.load(this.control, READ) + this.#length) | 0);
    Atomics.notify(this.control, READ);
  }

  /** Waits up to `ms` for a record. */
  waitForRecord(ms: number): void {
    Atomics.wait(this.control, WRITE, Atomics.load(this.control, WRITE), ms);
  }
}
