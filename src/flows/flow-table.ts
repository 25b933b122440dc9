// One interface's flows, built from packets, from events, or both (dispatch rule 6).
// Bounded (least recently updated flows are evicted, and counted), idle flows time
// out, and closed flows stay resolvable for a grace period so a short connection
// whose packets ended before its event arrived still gets its process. What the API
// shows of them is built by the views: flow-query.ts, flow-record.ts, process-traffic.ts.
import { serverByWellKnownPort } from '../model/orientation.ts';
import type { SocketEvent } from '../model/event.ts';
import type { FlowEventNote, FlowQuery, FlowRecord, FlowQueryResult, FlowTableStats, ProcessTraffic } from '../model/flow.ts';
import { flat, flowKey, orderedTupleKey } from './flow-key.ts';
import { RecencyList } from './flow-recency.ts';
import { TupleIndex } from './flow-tuples.ts';
import { hasInfo, SideInterner, sideAfter } from './flow-sides.ts';
import type { FlowTableApi } from '../interfaces/interface.ts';
import { endpointsInOrder, TCP_FIN, TCP_RST, type FlowDelta } from '../model/flow-delta.ts';
import { newFlow, SEEN_EVENTS, SEEN_PACKETS, type Flow, type FlowSource, type NewFlow } from './flow-entry.ts';
import { queryFlows } from './flow-query.ts';
import { flowRecord } from './flow-record.ts';
import { processTraffic } from './process-traffic.ts';

export interface FlowTableOptions {
  maxFlows: number;
  /** A flow with no packet or event for this long is removed. */
  idleTimeoutMs: number;
  /** A closed flow stays findable by late events for this long. */
  closedGraceMs: number;
  /** Community ID seed (default 0). */
  communityIdSeed?: number;
  /** Told of every flow that leaves the table (expired, evicted), with all it learned (a recording tags its packets). */
  onRemoved?: (flow: Flow) => void;
}

export const DEFAULT_FLOW_TABLE: FlowTableOptions = { maxFlows: 1_000_000, idleTimeoutMs: 180_000, closedGraceMs: 30_000 };

/** The cumulative TCP counters a netstat snapshot turns into traffic. */
const NETSTAT_COUNTERS = ['segsIn', 'segsOut', 'bytesReceived', 'bytesAcked'] as const;

/** Events remembered per flow. */
const RECENT_EVENTS = 8;

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

export class FlowTable implements FlowTableApi, FlowSource {
  readonly options: FlowTableOptions;
  /** Every flow, least recently updated first out. */
  readonly #flows: RecencyList<Flow>;
  /** Every flow by its tuple: packets find theirs with its VLAN, events and alerts (which see none) the tuple's. */
  readonly #tuples = new TupleIndex();
  readonly #seenCounts = [0, 0, 0, 0];
  readonly #sides = new SideInterner();
  #evicted = 0;
  #expired = 0;

  constructor(options: Partial<FlowTableOptions> = {}) {
    this.options = { ...DEFAULT_FLOW_TABLE, ...options };
    this.#flows = new RecencyList<Flow>(this.options.maxFlows, (flow, reason) => {
      if (reason === 'evict') this.#evicted++;
      this.#seenCounts[flow.seen]--;
      this.#tuples.remove(flow);
      this.options.onRemoved?.(flow);
    });
  }

  get size(): number {
    return this.#flows.size;
  }

  /** Every flow, most recently updated first (for the views). */
  forEach(visit: (flow: Flow) => void): void {
    this.#flows.forEach(visit);
  }

  // ---- packets ----

  applyPackets(deltas: readonly FlowDelta[]): void {
    for (const d of deltas) this.#applyDelta(d);
  }

  #applyDelta(d: FlowDelta): void {
    const { protocol, aIp, aPort, bIp, bPort, vlan } = d;
    let flow = this.#tuples.findExact(protocol, aIp, aPort, bIp, bPort, vlan) ?? (vlan !== undefined ? this.#untaggedEventFlow(d, vlan) : undefined);
    if (flow) this.#flows.touch(flow);
    // A SYN after the flow closed is a new connection reusing the ports. (Not one sent
    // before: a short connection's CLOSE event often arrives before its packets.)
    const reopened = flow?.closedAt !== undefined && d.synFrom !== undefined && d.lastSeen > flow.closedAt;
    if (!flow || reopened) {
      if (flow) this.#flows.remove(flow);
      const { clientIsA, sure } = clientFromPackets(d);
      const tuple = orderedTupleKey(protocol, aIp, aPort, bIp, bPort);
      flow = this.#create({ key: flowKey(tuple, vlan), tuple, protocol, ipVersion: d.ipVersion, vlan, aIp, aPort, bIp, bPort, clientIsA, orientedBy: sure ? 'syn' : 'guess', firstSeen: d.firstSeen });
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

  /**
   * An events-only flow with no VLAN is the same connection packets now show tagged: it
   * takes the VLAN and its key (the index does not hash VLANs, so it stays where it is).
   */
  #untaggedEventFlow(d: FlowDelta, vlan: number): Flow | undefined {
    const flow = this.#tuples.findExact(d.protocol, d.aIp, d.aPort, d.bIp, d.bPort, undefined);
    if (!flow || flow.seen & SEEN_PACKETS) return undefined;
    flow.vlan = vlan;
    flow.key = flat(flowKey(flow.tuple, vlan));
    return flow;
  }

  // ---- events ----

  applyEvent(event: SocketEvent, via: string, now = Date.now()): void {
    const { protocol, client, server } = event;
    // The endpoints in key order: the client is a when it comes first.
    const clientIsA = endpointsInOrder(client.ip, client.port, server.ip, server.port);
    const a = clientIsA ? client : server;
    const b = clientIsA ? server : client;
    let flow = this.#tuples.find(protocol, a.ip, a.port, b.ip, b.port);
    if (flow) this.#flows.touch(flow);
    if (flow && flow.closedAt !== undefined && now - flow.closedAt > this.options.closedGraceMs) {
      this.#flows.remove(flow);
      flow = undefined;
    }
    if (!flow) {
      const tuple = orderedTupleKey(protocol, a.ip, a.port, b.ip, b.port);
      flow = this.#create({ key: tuple, tuple, protocol, ipVersion: event.ipVersion, aIp: a.ip, aPort: a.port, bIp: b.ip, bPort: b.port, clientIsA, orientedBy: 'event', firstSeen: now });
    } else if (flow.orientedBy !== 'event') {
      flow.clientIsA = clientIsA;
      flow.orientedBy = 'event';
    }

    const localIsA = (event.localSide === 'client') === clientIsA;
    if (hasInfo(event.local)) {
      if (localIsA) flow.sideA = sideAfter(this.#sides, flow.sideA, event.local);
      else flow.sideB = sideAfter(this.#sides, flow.sideB, event.local);
    }
    if (hasInfo(event.remote)) {
      if (localIsA) flow.sideB = sideAfter(this.#sides, flow.sideB, event.remote);
      else flow.sideA = sideAfter(this.#sides, flow.sideA, event.remote);
    }
    flow.lastEvent = event.eventType ?? 'NETSTAT';
    if (event.latencyMs !== undefined) flow.latencyMs = event.latencyMs;
    if (event.retransmittedPackets !== undefined) flow.retransmittedPackets = (flow.retransmittedPackets ?? 0) + event.retransmittedPackets;
    if (event.tcp) {
      // In place, as #netstatDeltas does (the views copy it).
      Object.assign((flow.tcp ??= {}), event.tcp);
      this.#netstatDeltas(flow, localIsA ? 'a' : 'b', event.tcp);
    }
    if (event.eventType === 'CLOSE' || event.eventType === 'CONNECT_FAILED') flow.closedAt ??= now;
    this.#note(flow, event, via);
    if (now > flow.lastSeen) flow.lastSeen = now;
    this.#markSeen(flow, SEEN_EVENTS);
  }

  /**
   * Remembers the event among the flow's last RECENT_EVENTS. Once they are that many,
   * the oldest note is rewritten as the newest when it has the same fields: a note lives
   * long enough to be promoted to the old generation, and a new one per event was the
   * largest part of the main thread's garbage collection.
   */
  #note(flow: Flow, event: SocketEvent, via: string): void {
    const notes = flow.recentEvents;
    const eventType = event.eventType;
    const pid = event.local.process?.pid;
    if (notes.length === RECENT_EVENTS) {
      const oldest = notes[0];
      if ((oldest.eventType !== undefined) === Boolean(eventType) && (oldest.pid !== undefined) === (pid !== undefined)) {
        notes.shift();
        oldest.timestamp = event.timestamp;
        oldest.kind = event.kind;
        oldest.via = via;
        if (eventType) oldest.eventType = eventType;
        if (pid !== undefined) oldest.pid = pid;
        notes.push(oldest);
        return;
      }
    }
    const note: FlowEventNote = { timestamp: event.timestamp, kind: event.kind, via };
    if (eventType) note.eventType = eventType;
    if (pid !== undefined) note.pid = pid;
    // A flow with one event keeps a one-slot array (a push would reserve 17 slots).
    if (notes.length === 0) flow.recentEvents = [note];
    else {
      notes.push(note);
      if (notes.length > RECENT_EVENTS) notes.shift();
    }
  }

  /**
   * Cumulative netstat counters → traffic deltas; a counter going backwards is a reset, not
   * negative traffic. The flow's last snapshot per side is updated in place (a flow lives
   * long enough to be in the old generation, where a new object per event is costly garbage).
   */
  #netstatDeltas(flow: Flow, side: 'a' | 'b', tcp: NonNullable<SocketEvent['tcp']>): void {
    const bases = (flow.netstatBase ??= {});
    const base = (bases[side] ??= { segsIn: 0, segsOut: 0, bytesReceived: 0, bytesAcked: 0 });
    const totals = (flow.netstat ??= { segsIn: 0, segsOut: 0, bytesReceived: 0, bytesAcked: 0, resets: 0 });
    let reset = false;
    for (const k of NETSTAT_COUNTERS) {
      const next = tcp[k] ?? 0;
      if (next < base[k]) {
        reset = true;
        totals[k] += next;
      } else totals[k] += next - base[k];
      base[k] = next;
    }
    if (reset) totals.resets++;
  }

  /**
   * The flow with this direction-free tuple key (flow-key.ts tupleKey, no VLAN; a
   * VLAN-tagged flow is found too), as the API shows it; the lookup leaves it where it
   * was in the eviction order. How an IDS alert finds the flow it names.
   */
  recordByTuple(tuple: string): FlowRecord | undefined {
    const [protocol, aIp, aPort, bIp, bPort, ...rest] = tuple.split('|');
    if (bPort === undefined || rest.length > 0) return undefined;
    const flow = this.#tuples.find(Number(protocol), aIp, Number(aPort), bIp, Number(bPort));
    return flow && flowRecord(flow, this.options.communityIdSeed ?? 0);
  }

  #create(init: NewFlow): Flow {
    const flow = newFlow({ ...init, key: flat(init.key), tuple: flat(init.tuple) });
    this.#seenCounts[0]++;
    this.#flows.add(flow);
    this.#tuples.add(flow);
    return flow;
  }

  #markSeen(flow: Flow, bit: number): void {
    if (flow.seen & bit) return;
    this.#seenCounts[flow.seen]--;
    flow.seen |= bit;
    this.#seenCounts[flow.seen]++;
  }

  // ---- housekeeping ----

  expire(now = Date.now()): void {
    const { idleTimeoutMs, closedGraceMs } = this.options;
    const horizon = now - Math.min(idleTimeoutMs, closedGraceMs);
    // Least recently updated first; everything after the first fresh flow is fresher still.
    const gone: Flow[] = [];
    for (const flow of this.#flows.oldestFirst()) {
      if (flow.lastSeen > horizon) break;
      const closedLongEnough = flow.closedAt !== undefined && now - flow.closedAt > closedGraceMs;
      if (closedLongEnough || now - flow.lastSeen > idleTimeoutMs) gone.push(flow);
    }
    for (const flow of gone) this.#flows.remove(flow);
    this.#expired += gone.length;
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

  // ---- views ----

  query(q: FlowQuery): FlowQueryResult {
    return queryFlows(this, q, this.options.communityIdSeed ?? 0);
  }

  processTraffic(top?: number): ProcessTraffic[] {
    return processTraffic(this, top);
  }
}
