// Real sockets for the collector tests: started collectors that record what they
// deliver, producers (the `zeromq` package, an independent ZMQ implementation), and
// their clean-up after each test. Ports of these tests: 15500-15999.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Publisher } from 'zeromq';
import { ZmqCollector, type CollectorOptions } from '../../src/collector/collector.ts';
import type { CollectedEvent } from '../../src/model/event.ts';
import type { CollectorStats, RejectReason } from '../../src/model/exporter.ts';
import { type Layout, Producer, type SendOptions, untilSubscribed } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

export interface Live {
  c: ZmqCollector;
  events: CollectedEvent[];
}

/** Registers an afterEach that closes everything the test opened, newest first. */
export function liveSockets() {
  const opened: (() => unknown)[] = [];
  afterEach(async () => {
    for (const close of opened.splice(0).reverse()) await close();
  });
  return {
    defer(close: () => unknown): void {
      opened.push(close);
    },
    async collector(endpoints: string, options: Partial<CollectorOptions> = {}): Promise<Live> {
      const events: CollectedEvent[] = [];
      const c = new ZmqCollector({ interfaceId: 0, ...options, endpoints }, (batch) => events.push(...batch));
      await c.start();
      opened.push(() => c.stop());
      return { c, events };
    },
    /** A producer that connects (the collector binds). */
    producer(endpoint: string, init?: (s: Publisher) => void): Producer {
      const p = Producer.connect(endpoint, init);
      opened.push(() => p.close());
      return p;
    },
    /** A producer that binds (the collector connects). */
    async boundProducer(endpoint: string): Promise<Producer> {
      const p = await Producer.bind(endpoint);
      opened.push(() => p.close());
      return p;
    },
  };
}

/** Waits until `p` is heard by `c` (PUB/SUB slow joiner), probing on `topic`. */
export function joined(p: Producer, c: ZmqCollector, topic = 'hello'): Promise<void> {
  return untilSubscribed(p, () => c.stats().messages, topic);
}

export function ipcPath(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'fb-collector-')), name);
}

export function totalRejected(s: CollectorStats): number {
  return Object.values(s.rejected).reduce((a, b) => a + (b ?? 0), 0);
}

/** Polls fresh stats until `done` holds; returns those stats. */
export function statsWhen(c: ZmqCollector, done: (s: CollectorStats) => boolean, what: string, timeoutMs = 15_000): Promise<CollectorStats> {
  return waitFor(async () => {
    const s = await c.refreshStats();
    return done(s) ? s : undefined;
  }, what, timeoutMs);
}

export type Counts = Partial<Record<RejectReason, number>>;

/** Every way a producer frames a payload: header layout x compression x encoding. v0 cannot signal TLV. */
export function framings(): (SendOptions & { layout: Layout; label: string })[] {
  const out: (SendOptions & { layout: Layout; label: string })[] = [];
  for (const layout of [0, 1, 2, 3] as Layout[]) {
    for (const compress of [false, true]) {
      for (const tlv of layout === 0 ? [false] : [false, true]) {
        out.push({ layout, compress, tlv, label: `v${layout}${compress ? ' zlib' : ''} ${tlv ? 'TLV' : 'JSON'}` });
      }
    }
  }
  return out;
}

/** mulberry32: a small seeded PRNG, so a failing random run can be replayed. */
export function prng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
