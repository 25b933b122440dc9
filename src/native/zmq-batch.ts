// Whole ZMQ messages, many per native call (native/zmq-receive.c), for the receive
// thread of a ZMQ interface: one call per batch of messages instead of six or seven per
// message through libzmq's API. Needs flowbridge's own library; without it the receive
// thread takes messages one at a time (SubSocket.recvWithPeer and recvInto).
import { flowbridgeLibrary } from './flowbridge-lib.ts';
import { EAGAIN, EINTR, type SubSocket, ZmqError } from './libzmq.ts';

const NO_BYTES = Buffer.alloc(0);
const META_INTS = 8;
/** Room for the messages of one call; each needs room for the largest possible one. */
const BUFFER_BYTES = 2 * 1024 * 1024;

type RecvBatch = NonNullable<Exclude<ReturnType<typeof flowbridgeLibrary>, string>['recvBatch']>;

export class MessageBatch {
  readonly #recv: RecvBatch;
  readonly #buf = Buffer.alloc(BUFFER_BYTES);
  readonly #meta: Int32Array;
  readonly #maxMessages: number;
  readonly #headerCap: number;
  readonly #payloadCap: number;
  #lastPeer = '';

  private constructor(recv: RecvBatch, maxMessages: number, headerCap: number, payloadCap: number) {
    this.#recv = recv;
    this.#maxMessages = maxMessages;
    this.#headerCap = headerCap;
    this.#payloadCap = payloadCap;
    this.#meta = new Int32Array(maxMessages * META_INTS);
  }

  /**
   * Batches of up to `maxMessages`, each message's header kept up to `headerCap` bytes and
   * its payload up to `payloadCap`; undefined when flowbridge's library is not built.
   */
  static open(maxMessages: number, headerCap: number, payloadCap: number): MessageBatch | undefined {
    const lib = flowbridgeLibrary();
    if (typeof lib === 'string' || !lib.recvBatch || headerCap + payloadCap + 64 > BUFFER_BYTES) return undefined;
    return new MessageBatch(lib.recvBatch, maxMessages, headerCap, payloadCap);
  }

  /** Receives what is queued, without waiting: the number of messages now in the batch. */
  receive(socket: SubSocket): number {
    const n = this.#recv(socket.handle, this.#buf, BUFFER_BYTES, this.#meta, this.#maxMessages, this.#headerCap, this.#payloadCap) as number;
    if (n >= 0) return n;
    if (-n === EAGAIN || -n === EINTR) return 0;
    throw new ZmqError('zmq_msg_recv', -n);
  }

  /**
   * Message k's frames as the ingest pipeline takes them: the header (cut at its room),
   * the payload (cut at its room, so an oversize one shows), further frames empty.
   * Views of the batch's buffer, valid until the next receive.
   */
  frames(k: number): Buffer[] {
    const m = this.#meta;
    const at = k * META_INTS;
    const header = this.#buf.subarray(m[at], m[at] + Math.min(m[at + 1], this.#headerCap));
    const count = m[at + 4];
    if (count === 1) return [header];
    const frames = [header, this.#buf.subarray(m[at + 2], m[at + 2] + Math.min(m[at + 3], this.#payloadCap))];
    for (let f = 2; f < count; f++) frames.push(NO_BYTES);
    return frames;
  }

  /** Message k's header frame size and payload frame size as sent, and its frame count. */
  sizes(k: number): { header: number; payload: number; frames: number } {
    const at = k * META_INTS;
    return { header: this.#meta[at + 1], payload: this.#meta[at + 3], frames: this.#meta[at + 4] };
  }

  /** Message k's sender (libzmq's Peer-Address) when its header is v0's, else undefined. */
  peer(k: number): string | undefined {
    const at = k * META_INTS;
    const from = this.#meta[at + 5];
    const len = this.#meta[at + 6];
    if (len === 0) return undefined;
    // A producer sends many messages in a row: its address is read once.
    const last = this.#lastPeer;
    if (last.length === len) {
      let same = true;
      for (let i = 0; i < len && same; i++) same = last.charCodeAt(i) === this.#buf[from + i];
      if (same) return last;
    }
    return (this.#lastPeer = this.#buf.toString('latin1', from, from + len));
  }
}
