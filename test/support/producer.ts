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
}

/** Frames of one message: header + payload, compressed/TLV as each layout signals it. */
export function message(topic: string, records: object | object[], o: SendOptions = {}): [Buffer, Buffer] {
  const layout = o.layout ?? 0;
  const list = Array.isArray(records) ? records : [records];
  let payload = o.tlv ? encodeTlv(list as Record<string, unknown>[]) : Buffer.from(JSON.stringify(records));
  const plain = payload.length;
  if (o.compress) payload = layout === 3 ? deflateSync(payload) : Buffer.concat([Buffer.from([0]), deflateSync(payload)]);
  // Layouts 1/2 signal TLV with version byte 3; layout 3 with its flag.
  const version = layout === 1 || layout === 2 ? (o.tlv ? 3 : 2) : undefined;
  const header = encodeHeader({ layout, topic, size: payload.length, uncompressedSize: plain, msgId: o.msgId, sourceId: o.sourceId, version, tlv: o.tlv, compressed: o.compress });
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
    const s = new Publisher({ linger: 0 });
    init?.(s);
    s.connect(endpoint);
    return new Producer(s);
  }

  /** Binds, for a collector that connects. */
  static async bind(endpoint: string): Promise<Producer> {
    const s = new Publisher({ linger: 0 });
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
