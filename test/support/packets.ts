// Crafted frames and classic pcap files, for tests that replay captures.
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
  vlan?: number | number[];
  /** Link layer: Ethernet (default) or Linux cooked capture v1. */
  link?: 'ethernet' | 'sll';
}

function ipBytes(ip: string): Buffer {
  if (!ip.includes(':')) return Buffer.from(ip.split('.').map(Number));
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') && tail ? tail.split(':') : [];
  const parts = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const b = Buffer.alloc(16);
  parts.forEach((p, i) => b.writeUInt16BE(parseInt(p, 16), i * 2));
  return b;
}

const FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10 };

export function frame(spec: FrameSpec): Buffer {
  const v6 = spec.src.includes(':');
  const payload = Buffer.alloc(spec.payload ?? 0, 0x61);
  let l4: Buffer;
  if (spec.protocol === 'tcp') {
    l4 = Buffer.alloc(20);
    l4.writeUInt16BE(spec.sport ?? 0, 0);
    l4.writeUInt16BE(spec.dport ?? 0, 2);
    l4[12] = 5 << 4;
    l4[13] = [...(spec.flags ?? 'A')].reduce((f, c) => f | (FLAG_BITS[c] ?? 0), 0);
  } else if (spec.protocol === 'udp') {
    l4 = Buffer.alloc(8);
    l4.writeUInt16BE(spec.sport ?? 0, 0);
    l4.writeUInt16BE(spec.dport ?? 0, 2);
    l4.writeUInt16BE(8 + payload.length, 4);
  } else {
    l4 = Buffer.from([8, 0, 0, 0, 0, 1, 0, 1]); // echo request
  }
  const proto = spec.protocol === 'tcp' ? 6 : spec.protocol === 'udp' ? 17 : v6 ? 58 : 1;
  let ip: Buffer;
  if (v6) {
    ip = Buffer.alloc(40);
    ip[0] = 0x60;
    ip.writeUInt16BE(l4.length + payload.length, 4);
    ip[6] = proto;
    ip[7] = 64;
    ipBytes(spec.src).copy(ip, 8);
    ipBytes(spec.dst).copy(ip, 24);
  } else {
    ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + l4.length + payload.length, 2);
    ip[8] = 64;
    ip[9] = proto;
    ipBytes(spec.src).copy(ip, 12);
    ipBytes(spec.dst).copy(ip, 16);
  }
  const etherType = v6 ? 0x86dd : 0x0800;
  if (spec.link === 'sll') {
    const sll = Buffer.alloc(16);
    sll.writeUInt16BE(4, 0); // sent by us
    sll.writeUInt16BE(1, 2);
    sll.writeUInt16BE(6, 4);
    sll.writeUInt16BE(etherType, 14);
    return Buffer.concat([sll, ip, l4, payload]);
  }
  const tags = spec.vlan === undefined ? [] : Array.isArray(spec.vlan) ? spec.vlan : [spec.vlan];
  const eth = Buffer.alloc(14 + 4 * tags.length);
  Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]).copy(eth, 0);
  tags.forEach((id, i) => {
    eth.writeUInt16BE(i === 0 && tags.length > 1 ? 0x88a8 : 0x8100, 12 + 4 * i);
    eth.writeUInt16BE(id, 14 + 4 * i);
  });
  eth.writeUInt16BE(etherType, 12 + 4 * tags.length);
  return Buffer.concat([eth, ip, l4, payload]);
}

/** Writes a classic pcap file (microsecond timestamps) of `frames` with the given DLT. */
export function writePcap(path: string, frames: Buffer[], dlt = 1): void {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(dlt, 20);
  const records = frames.map((f, i) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(1_700_000_000 + i, 0);
    h.writeUInt32LE(f.length, 8);
    h.writeUInt32LE(f.length, 12);
    return Buffer.concat([h, f]);
  });
  writeFileSync(path, Buffer.concat([header, ...records]));
}
