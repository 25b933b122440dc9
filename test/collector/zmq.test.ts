// The collector over real ZMQ sockets (producers use the `zeromq` package, an
// independent implementation): every fixture in every header layout, compressed or
// not, single or batched, JSON or TLV, bind, connect and ipc; loss accounting; a fuzz
// of bad frames; CURVE.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curveKeyPair } from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { ZmqCollector } from '../../src/collector/collector.ts';
import { loadOrCreateCurveKeys } from '../../src/collector/curve.ts';
import { encodeHeader, type HeaderVersion } from '../../src/collector/wire/header.ts';
import { normaliseCounters, normaliseListeningPorts, normaliseSocketEvent } from '../../src/collector/events/normalise.ts';
import type { CollectedEvent } from '../../src/model/event.ts';
import { fixture } from '../support/fixtures.ts';
import { Producer, untilConnected } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const SOCKET_FIXTURES = ['ebpflowexport-accept', 'ebpflowexport-connect-docker', 'ebpflowexport-connect-failed', 'ebpflowexport-retransmit', 'ebpflowexport-udp-recv', 'ebpflowexport-udp-send-ipv6-k8s', 'netstat-established', 'nprobe-mini-connect'];

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A started collector that records what it delivers. */
async function collector(endpoints: string, curve?: ReturnType<typeof loadOrCreateCurveKeys>) {
  const events: CollectedEvent[] = [];
  const c = new ZmqCollector({ interfaceId: 0, endpoints, curve }, (batch) => events.push(...batch));
  await c.start();
  cleanup.push(() => c.stop());
  return { c, events };
}

function producerFor(endpoint: string, init?: Parameters<typeof Producer.connect>[1]): Producer {
  const p = Producer.connect(endpoint, init);
  cleanup.push(() => p.close());
  return p;
}

/** Sends hello probes until one is counted: the subscription has reached the producer. */
async function joined(p: Producer, c: ZmqCollector): Promise<void> {
  await untilConnected(() => p.send('hello', {}), () => (c.stats().messages.hello ?? 0) > 0);
}

describe('every fixture, layout, encoding and compression', () => {
  it('delivers the same normalised events whatever the framing (bind mode)', async () => {
    const { c, events } = await collector('tcp://127.0.0.1:15500c');
    const p = producerFor('tcp://127.0.0.1:15500');
    await joined(p, c);

    const socketRecords = SOCKET_FIXTURES.map((n) => fixture(n));
    const expected = socketRecords.map((r) => normaliseSocketEvent(r));
    let sent = 0;
    let msgId = 0;
    for (const layout of [0, 1, 2, 3] as HeaderVersion[]) {
      for (const compress of [false, true]) {
        for (const tlv of layout === 0 ? [false] : [false, true]) {
          const o = { layout, compress, tlv, sourceId: 1, msgId: ++msgId };
          await p.send('flow', socketRecords, o); // batched
          sent += socketRecords.length;
          for (const r of socketRecords) await p.send('flow', r, { ...o, msgId: ++msgId }); // one per message
          sent += socketRecords.length;
        }
      }
    }
    await p.send('counter', fixture('counters-veth'), { layout: 3, compress: true });
    await p.send('listening-ports', fixture('listening-ports'), { layout: 2 });
    await waitFor(() => events.length >= sent + 2, `${sent + 2} events`);

    const socketEvents = events.filter((e) => e.kind === 'flow' || e.kind === 'netstat');
    expect(socketEvents).toHaveLength(sent);
    // Every delivered event equals the normalised fixture, in order, cycle after cycle.
    for (let i = 0; i < socketEvents.length; i++) expect(socketEvents[i]).toEqual(expected[i % expected.length]);
    expect(events.find((e) => e.kind === 'counters')).toEqual(normaliseCounters(fixture('counters-veth')));
    expect(events.find((e) => e.kind === 'listening-ports')).toEqual(normaliseListeningPorts(fixture('listening-ports')));
    const stats = await c.refreshStats();
    expect(stats.rejected).toEqual({});
    expect(stats.lostMessages).toBe(0);
    // v0 headers carry no source id: their producer is known by its connection's address.
    expect(stats.exporters.find((e) => e.headerVersion === 0)).toMatchObject({ sourceId: '127.0.0.1', endpoint: 'tcp://127.0.0.1:15500c' });
    expect(stats.exporters.find((e) => e.sourceId === '1')).toBeDefined();
    expect(stats.events).toMatchObject({ flow: (sent / 8) * 7, netstat: sent / 8, counters: 1, 'listening-ports': 1 });
  });

  it('connects to a producer that binds, and reads several endpoints including ipc', async () => {
    const ipc = join(mkdtempSync(join(tmpdir(), 'fb-ipc-')), 'flows.sock');
    const bound = await Producer.bind('tcp://127.0.0.1:15501');
    cleanup.push(() => bound.close());
    const { c, events } = await collector(`tcp://127.0.0.1:15501, ipc://${ipc}c`);
    const viaIpc = producerFor(`ipc://${ipc}`);
    await joined(bound, c);
    // The ipc producer probes with another topic, so the tcp producer's hellos cannot answer for it.
    await untilConnected(() => viaIpc.send('message', {}), () => (c.stats().messages.message ?? 0) > 0);
    await bound.send('flow', fixture('ebpflowexport-accept'));
    await viaIpc.send('flow', fixture('nprobe-mini-connect'), { layout: 3, compress: true });
    await waitFor(() => events.length === 2, 'both events');
    expect(events.map((e) => (e.kind === 'flow' ? e.ifName : undefined)).sort()).toEqual(['cbr0', 'ens3']);
  });
});

describe('loss accounting over the wire', () => {
  it('counts msg_id gaps and restarts per source', async () => {
    const { c, events } = await collector('tcp://127.0.0.1:15502c');
    const p = producerFor('tcp://127.0.0.1:15502');
    await joined(p, c);
    const r = fixture('ebpflowexport-retransmit');
    for (const id of [10, 11, 15, 16, 20]) await p.send('flow', r, { layout: 3, sourceId: 77, msgId: id });
    for (const id of [1, 2]) await p.send('flow', r, { layout: 2, sourceId: 78, msgId: id });
    await p.send('flow', r, { layout: 2, sourceId: 78, msgId: 1 }); // producer restarted
    await waitFor(() => events.length === 8, '8 events');
    const stats = await c.refreshStats();
    expect(stats.exporters.find((e) => e.sourceId === '77')).toMatchObject({ messages: 5, lostMessages: 6, restarts: 0 });
    expect(stats.exporters.find((e) => e.sourceId === '78')).toMatchObject({ messages: 3, lostMessages: 0, restarts: 1 });
    expect(stats.lostMessages).toBe(6);
  });
});

describe('the hand-off to dispatch', () => {
  it('drops events when dispatch falls behind, and counts every one of them', async () => {
    const events: CollectedEvent[] = [];
    let first = true;
    const c = new ZmqCollector({ interfaceId: 0, endpoints: 'tcp://127.0.0.1:15505c', maxInflightBatches: 1 }, (batch) => {
      // The first batch stalls the main thread for a moment, as a long GC pause would.
      if (first) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
      first = false;
      events.push(...batch);
    });
    await c.start();
    cleanup.push(() => c.stop());
    const p = producerFor('tcp://127.0.0.1:15505', (s) => (s.sendHighWaterMark = 100_000));
    await joined(p, c);
    const SENT = 3000;
    for (let i = 0; i < SENT / 20; i++) await p.send('flow', Array.from({ length: 20 }, () => fixture('ebpflowexport-retransmit')), { layout: 3, sourceId: 5, msgId: i + 1 });
    const dropped = await waitFor(async () => {
      const s = await c.refreshStats();
      const handoff = s.rejected['handoff-full'] ?? 0;
      return handoff > 0 && events.length + handoff === SENT ? handoff : undefined;
    }, 'every event delivered or counted as handoff-full');
    expect(dropped).toBeGreaterThan(0);
    expect(c.stats().samples[0]).toMatchObject({ reason: 'handoff-full', detail: expect.stringMatching(/events dropped: dispatch is 1 batches behind/) });
  });
});

/** Small seeded PRNG (mulberry32) so a failing fuzz run can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fuzz', () => {
  it('survives thousands of bad frames, counts every one, and keeps accepting valid events', async () => {
    const { c, events } = await collector('tcp://127.0.0.1:15503c');
    // A PUB socket silently drops past its send high-water mark: make room for the whole burst.
    const p = producerFor('tcp://127.0.0.1:15503', (s) => (s.sendHighWaterMark = 100_000));
    await joined(p, c);
    const rand = prng(20261124);
    const pick = <T,>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
    const valid = Buffer.from(JSON.stringify(fixture('ebpflowexport-connect-docker')));
    const flowHeader = (layout: HeaderVersion) => encodeHeader({ layout, topic: 'flow' });
    const bomb = Buffer.concat([Buffer.from([0]), (await import('node:zlib')).deflateSync(Buffer.alloc(20 * 1024 * 1024))]);
    const mutate = (b: Buffer) => {
      const m = Buffer.from(b);
      for (let i = 0; i < 1 + Math.floor(rand() * 4); i++) m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
      return m;
    };
    const generators: (() => Buffer[])[] = [
      () => [flowHeader(0)], // one frame
      () => [flowHeader(3), valid, valid], // three frames
      () => [flowHeader(2), valid, valid, Buffer.from('x')],
      // Odd header lengths; the frame starts with a subscribed topic, or ZMQ itself filters it out.
      () => { const h = Buffer.alloc(pick(ODD_HEADER_LENGTHS), 0x66); h.write('flow'); return [h, valid]; },
      () => { const h = flowHeader(pick([1, 2, 3] as HeaderVersion[])); h[16] = 5 + Math.floor(rand() * 250); return [h, valid]; },
      () => [flowHeader(0), Buffer.concat([Buffer.from([0]), mutate(Buffer.from('this is not a zlib stream at all'))])],
      () => [flowHeader(0), bomb],
      () => [flowHeader(0), Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d])],
      () => [flowHeader(0), Buffer.from(valid.toString().slice(0, Math.floor(rand() * (valid.length - 1))))],
      () => [flowHeader(0), Buffer.from('{"a":'.repeat(200) + '1' + '}'.repeat(200))],
      () => [flowHeader(0), Buffer.from(JSON.stringify({ ...fixture('ebpflowexport-connect-docker'), L4_DST_PORT: pick(['443', -1, 1e6, null, true]) }))],
      () => [flowHeader(0), Buffer.alloc(128 * 1024 + 1 + Math.floor(rand() * 1000), 0x20)],
    ];
    const ODD_HEADER_LENGTHS = Array.from({ length: 65 }, (_, n) => n + 4).filter((n) => ![24, 28, 36, 40].includes(n));
    const BAD = 3000;
    for (let i = 0; i < BAD; i++) {
      await p.sendFrames(pick(generators)());
      if (i % 500 === 0) await p.sendFrames([flowHeader(0), valid]);
    }
    await p.send('flow', fixture('nprobe-mini-connect'));
    const goods = Math.ceil(BAD / 500) + 1;
    await waitFor(async () => {
      const s = await c.refreshStats();
      const rejected = Object.values(s.rejected).reduce((a, b) => a + (b ?? 0), 0);
      return rejected === BAD && events.length === goods;
    }, 'every bad frame counted and every good event delivered', 30_000);
    expect(events.at(-1)).toMatchObject({ ifName: 'cbr0' });
    const s = c.stats();
    for (const reason of ['frame-count', 'header-length', 'header-version', 'inflate', 'inflate-bomb', 'utf8', 'json', 'schema', 'oversize']) {
      expect(s.rejected[reason as keyof typeof s.rejected], reason).toBeGreaterThan(0);
    }
  }, 60_000);
});

describe('CURVE', () => {
  it('accepts an encrypted producer that knows the server key, and not an unencrypted one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fb-curve-'));
    const keys = loadOrCreateCurveKeys(dataDir);
    expect(statSync(join(dataDir, 'curve-server.key')).mode & 0o777).toBe(0o600);
    expect(loadOrCreateCurveKeys(dataDir)).toEqual(keys); // created once, then reused
    expect(JSON.parse(readFileSync(join(dataDir, 'curve-server.key'), 'utf8')).publicKey).toHaveLength(40);

    const { c, events } = await collector('tcp://127.0.0.1:15504c', keys);
    expect(c.stats().curvePublicKey ?? keys.publicKey).toBe(keys.publicKey);
    const plain = producerFor('tcp://127.0.0.1:15504');
    const client = curveKeyPair();
    const encrypted = producerFor('tcp://127.0.0.1:15504', (s) => {
      s.curveServerKey = keys.publicKey;
      s.curvePublicKey = client.publicKey;
      s.curveSecretKey = client.secretKey;
    });
    await joined(encrypted, c);
    for (let i = 0; i < 20; i++) await plain.send('flow', fixture('ebpflowexport-accept'));
    await encrypted.send('flow', fixture('nprobe-mini-connect'));
    await waitFor(() => events.length >= 1, 'the encrypted event');
    await new Promise((r) => setTimeout(r, 300)); // give the plain producer every chance to be (wrongly) heard
    expect(events.map((e) => (e.kind === 'flow' ? e.ifName : e.kind))).toEqual(['cbr0']);
  });
});
