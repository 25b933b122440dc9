// A large recording made fast and deterministically: synthetic Ethernet/IPv4 TCP and
// UDP frames of many flows, in time order, fed through the real RecordingWriter as the
// capture process feeds it (capture-process.ts: decodeFrame → PacketBatch.add gives the
// slot → writer.add; the batch is taken every 100 ms of packet time, and the writer
// ticks then). The files and indexes measured are the ones the real writer makes.
import { PacketBatch } from '../src/capture/packet-batch.ts';
import { decodeFrame, FragmentPorts, newDecodedPacket } from '../src/capture/packet-decoder.ts';
import { RecordingWriter } from '../src/recording/writer.ts';

/** One flow: client → server, direction-free as the flows API keys it. */
export interface SyntheticFlow {
  protocol: 6 | 17;
  client: number;
  clientPort: number;
  server: number;
  serverPort: number;
  packets: number;
  /** Microseconds from the recording's start, and how long the flow lasts. */
  startUs: number;
  durationUs: number;
  /** Frame sizes (bytes, Ethernet header included) drawn for its packets. */
  size: (random: () => number) => number;
}

export interface SyntheticRecording {
  flows: SyntheticFlow[];
  packets: number;
  /** Epoch ns of the first and last packet. */
  firstNs: bigint;
  lastNs: bigint;
  seconds: number;
}

/** mulberry32: the same numbers on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const ipText = (w: number) => `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
export const ip = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/** 1 January 2026, 00:00 UTC: the recordings' packet time starts here. */
const BASE_NS = 1_767_225_600_000_000_000n;
const MAX_FLOWS = 1 << 20;
const BATCH_US = 100_000;

/**
 * Writes `flows` through a RecordingWriter (settings as given) with each flow's packets
 * spread evenly over its duration, in packet-time order. Returns what was written.
 */
export function writeSynthetic(writer: RecordingWriter, flows: SyntheticFlow[], seed: number): SyntheticRecording {
  if (flows.length > MAX_FLOWS) throw new Error(`at most ${MAX_FLOWS} flows`);
  const total = flows.reduce((n, f) => n + f.packets, 0);
  // Packet time (µs) × 2^20 + flow number: one numeric sort puts every packet in time order.
  const order = new Float64Array(total);
  let n = 0;
  for (let i = 0; i < flows.length; i++) {
    const f = flows[i];
    const step = f.packets > 1 ? f.durationUs / (f.packets - 1) : 0;
    for (let j = 0; j < f.packets; j++) order[n++] = Math.round(f.startUs + j * step) * MAX_FLOWS + i;
  }
  order.sort();

  const random = prng(seed);
  const rec = Buffer.alloc(16 + 1514);
  const v = new DataView(rec.buffer, rec.byteOffset, rec.length);
  // Ethernet: fixed MACs, IPv4.
  rec.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00], 16);
  const batch = new PacketBatch(65_536);
  const packet = newDecodedPacket();
  const fragments = new FragmentPorts();
  let batchEndUs = BATCH_US;
  let lastUs = 0;
  for (let k = 0; k < total; k++) {
    const us = Math.floor(order[k] / MAX_FLOWS);
    const f = flows[order[k] - us * MAX_FLOWS];
    while (us >= batchEndUs) {
      batch.take();
      writer.tick(Number((BASE_NS + BigInt(batchEndUs) * 1000n) / 1_000_000n));
      batchEndUs += BATCH_US;
    }
    lastUs = us;
    const len = f.size(random);
    const fromClient = random() < 0.5;
    const ns = BASE_NS + BigInt(us) * 1000n + BigInt(k % 1000);
    v.setUint32(0, Number(ns / 1_000_000_000n), true);
    v.setUint32(4, Number(ns % 1_000_000_000n), true);
    v.setUint32(8, len, true);
    v.setUint32(12, len, true);
    // IPv4 header at 30 (16 + 14).
    v.setUint16(30, 0x4500);
    v.setUint16(32, len - 14);
    v.setUint16(34, k & 0xffff);
    v.setUint16(36, 0x4000);
    v.setUint8(38, 64);
    v.setUint8(39, f.protocol);
    v.setUint16(40, 0);
    v.setUint32(42, fromClient ? f.client : f.server);
    v.setUint32(46, fromClient ? f.server : f.client);
    // Transport header at 50.
    v.setUint16(50, fromClient ? f.clientPort : f.serverPort);
    v.setUint16(52, fromClient ? f.serverPort : f.clientPort);
    if (f.protocol === 6) {
      v.setUint32(54, k);
      v.setUint32(58, k);
      v.setUint16(62, 0x5018); // data offset 5, PSH+ACK
      v.setUint16(64, 0xffff);
    } else {
      v.setUint16(54, len - 34);
      v.setUint16(56, 0);
    }
    const tsMs = Number(ns / 1000n) / 1000;
    let slot = -1;
    if (decodeFrame(rec, 16, len, len, 1, packet, fragments) === undefined) slot = batch.add(rec, packet, tsMs);
    writer.add(rec, 0, len, len, tsMs, slot, batch);
  }
  writer.close();
  return { flows, packets: total, firstNs: BASE_NS, lastNs: BASE_NS + BigInt(lastUs + 1) * 1000n, seconds: lastUs / 1e6 };
}

const between = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
/** TCP data: full-size segments, with the other side's pure ACKs. */
const bulk = (dataShare: number) => (r: () => number) => (r() < dataShare ? 1514 : 66);
const mixed = (lo: number, hi: number) => (r: () => number) => between(r, lo, hi);

/**
 * ~1.25 GiB over 120 s of packet time from `count` flows: 70 % short (2–12 packets,
 * 70–400 B, DNS or short TCP, under 2 s), 29 % medium TCP (10–40 packets, half
 * full-size, up to 30 s), 1 % bulk TCP (100–1000 packets, 80 % full-size, up to 120 s).
 * Clients are in 10.0/16, servers in 172.16/16.
 */
export function mixedFlows(count: number, seed: number): SyntheticFlow[] {
  const r = prng(seed);
  const spanUs = 120_000_000;
  const flows: SyntheticFlow[] = [];
  for (let i = 0; i < count; i++) {
    const c = r();
    const kind = c < 0.7 ? 'short' : c < 0.99 ? 'medium' : 'bulk';
    const udp = kind === 'short' && r() < 0.5;
    const packets = kind === 'short' ? between(r, 2, 12) : kind === 'medium' ? between(r, 10, 40) : between(r, 100, 1000);
    const durationUs = kind === 'short' ? between(r, 0, 2_000_000) : kind === 'medium' ? between(r, 1_000_000, 30_000_000) : between(r, 10_000_000, spanUs);
    flows.push({
      protocol: udp ? 17 : 6,
      client: ip(10, 0, between(r, 0, 255), between(r, 1, 254)),
      clientPort: between(r, 32_768, 60_999),
      server: ip(172, 16, between(r, 0, 3), between(r, 1, 254)),
      serverPort: udp ? 53 : [443, 80, 8443, 22][between(r, 0, 3)],
      packets,
      startUs: between(r, 0, spanUs - durationUs),
      durationUs,
      size: kind === 'short' ? mixed(70, 400) : kind === 'medium' ? bulk(0.5) : bulk(0.8),
    });
  }
  return flows;
}

/**
 * The worst case for the index: minimum-size frames (60 B), two packets per flow
 * (a probe and its answer within 1 ms), every flow new — a scan or a DNS flood.
 */
export function tinyFlows(count: number, seed: number): SyntheticFlow[] {
  const r = prng(seed);
  const spanUs = 60_000_000;
  const flows: SyntheticFlow[] = [];
  for (let i = 0; i < count; i++) {
    const udp = r() < 0.5;
    flows.push({
      protocol: udp ? 17 : 6,
      client: ip(10, 1, between(r, 0, 255), between(r, 1, 254)),
      clientPort: between(r, 1024, 65_535),
      server: ip(172, 17, between(r, 0, 255), between(r, 1, 254)),
      serverPort: udp ? 53 : between(r, 1, 1023),
      packets: 2,
      startUs: between(r, 0, spanUs - 1000),
      durationUs: between(r, 1, 1000),
      size: () => 60,
    });
  }
  return flows;
}
