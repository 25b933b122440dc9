// Captured frame → the few facts a flow needs: protocol, addresses, ports, VLAN, TCP
// flags, length. Link layers: Ethernet (802.1Q/802.1ad tags, QinQ), Linux cooked
// capture v1/v2, raw IP, BSD loopback (DLT_NULL/LOOP). Network: IPv4 (options,
// fragments), IPv6 (extension headers skipped). Transport: TCP, UDP, SCTP, UDP-Lite
// with ports; ICMP, ICMPv6 and the rest without.
//
// This runs once per packet, so it allocates nothing: it fills a DecodedPacket the
// caller reuses, and addresses stay bytes in the frame (offsets) until a flow needs
// their text. It never throws: an unusable frame comes back as a reason to count.
import { ipv6FromBytes } from '../model/address.ts';

/** The facts of one packet. `src`/`dst` are byte offsets of the addresses in the frame. */
export interface DecodedPacket {
  protocol: number;
  ipVersion: 4 | 6;
  /** Outer VLAN id, or -1 when untagged. */
  vlan: number;
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  /** Length on the wire (not the captured length). */
  length: number;
}

export const newDecodedPacket = (): DecodedPacket => ({ protocol: 0, ipVersion: 4, vlan: -1, src: 0, dst: 0, srcPort: 0, dstPort: 0, tcpFlags: 0, length: 0 });

/** Why a frame gave no flow (the capture counts these by reason). */
export type DecodeFailure = 'truncated' | 'non-ip' | 'unsupported-link-type' | 'bad-ip-header';

/** libpcap DLT_ numbers of the link layers we decode. */
export const DLT = { NULL: 0, EN10MB: 1, RAW: 12, RAW_OPENBSD: 14, RAW_ALT: 101, LOOP: 108, LINUX_SLL: 113, IPV4: 228, IPV6: 229, LINUX_SLL2: 276 } as const;

const DECODED_LINK_TYPES = new Set<number>(Object.values(DLT));

/** True when frames of this link type (a DLT_ number) can be decoded. */
export const decodesLinkType = (dlt: number): boolean => DECODED_LINK_TYPES.has(dlt);

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD = 0x9100;

/** Transport protocols whose header starts with source and destination ports. */
const hasPorts = (protocol: number) => protocol === 6 || protocol === 17 || protocol === 132 || protocol === 136;

/**
 * Ports of fragmented datagrams: only the first fragment carries the transport
 * header, so its ports are remembered by datagram id until the last fragment, and
 * the other fragments count in the same flow. Bounded; fragments whose first one
 * was not seen (or was forgotten) count with ports 0.
 */
export class FragmentPorts {
  readonly #ports = new Map<string, number>();
  readonly #max: number;

  constructor(max = 4096) {
    this.#max = max;
  }

  remember(key: string, srcPort: number, dstPort: number): void {
    if (this.#ports.size >= this.#max) this.#ports.delete(this.#ports.keys().next().value!);
    this.#ports.set(key, srcPort * 65536 + dstPort);
  }

  /** Ports of a later fragment (srcPort * 65536 + dstPort), forgotten after the last one. */
  recall(key: string, last: boolean): number | undefined {
    const ports = this.#ports.get(key);
    if (last) this.#ports.delete(key);
    return ports;
  }
}

/** The text of an address whose bytes are at `offset` of the frame. */
export function addressText(b: Uint8Array, offset: number, ipVersion: 4 | 6): string {
  return ipVersion === 4 ? `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}` : ipv6FromBytes(b, offset);
}

function fragmentKey(b: Uint8Array, p: DecodedPacket, id: number): string {
  return `${p.protocol}|${addressText(b, p.src, p.ipVersion)}|${addressText(b, p.dst, p.ipVersion)}|${id}`;
}

/**
 * Decodes the frame of `caplen` bytes at `start` of `b` (`wireLength` on the wire)
 * into `out`. Returns undefined when `out` holds a packet, else why not.
 */
export function decodeFrame(
  b: Uint8Array, start: number, caplen: number, wireLength: number, dlt: number, out: DecodedPacket, fragments?: FragmentPorts,
): DecodeFailure | undefined {
  const end = start + caplen;
  let o: number;
  let etherType: number;
  switch (dlt) {
    case DLT.EN10MB:
      if (caplen < 14) return 'truncated';
      etherType = (b[start + 12] << 8) | b[start + 13];
      o = start + 14;
      break;
    case DLT.LINUX_SLL:
      if (caplen < 16) return 'truncated';
      etherType = (b[start + 14] << 8) | b[start + 15];
      o = start + 16;
      break;
    case DLT.LINUX_SLL2:
      if (caplen < 20) return 'truncated';
      etherType = (b[start] << 8) | b[start + 1];
      o = start + 20;
      break;
    case DLT.RAW:
    case DLT.RAW_OPENBSD:
    case DLT.RAW_ALT:
    case DLT.IPV4:
    case DLT.IPV6:
      if (caplen < 1) return 'truncated';
      etherType = b[start] >> 4 === 6 ? ETH_IPV6 : ETH_IPV4;
      o = start;
      break;
    case DLT.NULL:
    case DLT.LOOP: {
      if (caplen < 4) return 'truncated';
      // The address family, in host (NULL) or network (LOOP) byte order: read whichever end is set.
      const family = b[start] === 0 ? b[start + 3] : b[start];
      etherType = family === 2 ? ETH_IPV4 : family === 10 || family === 24 || family === 28 || family === 30 ? ETH_IPV6 : 0;
      o = start + 4;
      break;
    }
    default:
      return 'unsupported-link-type';
  }

  // VLAN tags (libpcap puts back the tags the NIC stripped). The outer tag names the flow's VLAN.
  let vlan = -1;
  while (etherType === ETH_VLAN || etherType === ETH_QINQ || etherType === ETH_QINQ_OLD) {
    if (end < o + 4) return 'truncated';
    if (vlan < 0) vlan = ((b[o] << 8) | b[o + 1]) & 0x0fff;
    etherType = (b[o + 2] << 8) | b[o + 3];
    o += 4;
  }
  out.vlan = vlan;
  out.length = wireLength;
  out.srcPort = 0;
  out.dstPort = 0;
  out.tcpFlags = 0;

  let l4: number; // transport header offset
  let fragmentId = -1; // datagram id of a fragment
  let firstFragment = true;
  let lastFragment = true;
  if (etherType === ETH_IPV4) {
    if (end < o + 20) return 'truncated';
    const ihl = (b[o] & 0x0f) * 4;
    if (b[o] >> 4 !== 4 || ihl < 20) return 'bad-ip-header';
    out.ipVersion = 4;
    out.protocol = b[o + 9];
    out.src = o + 12;
    out.dst = o + 16;
    const moreFragments = (b[o + 6] & 0x20) !== 0;
    const fragmentOffset = ((b[o + 6] & 0x1f) << 8) | b[o + 7];
    if (moreFragments || fragmentOffset !== 0) {
      fragmentId = (b[o + 4] << 8) | b[o + 5];
      firstFragment = fragmentOffset === 0;
      lastFragment = !moreFragments;
    }
    l4 = o + ihl;
  } else if (etherType === ETH_IPV6) {
    if (end < o + 40) return 'truncated';
    if (b[o] >> 4 !== 6) return 'bad-ip-header';
    out.ipVersion = 6;
    out.src = o + 8;
    out.dst = o + 24;
    let next = b[o + 6];
    let p = o + 40;
    // Hop-by-hop, routing, fragment, destination options, AH, mobility, HIP, shim6.
    while (next === 0 || next === 43 || next === 44 || next === 60 || next === 51 || next === 135 || next === 139 || next === 140) {
      if (end < p + 8) return 'truncated';
      if (next === 44) {
        const offsetAndFlags = (b[p + 2] << 8) | b[p + 3];
        fragmentId = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0;
        firstFragment = (offsetAndFlags & 0xfff8) === 0;
        lastFragment = (offsetAndFlags & 1) === 0;
        next = b[p];
        p += 8;
        if (!firstFragment) break; // the rest of the chain is in the first fragment
      } else {
        const length = next === 51 ? (b[p + 1] + 2) * 4 : (b[p + 1] + 1) * 8;
        next = b[p];
        p += length;
      }
    }
    out.protocol = next;
    l4 = p;
  } else {
    return 'non-ip';
  }

  if (!hasPorts(out.protocol)) return undefined;
  if (!firstFragment) {
    const ports = fragments?.recall(fragmentKey(b, out, fragmentId), lastFragment);
    if (ports !== undefined) {
      out.srcPort = Math.floor(ports / 65536);
      out.dstPort = ports % 65536;
    }
    return undefined;
  }
  if (end < l4 + (out.protocol === 6 ? 14 : 4)) return 'truncated';
  out.srcPort = (b[l4] << 8) | b[l4 + 1];
  out.dstPort = (b[l4 + 2] << 8) | b[l4 + 3];
  if (out.protocol === 6) out.tcpFlags = b[l4 + 13];
  if (fragmentId >= 0 && !lastFragment) fragments?.remember(fragmentKey(b, out, fragmentId), out.srcPort, out.dstPort);
  return undefined;
}
