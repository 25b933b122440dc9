// A test producer speaking the ntopng ZMQ protocol (../shared/reference/wire-format.md).
// Everything on this side is independent of the collector's code, so tests never check
// the collector against itself: the socket is the `zeromq` package (another ZMQ
// implementation than the collector's libzmq binding), and headers and nDPI TLV are
// written here byte by byte from the reference.
//
//   encodeHeader(layout, topic, opts)       a header frame: layout 0 (40 B), 1 (24 B), 2 (28 B), 3 (36 B)
//   encodeTlv(records)                      nDPI TLV records
//   message(topic, records, opts)           [header, payload] of one message (JSON or TLV, zlib or not)
//   rawMessage(topic, payload, opts)        the same around a payload already encoded (good or bad)
//   Producer.connect(endpoint, opts)        a PUB socket connecting to a collector that binds (…c)
//   Producer.bind(endpoint, opts)           a PUB socket binding, for a collector that connects
//   producer.send(topic, records | payload, opts), producer.sendRaw(frames), producer.close()
//   untilConnected / untilSubscribed        wait out PUB/SUB's slow joiner
import { deflateSync } from 'node:zlib';
import { Publisher } from 'zeromq';

/** Header layouts by frame length: 0 = 40 bytes (legacy, ebpflowexport), 1 = 24, 2 = 28, 3 = 36 (version byte 4). */
export type Layout = 0 | 1 | 2 | 3;

export interface HeaderOptions {
  msgId?: number;
  sourceId?: number;
  /** The version field. Defaults: 0 for layout 0, 2 for layouts 1/2 (3 when `tlv`), always 4 for layout 3. */
  version?: number;
  /** Payload is TLV: v3 flag 0x02; layouts 1/2 say so with version byte 3. */
  tlv?: boolean;
  /** Payload is zlib: v3 flag 0x04 (the other layouts mark it in the payload itself). */
  compressed?: boolean;
  /** The size field(s): hints the collector must not trust. */
  size?: number;
  uncompressedSize?: number;
}

/** A header frame, written from the layout table of wire-format.md (host order = little-endian here). */
export function encodeHeader(layout: Layout, topic: string, o: HeaderOptions = {}): Buffer {
  const size = o.size ?? 0;
  const msgId = o.msgId ?? 0;
  const sourceId = o.sourceId ?? 0;
  switch (layout) {
    case 0: {
      const h = Buffer.alloc(40); // topic[32] @0, version u32 @32, size u32 @36
      h.write(topic, 0, 31, 'latin1');
      h.writeUInt32LE(o.version ?? 0, 32);
      h.writeUInt32LE(size, 36);
      return h;
    }
    case 1: {
      const h = Buffer.alloc(24); // topic[16] @0, version u8 @16, source_id u8 @17, size u16 @18, msg_id u32 @20
      const version = o.version ?? (o.tlv ? 3 : 2);
      h.write(topic, 0, 15, 'latin1');
      h[16] = version;
      h[17] = sourceId & 0xff;
      h.writeUInt16LE(size & 0xffff, 18);
      // msg_id is big-endian, except that version 1 wrote it in host order.
      if (version === 1) h.writeUInt32LE(msgId, 20);
      else h.writeUInt32BE(msgId, 20);
      return h;
    }
    case 2: {
      const h = Buffer.alloc(28); // topic[16] @0, version u8 @16, pad @17, size u16 @18, msg_id u32 BE @20, source_id u32 @24
      h.write(topic, 0, 15, 'latin1');
      h[16] = o.version ?? (o.tlv ? 3 : 2);
      h.writeUInt16LE(size & 0xffff, 18);
      h.writeUInt32BE(msgId, 20);
      h.writeUInt32LE(sourceId, 24);
      return h;
    }
    case 3: {
      // topic[16] @0, version u8 @16 (4), flags u8 @17, pad, uncompressed_size u32 @20,
      // compressed_size u32 @24, msg_id u32 BE @28, source_id u32 @32
      const h = Buffer.alloc(36);
      h.write(topic, 0, 15, 'latin1');
      h[16] = o.version ?? 4;
      h[17] = (o.tlv ? 0x02 : 0) | (o.compressed ? 0x04 : 0);
      h.writeUInt32LE(o.uncompressedSize ?? size, 20);
      h.writeUInt32LE(size, 24);
      h.writeUInt32BE(msgId, 28);
      h.writeUInt32LE(sourceId, 32);
      return h;
    }
  }
}

// nDPI serializer type codes (wire-format.md, "Payload encodings").
const TLV = { endOfRecord: 1, u8: 2, u16: 3, u32: 4, u64: 5, i32: 8, i64: 9, float: 10, string: 11, startOfBlock: 12, endOfBlock: 13, startOfList: 14, endOfList: 15 };

/**
 * nDPI TLV records: byte 0 = 1 (serializer version), byte 1 = 1 (TLV), then per record
 * its items and 0x01. Keys that are numbers ("8") go as u8/u16/u32 keys, others as
 * strings; integers as the smallest unsigned type (negative: i32/i64), other numbers
 * as 32-bit floats, objects as blocks, arrays as lists (items without keys).
 */
export function encodeTlv(records: Record<string, unknown>[]): Buffer {
  const out: number[] = [1, 1];
  const uint = (n: number, bytes: number) => {
    for (let i = bytes - 1; i >= 0; i--) out.push(Math.floor(n / 2 ** (8 * i)) % 256);
  };
  const string = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    uint(b.length, 2);
    out.push(...b);
  };
  const item = (key: string | undefined, value: unknown) => {
    let valueType: number;
    let write: () => void;
    if (typeof value === 'string') {
      valueType = TLV.string;
      write = () => string(value);
    } else if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff) {
      const bytes = value <= 0xff ? 1 : value <= 0xffff ? 2 : 4;
      valueType = bytes === 1 ? TLV.u8 : bytes === 2 ? TLV.u16 : TLV.u32;
      write = () => uint(value, bytes);
    } else if (typeof value === 'number' && Number.isInteger(value)) {
      const b = Buffer.alloc(8);
      if (value >= -0x80000000 && value < 0) {
        valueType = TLV.i32;
        b.writeInt32BE(value);
        write = () => out.push(...b.subarray(0, 4));
      } else {
        valueType = value < 0 ? TLV.i64 : TLV.u64;
        if (value < 0) b.writeBigInt64BE(BigInt(value));
        else b.writeBigUInt64BE(BigInt(value));
        write = () => out.push(...b);
      }
    } else if (typeof value === 'number') {
      const b = Buffer.alloc(4);
      b.writeFloatBE(value);
      valueType = TLV.float;
      write = () => out.push(...b);
    } else if (Array.isArray(value)) {
      valueType = TLV.startOfList;
      write = () => {
        for (const v of value) item(undefined, v);
        out.push(TLV.endOfList);
      };
    } else if (typeof value === 'object' && value !== null) {
      valueType = TLV.startOfBlock;
      write = () => {
        for (const [k, v] of Object.entries(value)) item(k, v);
        out.push(TLV.endOfBlock);
      };
    } else {
      throw new TypeError(`TLV has no type for ${String(value)}`);
    }
    if (key === undefined) {
      out.push(valueType); // list items carry no key
    } else if (/^\d{1,10}$/.test(key) && Number(key) <= 0xffffffff) {
      const n = Number(key);
      const bytes = n <= 0xff ? 1 : n <= 0xffff ? 2 : 4;
      out.push(((bytes === 1 ? TLV.u8 : bytes === 2 ? TLV.u16 : TLV.u32) << 4) | valueType);
      uint(n, bytes);
    } else {
      out.push((TLV.string << 4) | valueType);
      string(key);
    }
    write();
  };
  for (const record of records) {
    for (const [k, v] of Object.entries(record)) item(k, v);
    out.push(TLV.endOfRecord);
  }
  return Buffer.from(out);
}

export interface SendOptions {
  /** Header layout (default 0, what ebpflowexport sends). */
  layout?: Layout;
  msgId?: number;
  sourceId?: number;
  /** zlib: v3 flag 0x04; in the other layouts a leading 0x00 byte, then the stream. */
  compress?: boolean;
  /** nDPI TLV instead of JSON (not expressible in layout 0). */
  tlv?: boolean;
  /** The header's version field (see HeaderOptions.version). */
  version?: number;
}

/** Frames of one message: header + payload (a JSON object or array, or TLV records), compressed as the layout signals it. */
export function message(topic: string, records: object | object[], o: SendOptions = {}): [Buffer, Buffer] {
  const list = (Array.isArray(records) ? records : [records]) as Record<string, unknown>[];
  const payload = o.tlv ? encodeTlv(list) : Buffer.from(JSON.stringify(records));
  return rawMessage(topic, payload, o);
}

/** Frames of one message around a payload already encoded (JSON text or TLV, good or bad). */
export function rawMessage(topic: string, encoded: Buffer, o: SendOptions = {}): [Buffer, Buffer] {
  const layout = o.layout ?? 0;
  let payload = encoded;
  if (o.compress) payload = layout === 3 ? deflateSync(encoded) : Buffer.concat([Buffer.from([0]), deflateSync(encoded)]);
  const header = encodeHeader(layout, topic, {
    msgId: o.msgId, sourceId: o.sourceId, version: o.version, tlv: o.tlv, compressed: o.compress,
    size: payload.length, uncompressedSize: encoded.length,
  });
  return [header, payload];
}

export interface ProducerOptions {
  /** CURVE client: the collector's (server's) public key, and this producer's key pair (Z85). */
  curve?: { serverKey: string; publicKey: string; secretKey: string };
  /** Messages a PUB socket queues before it silently drops (default 100 000: room for a test's burst). */
  sendHighWaterMark?: number;
  /** Allow IPv6 (needed for tcp://[::1]:port). */
  ipv6?: boolean;
}

/** Options, or a function given the socket before it connects or binds (for anything else zeromq offers). */
type Setup = ProducerOptions | ((s: Publisher) => void);

function publisher(setup: Setup | undefined): Publisher {
  const o = typeof setup === 'object' ? setup : {};
  const s = new Publisher({ linger: 0, sendHighWaterMark: o.sendHighWaterMark ?? 100_000, ipv6: o.ipv6 ?? false });
  if (o.curve) {
    s.curveServerKey = o.curve.serverKey;
    s.curvePublicKey = o.curve.publicKey;
    s.curveSecretKey = o.curve.secretKey;
  }
  if (typeof setup === 'function') setup(s);
  return s;
}

export class Producer {
  readonly socket: Publisher;
  #sending: Promise<unknown> = Promise.resolve();

  private constructor(socket: Publisher) {
    this.socket = socket;
  }

  /** Connects to a collector that binds (collector mode: the collector was given `tcp://127.0.0.1:PORTc`). */
  static connect(endpoint: string, setup?: Setup): Producer {
    const s = publisher(setup);
    s.connect(endpoint);
    return new Producer(s);
  }

  /** Binds, for a collector that connects (given the endpoint without the trailing c). */
  static async bind(endpoint: string, setup?: Setup): Promise<Producer> {
    const s = publisher(setup);
    await s.bind(endpoint);
    return new Producer(s);
  }

  /** Sends frames as they are (zeromq allows one send in flight: sends are chained). */
  sendRaw(frames: Buffer[]): Promise<void> {
    const next = this.#sending.then(() => this.socket.send(frames));
    this.#sending = next.catch(() => {});
    return next;
  }

  /** The older name of sendRaw. */
  sendFrames(frames: Buffer[]): Promise<void> {
    return this.sendRaw(frames);
  }

  /** Sends one message: records (encoded as JSON or TLV) or a payload already encoded (a Buffer or text). */
  send(topic: string, payload: object | object[] | Buffer | string, o: SendOptions = {}): Promise<void> {
    if (Buffer.isBuffer(payload)) return this.sendRaw(rawMessage(topic, payload, o));
    if (typeof payload === 'string') return this.sendRaw(rawMessage(topic, Buffer.from(payload), o));
    return this.sendRaw(message(topic, payload, o));
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * PUB/SUB drops what is sent before the subscription reaches the publisher ("slow
 * joiner"): send `probe` until `arrived()` says it got through.
 */
export async function untilConnected(probe: () => Promise<void>, arrived: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!arrived()) {
    if (Date.now() > deadline) throw new Error('the producer never got through to the collector');
    await probe();
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until `producer`'s subscription from the collector is through: probes on
 * `topic` (an informational one: counted, never an event) until the collector's
 * message count for it moves. Give each producer of one collector its own topic, so
 * one producer's probes cannot answer for another.
 */
export async function untilSubscribed(producer: Producer, messages: () => Record<string, number>, topic = 'hello', timeoutMs = 10_000): Promise<void> {
  const before = messages()[topic] ?? 0;
  await untilConnected(() => producer.send(topic, {}), () => (messages()[topic] ?? 0) > before, timeoutMs);
}
