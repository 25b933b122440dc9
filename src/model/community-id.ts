// Community ID v1 (corelight's community-id-spec): one flow hash every tool agrees on,
// so an IDS alert (Suricata's `community_id`), a Zeek log line and a flowbridge flow
// name the same flow:
//   sha1(seed[2, big endian] . saddr . daddr . proto[1] . 0x00 . sport[2] . dport[2])
//   "1:" + base64(digest), the smaller endpoint first (address bytes, then port)
// Ports only for TCP, UDP, SCTP, ICMP and ICMPv6; ICMP uses the type and the
// counterpart type of request/response pairs (or the code, for one-way types, which
// are never swapped).
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';

const WITH_PORTS = new Set([6, 17, 132, 1, 58]);
const ICMP_PAIRS: Record<number, number> = { 8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17 };
const ICMP6_PAIRS: Record<number, number> = { 128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130, 139: 140, 140: 139, 144: 145, 145: 144 };

/** An address in network byte order (4 or 16 bytes); undefined when it is not one. */
export function addressBytes(ip: string): Buffer | undefined {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = addressBytes(v4[1])!;
    text = `${text.slice(0, v4.index)}${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const out = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(groups[i])) return undefined;
    out.writeUInt16BE(parseInt(groups[i], 16), i * 2);
  }
  return out;
}

/** The Community ID of a flow seen from `s` to `d` (for ICMP, sport/dport are the type and code). */
export function communityId(protocol: number, saddr: string, sport: number, daddr: string, dport: number, seed = 0): string {
  let src = addressBytes(saddr)!;
  let dst = addressBytes(daddr)!;
  let sp = sport;
  let dp = dport;
  let oneWay = false;
  if (protocol === 1 || protocol === 58) {
    const pair = (protocol === 1 ? ICMP_PAIRS : ICMP6_PAIRS)[sport];
    if (pair === undefined) oneWay = true;
    else dp = pair;
  }
  const cmp = Buffer.compare(src, dst);
  if (!oneWay && (cmp > 0 || (cmp === 0 && sp > dp))) {
    [src, dst] = [dst, src];
    [sp, dp] = [dp, sp];
  }
  const h = createHash('sha1');
  const head = Buffer.alloc(2);
  head.writeUInt16BE(seed & 0xffff);
  h.update(head).update(src).update(dst).update(Buffer.from([protocol & 0xff, 0]));
  if (WITH_PORTS.has(protocol)) {
    const ports = Buffer.alloc(4);
    ports.writeUInt16BE(sp & 0xffff, 0);
    ports.writeUInt16BE(dp & 0xffff, 2);
    h.update(ports);
  }
  return `1:${h.digest('base64')}`;
}
