// One flow as the flow table holds it: mutable, endpoints a/b in key order, counters
// as plain fields. The table merges packets and events into it; the views (queries,
// records, per-process totals) only read it.
import type { SideInfo } from '../model/event.ts';
import type { FlowEventNote, FlowRecord } from '../model/flow.ts';
import type { FlowIdentity, PacketCounts } from '../model/flow-delta.ts';
import type { InRecencyList } from './flow-recency.ts';

/** Bits of `Flow.seen`: what has reported the flow so far. */
export const SEEN_PACKETS = 1;
export const SEEN_EVENTS = 2;

/** Shared by every flow no event has reached yet (never mutated: the first event replaces it). */
const NO_EVENTS: FlowEventNote[] = [];

export interface NetstatBase {
  segsIn: number;
  segsOut: number;
  bytesReceived: number;
  bytesAcked: number;
}

/**
 * The mutable flow; endpoints a/b in key order, `clientIsA` says which is the client.
 * Counters are plain fields (PacketCounts), not nested objects: a million flows make every object count.
 */
export interface Flow extends FlowIdentity, PacketCounts, InRecencyList {
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
  /** Community ID, computed the first time it is asked for (flow-record.ts). */
  communityId?: string;
}

/** What a new flow starts from: its identity and keys, its orientation, and when it was first seen (epoch ms). */
export interface NewFlow extends FlowIdentity {
  key: string;
  tuple: string;
  clientIsA: boolean;
  orientedBy: Flow['orientedBy'];
  firstSeen: number;
}

/** A flow nothing has been counted in yet. */
export function newFlow(init: NewFlow): Flow {
  const { key, tuple, protocol, ipVersion, vlan, aIp, aPort, bIp, bPort, clientIsA, orientedBy, firstSeen } = init;
  // Every field written, in one order, so all flows share one object shape.
  return {
    key, tuple, protocol, ipVersion, vlan, aIp, aPort, bIp, bPort, clientIsA, orientedBy,
    aToBPackets: 0, aToBBytes: 0, bToAPackets: 0, bToABytes: 0, aFlags: 0, bFlags: 0,
    firstSeen, lastSeen: firstSeen, seen: 0, recentEvents: NO_EVENTS, newer: undefined, older: undefined,
  };
}

/** Every flow of a table, for the views (least recently updated last). */
export interface FlowSource {
  forEach(visit: (flow: Flow) => void): void;
}
