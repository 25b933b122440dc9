// A small typed binding to the system libzmq (libzmq.so.5) through koffi.
// Why not the `zeromq` package: it costs a promise and two Buffers per message
// (~8 µs, ≈120 K msg/s here); a blocking receive loop through the C API in a
// worker thread is about twice as fast, and ingest is bound by per-message overhead.
import koffi from 'koffi';

const lib = koffi.load('libzmq.so.5');
const libc = koffi.load('libc.so.6');
/** Copies a frame out of libzmq's memory straight into one of our Buffers. */
const memcpy = libc.func('void *memcpy(void *dst, const void *src, size_t n)');
const dup = libc.func('int dup(int fd)');
const closeFd = libc.func('int close(int fd)');
const recvPeek = libc.func('long recv(int fd, _Out_ uint8_t *buf, size_t len, int flags)');
const MSG_PEEK = 2;
const MSG_DONTWAIT = 0x40;

export const ZMQ_SUB = 2;
const ZMQ_PAIR = 0;
export const ZMQ_RCVMORE = 13;
export const ZMQ_SUBSCRIBE = 6;
export const ZMQ_RCVHWM = 24;
export const ZMQ_RCVTIMEO = 27;
export const ZMQ_LINGER = 17;
export const ZMQ_CURVE_SERVER = 47;
export const ZMQ_CURVE_SECRETKEY = 49;
export const ZMQ_MAXMSGSIZE = 22;
export const ZMQ_IPV6 = 42;
export const ZMQ_DONTWAIT = 1;
const ZMQ_POLLIN = 1;
/** sizeof(zmq_pollitem_t) on 64-bit Linux: void *socket, int fd, short events, short revents. */
const POLLITEM_BYTES = 16;
export const EAGAIN = 11;
/** sizeof(zmq_msg_t): an opaque, 8-byte aligned block. */
const ZMQ_MSG_BYTES = 64;
export const EINTR = 4;

const zmq_ctx_new = lib.func('void *zmq_ctx_new()');
const zmq_ctx_term = lib.func('int zmq_ctx_term(void *ctx)');
const zmq_socket = lib.func('void *zmq_socket(void *ctx, int type)');
const zmq_close = lib.func('int zmq_close(void *s)');
const zmq_setsockopt = lib.func('int zmq_setsockopt(void *s, int option, const void *value, size_t len)');
// Pointer arguments as raw buffers: koffi passes a Buffer's memory without conversion.
const zmq_getsockopt = lib.func('int zmq_getsockopt(void *s, int option, void *value, void *len)');
const zmq_bind = lib.func('int zmq_bind(void *s, const char *endpoint)');
const zmq_connect = lib.func('int zmq_connect(void *s, const char *endpoint)');
const zmq_recv = lib.func('int zmq_recv(void *s, _Out_ uint8_t *buf, size_t len, int flags)');
const zmq_msg_init = lib.func('int zmq_msg_init(void *msg)');
const zmq_msg_recv = lib.func('int zmq_msg_recv(void *msg, void *s, int flags)');
const zmq_msg_data = lib.func('void *zmq_msg_data(void *msg)');
const zmq_msg_gets = lib.func('const char *zmq_msg_gets(void *msg, const char *property)');
const zmq_msg_more = lib.func('int zmq_msg_more(void *msg)');
const zmq_msg_close = lib.func('int zmq_msg_close(void *msg)');
const zmq_poll = lib.func('int zmq_poll(void *items, int nitems, long timeout)');
const zmq_errno = lib.func('int zmq_errno()');
const zmq_strerror = lib.func('const char *zmq_strerror(int errnum)');
const zmq_curve_keypair = lib.func('int zmq_curve_keypair(_Out_ uint8_t *z85_public_key, _Out_ uint8_t *z85_secret_key)');
const zmq_has = lib.func('int zmq_has(const char *capability)');
const zmq_socket_monitor = lib.func('int zmq_socket_monitor(void *s, const char *addr, int events)');

/** Socket monitor events flowbridge reads (zmq.h; the event frame carries a u16 event and a u32 value). */
export const ZMQ_EVENT_CONNECTED = 0x0001;
export const ZMQ_EVENT_ACCEPTED = 0x0020;
export const ZMQ_EVENT_DISCONNECTED = 0x0200;
export const ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL = 0x0800;
export const ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL = 0x2000;
export const ZMQ_EVENT_HANDSHAKE_FAILED_AUTH = 0x4000;

export class ZmqError extends Error {
  /** libzmq's words for errno, e.g. "Address already in use". */
  readonly reason: string;

  constructor(what: string, readonly errno: number = zmq_errno()) {
    const reason = zmq_strerror(errno) as string;
    super(`${what}: ${reason}`);
    this.reason = reason;
  }
}

function check(rc: number, what: string): number {
  if (rc === -1) throw new ZmqError(what);
  return rc;
}

function intOption(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
}

/** A libzmq context: its sockets share its I/O thread. One per collector thread. */
export class ZmqContext {
  readonly handle: unknown = zmq_ctx_new();
  readonly #sockets = new Set<{ close(): void }>();

  subSocket(): SubSocket {
    const s = new SubSocket(this.handle, () => this.#sockets.delete(s));
    this.#sockets.add(s);
    return s;
  }

  /** Starts libzmq's monitor of `socket` (the `events` mask) and returns the PAIR socket that reads it. */
  monitor(socket: SubSocket, events: number): MonitorSocket {
    const address = `inproc://monitor-${++monitors}`;
    check(zmq_socket_monitor(socket.handle, address, events), 'zmq_socket_monitor');
    const m = new MonitorSocket(this.handle, address, () => this.#sockets.delete(m));
    this.#sockets.add(m);
    return m;
  }

  /** Closes the sockets left open, then the context. */
  term(): void {
    for (const s of [...this.#sockets]) s.close();
    zmq_ctx_term(this.handle);
  }
}

/** A SUB socket receiving two-frame messages. Not thread-safe: used by one thread. */
export class SubSocket {
  readonly handle: unknown;
  readonly #onClose: () => void;
  readonly #msg = Buffer.alloc(ZMQ_MSG_BYTES);
  readonly #more = Buffer.alloc(4);
  /** size_t in/out length of ZMQ_RCVMORE's value. */
  readonly #moreLen = Buffer.alloc(8);
  #closed = false;

  constructor(ctx: unknown, onClose: () => void) {
    this.handle = zmq_socket(ctx, ZMQ_SUB);
    if (!this.handle) throw new ZmqError('zmq_socket');
    this.#onClose = onClose;
    check(zmq_setsockopt(this.handle, ZMQ_LINGER, intOption(0), 4), 'ZMQ_LINGER');
    // One zmq_msg_t for the socket's life: zmq_msg_recv releases what it held before
    // (two native calls a message fewer than an init and a close each time).
    check(zmq_msg_init(this.#msg), 'zmq_msg_init');
  }

  setInt(option: number, value: number, what: string): void {
    check(zmq_setsockopt(this.handle, option, intOption(value), 4), what);
  }

  setInt64(option: number, value: number, what: string): void {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(value));
    check(zmq_setsockopt(this.handle, option, b, 8), what);
  }

  subscribe(prefix: string): void {
    const b = Buffer.from(prefix, 'latin1');
    check(zmq_setsockopt(this.handle, ZMQ_SUBSCRIBE, b, b.length), `subscribe ${prefix}`);
  }

  /** Makes this socket a CURVE server with the given Z85 secret key. */
  curveServer(secretKeyZ85: string): void {
    this.setInt(ZMQ_CURVE_SERVER, 1, 'ZMQ_CURVE_SERVER');
    const b = Buffer.from(secretKeyZ85, 'latin1');
    check(zmq_setsockopt(this.handle, ZMQ_CURVE_SECRETKEY, b, b.length), 'ZMQ_CURVE_SECRETKEY');
  }

  bind(endpoint: string): void {
    check(zmq_bind(this.handle, endpoint), `bind ${endpoint}`);
  }

  connect(endpoint: string): void {
    check(zmq_connect(this.handle, endpoint), `connect ${endpoint}`);
  }

  /**
   * Receives one frame into `buf` (truncating, as zmq_recv does). Returns the
   * frame's full size, or -1 on timeout/interrupt.
   */
  recvInto(buf: Buffer, flags = 0): number {
    const n = zmq_recv(this.handle, buf, buf.length, flags) as number;
    if (n >= 0) return n;
    const errno = zmq_errno() as number;
    if (errno === EAGAIN || errno === EINTR) return -1;
    throw new ZmqError('zmq_recv', errno);
  }

  /**
   * Receives one frame as a zmq_msg_t, copying at most `buf.length` bytes into `buf`,
   * and, for a 40-byte (v0) header, the sender's address (libzmq's Peer-Address: the IP
   * of a tcp peer).
   * Returns the frame's full size, the peer, and whether more frames follow; or
   * undefined on timeout/interrupt.
   */
  recvWithPeer(buf: Buffer, flags = 0): { size: number; peer: string | undefined; more: boolean } | undefined {
    const msg = this.#msg;
    const n = zmq_msg_recv(msg, this.handle, flags) as number;
    if (n < 0) {
      const errno = zmq_errno() as number;
      if (errno === EAGAIN || errno === EINTR) return undefined;
      throw new ZmqError('zmq_msg_recv', errno);
    }
    if (n > 0) memcpy(buf, zmq_msg_data(msg), Math.min(n, buf.length));
    // Only v0 headers (40 bytes) need the peer: the others carry a source id.
    const peer = n === 40 ? ((zmq_msg_gets(msg, 'Peer-Address') as string | null) ?? undefined) : undefined;
    return { size: n, peer, more: zmq_msg_more(msg) !== 0 };
  }

  /** True when the last frame received has more frames after it. */
  more(): boolean {
    this.#moreLen.writeUInt32LE(4, 0);
    check(zmq_getsockopt(this.handle, ZMQ_RCVMORE, this.#more, this.#moreLen), 'ZMQ_RCVMORE');
    return this.#more.readInt32LE(0) !== 0;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    zmq_msg_close(this.#msg);
    zmq_close(this.handle);
    this.#onClose();
  }
}

let monitors = 0;

/** One socket monitor event: what happened, its value (a file descriptor, an errno or a protocol error code) and the endpoint. */
export interface MonitorEvent {
  event: number;
  value: number;
  endpoint: string;
}

/** The PAIR socket a socket monitor writes its events to (two frames an event). */
export class MonitorSocket {
  readonly handle: unknown;
  readonly #onClose: () => void;
  readonly #frame = Buffer.alloc(6);
  readonly #address = Buffer.alloc(1024);
  #closed = false;

  constructor(ctx: unknown, address: string, onClose: () => void) {
    this.handle = zmq_socket(ctx, ZMQ_PAIR);
    if (!this.handle) throw new ZmqError('zmq_socket');
    this.#onClose = onClose;
    check(zmq_setsockopt(this.handle, ZMQ_LINGER, intOption(0), 4), 'ZMQ_LINGER');
    check(zmq_connect(this.handle, address), `connect ${address}`);
  }

  /** The next event, or undefined when none is waiting. */
  next(): MonitorEvent | undefined {
    const n = zmq_recv(this.handle, this.#frame, 6, ZMQ_DONTWAIT) as number;
    if (n < 0) return undefined;
    const event = this.#frame.readUInt16LE(0);
    const value = this.#frame.readUInt32LE(2);
    const m = zmq_recv(this.handle, this.#address, this.#address.length, 0) as number;
    const endpoint = m > 0 ? this.#address.toString('latin1', 0, Math.min(m, this.#address.length)) : '';
    return { event, value, endpoint };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    zmq_close(this.handle);
    this.#onClose();
  }
}

/**
 * A second descriptor of a connection libzmq owns, taken when the monitor reports it:
 * after libzmq closes its own, this one still tells how the connection ended.
 * -1 when the descriptor is gone already.
 */
export function holdConnection(fd: number): number {
  return dup(fd) as number;
}

/**
 * How a held connection stands after libzmq dropped it: 'closed' when the peer closed
 * it (end of stream, or reset), 'open' when the peer was still connected (or still
 * sending): libzmq cut it. Releases the descriptor.
 */
export function releaseConnection(held: number): 'closed' | 'open' {
  const b = Buffer.alloc(1);
  const n = Number(recvPeek(held, b, 1, MSG_PEEK | MSG_DONTWAIT));
  const errno = n < 0 ? (zmq_errno() as number) : 0;
  closeFd(held);
  // recv: 0 at end of stream; data waiting, or EAGAIN, while the peer is connected.
  return n === 0 || (n < 0 && errno !== EAGAIN) ? 'closed' : 'open';
}

/**
 * Waits until one of several sockets has a message (zmq_poll), for a collector fed
 * by several endpoints: each endpoint has its own socket, so every message is known
 * to come from the endpoint it arrived on.
 */
export class Poller {
  readonly #items: Buffer;
  readonly #count: number;

  constructor(sockets: { handle: unknown }[]) {
    this.#count = sockets.length;
    this.#items = Buffer.alloc(POLLITEM_BYTES * sockets.length);
    sockets.forEach((s, i) => {
      this.#items.writeBigUInt64LE(koffi.address(s.handle) as bigint, i * POLLITEM_BYTES);
      this.#items.writeInt16LE(ZMQ_POLLIN, i * POLLITEM_BYTES + 12);
    });
  }

  /** Waits up to `timeoutMs`; returns how many sockets are readable (0 on timeout or interrupt). */
  wait(timeoutMs: number): number {
    const n = zmq_poll(this.#items, this.#count, timeoutMs) as number;
    if (n >= 0) return n;
    const errno = zmq_errno() as number;
    if (errno === EINTR) return 0;
    throw new ZmqError('zmq_poll', errno);
  }

  /** After wait(): does socket `i` have a message? */
  readable(i: number): boolean {
    return (this.#items.readInt16LE(i * POLLITEM_BYTES + 14) & ZMQ_POLLIN) !== 0;
  }
}

/** A new CURVE key pair, Z85-encoded (40 characters each). */
export function curveKeypair(): { publicKey: string; secretKey: string } {
  if (!zmq_has('curve')) throw new Error('this libzmq was built without CURVE support');
  const pub = Buffer.alloc(41);
  const sec = Buffer.alloc(41);
  check(zmq_curve_keypair(pub, sec), 'zmq_curve_keypair');
  return { publicKey: pub.toString('latin1', 0, 40), secretKey: sec.toString('latin1', 0, 40) };
}
