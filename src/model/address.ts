// IP address facts the whole pipeline agrees on: one canonical text form per
// address (so `fd00:10:244::7` and `fd00:10:244:0:0:0:0:7` are one host) and a
// correct notion of loopback (all of 127.0.0.0/8, ::1 and IPv4-mapped loopback).
import { isIPv4, isIPv6 } from 'node:net';

const V4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** Parses an IPv6 text address into 8 hextets, or undefined when it is not one. */
function ipv6Hextets(text: string): number[] | undefined {
  if (!isIPv6(text)) return undefined;
  let s = text.toLowerCase();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hextets.
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const q = tail.split('.').map(Number);
    s = `${s.slice(0, lastColon + 1)}${((q[0] << 8) | q[1]).toString(16)}:${((q[2] << 8) | q[3]).toString(16)}`;
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = rest === undefined ? [] : rest ? rest.split(':') : [];
  const fill = rest === undefined ? 0 : 8 - left.length - right.length;
  const parts = [...left, ...Array<string>(fill).fill('0'), ...right];
  return parts.map((p) => parseInt(p, 16));
}

/** RFC 5952 text of 8 hextets: lower case, longest run (≥2) of zeros as `::`, IPv4-mapped as dotted. */
function formatIpv6(h: number[]): string {
  if (h.slice(0, 5).every((x) => x === 0) && h[5] === 0xffff) {
    return `::ffff:${h[6] >> 8}.${h[6] & 255}.${h[7] >> 8}.${h[7] & 255}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (h[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && h[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = h.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * The canonical text form of an IP address, or undefined when `text` is not an
 * IP address. IPv4 is returned as is (Node's isIPv4 accepts only canonical dotted quads).
 */
export function canonicalIp(text: string): string | undefined {
  if (isIPv4(text)) return text;
  const h = ipv6Hextets(text);
  return h && formatIpv6(h);
}

/** True for 127.0.0.0/8, ::1 and ::ffff:127.x.x.x (expects a canonical address). */
export function isLoopback(ip: string): boolean {
  if (ip.startsWith('127.')) return true;
  if (ip === '::1') return true;
  // Only a mapped address can still be loopback (the dispatcher asks this of both ends of every event).
  if (!ip.startsWith('::')) return false;
  const m = V4_MAPPED.exec(ip);
  return m !== null && m[1].startsWith('127.');
}

/** A u32 (host order as producers send deviceIP) as a dotted quad. */
export function ipv4FromU32(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Canonical text of the 16-byte IPv6 address at `offset` of a packet. */
export function ipv6FromBytes(b: Uint8Array, offset: number): string {
  const h = new Array<number>(8);
  for (let i = 0; i < 8; i++) h[i] = (b[offset + 2 * i] << 8) | b[offset + 2 * i + 1];
  return formatIpv6(h);
}
