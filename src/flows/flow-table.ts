// One interface's flows, built from packets, from events, or both (dispatch rule 6).
// Bounded (least recently updated flows are evicted, and counted), idle flows time
// out, and closed flows stay resolvable for a grace period so a short connection
// whose packets ended before its event arrived still gets its process.
import { LRUCache } from 'lru-cache';
import { canonicalIp } from '../model/address.ts';
import { serverByWellKnownPort } from '../model/orientation.ts';
import type { SideInfo, SocketEvent } from '../model/event.ts';
import type { FlowEventNote, FlowQuery, FlowQueryResult, FlowRecord, FlowTableStats, ProcessTraffic, SeenBy } from '../model/flow.ts';
import { flowKey, orderedTupleKey, tupleKey } from './flow-key.ts';
import { hasInfo, mergeSide, SideInterner } from './flow-sides.ts';
import type { FlowTableApi } from '../interfaces/interface.ts';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type FlowDelta, type FlowIdentity, type PacketCounts } from '../model/flow-delta.ts';

export interface FlowTableOptions {
  maxFlows: number;
  /** A flow with no packet or event for this long is removed. */
  idleTimeoutMs: number;
  /** A closed flow stays findable by late events for this long. */
  closedGraceMs: number;
}

export const DEFAULT_FLOW_TABLE: FlowTableOptions = { maxFlows: 1_000_000, idleTimeoutMs: 180_000, closedGraceMs: 30_000 };

/** Events remembered per flow. */
const RECENT_EVENTS = 8;
/** Shared by every flow no event has reached yet (never mutated: the first event replaces it). */
const NO_EVENTS: FlowEventNote[] = [];
const SEEN_PACKETS = 1;
const SEEN_EVENTS = 2;

const PROTOCOL_NAMES: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 47: 'GRE', 50: 'ESP', 132: 'SCTP' };

interface NetstatBase {
  segsIn: number;
  segsOut: number;
  bytesReceived: number;
  bytesAcked: number;
}

/**
 * The mutable flow; endpoints a/b in key order, `clientIsA` says which is the client.
 * Counters are plain fields (PacketCounts), not nested objects: a million flows make every object count.
 */
interface Flow extends FlowIdentity, PacketCounts {
  key: string;
  tuple: string;
  clientIsA: boolean;
  /** How sure the orientation is: an event says, a SYN shows, otherwise a guess. */
  orientedBy: 'event' | 'syn' | 'guess';
  firstSeen: number;
  lastSeen: number;
  seen: number;
  closedAt?: number;
  /** What each end's host reported, by endpoint (a/b). */
  sideA?: SideInfo;
  sideB?: SideInfo;
  lastEvent?: FlowRecord['lastEvent'];
  latencyMs?: number;
  retransmittedPackets?: number;
  tcp?: FlowRecord['tcp'];
  netstat?: NonNullable<FlowRecord['netstat']>;
  /** Last cumulative netstat snapshot per reporting side. */
  netstatBase?: { a?: NetstatBase; b?: NetstatBase };
  recentEvents: FlowEventNote[];
}

/**
 * Which end connected, from packets alone: the SYN tells, else the SYN+ACK (the
 * capture missed the SYN); `sure` is false for a guess: the well-known port rule
 * (src/model/orientation.ts), else the first sender is the client.
 */
function clientFromPackets(d: FlowDelta): { clientIsA: boolean; sure: boolean } {
  if (d.synFrom !== undefined) return { clientIsA: d.synFrom === 'a', sure: true };
  if (d.synAckFrom !== undefined) return { clientIsA: d.synAckFrom === 'b', sure: true };
  const server = serverByWellKnownPort(d.aPort, d.bPort);
  return { clientIsA: server === undefined ? d.firstFrom === 'a' : server === 'b', sure: false };
}

function processName(flow: Flow): string | undefined {
  const side = flow.clientIsA ? flow.sideA ?? flow.sideB : flow.sideB ?? flow.sideA;
  const p = side?.process;
  if (!p) return undefined;
  return p.path ? p.path.slice(p.path.lastIndexOf('/') + 1) || p.path : `pid ${p.pid}`;
}

export class FlowTable implements FlowTableApi {
  readonly options: FlowTableOptions;
  readonly #flows: LRUCache<string, Flow>;
  /** Tuple key (no VLAN) → key of the VLAN-tagged flow, so events (which see no VLAN) find it. */
  readonly #byTuple = new Map<string, string>();
  readonly #seenCounts = [0, 0, 0, 0];
  readonly #sides = new SideInterner();
  #evicted = 0;
  #expired = 0;

  constructor(options: Partial<FlowTableOptions> = {}) {
    this.options = { ...DEFAULT_FLOW_TABLE, ...options };
    this.#flows = new LRUCache<string, Flow>({
      max: this.options.maxFlows,
      dispose: (flow, key, reason) => {
        if (reason === 'evict') this.#evicted++;
        this.#forget(flow, key);
      },
    });
  }

  get size(): number {
    return this.#flows.size;
  }

  // ---- packets ----

  applyPackets(deltas: readonly FlowDelta[]): void {
    for (const d of deltas) this.#applyDelta(d);
  }

  #applyDelta(d: FlowDelta): void {
    const tuple = orderedTupleKey(d.protocol, d.aIp, d.aPort, d.bIp, d.bPort);
    const key = flowKey(tuple, d.vlan);
    let flow = this.#flows.get(key) ?? (d.vlan !== undefined ? this.#untaggedEventFlow(tuple, key, d.vlan) : undefined);
    // A SYN after the flow closed is a new connection reusing the ports. (Not one sent
    // before: a short connection's CLOSE event often arrives before its packets.)
    const reopened = flow?.closedAt !== undefined && d.synFrom !== undefined && d.lastSeen > flow.closedAt;
    if (!flow || reopened) {
      if (flow) this.#flows.delete(key);
      const { clientIsA, sure } = clientFromPackets(d);
      flow = this.#create(key, tuple, d.protocol, d.ipVersion, d.vlan, d.aIp, d.aPort, d.bIp, d.bPort, clientIsA, sure ? 'syn' : 'guess', d.firstSeen);
    } else if (flow.orientedBy === 'guess') {
      const { clientIsA, sure } = clientFromPackets(d);
      if (sure) {
        flow.clientIsA = clientIsA;
        flow.orientedBy = 'syn';
      }
    }
    flow.aToBPackets += d.aToBPackets;
    flow.aToBBytes += d.aToBBytes;
    flow.bToAPackets += d.bToAPackets;
    flow.bToABytes += d.bToABytes;
    flow.aFlags |= d.aFlags;
    flow.bFlags |= d.bFlags;
    if (d.lastSeen > flow.lastSeen) flow.lastSeen = d.lastSeen;
    this.#markSeen(flow, SEEN_PACKETS);
    // TCP end: a RST, or a FIN from both sides.
    if (flow.protocol === 6 && flow.closedAt === undefined && ((flow.aFlags | flow.bFlags) & TCP_RST || (flow.aFlags & flow.bFlags & TCP_FIN))) {
      flow.closedAt = flow.lastSeen;
    }
  }

  /** An events-only flow with no VLAN is the same connection packets now show tagged: re-key it. */
  #untaggedEventFlow(tuple: string, key: string, vlan: number): Flow | undefined {
    const flow = this.#flows.get(tuple);
    if (!flow || flow.seen & SEEN_PACKETS) return undefined;
    this.#flows.delete(tuple);
    const moved: Flow = { ...flow, key, vlan };
    this.#seenCounts[moved.seen]++;
    this.#flows.set(key, moved);
    this.#byTuple.set(tuple, key);
    return moved;
  }

  // ---- events ----

  applyEvent(event: SocketEvent, via: string, now = Date.now()): void {
    const tuple = tupleKey(event.protocol, event.client, event.server);
    let flow = this.#lookup(tuple);
    if (flow && flow.closedAt !== undefined && now - flow.closedAt > this.options.closedGraceMs) {
      this.#flows.delete(flow.key);
      flow = undefined;
    }
    const clientIsA = tuple.startsWith(`${event.protocol}|${event.client.ip}|${event.client.port}|`);
    if (!flow) {
      const [a, b] = clientIsA ? [event.client, event.server] : [event.server, event.client];
      flow = this.#create(tuple, tuple, event.protocol, event.ipVersion, undefined, a.ip, a.port, b.ip, b.port, clientIsA, 'event', now);
    } else if (flow.orientedBy !== 'event') {
      flow.clientIsA = clientIsA;
      flow.orientedBy = 'event';
    }

    const localIsA = (event.localSide === 'client') === clientIsA;
    if (hasInfo(event.local)) {
      if (localIsA) flow.sideA = this.#sides.intern(mergeSide(flow.sideA, event.local));
      else flow.sideB = this.#sides.intern(mergeSide(flow.sideB, event.local));
    }
    if (hasInfo(event.remote)) {
      if (localIsA) flow.sideB = this.#sides.intern(mergeSide(flow.sideB, event.remote));
      else flow.sideA = this.#sides.intern(mergeSide(flow.sideA, event.remote));
    }
    flow.lastEvent = event.eventType ?? 'NETSTAT';
    if (event.latencyMs !== undefined) flow.latencyMs = event.latencyMs;
    if (event.retransmittedPackets !== undefined) flow.retransmittedPackets = (flow.retransmittedPackets ?? 0) + event.retransmittedPackets;
    if (event.tcp) {
      flow.tcp = { ...flow.tcp, ...event.tcp };
      this.#netstatDeltas(flow, localIsA ? 'a' : 'b', event.tcp);
    }
    if (event.eventType === 'CLOSE' || event.eventType === 'CONNECT_FAILED') flow.closedAt ??= now;
    const note: FlowEventNote = { timestamp: event.timestamp, kind: event.kind, via };
    if (event.eventType) note.eventType = event.eventType;
    const pid = event.local.process?.pid;
    if (pid !== undefined) note.pid = pid;
    // A flow with one event keeps a one-slot array (a push would reserve 17 slots).
    if (flow.recentEvents.length === 0) flow.recentEvents = [note];
    else {
      flow.recentEvents.push(note);
      if (flow.recentEvents.length > RECENT_EVENTS) flow.recentEvents.shift();
    }
    if (now > flow.lastSeen) flow.lastSeen = now;
    this.#markSeen(flow, SEEN_EVENTS);
  }

  /** Cumulative netstat counters → traffic deltas; a counter going backwards is a reset, not negative traffic. */
  #netstatDeltas(flow: Flow, side: 'a' | 'b', tcp: NonNullable<SocketEvent['tcp']>): void {
    const next: NetstatBase = { segsIn: tcp.segsIn ?? 0, segsOut: tcp.segsOut ?? 0, bytesReceived: tcp.bytesReceived ?? 0, bytesAcked: tcp.bytesAcked ?? 0 };
    const bases = (flow.netstatBase ??= {});
    const prev = bases[side];
    const totals = (flow.netstat ??= { segsIn: 0, segsOut: 0, bytesReceived: 0, bytesAcked: 0, resets: 0 });
    let reset = false;
    for (const k of ['segsIn', 'segsOut', 'bytesReceived', 'bytesAcked'] as const) {
      const before = prev?.[k] ?? 0;
      if (next[k] < before) {
        reset = true;
        totals[k] += next[k];
      } else totals[k] += next[k] - before;
    }
    if (reset) totals.resets++;
    bases[side] = next;
  }

  #lookup(tuple: string): Flow | undefined {
    const direct = this.#flows.get(tuple);
    if (direct) return direct;
    const tagged = this.#byTuple.get(tuple);
    return tagged === undefined ? undefined : this.#flows.get(tagged);
  }

  #create(key: string, tuple: string, protocol: number, ipVersion: 4 | 6, vlan: number | undefined, aIp: string, aPort: number, bIp: string, bPort: number, clientIsA: boolean, orientedBy: Flow['orientedBy'], now: number): Flow {
    const flow: Flow = {
      key, tuple, protocol, ipVersion, vlan, aIp, aPort, bIp, bPort, clientIsA, orientedBy,
      aToBPackets: 0, aToBBytes: 0, bToAPackets: 0, bToABytes: 0, aFlags: 0, bFlags: 0,
      firstSeen: now, lastSeen: now, seen: 0, recentEvents: NO_EVENTS,
    };
    this.#seenCounts[0]++;
    this.#flows.set(key, flow);
    if (vlan !== undefined) this.#byTuple.set(tuple, key);
    return flow;
  }

  #markSeen(flow: Flow, bit: number): void {
    if (flow.seen & bit) return;
    this.#seenCounts[flow.seen]--;
    flow.seen |= bit;
    this.#seenCounts[flow.seen]++;
  }

  #forget(flow: Flow, key: string): void {
    this.#seenCounts[flow.seen]--;
    if (flow.vlan !== undefined && this.#byTuple.get(flow.tuple) === key) this.#byTuple.delete(flow.tuple);
  }

  // ---- housekeeping and views ----

  expire(now = Date.now()): void {
    const { idleTimeoutMs, closedGraceMs } = this.options;
    const horizon = now - Math.min(idleTimeoutMs, closedGraceMs);
    // Least recently updated first; everything after the first fresh flow is fresher still.
    const gone: string[] = [];
    for (const entry of this.#flows.rentries()) {
      const [key, flow] = entry as [string, Flow];
      if (flow.lastSeen > horizon) break;
      const closedLongEnough = flow.closedAt !== undefined && now - flow.closedAt > closedGraceMs;
      if (closedLongEnough || now - flow.lastSeen > idleTimeoutMs) gone.push(key);
    }
    for (const key of gone) this.#flows.delete(key);
    this.#expired += gone.length;
  }

  query(q: FlowQuery): FlowQueryResult {
    const host = q.host === undefined ? undefined : canonicalIp(q.host) ?? q.host;
    const needle = q.process?.toLowerCase();
    const pid = q.process !== undefined && /^\d+$/.test(q.process) ? Number(q.process) : undefined;
    const owns = (p: SideInfo['process']) => p !== undefined && (p.pid === pid || p.path?.toLowerCase().includes(needle!) === true);
    const sort = q.sort ?? 'bytes';
    const value = (f: Flow) =>
      sort === 'bytes' ? f.aToBBytes + f.bToABytes : sort === 'packets' ? f.aToBPackets + f.bToAPackets : sort === 'lastSeen' ? f.lastSeen : -f.firstSeen;
    const top = new Top(Math.min(q.limit ?? 100, 10_000));
    let total = 0;
    this.#flows.forEach((flow) => {
      if (host !== undefined && flow.aIp !== host && flow.bIp !== host) return;
      if (q.port !== undefined && flow.aPort !== q.port && flow.bPort !== q.port) return;
      if (needle !== undefined && !owns(flow.sideA?.process) && !owns(flow.sideB?.process)) return;
      total++;
      top.offer(flow, value(flow));
    });
    return { total, flows: top.largestFirst().map((f) => this.#record(f)) };
  }

  stats(): FlowTableStats {
    const c = this.#seenCounts;
    return {
      active: this.#flows.size,
      bound: this.options.maxFlows,
      bySeen: { packets: c[SEEN_PACKETS], events: c[SEEN_EVENTS], both: c[SEEN_PACKETS | SEEN_EVENTS] },
      evicted: this.#evicted,
      expired: this.#expired,
    };
  }

  processTraffic(top?: number): ProcessTraffic[] {
    const totals = new Map<string, ProcessTraffic>();
    for (const flow of this.#flows.values()) {
      const name = processName(flow);
      if (name === undefined) continue;
      const fromPackets = flow.seen & SEEN_PACKETS;
      const bytes = fromPackets ? flow.aToBBytes + flow.bToABytes : (flow.netstat?.bytesReceived ?? 0) + (flow.netstat?.bytesAcked ?? 0);
      const packets = fromPackets ? flow.aToBPackets + flow.bToAPackets : (flow.netstat?.segsIn ?? 0) + (flow.netstat?.segsOut ?? 0);
      const t = totals.get(name) ?? { process: name, bytes: 0, packets: 0 };
      t.bytes += bytes;
      t.packets += packets;
      totals.set(name, t);
    }
    const sorted = [...totals.values()].sort((x, y) => y.bytes - x.bytes || x.process.localeCompare(y.process));
    if (top === undefined || sorted.length <= top) return sorted;
    const other = sorted.slice(top).reduce((o, t) => ({ process: 'other', bytes: o.bytes + t.bytes, packets: o.packets + t.packets }), { process: 'other', bytes: 0, packets: 0 });
    return [...sorted.slice(0, top), other];
  }

  #record(f: Flow): FlowRecord {
    const a = { ip: f.aIp, port: f.aPort };
    const b = { ip: f.bIp, port: f.bPort };
    const client = f.clientIsA ? a : b;
    const server = f.clientIsA ? b : a;
    const aToB = { packets: f.aToBPackets, bytes: f.aToBBytes };
    const bToA = { packets: f.bToAPackets, bytes: f.bToABytes };
    const clientSide = f.clientIsA ? f.sideA : f.sideB;
    const serverSide = f.clientIsA ? f.sideB : f.sideA;
    const seenBy: SeenBy[] = [];
    if (f.seen & SEEN_PACKETS) seenBy.push('packets');
    if (f.seen & SEEN_EVENTS) seenBy.push('events');
    const shown = clientSide?.process ? clientSide : serverSide?.process ? serverSide : clientSide ?? serverSide;
    const record: FlowRecord = {
      key: f.key,
      protocol: f.protocol,
      protocolName: PROTOCOL_NAMES[f.protocol] ?? String(f.protocol),
      ipVersion: f.ipVersion,
      client,
      server,
      packets: aToB.packets + bToA.packets,
      bytes: aToB.bytes + bToA.bytes,
      clientToServer: f.clientIsA ? aToB : bToA,
      serverToClient: f.clientIsA ? bToA : aToB,
      firstSeen: f.firstSeen,
      lastSeen: f.lastSeen,
      seenBy,
      recentEvents: [...f.recentEvents],
      closed: f.closedAt !== undefined,
    };
    if (f.vlan !== undefined) record.vlan = f.vlan;
    if (shown) {
      if (shown.process) record.process = shown.process;
      if (shown.parent) record.parent = shown.parent;
      if (shown.container) record.container = shown.container;
      record.processSide = shown === clientSide ? 'client' : 'server';
    }
    if (clientSide || serverSide) {
      record.sides = {};
      if (clientSide) record.sides.client = clientSide;
      if (serverSide) record.sides.server = serverSide;
    }
    if (f.lastEvent) record.lastEvent = f.lastEvent;
    if (f.latencyMs !== undefined) record.latencyMs = f.latencyMs;
    if (f.retransmittedPackets !== undefined) record.retransmittedPackets = f.retransmittedPackets;
    const flags = f.protocol === 6 ? tcpFlagsText(f.aFlags | f.bFlags) : undefined;
    if (f.tcp || flags) record.tcp = { ...f.tcp, ...(flags ? { flags } : {}) };
    if (f.netstat) record.netstat = { ...f.netstat };
    return record;
  }
}

/**
 * The `limit` flows of largest value, kept in a min-heap while scanning: a table of
 * a million flows is not sorted to show a hundred (the scan blocks dispatch meanwhile).
 */
class Top {
  readonly #flows: Flow[] = [];
  readonly #values: number[] = [];
  constructor(readonly limit: number) {}

  offer(flow: Flow, value: number): void {
    const f = this.#flows;
    const v = this.#values;
    let i: number;
    if (f.length < this.limit) {
      i = f.length;
      for (let parent = (i - 1) >> 1; i > 0 && v[parent] > value; i = parent, parent = (i - 1) >> 1) {
        f[i] = f[parent];
        v[i] = v[parent];
      }
    } else if (this.limit > 0 && value > v[0]) {
      i = 0; // replace the smallest, sift it down
      for (let child = 1; child < f.length; i = child, child = 2 * i + 1) {
        if (child + 1 < f.length && v[child + 1] < v[child]) child++;
        if (v[child] >= value) break;
        f[i] = f[child];
        v[i] = v[child];
      }
    } else return;
    f[i] = flow;
    v[i] = value;
  }

  largestFirst(): Flow[] {
    const order = this.#flows.map((_, i) => i).sort((x, y) => this.#values[y] - this.#values[x] || this.#flows[y].lastSeen - this.#flows[x].lastSeen);
    return order.map((i) => this.#flows[i]);
  }
}

function tcpFlagsText(flags: number): string | undefined {
  if (flags === 0) return undefined;
  const names: [number, string][] = [[TCP_SYN, 'SYN'], [TCP_ACK, 'ACK'], [0x08, 'PSH'], [TCP_FIN, 'FIN'], [TCP_RST, 'RST']];
  return names.filter(([bit]) => flags & bit).map(([, n]) => n).join(',');
}
