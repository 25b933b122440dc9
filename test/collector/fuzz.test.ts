// Thousands of bad frames at a live collector socket. Seeded, so a failure replays:
// FUZZ_SEED=<n> npx vitest run test/collector/fuzz.test.ts
//
// Phase 1 sends frames built to be bad in one known way each, so the expected count of
// every rejection reason is known without asking the code under test. Phase 2 sends
// random byte-level mutations of valid messages; whether each one is still valid is
// decided by running the same frames through a socket-free `Ingest` (as the receive
// worker would see them), and the live collector must agree exactly. Valid events
// interleaved with the garbage, and sent after it, must all arrive unchanged.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Ingest, TOPICS } from '../../src/collector/ingest.ts';
import { MAX_PAYLOAD_BYTES } from '../../src/collector/wire/payload.ts';
import type { CollectedEvent } from '../../src/model/event.ts';
import type { RejectReason } from '../../src/model/exporter.ts';
import { fixture } from '../support/fixtures.ts';
import { encodeHeader, encodeTlv, type Layout, message, rawMessage, type SendOptions } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';
import { allCases, type Case, type Topic } from './expected.ts';
import { type Counts, framings, joined, liveSockets, prng, totalRejected } from './live.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261124);
const BAD = 3000;
const MUTATED = 1000;
const GOOD_EVERY = 100;

const live = liveSockets();

interface Planned {
  frames: Buffer[];
  /** The one rejection this message must cause; none when ZMQ itself filters it (unknown topic). */
  reason?: RejectReason;
  /** Valid events the message also carries (a batch with one bad record). */
  events?: CollectedEvent[];
}

/** What the receive worker hands to Ingest: a 64-byte header buffer, a payload buffer one byte over the limit, further frames only counted. */
function asWorkerSeesThem(frames: Buffer[]): Buffer[] {
  return frames.map((f, i) => (i === 0 ? f.subarray(0, 64) : i === 1 ? f.subarray(0, MAX_PAYLOAD_BYTES + 1) : Buffer.alloc(0)));
}

/**
 * Events as an operator sees them: -0 and 0 are one value to JSON and to msgpack, and
 * a record whose timestamp a mutation broke is stamped with the receive time, which
 * differs between the live collector and the reference pipeline.
 */
function plain(v: unknown): unknown {
  const now = Date.now() / 1000;
  return JSON.parse(JSON.stringify(v, (k, x: unknown) => {
    if (Object.is(x, -0)) return 0;
    if (k === 'timestamp' && typeof x === 'number' && Math.abs(x - now) < 600) return 'receive time';
    return x;
  }));
}

function planner(seed: number) {
  const rand = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(0, 255)));
  const cases = allCases();
  const byTopic = (t: Topic) => cases.filter((c) => c.topic === t);
  let msgId = 0;
  const ids = (layout: Layout): SendOptions => ({ layout, sourceId: int(1, 4), msgId: ++msgId });

  /** A valid message: a random case (or a batch of 1-3 of one topic) in a random framing. */
  const valid = (): Planned & { topic: Topic; o: SendOptions; list: Case[] } => {
    const f = pick(framings());
    const first = pick(cases);
    const list = rand() < 0.3 ? [first, ...Array.from({ length: int(1, 2) }, () => pick(byTopic(first.topic)))] : [first];
    const o = { ...f, ...ids(f.layout) };
    const frames = message(first.topic, list.length === 1 ? list[0].record : list.map((c) => c.record), o);
    return { frames, events: list.map((c) => c.expected), topic: first.topic, o, list };
  };

  /** A bad payload in a random layout, zlib-compressed as that layout signals it half the time. */
  const payloadIn = (payload: Buffer, o: { tlv?: boolean; compress?: boolean; topic?: string } = {}): Buffer[] => {
    const layout = o.tlv ? pick([1, 2, 3] as Layout[]) : pick([0, 1, 2, 3] as Layout[]);
    return rawMessage(o.topic ?? 'flow', payload, { ...ids(layout), tlv: o.tlv, compress: o.compress ?? rand() < 0.5 });
  };
  const header = (layout = pick([0, 1, 2, 3] as Layout[]), topic = 'flow') => encodeHeader(layout, topic, ids(layout));
  const goodPayload = () => Buffer.from(JSON.stringify(fixture('ebpflowexport-connect-docker')));

  const ODD_LENGTHS = Array.from({ length: 197 }, (_, i) => i + 4).filter((n) => ![24, 28, 36, 40].includes(n));
  const bomb = deflateSync(Buffer.alloc(50 * 1024 * 1024));
  const justOverCap = deflateSync(Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20));
  const deep = (n: number, open: string, close: string, inner = '1') => open.repeat(n) + inner + close.repeat(n);

  /** Wrong types or values in known fields: exactly one schema failure per record. */
  const WRONG: Record<Topic, Record<string, unknown>[]> = {
    flow: [
      { L4_SRC_PORT: '54348' }, { L4_DST_PORT: -1 }, { L4_SRC_PORT: 70000 }, { L4_DST_PORT: 1.5 }, { L4_SRC_PORT: null }, { L4_DST_PORT: true },
      { L4_LOCAL_PORT: 'http' }, { PROTOCOL: 1 }, { PROTOCOL: '6' }, { IPV4_SRC_ADDR: '999.1.1.1' }, { IPV4_DST_ADDR: 5 },
      { IPV6_SRC_ADDR: 'fe80::1%eth0' }, { IPV4_LOCAL_ADDR: '10.0.0' }, { TCP_EVENT_TYPE: 'OPEN' }, { UDP_EVENT_TYPE: 7 },
      { IP_PROTOCOL_VERSION: 5 }, { timestamp: 'yesterday' }, { timestamp: -1 }, { INTERFACE_NAME: 5 }, { IF_NAME: 'x'.repeat(65) },
      { NW_LATENCY_MS: -0.5 }, { NW_LATENCY_MS: 'fast' }, { RETRAN_PKTS: 1.5 }, { TID: -3 }, { EXPORTER_IPV4_ADDRESS: 'host-a' },
      { LOCAL_PROCESS: { UID: 0 } }, { LOCAL_PROCESS: { PID: -1 } }, { LOCAL_PROCESS: { PID: '12' } }, { LOCAL_PROCESS: 'sshd' },
      { REMOTE_PROCESS: { PID: 1, PROCESS_PATH: 5 } }, { LOCAL_FATHER_PROCESS: { PID: 1, UID_NAME: ['root'] } },
      { LOCAL_CONTAINER: 'docker' }, { LOCAL_CONTAINER: { DOCKER: { ID: 5 } } }, { REMOTE_CONTAINER: { K8S: { NS: ['a'] } } },
      { TCP: 5 }, { TCP: { SEGS_IN: -1 } }, { TCP: { CONN_STATE: 'OPEN' } }, { TCP: { RTT: 'slow' } },
    ],
    counter: [
      { deviceIP: '1.2.3' }, { deviceIP: 2 ** 32 }, { deviceIP: -1 }, { deviceIP: true }, { ifIndex: 'eth0' }, { ifIndex: -1 },
      { ifInOctets: -5 }, { ifOutPackets: '5' }, { ifOperStatus: 'up' }, { ifAdminStatus: 1 }, { ifPromiscuousMode: 2 },
      { ifName: 5 }, { ifSpeed: 1.5 }, { LOCAL_CONTAINER: 'x' }, { LOCAL_CONTAINER: { DOCKER: { NAME: 5 } } },
    ],
    'listening-ports': [
      { 'listening-ports': { tcp4: [{ port: 70000 }] } }, { 'listening-ports': { tcp5: [] } }, { 'listening-ports': { udp4: [{ proc: 'x' }] } },
      { 'listening-ports': { tcp6: 'x' } }, { 'listening-ports': 5 }, { 'ip-addresses': ['not-an-ip'] }, { 'ip-addresses': 'x' },
      { 'instance-name': 5 }, { 'listening-ports': { udp6: [{ port: 53, proc: 7 }] } },
    ],
  };
  const MISSING: Record<Topic, string[]> = { flow: ['PROTOCOL'], counter: ['deviceIP', 'ifIndex'], 'listening-ports': ['listening-ports'] };

  const generators: (() => Planned)[] = [
    // Frame counts other than two.
    () => ({ frames: [header()], reason: 'frame-count' }),
    () => ({ frames: [header(), goodPayload(), bytes(int(0, 64))], reason: 'frame-count' }),
    () => ({ frames: [header(), bytes(int(0, 64)), bytes(int(0, 64)), bytes(int(0, 64))], reason: 'frame-count' }),
    () => ({ frames: [header(), ...Array.from({ length: int(5, 9) }, () => goodPayload())], reason: 'frame-count' }),
    // Header frames of a length no layout has (a subscribed topic first, or ZMQ filters them before us).
    () => {
      const h = bytes(pick(ODD_LENGTHS));
      h.write('flow');
      return { frames: [h, goodPayload()], reason: 'header-length' };
    },
    // Valid headers truncated or extended to a length no layout has.
    () => {
      const h = header();
      const n = pick(ODD_LENGTHS.filter((x) => x < h.length || x <= h.length + 8));
      return { frames: [n <= h.length ? h.subarray(0, n) : Buffer.concat([h, bytes(n - h.length)]), goodPayload()], reason: 'header-length' };
    },
    // Publisher versions over 4, and a 36-byte header that does not say 4.
    () => {
      const h = header(pick([1, 2, 3] as Layout[]));
      h[16] = int(5, 255);
      return { frames: [h, goodPayload()], reason: 'header-version' };
    },
    () => {
      const h = header(3);
      h[16] = int(0, 3);
      return { frames: [h, goodPayload()], reason: 'header-version' };
    },
    // Unknown topics (and the raw ebpf one): ZMQ's subscription filter drops them before the collector; nothing is counted.
    () => {
      let topic = pick(['ebpf', 'count', 'templat', 'Flow', 'FLOW', ' flow', 'xflow', 'hell', 'listening', 'snmp']);
      if (rand() < 0.5) {
        do topic = Array.from({ length: int(1, 15) }, () => pick([...'abcdefghijklmnopqrstuvwxyz-'])).join('');
        while (TOPICS.some((t) => topic.startsWith(t)));
      }
      return { frames: [encodeHeader(pick([0, 1, 2, 3] as Layout[]), topic), goodPayload()] };
    },
    // Broken zlib: garbage after the legacy 0x00 marker or under the v3 flag (CM nibble is never 8), and truncated streams.
    () => {
      const garbage = Buffer.concat([Buffer.from([pick([0x00, 0x1f, 0xff, 0x7b, 0x09])]), bytes(int(0, 200))]);
      return rand() < 0.5
        ? { frames: [header(pick([0, 1, 2] as Layout[])), Buffer.concat([Buffer.from([0]), garbage])], reason: 'inflate' }
        : { frames: [encodeHeader(3, 'flow', { compressed: true, tlv: rand() < 0.5 }), garbage], reason: 'inflate' };
    },
    () => {
      const [h, z] = rawMessage('flow', goodPayload(), { ...ids(pick([0, 1, 2, 3] as Layout[])), compress: true });
      return { frames: [h, z.subarray(0, int(h[16] === 4 ? 1 : 2, z.length - 1))], reason: 'inflate' };
    },
    // A zlib bomb (50 MB of zeros) and a stream that inflates just past the cap.
    () => {
      const layout = pick([0, 1, 2, 3] as Layout[]);
      const z = rand() < 0.5 ? bomb : justOverCap;
      return { frames: [encodeHeader(layout, 'flow', { compressed: true, size: 7, uncompressedSize: 3 }), layout === 3 ? z : Buffer.concat([Buffer.from([0]), z])], reason: 'inflate-bomb' };
    },
    // Invalid UTF-8 in JSON text.
    () => {
      const bad = pick([[0xff], [0xc3, 0x28], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]);
      return { frames: payloadIn(Buffer.concat([Buffer.from('{"PROTOCOL":6,"x":"'), Buffer.from(bad), Buffer.from('"}')])), reason: 'utf8' };
    },
    // Invalid JSON.
    () => {
      const text = goodPayload().toString();
      const bad = pick([
        () => text.slice(0, int(1, text.length - 1)),
        () => `x${bytes(int(0, 40)).toString('latin1').replace(/[^\x20-\x7e]/g, 'q')}`,
        () => `${text}}`,
        () => text.replace(':', ''),
        () => '{"a":1,}',
        () => "{'PROTOCOL':6}",
      ])();
      return { frames: payloadIn(Buffer.from(bad)), reason: 'json' };
    },
    // JSON that is not an object or an array of objects, 1000 levels deep, or hiding 1000 levels in an additional field.
    () => ({ frames: payloadIn(Buffer.from(pick(['42', '"flow"', 'null', 'true', '[1]', '[{},2]', '[[{}]]']))), reason: 'json' }),
    () => ({ frames: payloadIn(Buffer.from(deep(1000, '[', ']', ''))), reason: 'json' }),
    () => {
      const c = pick(byTopic('flow'));
      const text = JSON.stringify(c.record).slice(0, -1) + `,"DEEP":${deep(1000, '{"a":', '}')}}`;
      return { frames: payloadIn(Buffer.from(text)), reason: 'json' };
    },
    // Wrong types in known fields: one bad record per message, among 0-3 good ones of its topic.
    () => {
      const topic = pick(['flow', 'flow', 'counter', 'listening-ports'] as Topic[]);
      const base = pick(byTopic(topic));
      const bad = { ...base.record };
      const missing = pick(MISSING[topic]);
      if (rand() < 0.15 && missing in bad) delete bad[missing];
      else Object.assign(bad, pick(WRONG[topic]));
      const good = Array.from({ length: int(0, 3) }, () => pick(byTopic(topic)));
      const at = int(0, good.length);
      const records = [...good.slice(0, at).map((c) => c.record), bad, ...good.slice(at).map((c) => c.record)];
      const f = pick(framings());
      let encoded: Buffer;
      let tlv = f.tlv;
      try {
        encoded = tlv ? encodeTlv(records) : Buffer.from(JSON.stringify(records));
      } catch {
        tlv = false; // null and booleans have no TLV type
        encoded = Buffer.from(JSON.stringify(records));
      }
      const layout = tlv ? f.layout : pick([0, 1, 2, 3] as Layout[]);
      return { frames: rawMessage(topic, encoded, { ...ids(layout), tlv, compress: f.compress }), reason: 'schema', events: good.map((c) => c.expected) };
    },
    // Payloads over 128 KiB (the size is checked before anything else, compressed or not).
    () => {
      const n = MAX_PAYLOAD_BYTES + int(1, 64 * 1024);
      const p = rand() < 0.5 ? Buffer.alloc(n, 0x20) : bytes(n);
      const layout = pick([0, 1, 2, 3] as Layout[]);
      return { frames: [encodeHeader(layout, pick(['flow', 'counter', 'listening-ports']), { compressed: rand() < 0.5, size: 10 }), p], reason: 'oversize' };
    },
    // Malformed nDPI TLV.
    () => {
      const s = (text: string) => [0, text.length, ...Buffer.from(text)];
      const p = pick([
        () => Buffer.concat([Buffer.from([int(2, 255), int(0, 255)]), bytes(int(0, 50))]),
        () => Buffer.from([1, pick([0, 2, 3, 0xff])]),
        () => Buffer.from([1]),
        // Cut inside the first item (every case but the numeric-id one starts with a key of 8+ characters).
        () => encodeTlv([pick(cases.filter((c) => !c.name.startsWith('numeric'))).record]).subarray(0, int(3, 16)),
        () => Buffer.from([1, 1, (pick([0, 1, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15]) << 4) | 2, 0, 0, 0, 0, 0]),
        () => Buffer.from([1, 1, (2 << 4) | pick([0, 1, 13, 15]), 7, 0, 0, 0, 0]),
        () => Buffer.from([1, 1, (11 << 4) | 12, ...s('X'), (11 << 4) | 2, ...s('a'), 5]),
        () => Buffer.from([1, 1, (11 << 4) | 14, ...s('L'), 0x02, 7]),
        () => Buffer.from([1, 1, pick([0x0d, 0x0f])]),
        () => Buffer.from([1, 1, ...Array.from({ length: 17 }, () => [(11 << 4) | 12, ...s('k')]).flat(), ...Array<number>(17).fill(13)]),
      ])();
      return { frames: payloadIn(p, { tlv: true }), reason: 'tlv' };
    },
  ];

  /** A valid message with a few bytes flipped, cut, extended or shuffled between frames. */
  const mutated = (): Buffer[] => {
    const { frames, topic } = valid();
    const [h, p] = [Buffer.from(frames[0]), Buffer.from(frames[1])];
    const flip = (b: Buffer, from: number) => {
      for (let i = int(1, 4); i > 0 && b.length > from; i--) b[int(from, b.length - 1)] = int(0, 255);
      return b;
    };
    switch (int(0, 7)) {
      case 0: case 1: case 2: return [h, flip(p, 0)];
      case 3: return [flip(h, topic.length), p]; // the topic is kept, or ZMQ filters the message out
      case 4: return [h, p.subarray(0, int(0, p.length - 1))];
      case 5: return [h, Buffer.concat([p, bytes(int(1, 32))])];
      case 6: { const at = int(0, p.length); return [h, Buffer.concat([p.subarray(0, at), bytes(int(1, 8)), p.subarray(at)])]; }
      default: return rand() < 0.5 ? [h, p, p] : [flip(h, topic.length), flip(p, 0)];
    }
  };

  return { generators, valid, mutated, pick };
}

describe('fuzz at a live socket', () => {
  it(`counts every bad message by reason and keeps accepting valid events (seed ${SEED})`, async () => {
    const { c, events } = await live.collector('tcp://127.0.0.1:15530c');
    const p = live.producer('tcp://127.0.0.1:15530');
    await joined(p, c);
    const plan = planner(SEED);
    const expectedRejected: Counts = {};
    const expectedEvents: CollectedEvent[] = [];
    const count = (r: RejectReason, n = 1) => (expectedRejected[r] = (expectedRejected[r] ?? 0) + n);
    const sendGood = async () => {
      const v = plan.valid();
      await p.sendFrames(v.frames);
      expectedEvents.push(...v.events!);
    };

    // Phase 1: bad in a known way.
    let filtered = 0;
    for (let i = 0; i < BAD; i++) {
      const m = plan.pick(plan.generators)();
      await p.sendFrames(m.frames);
      if (m.reason) count(m.reason);
      else filtered++;
      expectedEvents.push(...(m.events ?? []));
      if (i % GOOD_EVERY === 0) await sendGood();
    }
    // A payload far over the limit, still under libzmq's frame guard.
    await p.sendFrames([encodeHeader(3, 'flow'), Buffer.alloc(4 * 1024 * 1024, 0x7b)]);
    count('oversize');
    expect(filtered, 'some unknown topics were sent').toBeGreaterThan(0);

    // Phase 2: random mutations, judged by a socket-free pipeline.
    const oracle = new Ingest(0);
    const phase2: CollectedEvent[] = [];
    for (let i = 0; i < MUTATED; i++) {
      const frames = plan.mutated();
      await p.sendFrames(frames);
      try {
        oracle.message(asWorkerSeesThem(frames), 'fuzz', undefined, phase2);
      } catch (err) {
        oracle.reject('internal-error', '', 'fuzz', String(err), undefined);
      }
    }
    for (const [r, n] of Object.entries(oracle.stats().rejected)) count(r as RejectReason, n);
    expectedEvents.push(...phase2);

    // Valid events still arrive after all of it.
    for (let i = 0; i < 20; i++) await sendGood();

    const expectedTotal = Object.values(expectedRejected).reduce((a, b) => a + (b ?? 0), 0);
    const stats = await waitFor(async () => {
      const s = await c.refreshStats();
      return totalRejected(s) >= expectedTotal && events.length >= expectedEvents.length ? s : undefined;
    }, `${expectedTotal} rejections and ${expectedEvents.length} events (seed ${SEED})`, 40_000).catch(() => c.refreshStats()); // the assertions below say what is missing

    expect(stats.rejected, `rejections by reason (seed ${SEED})`).toEqual(expectedRejected);
    expect(stats.rejected['internal-error'], 'no input reaches a bug').toBeUndefined();
    expect(events.length, `events (seed ${SEED})`).toBe(expectedEvents.length);
    expect(plain(events), `events, in order (seed ${SEED})`).toEqual(plain(expectedEvents));
    for (const reason of ['frame-count', 'header-length', 'header-version', 'inflate', 'inflate-bomb', 'utf8', 'json', 'schema', 'oversize', 'tlv'] as RejectReason[]) {
      expect(stats.rejected[reason], `${reason} was exercised`).toBeGreaterThan(10);
    }
    expect(stats.samples).toHaveLength(32);
    expect(stats.samples.every((s) => s.excerpt.length <= 512 && /^[\x20-\x7e]*$/.test(s.excerpt))).toBe(true);
    expect(c.failure).toBeUndefined();
  }, 60_000);
});

describe('edge inputs at a live socket', () => {
  it('are counted under the reason they deserve, never as internal-error, and the socket keeps going', async () => {
    const { c, events } = await live.collector('tcp://127.0.0.1:15531c');
    const p = live.producer('tcp://127.0.0.1:15531');
    await joined(p, c);
    const { LOCAL_CONTAINER: _, ...counters } = fixture('counters-veth');
    const deep = '['.repeat(60_000) + ']'.repeat(60_000); // still under 128 KiB
    // A container key the counters schema does not describe, set to null.
    await p.send('counter', { ...counters, REMOTE_CONTAINER: null }, { layout: 3 });
    // Deep JSON inside a record that fails its schema.
    await p.sendFrames([encodeHeader(3, 'flow'), Buffer.from(`{"PROTOCOL":1,"EXTRA":${deep}}`)]);
    await p.send('flow', fixture('ebpflowexport-retransmit'), { layout: 3 });
    await waitFor(() => events.length === 1, 'the valid event after them');
    const s = await c.refreshStats();
    expect(s.rejected['internal-error'], JSON.stringify(s.samples.map((x) => x.detail.split('\n')[0]))).toBeUndefined();
    expect(totalRejected(s)).toBe(2);
  });
});
