// A test producer speaking the ntopng ZMQ protocol through the `zeromq` package: an
// independent ZMQ implementation on the other end of the collector's libzmq socket.
import { deflateSync } from 'node:zlib';
import { Publisher } from 'zeromq';
import { encodeHeader, type HeaderVersion } from '../../src/collector/header.ts';
import { encodeTlv } from '../../src/collector/tlv.ts';

export interface SendOptions {
  layout?: HeaderVersion;
  msgId?: number;
  sourceId?: number;
  compress?: boolean;
  tlv?: boolean;
  /** Layouts 1/2: the version byte (default 2, or 3 with `tlv`). Version 1 of layout 1 writes msg_id little-endian. */
  version?: number;
}

/** Frames of one message: header + payload, compressed/TLV as each layout signals it. */
export function message(topic: string, records: object | object[], o: SendOptions = {}): [Buffer, Buffer] {
  const list = Array.isArray(records) ? records : [records];
  const payload = o.tlv ? encodeTlv(list as Record<string, unknown>[]) : Buffer.from(JSON.stringify(records));
  return rawMessage(topic, payload, o);
}

/**
 * Frames of one message around an already encoded payload (JSON text or TLV, good or
 * bad): compressed as the layout signals it (v3 flag 0x04, otherwise a leading 0x00
 * byte), TLV signalled by the v3 flag 0x02 or version byte 3 in layouts 1/2.
 */
export function rawMessage(topic: string, encoded: Buffer, o: SendOptions = {}): [Buffer, Buffer] {
  const layout = o.layout ?? 0;
  let payload = encoded;
  if (o.compress) payload = layout === 3 ? deflateSync(payload) : Buffer.concat([Buffer.from([0]), deflateSync(payload)]);
  // Layouts 1/2 signal TLV with version byte 3; layout 3 with its flag.
  const version = layout === 1 || layout === 2 ? o.version ?? (o.tlv ? 3 : 2) : undefined;
  const header = encodeHeader({ layout, topic, size: payload.length, uncompressedSize: encoded.length, msgId: o.msgId, sourceId: o.sourceId, version, tlv: o.tlv, compressed: o.compress });
  return [header, payload];
}

export class Producer {
  readonly socket: Publisher;
  #sending: Promise<unknown> = Promise.resolve();

  private constructor(socket: Publisher) {
    this.socket = socket;
  }

  /** Connects to a collector that binds (collector mode, `tcp://127.0.0.1:PORT`). */
  static connect(endpoint: string, init?: (s: Publisher) => void): Producer {
    const s = new Publisher({ linger: 0, sendHighWaterMark: 100_000 });
    init?.(s);
    s.connect(endpoint);
    return new Producer(s);
  }

  /** Binds, for a collector that connects. */
  static async bind(endpoint: string): Promise<Producer> {
    const s = new Publisher({ linger: 0, sendHighWaterMark: 100_000 });
    await s.bind(endpoint);
    return new Producer(s);
  }

  /** Sends raw frames (zeromq allows one send in flight: sends are chained). */
  sendFrames(frames: Buffer[]): Promise<void> {
    const next = this.#sending.then(() => this.socket.send(frames));
    this.#sending = next.catch(() => {});
    return next;
  }

  send(topic: string, records: object | object[], o: SendOptions = {}): Promise<void> {
    return this.sendFrames(message(topic, records, o));
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
