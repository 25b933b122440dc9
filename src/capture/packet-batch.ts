// What a capture hands the flow table: per-flow packet deltas aggregated over a
// short interval, so the collector does work per flow, not per packet.
//
// `add` runs once per packet and allocates nothing: flows of the current batch live
// in an open-addressing hash table of typed arrays keyed by the raw address words,
// and become objects (with address text) only when the batch is taken.
import { ipv6FromBytes } from '../model/address.ts';
import { endpointsInOrder, TCP_ACK, TCP_SYN, type FlowDelta, type FlowIdentity } from '../model/flow-delta.ts';
import { flowKey, orderedTupleKey } from '../flows/flow-key.ts';
import type { DecodedPacket } from './packet-decoder.ts';

// Slot layout. Key words: meta (protocol, IP version, VLAN), ports (a << 16 | b), a0..a3, b0..b3.
const KEY_WORDS = 10;
// Numbers: a→b packets, a→b bytes, b→a packets, b→a bytes, first seen, last seen.
const NUMBERS = 6;
// Bytes: a flags, b flags, SYN from, SYN+ACK from, first from (0 none, 1 a, 2 b).
const SMALL = 5;
const FROM_A = 1;
const FROM_B = 2;

const word = (b: Uint8Array, o: number) => (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
const side = (v: number): 'a' | 'b' | undefined => (v === FROM_A ? 'a' : v === FROM_B ? 'b' : undefined);

function ipv4Text(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

/** Aggregates decoded packets into FlowDeltas until taken. Holds at most `maxFlows` flows per batch. */
export class PacketBatch {
  readonly maxFlows: number;
  /** Packets not aggregated because the batch already held maxFlows flows. */
  overflow = 0;
  readonly #mask: number;
  readonly #keys: Int32Array;
  readonly #numbers: Float64Array;
  readonly #small: Uint8Array;
  /** Occupied slots, in arrival order. */
  readonly #used: Int32Array;
  #size = 0;
  readonly #v6 = new Uint8Array(16);

  constructor(maxFlows = 65_536) {
    this.maxFlows = maxFlows;
    // At most half full: probe chains stay short.
    let capacity = 16;
    while (capacity < maxFlows * 2) capacity *= 2;
    this.#mask = capacity - 1;
    this.#keys = new Int32Array(capacity * KEY_WORDS);
    this.#numbers = new Float64Array(capacity * NUMBERS);
    this.#small = new Uint8Array(capacity * SMALL);
    this.#used = new Int32Array(maxFlows);
  }

  get size(): number {
    return this.#size;
  }

  /** Bumped by every take(): a slot number names the same flow only within one generation. */
  generation = 0;

  /**
   * Counts packet `p` (decoded from frame `b`) seen at `ts` (epoch ms). Returns the
   * flow's slot in this batch (stable until the next take(); a recording's index keys
   * its packets by it), or -1 when the batch was full.
   */
  add(b: Uint8Array, p: DecodedPacket, ts: number): number {
    const v6 = p.ipVersion === 6;
    const s0 = word(b, p.src);
    const s1 = v6 ? word(b, p.src + 4) : 0;
    const s2 = v6 ? word(b, p.src + 8) : 0;
    const s3 = v6 ? word(b, p.src + 12) : 0;
    const d0 = word(b, p.dst);
    const d1 = v6 ? word(b, p.dst + 4) : 0;
    const d2 = v6 ? word(b, p.dst + 8) : 0;
    const d3 = v6 ? word(b, p.dst + 12) : 0;
    // Any fixed order makes the key direction-free; take() puts the endpoints in key order.
    const srcIsA = s0 !== d0 ? s0 < d0 : s1 !== d1 ? s1 < d1 : s2 !== d2 ? s2 < d2 : s3 !== d3 ? s3 < d3 : p.srcPort <= p.dstPort;
    const a0 = srcIsA ? s0 : d0, a1 = srcIsA ? s1 : d1, a2 = srcIsA ? s2 : d2, a3 = srcIsA ? s3 : d3;
    const b0 = srcIsA ? d0 : s0, b1 = srcIsA ? d1 : s1, b2 = srcIsA ? d2 : s2, b3 = srcIsA ? d3 : s3;
    const meta = p.protocol | (p.ipVersion << 8) | ((p.vlan + 1) << 12); // never 0: 0 marks a free slot
    const ports = srcIsA ? (p.srcPort << 16) | p.dstPort : (p.dstPort << 16) | p.srcPort;

    let h = Math.imul(meta ^ ports, 0x9e3779b1);
    h = Math.imul(h ^ a0, 0x85ebca6b) ^ (h >>> 13);
    h = Math.imul(h ^ b0, 0xc2b2ae35) ^ (h >>> 16);
    if (v6) {
      h = Math.imul(h ^ a1 ^ (b1 << 1), 0x9e3779b1) ^ (h >>> 15);
      h = Math.imul(h ^ a2 ^ (b2 << 1), 0x85ebca6b) ^ (h >>> 13);
      h = Math.imul(h ^ a3 ^ (b3 << 1), 0xc2b2ae35) ^ (h >>> 16);
    }
    h ^= h >>> 16;

    const k = this.#keys;
    let slot = h & this.#mask;
    for (;;) {
      const at = slot * KEY_WORDS;
      const m = k[at];
      if (m === 0) {
        if (this.#size >= this.maxFlows) {
          this.overflow++;
          return -1;
        }
        k[at] = meta; k[at + 1] = ports;
        k[at + 2] = a0; k[at + 3] = a1; k[at + 4] = a2; k[at + 5] = a3;
        k[at + 6] = b0; k[at + 7] = b1; k[at + 8] = b2; k[at + 9] = b3;
        this.#numbers[slot * NUMBERS + 4] = ts;
        this.#small[slot * SMALL + 4] = srcIsA ? FROM_A : FROM_B;
        this.#used[this.#size++] = slot;
        break;
      }
      if (m === meta && k[at + 1] === ports && k[at + 2] === a0 && k[at + 6] === b0 &&
        k[at + 3] === a1 && k[at + 4] === a2 && k[at + 5] === a3 && k[at + 7] === b1 && k[at + 8] === b2 && k[at + 9] === b3) break;
      slot = (slot + 1) & this.#mask;
    }

    const n = slot * NUMBERS;
    const s = slot * SMALL;
    const flags = p.tcpFlags;
    if (srcIsA) {
      this.#numbers[n]++;
      this.#numbers[n + 1] += p.length;
      this.#small[s] |= flags;
    } else {
      this.#numbers[n + 2]++;
      this.#numbers[n + 3] += p.length;
      this.#small[s + 1] |= flags;
    }
    if (ts > this.#numbers[n + 5]) this.#numbers[n + 5] = ts;
    if ((flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) this.#small[s + 2] = srcIsA ? FROM_A : FROM_B;
    else if ((flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) this.#small[s + 3] = srcIsA ? FROM_A : FROM_B;
    return slot;
  }

  /** The flow key (flow-key.ts: endpoints in key order, `|vlan` when tagged) of a slot add() returned. */
  keyOf(slot: number): string {
    const { protocol, vlan, aIp, aPort, bIp, bPort } = this.#identity(slot);
    const tuple = endpointsInOrder(aIp, aPort, bIp, bPort)
      ? orderedTupleKey(protocol, aIp, aPort, bIp, bPort)
      : orderedTupleKey(protocol, bIp, bPort, aIp, aPort);
    return flowKey(tuple, vlan);
  }

  /** A slot's protocol, VLAN and endpoints as stored (a/b in the batch's word order, not yet key order). */
  #identity(slot: number): FlowIdentity {
    const k = this.#keys;
    const at = slot * KEY_WORDS;
    const meta = k[at];
    const ipVersion = ((meta >>> 8) & 0xf) === 6 ? 6 : 4;
    const vlan = (meta >>> 12) - 1;
    const id: FlowIdentity = {
      protocol: meta & 0xff, ipVersion,
      aIp: this.#address(k, at + 2, ipVersion), aPort: k[at + 1] >>> 16,
      bIp: this.#address(k, at + 6, ipVersion), bPort: k[at + 1] & 0xffff,
    };
    if (vlan >= 0) id.vlan = vlan;
    return id;
  }

  /** Returns the deltas gathered so far and starts a new batch. */
  take(): FlowDelta[] {
    const out = new Array<FlowDelta>(this.#size);
    const k = this.#keys;
    const num = this.#numbers;
    const sm = this.#small;
    for (let i = 0; i < this.#size; i++) {
      const slot = this.#used[i];
      const at = slot * KEY_WORDS;
      const n = slot * NUMBERS;
      const s = slot * SMALL;
      const id = this.#identity(slot);
      let { aIp, bIp, aPort, bPort } = id;
      let d: FlowDelta = {
        ...id,
        aToBPackets: num[n], aToBBytes: num[n + 1], bToAPackets: num[n + 2], bToABytes: num[n + 3],
        aFlags: sm[s], bFlags: sm[s + 1],
        firstFrom: side(sm[s + 4])!, firstSeen: num[n + 4], lastSeen: num[n + 5],
      };
      const syn = side(sm[s + 2]);
      if (syn) d.synFrom = syn;
      const synAck = side(sm[s + 3]);
      if (synAck) d.synAckFrom = synAck;
      if (!endpointsInOrder(aIp, aPort, bIp, bPort)) {
        [aIp, bIp, aPort, bPort] = [bIp, aIp, bPort, aPort];
        d = swapSides(d, aIp, aPort, bIp, bPort);
      }
      out[i] = d;
      k.fill(0, at, at + KEY_WORDS);
      num.fill(0, n, n + NUMBERS);
      sm.fill(0, s, s + SMALL);
    }
    this.#size = 0;
    this.generation++;
    return out;
  }

  #address(k: Int32Array, at: number, ipVersion: 4 | 6): string {
    if (ipVersion === 4) return ipv4Text(k[at]);
    const v6 = this.#v6;
    for (let i = 0; i < 4; i++) {
      const w = k[at + i];
      v6[4 * i] = w >>> 24;
      v6[4 * i + 1] = (w >>> 16) & 255;
      v6[4 * i + 2] = (w >>> 8) & 255;
      v6[4 * i + 3] = w & 255;
    }
    return ipv6FromBytes(v6, 0);
  }
}

const other = (x: 'a' | 'b' | undefined) => (x === 'a' ? 'b' : x === 'b' ? 'a' : undefined);

/** The same delta seen from the other end (endpoints already swapped by the caller). */
function swapSides(d: FlowDelta, aIp: string, aPort: number, bIp: string, bPort: number): FlowDelta {
  const swapped: FlowDelta = {
    protocol: d.protocol, ipVersion: d.ipVersion, aIp, aPort, bIp, bPort,
    aToBPackets: d.bToAPackets, aToBBytes: d.bToABytes, bToAPackets: d.aToBPackets, bToABytes: d.aToBBytes,
    aFlags: d.bFlags, bFlags: d.aFlags,
    firstFrom: other(d.firstFrom)!, firstSeen: d.firstSeen, lastSeen: d.lastSeen,
  };
  if (d.vlan !== undefined) swapped.vlan = d.vlan;
  const syn = other(d.synFrom);
  if (syn) swapped.synFrom = syn;
  const synAck = other(d.synAckFrom);
  if (synAck) swapped.synAckFrom = synAck;
  return swapped;
}
