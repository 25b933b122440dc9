// Captured frame → the few facts a flow needs: addresses, ports, protocol, VLAN,
// TCP flags, length. Link layers: Ethernet (with 802.1Q/802.1ad tags), Linux cooked
// capture v1/v2, raw IP, BSD loopback. Network: IPv4 (options, fragments), IPv6
// (extension headers skipped). Transport: TCP, UDP; ICMP/ICMPv6 and others without ports.
// Never throws: an unusable frame comes back as a reason to count.
import { ipv6FromBytes } from '../model/address.ts';

export interface PacketInfo {
  protocol: number;
  ipVersion: 4 | 6;
  vlan?: number;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  /** Length on the wire (not the captured length). */
  length: number;
}

export type DecodeFailure = 'truncated' | 'non-ip' | 'link-type' | 'ip-header';

/** libpcap DLT_ numbers of the link layers we decode. */
export const DLT = { NULL: 0, EN10MB: 1, RAW: 12, RAW_ALT: 101, LOOP: 108, LINUX_SLL: 113, LINUX_SLL2: 276 } as const;

/** `cap`'s link type names → DLT numbers. */
export function dltFromCapName(name: string): number | undefined {
  switch (name) {
    case 'ETHERNET': return DLT.EN10MB;
    case 'NULL': return DLT.NULL;
    case 'RAW': return DLT.RAW_ALT;
    case 'LINKTYPE_LINUX_SLL': return DLT.LINUX_SLL;
    default: return undefined;
  }
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const IPV6_EXTENSIONS = new Set([0, 43, 44, 51, 60]);

function ipv4Text(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/**
 * Decodes a frame of `caplen` bytes in `b` (wire length `wireLength`).
 * Returns PacketInfo, or a DecodeFailure to count.
 */
export function decodePacket(b: Uint8Array, caplen: number, wireLength: number, dlt: number): PacketInfo | DecodeFailure {
  let o: number;
  let etherType: number;
  let vlan: number | undefined;
  switch (dlt) {
    case DLT.EN10MB: {
      if (caplen < 14) return 'truncated';
      etherType = (b[12] << 8) | b[13];
      o = 14;
      while (etherType === ETH_VLAN || etherType === ETH_QINQ) {
        if (caplen < o + 4) return 'truncated';
        // The innermost tag is the customer VLAN; keep the outer one as the flow's VLAN.
        vlan ??= ((b[o] << 8) | b[o + 1]) & 0x0fff;
        etherType = (b[o + 2] << 8) | b[o + 3];
        o += 4;
      }
      break;
    }
    case DLT.LINUX_SLL:
      if (caplen < 16) return 'truncated';
      etherType = (b[14] << 8) | b[15];
      o = 16;
      break;
    case DLT.LINUX_SLL2:
      if (caplen < 20) return 'truncated';
      etherType = (b[0] << 8) | b[1];
      o = 20;
      break;
    case DLT.RAW:
    case DLT.RAW_ALT:
      if (caplen < 1) return 'truncated';
      etherType = b[0] >> 4 === 6 ? ETH_IPV6 : ETH_IPV4;
      o = 0;
      break;
    case DLT.NULL:
    case DLT.LOOP: {
      if (caplen < 4) return 'truncated';
      // Address family in host (NULL) or network (LOOP) order: 2 is IPv4, 10/24/28/30 are IPv6.
      const family = b[0] === 0 ? b[3] : b[0];
      etherType = family === 2 ? ETH_IPV4 : ETH_IPV6;
      o = 4;
      break;
    }
    default:
      return 'link-type';
  }

  let protocol: number;
  let ipVersion: 4 | 6;
  let srcIp: string;
  let dstIp: string;
  let l4 = -1; // transport header offset; -1 when ports are not available (non-first fragment)
  if (etherType === ETH_IPV4) {
    if (caplen < o + 20) return 'truncated';
    if (b[o] >> 4 !== 4) return 'ip-header';
    const ihl = (b[o] & 0x0f) * 4;
    if (ihl < 20) return 'ip-header';
    protocol = b[o + 9];
    ipVersion = 4;
    srcIp = ipv4Text(b, o + 12);
    dstIp = ipv4Text(b, o + 16);
    const fragOffset = ((b[o + 6] & 0x1f) << 8) | b[o + 7];
    if (fragOffset === 0) l4 = o + ihl;
  } else if (etherType === ETH_IPV6) {
    if (caplen < o + 40) return 'truncated';
    if (b[o] >> 4 !== 6) return 'ip-header';
    ipVersion = 6;
    srcIp = ipv6FromBytes(b, o + 8);
    dstIp = ipv6FromBytes(b, o + 24);
    protocol = b[o + 6];
    let p = o + 40;
    let firstFragment = true;
    while (IPV6_EXTENSIONS.has(protocol)) {
      if (caplen < p + 8) return 'truncated';
      const next = b[p];
      if (protocol === 44) {
        firstFragment = (((b[p + 2] << 8) | b[p + 3]) & 0xfff8) === 0;
        p += 8;
      } else if (protocol === 51) p += (b[p + 1] + 2) * 4;
      else p += (b[p + 1] + 1) * 8;
      protocol = next;
    }
    if (firstFragment) l4 = p;
  } else {
    return 'non-ip';
  }

  let srcPort = 0;
  let dstPort = 0;
  let tcpFlags = 0;
  if (l4 >= 0 && (protocol === 6 || protocol === 17)) {
    if (caplen < l4 + (protocol === 6 ? 14 : 4)) return 'truncated';
    srcPort = (b[l4] << 8) | b[l4 + 1];
    dstPort = (b[l4 + 2] << 8) | b[l4 + 3];
    if (protocol === 6) tcpFlags = b[l4 + 13];
  }
  return { protocol, ipVersion, vlan, srcIp, dstIp, srcPort, dstPort, tcpFlags, length: wireLength };
}
