// The agent's ZMQ PUB socket: v3 headers (36 bytes, version byte 4) with msg_id
// increasing by one per message and the agent's source_id, so a collector counts any loss.
// A bounded queue of records sits between the producers of events and the socket: when it
// is full new records are dropped and counted, never waited for. Records waiting for the
// socket leave together, as one JSON array per message (at most MAX_BATCH records and
// MAX_BATCH_BYTES), so a burst costs a few sends instead of one per event. An XPUB socket (a PUB that
// sees subscriptions) tells when a collector joins, so it can be sent a snapshot at once.
import { XPublisher } from 'zeromq';

export interface PublisherOptions {
  /** tcp://host:port: with a trailing 'c' connect to a collector in collector mode, else bind. */
  endpoint: string;
  sourceId?: number;
  /** Messages waiting before drops (default 10 000). */
  queueBound?: number;
  /** CURVE: the collector's public key (Z85); the agent's own key pair is made here. */
  curveServerKey?: string;
  /** A collector subscribed (or subscribed again): the topic prefix it asked for. */
  onSubscribe?: (prefix: string) => void;
}

/** A v3 header frame (wire-format.md): topic[16], version 4, flags, sizes, msg_id BE, source_id. */
export function encodeV3Header(topic: string, size: number, msgId: number, sourceId: number): Buffer {
  const h = Buffer.alloc(36);
  h.write(topic, 0, 15, 'latin1');
  h[16] = 4;
  h[17] = 0;
  h.writeUInt32LE(size, 20);
  h.writeUInt32LE(size, 24);
  h.writeUInt32BE(msgId >>> 0, 28);
  h.writeUInt32LE(sourceId >>> 0, 32);
  return h;
}

/** Records per message at most. */
export const MAX_BATCH = 64;
/** Bytes of JSON per message at most (a collector refuses payloads over 128 KiB). */
export const MAX_BATCH_BYTES = 64 * 1024;
/** How long the first record waits for others to share its message, unless a full batch is there sooner. */
export const FLUSH_MS = 10;

export interface PublisherStats {
  /** Records waiting for the socket. */
  queued: number;
  bound: number;
  /** Records sent. */
  sent: number;
  /** Messages they were sent in. */
  messages: number;
  /** Records dropped: the queue was full, or the socket refused them. */
  drops: number;
}

export class AgentPublisher {
  readonly socket: XPublisher;
  readonly sourceId: number;
  readonly #bound: number;
  // The queue: entries from #head on are waiting (shifting a long array costs its length).
  #queue: [string, object | string][] = [];
  #head = 0;
  #msgId = 0;
  #sent = 0;
  #messages = 0;
  #drops = 0;
  #pumping = false;
  #flush: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(socket: XPublisher, sourceId: number, bound: number) {
    this.socket = socket;
    this.sourceId = sourceId;
    this.#bound = bound;
  }

  static async open(o: PublisherOptions): Promise<AgentPublisher> {
    const collectorMode = o.endpoint.endsWith('c');
    const endpoint = (collectorMode ? o.endpoint.slice(0, -1) : o.endpoint).replace(/^zmq:\/\//, 'tcp://');
    const socket = new XPublisher({ linger: 0, sendHighWaterMark: 10_000, ipv6: /\[|::/.test(endpoint) });
    socket.verbosity = 'allSubs';
    if (o.curveServerKey) {
      const { curveKeyPair } = await import('zeromq');
      const pair = curveKeyPair();
      socket.curveServerKey = o.curveServerKey;
      socket.curvePublicKey = pair.publicKey;
      socket.curveSecretKey = pair.secretKey;
    }
    if (collectorMode) socket.connect(endpoint);
    else await socket.bind(endpoint);
    const publisher = new AgentPublisher(socket, o.sourceId ?? (process.pid & 0xffffffff), o.queueBound ?? 10_000);
    void (async () => {
      try {
        for await (const [frame] of socket) {
          if (frame[0] === 1) o.onSubscribe?.(frame.subarray(1).toString('latin1'));
        }
      } catch { /* closed */ }
    })();
    return publisher;
  }

  /** Queues one record (an object, or its JSON text); false when the queue was full (counted as a drop). */
  publish(topic: string, record: object | string): boolean {
    if (this.#closed) return false;
    if (this.#queue.length - this.#head >= this.#bound) {
      this.#drops++;
      return false;
    }
    this.#queue.push([topic, record]);
    if (!this.#pumping) this.#schedule();
    return true;
  }

  /** Records wait up to FLUSH_MS for others to share their message; a full batch goes at once. */
  #schedule(): void {
    if (this.#queue.length - this.#head >= MAX_BATCH) {
      clearTimeout(this.#flush);
      this.#flush = undefined;
      void this.#pump();
    } else this.#flush ??= setTimeout(() => {
      this.#flush = undefined;
      void this.#pump();
    }, FLUSH_MS);
  }

  /** The records at the head of the queue that go in one message: one topic, within the bounds. */
  #nextBatch(): [string, Buffer, number] {
    const q = this.#queue;
    const topic = q[this.#head][0];
    const parts: string[] = [];
    let bytes = 2;
    while (this.#head < q.length && parts.length < MAX_BATCH && q[this.#head][0] === topic) {
      const record = q[this.#head][1];
      const json = typeof record === 'string' ? record : JSON.stringify(record);
      if (parts.length > 0 && bytes + json.length + 1 > MAX_BATCH_BYTES) break;
      this.#head++;
      parts.push(json);
      bytes += json.length + 1;
    }
    if (this.#head === q.length) {
      q.length = 0;
      this.#head = 0;
    } else if (this.#head >= 4096) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
    return [topic, Buffer.from(parts.length === 1 ? parts[0] : `[${parts.join(',')}]`), parts.length];
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      // One batch, then full ones only: what is left waits for company again.
      let first = true;
      while (this.#queue.length > this.#head && !this.#closed && (first || this.#queue.length - this.#head >= MAX_BATCH)) {
        first = false;
        const [topic, payload, records] = this.#nextBatch();
        this.#msgId = (this.#msgId + 1) >>> 0;
        try {
          await this.socket.send([encodeV3Header(topic, payload.length, this.#msgId, this.sourceId), payload]);
          this.#sent += records;
          this.#messages++;
        } catch {
          this.#drops += records;
        }
      }
    } finally {
      this.#pumping = false;
      if (this.#queue.length > this.#head && !this.#closed) this.#schedule();
    }
  }

  stats(): PublisherStats {
    return { queued: this.#queue.length - this.#head, bound: this.#bound, sent: this.#sent, messages: this.#messages, drops: this.#drops };
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#flush);
    this.#queue.length = 0;
    this.#head = 0;
    this.socket.close();
  }
}
