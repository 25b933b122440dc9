// A table flow as the API and the exporters show it: client and server instead of
// a/b, traffic per direction, which end's process it is, and what reported it.
import type { FlowRecord, SeenBy } from '../model/flow.ts';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../model/flow-delta.ts';
import { communityId } from '../model/community-id.ts';
import { SEEN_EVENTS, SEEN_PACKETS, type Flow } from './flow-entry.ts';

const PROTOCOL_NAMES: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 47: 'GRE', 50: 'ESP', 132: 'SCTP' };

/**
 * The flow's Community ID (computed once, then kept). ICMP flows are keyed without type
 * and code here, so theirs is that of type 0 / code 0.
 */
export function flowCommunityId(f: Flow, seed: number): string {
  return (f.communityId ??= communityId(f.protocol, f.aIp, f.aPort, f.bIp, f.bPort, seed));
}

export function flowRecord(f: Flow, communityIdSeed = 0): FlowRecord {
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
    communityId: flowCommunityId(f, communityIdSeed),
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
    // Copies: the table rewrites its oldest notes in place (flow-table.ts).
    recentEvents: f.recentEvents.map((n) => ({ ...n })),
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

function tcpFlagsText(flags: number): string | undefined {
  if (flags === 0) return undefined;
  const names: [number, string][] = [[TCP_SYN, 'SYN'], [TCP_ACK, 'ACK'], [0x08, 'PSH'], [TCP_FIN, 'FIN'], [TCP_RST, 'RST']];
  return names.filter(([bit]) => flags & bit).map(([, n]) => n).join(',');
}
