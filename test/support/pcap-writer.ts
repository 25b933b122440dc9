// Crafted frames and classic pcap files, for tests that replay captures: Ethernet
// (VLAN and QinQ tags), Linux cooked capture v1/v2, raw IP and BSD loopback link
// layers; IPv4 (options, fragments) and IPv6 (extension headers, fragments); TCP,
// UDP, ICMP and ICMPv6. Checksums are left zero: nothing here verifies them.
import { writeFileSync } from 'node:fs';

export interface FrameSpec {
  src: string;
  dst: string;
  protocol: 'tcp' | 'udp' | 'icmp';
  sport?: number;
  dport?: number;
  /** TCP flags as letters: S, A, F, R, P. */
  flags?: string;
  payload?: number;
  /** One tag (802.1Q), or outer first (the outer one 802.1ad, as in QinQ). */
  vlan?: number | number[];
  /** Link layer (default Ethernet). Write the file with the matching LINKTYPE. */
  link?: 'ethernet' | 'sll' | 'sll2' | 'raw' | 'null';
  /** IPv4: bytes of options (a multiple of 4, at most 40). */
  ipOptions?: number;
  /** A fragment of datagram `id`: `offset` in bytes (a multiple of 8); `more` when fragments follow. */
  fragment?: { id: number; offset: number; more: boolean };
  /** IPv6: extension headers before the transport header, in order. */
  ipv6Extensions?: ('hop-by-hop' | 'routing' | 'destination')[];
}

/** pcap LINKTYPE_ numbers of the link layers frame() builds. */
export const LINKTYPE = { NULL: 0, ETHERNET: 1, RAW: 101, LINUX_SLL: 113, LINUX_SLL2: 276 } as const;

function ipBytes(ip: string): Buffer {
  if (!ip.includes(':')) return Buffer.from(ip.split('.').map(Number));
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') && tail ? tail.split(':') : [];
  const parts = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const b = Buffer.alloc(16);
  parts.forEach((p, i) => b.writeUInt16BE(parseInt(p, 16), i * 2));
  return b;
}

const FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10 };
const EXTENSION_NUMBER = { 'hop-by-hop': 0, routing: 43, destination: 60 } as const;

function transport(spec: FrameSpec, v6: boolean, payload: Buffer): { protocol: number; header: Buffer } {
  if (spec.protocol === 'tcp') {
    const header = Buffer.alloc(20);
    header.writeUInt16BE(spec.sport ?? 0, 0);
    header.writeUInt16BE(spec.dport ?? 0, 2);
    header[12] = 5 << 4;
    header[13] = [...(spec.flags ?? 'A')].reduce((f, c) => f | (FLAG_BITS[c] ?? 0), 0);
    return { protocol: 6, header };
  }
  if (spec.protocol === 'udp') {
    const header = Buffer.alloc(8);
    header.writeUInt16BE(spec.sport ?? 0, 0);
    header.writeUInt16BE(spec.dport ?? 0, 2);
    header.writeUInt16BE(8 + payload.length, 4);
    return { protocol: 17, header };
  }
  // Echo request: ICMP type 8, ICMPv6 type 128.
  return { protocol: v6 ? 58 : 1, header: Buffer.from([v6 ? 128 : 8, 0, 0, 0, 0, 1, 0, 1]) };
}

/** The IP packet (header, transport header unless a later fragment, payload). */
function ipPacket(spec: FrameSpec): Buffer {
  const v6 = spec.src.includes(':');
  const payload = Buffer.alloc(spec.payload ?? 0, 0x61);
  const { protocol, header } = transport(spec, v6, payload);
  const later = spec.fragment !== undefined && spec.fragment.offset > 0;
  const body = later ? payload : Buffer.concat([header, payload]);
  if (v6) {
    const chain: { next: number; bytes: Buffer }[] = [];
    for (const name of spec.ipv6Extensions ?? []) chain.push({ next: EXTENSION_NUMBER[name], bytes: Buffer.alloc(8) });
    if (spec.fragment) {
      const f = Buffer.alloc(8);
      f.writeUInt16BE(spec.fragment.offset | (spec.fragment.more ? 1 : 0), 2);
      f.writeUInt32BE(spec.fragment.id, 4);
      chain.push({ next: 44, bytes: f });
    }
    // Each extension header names the one after it; the last names the transport protocol.
    chain.forEach((ext, i) => (ext.bytes[0] = i + 1 < chain.length ? chain[i + 1].next : protocol));
    const extensions = Buffer.concat(chain.map((e) => e.bytes));
    const ip = Buffer.alloc(40);
    ip[0] = 0x60;
    ip.writeUInt16BE(extensions.length + body.length, 4);
    ip[6] = chain.length > 0 ? chain[0].next : protocol;
    ip[7] = 64;
    ipBytes(spec.src).copy(ip, 8);
    ipBytes(spec.dst).copy(ip, 24);
    return Buffer.concat([ip, extensions, body]);
  }
  const optionBytes = spec.ipOptions ?? 0;
  const ip = Buffer.alloc(20 + optionBytes, 1); // options: NOPs
  ip[0] = 0x40 | ((20 + optionBytes) / 4);
  ip[1] = 0;
  ip.writeUInt16BE(ip.length + body.length, 2);
  ip.writeUInt16BE(spec.fragment?.id ?? 0, 4);
  ip.writeUInt16BE(spec.fragment ? (spec.fragment.more ? 0x2000 : 0) | (spec.fragment.offset / 8) : 0, 6);
  ip[8] = 64;
  ip[9] = protocol;
  ip.writeUInt16BE(0, 10);
  ipBytes(spec.src).copy(ip, 12);
  ipBytes(spec.dst).copy(ip, 16);
  return Buffer.concat([ip, body]);
}

/** One frame as `spec` says, link layer included. */
export function frame(spec: FrameSpec): Buffer {
  const ip = ipPacket(spec);
  const v6 = spec.src.includes(':');
  const etherType = v6 ? 0x86dd : 0x0800;
  switch (spec.link ?? 'ethernet') {
    case 'raw':
      return ip;
    case 'null': {
      const family = Buffer.alloc(4);
      family.writeUInt32LE(v6 ? 10 : 2); // host byte order, as DLT_NULL has it
      return Buffer.concat([family, ip]);
    }
    case 'sll': {
      const sll = Buffer.alloc(16);
      sll.writeUInt16BE(4, 0); // sent by us
      sll.writeUInt16BE(1, 2); // ARPHRD_ETHER
      sll.writeUInt16BE(6, 4);
      sll.writeUInt16BE(etherType, 14);
      return Buffer.concat([sll, ip]);
    }
    case 'sll2': {
      const sll2 = Buffer.alloc(20);
      sll2.writeUInt16BE(etherType, 0);
      sll2.writeUInt32BE(2, 4); // interface index
      sll2.writeUInt16BE(1, 8); // ARPHRD_ETHER
      sll2[10] = 0; // to us
      sll2[11] = 6;
      return Buffer.concat([sll2, ip]);
    }
    case 'ethernet': {
      const tags = spec.vlan === undefined ? [] : Array.isArray(spec.vlan) ? spec.vlan : [spec.vlan];
      const eth = Buffer.alloc(14 + 4 * tags.length);
      Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]).copy(eth, 0);
      tags.forEach((id, i) => {
        eth.writeUInt16BE(i === 0 && tags.length > 1 ? 0x88a8 : 0x8100, 12 + 4 * i);
        eth.writeUInt16BE(id, 14 + 4 * i);
      });
      eth.writeUInt16BE(etherType, 12 + 4 * tags.length);
      return Buffer.concat([eth, ip]);
    }
  }
}

/** A frame that is not IP (an ARP request), for counting what the decoder skips. */
export function arpFrame(): Buffer {
  const eth = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06]);
  return Buffer.concat([eth, Buffer.alloc(28)]);
}

/** A frame with the time it was captured (epoch ms). */
export interface TimedFrame {
  frame: Buffer;
  time: number;
}

/**
 * Writes a classic pcap file (microsecond timestamps) of `frames` with link type
 * `linktype`. Frames without a time are one second apart from 2023-11-14T22:13:20Z.
 */
export function writePcap(path: string, frames: (Buffer | TimedFrame)[], linktype: number = LINKTYPE.ETHERNET): void {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(linktype, 20);
  const records = frames.map((f, i) => {
    const { frame: data, time } = Buffer.isBuffer(f) ? { frame: f, time: (1_700_000_000 + i) * 1000 } : f;
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Math.floor(time / 1000), 0);
    h.writeUInt32LE(Math.round((time % 1000) * 1000), 4);
    h.writeUInt32LE(data.length, 8);
    h.writeUInt32LE(data.length, 12);
    return Buffer.concat([h, data]);
  });
  writeFileSync(path, Buffer.concat([header, ...records]));
}

/** Writes a pcapng file (section header, one interface, enhanced packet blocks; microsecond timestamps). */
export function writePcapng(path: string, frames: (Buffer | TimedFrame)[], linktype: number = LINKTYPE.ETHERNET): void {
  const block = (type: number, body: Buffer) => {
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    const b = Buffer.alloc(12 + padded.length);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(b.length, 4);
    padded.copy(b, 8);
    b.writeUInt32LE(b.length, b.length - 4);
    return b;
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0); // byte-order magic
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8); // section length unknown
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(linktype, 0);
  idb.writeUInt32LE(65535, 4);
  const packets = frames.map((f, i) => {
    const { frame: data, time } = Buffer.isBuffer(f) ? { frame: f, time: (1_700_000_000 + i) * 1000 } : f;
    const us = BigInt(Math.round(time * 1000));
    const h = Buffer.alloc(20);
    h.writeUInt32LE(0, 0); // interface 0
    h.writeUInt32LE(Number(us >> 32n), 4);
    h.writeUInt32LE(Number(us & 0xffffffffn), 8);
    h.writeUInt32LE(data.length, 12);
    h.writeUInt32LE(data.length, 16);
    return block(6, Buffer.concat([h, data]));
  });
  writeFileSync(path, Buffer.concat([block(0x0a0d0d0a, shb), block(1, idb), ...packets]));
}
