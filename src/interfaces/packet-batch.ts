// What a capture hands the flow table: per-flow packet deltas aggregated over a
// short interval, so the main thread does work per flow, not per packet.
import type { PacketInfo } from './packet-decoder.ts';
import { endpointsInOrder, flowKey, orderedTupleKey, type FlowIdentity } from './flow-key.ts';

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

/** Packet deltas of one flow. */
export interface FlowDelta extends FlowIdentity, PacketCounts {
  /** Which side sent a SYN without ACK (the connecting side), if seen. */
  synFrom?: 'a' | 'b';
  /** Which side sent the first packet of this batch. */
  firstFrom: 'a' | 'b';
  /** Epoch ms. */
  firstSeen: number;
  lastSeen: number;
}

/** Aggregates decoded packets into FlowDeltas until taken. Bounded by `maxFlows` per batch. */
export class PacketBatch {
  #deltas = new Map<string, FlowDelta>();
  readonly maxFlows: number;
  /** Packets not aggregated because the batch held maxFlows flows already. */
  overflow = 0;

  constructor(maxFlows = 65_536) {
    this.maxFlows = maxFlows;
  }

  get size(): number {
    return this.#deltas.size;
  }

  add(p: PacketInfo, now: number): void {
    const srcFirst = endpointsInOrder(p.srcIp, p.srcPort, p.dstIp, p.dstPort);
    const tuple = srcFirst
      ? orderedTupleKey(p.protocol, p.srcIp, p.srcPort, p.dstIp, p.dstPort)
      : orderedTupleKey(p.protocol, p.dstIp, p.dstPort, p.srcIp, p.srcPort);
    const key = flowKey(tuple, p.vlan);
    let d = this.#deltas.get(key);
    if (!d) {
      if (this.#deltas.size >= this.maxFlows) {
        this.overflow++;
        return;
      }
      d = {
        protocol: p.protocol,
        ipVersion: p.ipVersion,
        vlan: p.vlan,
        aIp: srcFirst ? p.srcIp : p.dstIp,
        aPort: srcFirst ? p.srcPort : p.dstPort,
        bIp: srcFirst ? p.dstIp : p.srcIp,
        bPort: srcFirst ? p.dstPort : p.srcPort,
        aToBPackets: 0, aToBBytes: 0, bToAPackets: 0, bToABytes: 0,
        aFlags: 0, bFlags: 0,
        firstFrom: srcFirst ? 'a' : 'b',
        firstSeen: now,
        lastSeen: now,
      };
      this.#deltas.set(key, d);
    }
    if (srcFirst) {
      d.aToBPackets++;
      d.aToBBytes += p.length;
      d.aFlags |= p.tcpFlags;
    } else {
      d.bToAPackets++;
      d.bToABytes += p.length;
      d.bFlags |= p.tcpFlags;
    }
    if ((p.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN) d.synFrom = srcFirst ? 'a' : 'b';
    d.lastSeen = now;
  }

  /** Returns the deltas gathered so far and starts a new batch. */
  take(): FlowDelta[] {
    const out = [...this.#deltas.values()];
    this.#deltas = new Map();
    return out;
  }
}
