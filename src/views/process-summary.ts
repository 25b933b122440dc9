// Processes across interfaces: every flow end an event named a process for, summed per
// process (host, path, user, container; its PIDs listed). Traffic is what the capture saw
// where the flow was captured, else what the netstat counters of its events said, and the
// row says which. One connection seen on two interfaces (captured on lo, reported through
// the ZMQ interface) counts once: the captured copy wins.
import { canonicalIp } from '../model/address.ts';
import type { ContainerInfo, ProcessInfo } from '../model/event.ts';
import type { FlowRecord } from '../model/flow.ts';
import { SEEN_PACKETS, type Flow, type FlowSource } from '../flows/flow-entry.ts';
import { flowRecord } from '../flows/flow-record.ts';

export type ProcessSort = 'bytes' | 'packets' | 'flows' | 'lastSeen' | 'failedConnects' | 'retransmissions';
export const PROCESS_SORTS: ProcessSort[] = ['bytes', 'packets', 'flows', 'lastSeen', 'failedConnects', 'retransmissions'];

/** Distinct processes one summary tracks; past this, further ones are summed into `other` directly. */
export const MAX_TRACKED_PROCESSES = 65_536;
/** Servers remembered per process (past it, counted in `serversDropped`). */
export const MAX_SERVERS_PER_PROCESS = 64;
/** PIDs remembered per process. */
const MAX_PIDS = 32;

export interface ProcessQuery {
  /** Interface ids to read (all when absent). */
  interfaces?: number[];
  /** The process's host: the address of its end of the flows. */
  host?: string;
  /** User name or UID. */
  user?: string;
  /** Container id (or its prefix), name or pod. */
  container?: string;
  sort?: ProcessSort;
  limit?: number;
}

export interface ProcessServer {
  ip: string;
  port: number;
  protocol: number;
  flows: number;
  bytes: number;
}

export interface ProcessSummary {
  /** Stable id of the process in URLs: host, path, user and container, base64url. */
  key: string;
  /** The exporter host the process runs on: the address of its end of the flows. */
  host: string;
  path?: string;
  name: string;
  pids: number[];
  user?: string;
  uid?: number;
  container?: ContainerInfo;
  bytes: number;
  packets: number;
  /** Where the traffic figures come from: captured packets, netstat counters of events, or both (some flows each). */
  trafficFrom: 'packets' | 'netstat' | 'both' | 'none';
  bytesFromPackets: number;
  bytesFromNetstat: number;
  flowsActive: number;
  flowsClosed: number;
  /** The servers it connected to (as the client), largest first. */
  servers: ProcessServer[];
  serversDropped: number;
  /** Flows it served (as the server). */
  flowsServed: number;
  failedConnects: number;
  retransmissions: number;
  lastSeen: number;
  interfaces: number[];
}

export interface ProcessOther {
  processes: number;
  bytes: number;
  packets: number;
  flows: number;
}

export interface ProcessList {
  /** Processes matching the filters (before the limit). */
  total: number;
  processes: ProcessSummary[];
  /** Everything past the top (limit, at most `top`) summed. */
  other: ProcessOther;
  /** The bound: at most `top` rows (the per-process metrics' --top-processes); `untracked` processes past MAX_TRACKED_PROCESSES went straight into other. */
  bound: { top: number; tracked: number; maxTracked: number; untracked: number };
}

export interface ProcessDetail {
  process: ProcessSummary;
  /** Its flows, largest first (at most `limit`), with the interface each is on. */
  flows: (FlowRecord & { interfaceId: number })[];
  totalFlows: number;
}

export interface ProcessSourceInterface {
  id: number;
  kind: 'zmq' | 'packet';
  flows: FlowSource;
}

interface Acc extends ProcessSummary {
  pidSet: Set<number>;
  serverMap: Map<string, ProcessServer>;
}

interface End {
  process: ProcessInfo;
  container?: ContainerInfo;
  host: string;
  role: 'client' | 'server';
}

/** The process ends of a flow: the client's and the server's, when an event named them. */
function endsOf(f: Flow): End[] {
  const out: End[] = [];
  const clientSide = f.clientIsA ? f.sideA : f.sideB;
  const serverSide = f.clientIsA ? f.sideB : f.sideA;
  if (clientSide?.process) out.push({ process: clientSide.process, container: clientSide.container, host: f.clientIsA ? f.aIp : f.bIp, role: 'client' });
  if (serverSide?.process) out.push({ process: serverSide.process, container: serverSide.container, host: f.clientIsA ? f.bIp : f.aIp, role: 'server' });
  return out;
}

export function processName(p: ProcessInfo): string {
  return p.path ? p.path.slice(p.path.lastIndexOf('/') + 1) || p.path : `pid ${p.pid}`;
}

function identity(e: End): string {
  const p = e.process;
  const who = p.path ?? `pid ${p.pid}`;
  const user = p.user ?? (p.uid !== undefined ? `uid ${p.uid}` : '');
  const c = e.container ? e.container.id ?? e.container.name ?? '' : '';
  return `${e.host}\n${who}\n${user}\n${c}`;
}

export function processKey(e: End): string {
  return Buffer.from(identity(e)).toString('base64url');
}

function flowTraffic(f: Flow): { bytes: number; packets: number; captured: boolean } {
  if (f.seen & SEEN_PACKETS) return { bytes: f.aToBBytes + f.bToABytes, packets: f.aToBPackets + f.bToAPackets, captured: true };
  const n = f.netstat;
  return { bytes: (n?.bytesReceived ?? 0) + (n?.bytesAcked ?? 0), packets: (n?.segsIn ?? 0) + (n?.segsOut ?? 0), captured: false };
}

function failedConnect(f: Flow): boolean {
  return f.lastEvent === 'CONNECT_FAILED' || f.recentEvents.some((e) => e.eventType === 'CONNECT_FAILED');
}

function matches(e: End, q: ProcessQuery, host: string | undefined): boolean {
  if (host !== undefined && e.host !== host) return false;
  if (q.user !== undefined && e.process.user !== q.user && String(e.process.uid) !== q.user) return false;
  if (q.container !== undefined) {
    const c = e.container;
    if (!c) return false;
    const v = q.container;
    if (!(c.id?.startsWith(v) || c.name === v || c.pod === v)) return false;
  }
  return true;
}

/**
 * Visits each counted (flow, process end) once: packet interfaces first, so a
 * connection they captured is not counted again from another interface's events.
 */
function visitEnds(sources: ProcessSourceInterface[], q: ProcessQuery, visit: (f: Flow, e: End, ifaceId: number) => void): void {
  const wanted = q.interfaces ? sources.filter((s) => q.interfaces!.includes(s.id)) : sources;
  const ordered = [...wanted].sort((a, b) => (a.kind === b.kind ? a.id - b.id : a.kind === 'packet' ? -1 : 1));
  const host = q.host === undefined ? undefined : canonicalIp(q.host) ?? q.host;
  const counted = new Set<string>();
  for (const s of ordered) {
    s.flows.forEach((f) => {
      const ends = endsOf(f);
      if (ends.length === 0) return;
      if (ordered.length > 1) {
        if (counted.has(f.tuple)) return;
        counted.add(f.tuple);
      }
      for (const e of ends) if (matches(e, q, host)) visit(f, e, s.id);
    });
  }
}

function newAcc(key: string, e: End): Acc {
  const p = e.process;
  const a: Acc = {
    key, host: e.host, name: processName(p), pids: [], bytes: 0, packets: 0, trafficFrom: 'none', bytesFromPackets: 0, bytesFromNetstat: 0,
    flowsActive: 0, flowsClosed: 0, servers: [], serversDropped: 0, flowsServed: 0, failedConnects: 0, retransmissions: 0, lastSeen: 0, interfaces: [],
    pidSet: new Set(), serverMap: new Map(),
  };
  if (p.path !== undefined) a.path = p.path;
  if (p.user !== undefined) a.user = p.user;
  if (p.uid !== undefined) a.uid = p.uid;
  if (e.container) a.container = e.container;
  return a;
}

function add(a: Acc, f: Flow, e: End, ifaceId: number): void {
  const t = flowTraffic(f);
  a.bytes += t.bytes;
  a.packets += t.packets;
  if (t.captured) a.bytesFromPackets += t.bytes;
  else a.bytesFromNetstat += t.bytes;
  const from = t.captured ? 'packets' : 'netstat';
  a.trafficFrom = a.trafficFrom === 'none' || a.trafficFrom === from ? from : 'both';
  if (f.closedAt === undefined) a.flowsActive++;
  else a.flowsClosed++;
  if (a.pidSet.size < MAX_PIDS) a.pidSet.add(e.process.pid);
  if (e.role === 'client') {
    const server = f.clientIsA ? { ip: f.bIp, port: f.bPort } : { ip: f.aIp, port: f.aPort };
    const sk = `${f.protocol}|${server.ip}|${server.port}`;
    const known = a.serverMap.get(sk);
    if (known) {
      known.flows++;
      known.bytes += t.bytes;
    } else if (a.serverMap.size < MAX_SERVERS_PER_PROCESS) a.serverMap.set(sk, { ...server, protocol: f.protocol, flows: 1, bytes: t.bytes });
    else a.serversDropped++;
  } else a.flowsServed++;
  if (failedConnect(f)) a.failedConnects++;
  a.retransmissions += f.retransmittedPackets ?? f.tcp?.retransmittedPackets ?? 0;
  if (f.lastSeen > a.lastSeen) a.lastSeen = f.lastSeen;
  if (!a.interfaces.includes(ifaceId)) a.interfaces.push(ifaceId);
}

function finish(a: Acc): ProcessSummary {
  const { pidSet, serverMap, ...rest } = a;
  return { ...rest, pids: [...pidSet].sort((x, y) => x - y), servers: [...serverMap.values()].sort((x, y) => y.bytes - x.bytes || y.flows - x.flows), interfaces: a.interfaces.sort((x, y) => x - y) };
}

const sortValue: Record<ProcessSort, (p: ProcessSummary) => number> = {
  bytes: (p) => p.bytes,
  packets: (p) => p.packets,
  flows: (p) => p.flowsActive + p.flowsClosed,
  lastSeen: (p) => p.lastSeen,
  failedConnects: (p) => p.failedConnects,
  retransmissions: (p) => p.retransmissions,
};

/** The top processes by `sort` (at most min(limit, top) rows), the rest summed as `other`. */
export function summarizeProcesses(sources: ProcessSourceInterface[], q: ProcessQuery, top: number): ProcessList {
  const accs = new Map<string, Acc>();
  const other: ProcessOther = { processes: 0, bytes: 0, packets: 0, flows: 0 };
  const untrackedKeys = new Set<string>();
  visitEnds(sources, q, (f, e, ifaceId) => {
    const key = processKey(e);
    let a = accs.get(key);
    if (!a) {
      if (accs.size >= MAX_TRACKED_PROCESSES) {
        const t = flowTraffic(f);
        if (untrackedKeys.size < MAX_TRACKED_PROCESSES) untrackedKeys.add(key);
        other.bytes += t.bytes;
        other.packets += t.packets;
        other.flows++;
        return;
      }
      a = newAcc(key, e);
      accs.set(key, a);
    }
    add(a, f, e, ifaceId);
  });
  const value = sortValue[q.sort ?? 'bytes'];
  const all = [...accs.values()].map(finish).sort((x, y) => value(y) - value(x) || y.bytes - x.bytes || x.key.localeCompare(y.key));
  const shown = Math.min(q.limit ?? top, top);
  for (const p of all.slice(shown)) {
    other.processes++;
    other.bytes += p.bytes;
    other.packets += p.packets;
    other.flows += p.flowsActive + p.flowsClosed;
  }
  other.processes += untrackedKeys.size;
  return { total: all.length + untrackedKeys.size, processes: all.slice(0, shown), other, bound: { top, tracked: accs.size, maxTracked: MAX_TRACKED_PROCESSES, untracked: untrackedKeys.size } };
}

/** One process (by key) with its flows, largest first; undefined when no flow names it now. */
export function processDetail(sources: ProcessSourceInterface[], key: string, flowLimit: number, communityIdSeed = 0): ProcessDetail | undefined {
  let a: Acc | undefined;
  const flows: { f: Flow; ifaceId: number; bytes: number }[] = [];
  visitEnds(sources, {}, (f, e, ifaceId) => {
    if (processKey(e) !== key) return;
    a ??= newAcc(key, e);
    add(a, f, e, ifaceId);
    flows.push({ f, ifaceId, bytes: flowTraffic(f).bytes });
  });
  if (!a) return undefined;
  flows.sort((x, y) => y.bytes - x.bytes || y.f.lastSeen - x.f.lastSeen);
  return {
    process: finish(a),
    totalFlows: flows.length,
    flows: flows.slice(0, flowLimit).map(({ f, ifaceId }) => ({ ...flowRecord(f, communityIdSeed), interfaceId: ifaceId })),
  };
}
