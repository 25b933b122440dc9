// What a capture hands the flow tables, and what both sides agree on: the direction-free
// identity of a flow (endpoints in a fixed order), per-flow packet deltas, TCP flag bits,
// and the capture's counters.

/** Which flow a packet, a delta or a flow record is about: endpoints `a`/`b` in key order. */
export interface FlowIdentity {
  protocol: number;
  ipVersion: 4 | 6;
  vlan?: number;
  aIp: string;
  aPort: number;
  bIp: string;
  bPort: number;
}

/** Orders two endpoints: true when `a` sorts first (by address text, then port). */
export function endpointsInOrder(aIp: string, aPort: number, bIp: string, bPort: number): boolean {
  return aIp < bIp || (aIp === bIp && aPort <= bPort);
}

/** TCP flag bits as on the wire. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

/** Packets, bytes and TCP flags (OR of all packets) in each direction of a flow. */
export interface PacketCounts {
  aToBPackets: number;
  aToBBytes: number;
  bToAPackets: number;
  bToABytes: number;
  aFlags: number;
  bFlags: number;
}

/** Packet deltas of one flow; endpoints `a`/`b` in key order (endpointsInOrder). */
export interface FlowDelta extends FlowIdentity, PacketCounts {
  /** Which side sent a SYN without ACK (the connecting side), if seen. */
  synFrom?: 'a' | 'b';
  /** Which side sent a SYN+ACK (the accepting side), if seen. */
  synAckFrom?: 'a' | 'b';
  /** Which side sent the first packet of this batch. */
  firstFrom: 'a' | 'b';
  /** Epoch ms. */
  firstSeen: number;
  lastSeen: number;
}

/** Counters of a capture (packet interfaces). */
export interface CaptureCounters {
  packets: number;
  bytes: number;
  /** Packets libpcap or the decoder could not use, by reason. */
  errors: Record<string, number>;
  /** Packets the kernel dropped (pcap_stats ps_drop) when known. */
  kernelDrops?: number;
}
