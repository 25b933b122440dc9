// What the soak puts on the collector, each part counting what it did so the run can
// balance it against the collector's own counters:
//   EventStream       a producer of fixture events (JSON arrays, v3 headers with msg_id) at a paced rate
//   MalformedBursts   bursts of bad messages on a second source, counted by the reason they must get
//   LoopbackTraffic   UDP datagrams and short TCP connections on 127.0.0.1 (the capture's traffic)
//   Pollers           REST GETs, HTML pages and /metrics with the token; non-2xx kept as errors
//   SettingsCycle     companion, mirrored and recording settings changed and changed back
// Producers are the tests' own (test/support/producer.ts: the `zeromq` package, headers
// written from the reference), never the collector's code.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { encodeHeader, Producer, rawMessage, untilConnected } from '../test/support/producer.ts';
import { flowFixtures } from './fixtures.ts';
import type { SoakCollector } from './soak-flowbridge.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Distinct payloads the stream cycles through (each a batch of varied fixture events). */
const PAYLOADS = 512;
const PORT_BASE = 32768;
const PIDS = 64;

/** A fixture event as variation `v`: its first ephemeral port and its process id shifted (as loadgen.c does). */
function vary(event: Record<string, unknown>, v: number): Record<string, unknown> {
  const out = structuredClone(event);
  for (const key of ['L4_LOCAL_PORT', 'L4_SRC_PORT', 'L4_DST_PORT']) {
    if (typeof out[key] === 'number' && (out[key] as number) >= 1024) {
      out[key] = PORT_BASE + (v % 28_000);
      break;
    }
  }
  const proc = out.LOCAL_PROCESS as { PID?: number } | undefined;
  if (proc && typeof proc.PID === 'number') proc.PID += v % PIDS;
  return out;
}

/** Waits until the collector counts `topic` messages from this producer (PUB/SUB's slow joiner). */
async function subscribed(producer: Producer, fb: SoakCollector, topic: string): Promise<void> {
  const count = async () => {
    const r = await fb.api('/api/v1/interfaces/0');
    return ((await r.json()) as { collector?: { messages: Record<string, number> } }).collector?.messages[topic] ?? 0;
  };
  const before = await count();
  let seen = before;
  await untilConnected(async () => {
    await producer.send(topic, {});
    seen = await count();
  }, () => seen > before, 20_000);
}

export interface StreamCounts {
  sourceId: number;
  messages: number;
  events: number;
  eventsPerMessage: number;
  /** Messages the pacing skipped because the soak itself fell more than a second behind (never sent). */
  skipped: number;
}

/** Fixture events in JSON arrays with v3 headers, msg_id 1, 2, 3, ... at a paced rate. */
export class EventStream {
  readonly counts: StreamCounts;
  readonly #producer: Producer;
  readonly #payloads: Buffer[];
  #running = false;
  #loop?: Promise<void>;

  private constructor(producer: Producer, sourceId: number, batch: number) {
    this.#producer = producer;
    const fixtures = flowFixtures().map((f) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>);
    this.#payloads = Array.from({ length: PAYLOADS }, (_, p) =>
      Buffer.from(JSON.stringify(Array.from({ length: batch }, (_, i) => {
        const n = p * batch + i;
        return vary(fixtures[n % fixtures.length], Math.floor(n / fixtures.length));
      }))));
    this.counts = { sourceId, messages: 0, events: 0, eventsPerMessage: batch, skipped: 0 };
  }

  static async connect(fb: SoakCollector, endpoint: string, o: { sourceId: number; batch: number; sendHighWaterMark: number }): Promise<EventStream> {
    const producer = Producer.connect(endpoint, { sendHighWaterMark: o.sendHighWaterMark });
    await subscribed(producer, fb, 'hello');
    return new EventStream(producer, o.sourceId, o.batch);
  }

  /** Sends at `eventsPerSecond` until stop(). */
  start(eventsPerSecond: number): void {
    const perSecond = eventsPerSecond / this.counts.eventsPerMessage;
    this.#running = true;
    this.#loop = (async () => {
      const began = performance.now();
      let due = 0;
      while (this.#running) {
        const target = Math.floor(((performance.now() - began) / 1000) * perSecond);
        // More than a second behind (the soak's own process stalled): skip, never burst.
        if (target - due > perSecond) {
          this.counts.skipped += target - due - Math.ceil(perSecond);
          due = target - Math.ceil(perSecond);
        }
        for (; due < target && this.#running; due++) await this.#send();
        await sleep(5);
      }
    })();
  }

  #send(): Promise<void> {
    const c = this.counts;
    const payload = this.#payloads[c.messages % PAYLOADS];
    const header = encodeHeader(3, 'flow', { msgId: c.messages + 1, sourceId: c.sourceId, size: payload.length, uncompressedSize: payload.length });
    c.messages++;
    c.events += c.eventsPerMessage;
    return this.#producer.sendRaw([header, payload]);
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** Closes the socket: only once the collector has taken everything (see the run's drain). */
  close(): void {
    this.#producer.close();
  }
}

/** The reasons malformed messages must be counted under, and how many of each were sent (schema: events). */
export type MalformedCounts = Record<string, number>;

const BAD_JSON = Buffer.from('[{"timestamp": "1716912346.000812", "PROTOCOL": 6, "L4_SRC_PORT": ');
/** A TLV serializer header followed by an item of type 0xf (no such type). */
const BAD_TLV = Buffer.from([1, 1, 0x2f, 0x07, 0x00, 0x00, 0x00, 0x01]);
/** Over the collector's 128 KiB payload limit. */
const OVERSIZE = Buffer.alloc(200 * 1024, 0x20);
/** A zlib stream that is not one. */
const BAD_ZLIB = Buffer.from('this is not a zlib stream at all');
/** Valid JSON, not valid events: each of these is rejected by the schema. */
const SCHEMA_EVENTS = 5;
const BAD_EVENTS = Buffer.from(JSON.stringify(Array.from({ length: SCHEMA_EVENTS }, (_, i) => ({ timestamp: 'yesterday', PROTOCOL: 'tcp', L4_SRC_PORT: -i, IPV4_SRC_ADDR: 'not an address' }))));

/** Bursts of malformed messages from a second producer (v3 headers, its own source_id). */
export class MalformedBursts {
  readonly expected: MalformedCounts = {};
  readonly #producer: Producer;
  readonly #sourceId: number;
  #msgId = 0;
  bursts = 0;

  private constructor(producer: Producer, sourceId: number) {
    this.#producer = producer;
    this.#sourceId = sourceId;
  }

  static async connect(fb: SoakCollector, endpoint: string, sourceId: number): Promise<MalformedBursts> {
    const producer = Producer.connect(endpoint, { sendHighWaterMark: 100_000 });
    await subscribed(producer, fb, 'option');
    return new MalformedBursts(producer, sourceId);
  }

  /** One burst: `each` messages of every kind, interleaved. */
  async burst(each: number): Promise<void> {
    const count = (reason: string, n = 1) => (this.expected[reason] = (this.expected[reason] ?? 0) + n);
    const v3 = (payload: Buffer, o: { tlv?: boolean; compressed?: boolean } = {}) => {
      const header = encodeHeader(3, 'flow', { msgId: ++this.#msgId, sourceId: this.#sourceId, size: payload.length, uncompressedSize: payload.length * 4, ...o });
      return this.#producer.sendRaw([header, payload]);
    };
    for (let i = 0; i < each; i++) {
      await v3(BAD_JSON);
      count('json');
      await v3(BAD_TLV, { tlv: true });
      count('tlv');
      await v3(OVERSIZE);
      count('oversize');
      await v3(BAD_ZLIB, { compressed: true });
      count('inflate');
      await v3(BAD_EVENTS);
      count('schema', SCHEMA_EVENTS);
      // A header of no known length (it starts with the topic, or PUB would filter it out
      // by subscription), and a message of three frames: neither has a msg_id to count.
      await this.#producer.sendRaw([Buffer.from('flow\0\0\0'), BAD_JSON]);
      count('header-length');
      await this.#producer.sendRaw([...rawMessage('flow', BAD_JSON, { layout: 3 }), Buffer.from('extra')]);
      count('frame-count');
    }
    this.bursts++;
  }

  /** Messages that carried this source's msg_id (a gap among them is a loss of these). */
  get sequencedMessages(): number {
    return this.#msgId;
  }

  close(): void {
    this.#producer.close();
  }
}

export interface LoopbackCounts {
  udpDatagrams: number;
  udpBytes: number;
  tcpConnections: number;
  tcpBytes: number;
  tcpFailures: number;
}

/** UDP and TCP between sockets of this process on 127.0.0.1: what the capture on lo sees. */
export class LoopbackTraffic {
  readonly counts: LoopbackCounts = { udpDatagrams: 0, udpBytes: 0, tcpConnections: 0, tcpBytes: 0, tcpFailures: 0 };
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly #receiver: UdpSocket;
  readonly #senders: UdpSocket[];
  readonly #server: Server;
  #timers: NodeJS.Timeout[] = [];

  private constructor(receiver: UdpSocket, senders: UdpSocket[], server: Server) {
    this.#receiver = receiver;
    this.#senders = senders;
    this.#server = server;
    this.udpPort = (receiver.address() as AddressInfo).port;
    this.tcpPort = (server.address() as AddressInfo).port;
  }

  /** Binds the receiving sockets (their ports go into the capture's BPF filter). */
  static async open(senders = 4): Promise<LoopbackTraffic> {
    const bind = async () => {
      const s = createSocket('udp4');
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      return s;
    };
    const receiver = await bind();
    receiver.on('message', () => {});
    const server = createServer((socket) => {
      socket.on('data', () => {});
      socket.on('error', () => {});
      socket.on('end', () => socket.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new LoopbackTraffic(receiver, await Promise.all(Array.from({ length: senders }, bind)), server);
  }

  /** The capture filter of exactly this traffic. */
  get bpf(): string {
    return `udp port ${this.udpPort} or tcp port ${this.tcpPort}`;
  }

  /** `packetsPerSecond` UDP datagrams of `size` bytes, and a TCP connection every `tcpEveryMs` sending `tcpBytes`. */
  start(o: { packetsPerSecond: number; size: number; tcpEveryMs: number; tcpBytes: number }): void {
    const payload = Buffer.alloc(o.size, 0x55);
    const tickMs = 20;
    const perTick = Math.max(1, Math.round((o.packetsPerSecond * tickMs) / 1000));
    let n = 0;
    this.#timers.push(setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        this.#senders[n++ % this.#senders.length].send(payload, this.udpPort, '127.0.0.1', (err) => {
          if (err) return;
          this.counts.udpDatagrams++;
          this.counts.udpBytes += payload.length;
        });
      }
    }, tickMs));
    const chunk = Buffer.alloc(o.tcpBytes, 0x41);
    this.#timers.push(setInterval(() => {
      const socket = createConnection(this.tcpPort, '127.0.0.1', () => socket.end(chunk));
      socket.on('data', () => {});
      socket.on('close', (hadError) => {
        if (hadError) this.counts.tcpFailures++;
        else {
          this.counts.tcpConnections++;
          this.counts.tcpBytes += chunk.length;
        }
      });
      socket.on('error', () => {});
    }, o.tcpEveryMs));
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    for (const s of [this.#receiver, ...this.#senders]) s.close();
    await new Promise((r) => this.#server.close(r));
  }
}

/** A failed fetch says why in its cause (ECONNRESET, UND_ERR_HEADERS_TIMEOUT, ...). */
export function describeError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause ? `${e.message}: ${e.cause.code ?? e.cause.message}` : `${e.name}: ${e.message}`;
}

export interface RequestError {
  /** Seconds into the soak. */
  at: number;
  method: string;
  path: string;
  /** HTTP status, or 0 when there was no answer. */
  status: number;
  detail: string;
}

/** Requests made and their failures (non-2xx, no answer), the first few kept whole. */
export class RequestLog {
  requests = 0;
  failures = 0;
  byPath: Record<string, { requests: number; failures: number }> = {};
  readonly kept: RequestError[] = [];
  readonly #began = performance.now();

  /** Counts a failure of `method path` (status 0: no answer) and keeps the first few. */
  fail(method: string, path: string, status: number, detail: string): void {
    const entry = (this.byPath[`${method} ${path}`] ??= { requests: 0, failures: 0 });
    this.failures++;
    entry.failures++;
    if (this.kept.length < 50) this.kept.push({ at: Math.round((performance.now() - this.#began) / 100) / 10, method, path, status, detail: detail.slice(0, 300) });
  }

  async call(fb: SoakCollector, method: string, path: string, body?: unknown): Promise<Response | undefined> {
    const entry = (this.byPath[`${method} ${path}`] ??= { requests: 0, failures: 0 });
    this.requests++;
    entry.requests++;
    const fail = (status: number, detail: string) => this.fail(method, path, status, detail);
    try {
      const r = await fb.api(path, body === undefined ? { method } : { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      const text = await r.text(); // read whole: pages and metrics are rendered to the end
      if (r.status < 200 || r.status > 299) {
        fail(r.status, text);
        return undefined;
      }
      return new Response(text, { status: r.status, headers: r.headers });
    } catch (err) {
      fail(0, describeError(err));
      return undefined;
    }
  }
}

/** What the pollers read: the API, the pages and the metrics of both interfaces. */
export const POLLED = [
  '/api/v1/status', '/api/v1/interfaces', '/api/v1/interfaces/0/flows?limit=200&sort=bytes', '/api/v1/interfaces/1/flows?limit=200',
  '/api/v1/exporters', '/api/v1/processes', '/api/v1/interfaces/1/timeseries', '/api/v1/interfaces/1/recording', '/metrics',
  '/', '/exporters', '/interfaces/0', '/interfaces/1', '/interfaces/1/flows', '/interfaces/1/dashboard', '/processes',
];

/** Polls every path in turn, `everyMs` between rounds, until stopped. */
export class Pollers {
  rounds = 0;
  #running = false;
  #loop?: Promise<void>;

  constructor(readonly fb: SoakCollector, readonly log: RequestLog) {}

  start(everyMs: number): void {
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        for (const path of POLLED) if (this.#running) await this.log.call(this.fb, 'GET', path);
        this.rounds++;
        await sleep(everyMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }
}

/** Settings changes, one step at a time, in a cycle that ends where it began. */
export const SETTINGS_CYCLE: { path: string; body: Record<string, unknown> }[] = [
  { path: '/api/v1/interfaces/1', body: { mirrored: true } },
  { path: '/api/v1/interfaces/0', body: { companion: 'lo' } },
  { path: '/api/v1/interfaces/1/recording', body: { enabled: true, maxDiskSpace: '64MB', maxFileSize: '8MB' } },
  { path: '/api/v1/interfaces/0', body: { companion: null } },
  { path: '/api/v1/interfaces/1', body: { mirrored: false } },
  { path: '/api/v1/interfaces/1/recording', body: { enabled: false } },
];

export class SettingsCycle {
  changes = 0;
  #step = 0;

  constructor(readonly fb: SoakCollector, readonly log: RequestLog) {}

  async next(): Promise<void> {
    const s = SETTINGS_CYCLE[this.#step++ % SETTINGS_CYCLE.length];
    await this.log.call(this.fb, 'PATCH', s.path, s.body);
    this.changes++;
  }

  /** Completes the cycle, so the collector ends with the settings it started with. */
  async finish(): Promise<void> {
    while (this.#step % SETTINGS_CYCLE.length !== 0) await this.next();
  }
}
