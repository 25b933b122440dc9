// A socket event from bpftrace, enriched from /proc, as the ebpflowexport-style JSON record
// the collector accepts (events.md): SRC is the TCP client, so for sockets this host
// accepted SRC is the remote side. A socket in another network namespace (a container's,
// a test's) is reached from this host through the route to its own address (a veth, a
// bridge), so that is its interface; its loopback is not this host's lo, so it gets none.
import { LRUCache } from 'lru-cache';
import type { SocketEvent, TcpCounters } from './bpftrace-program.ts';
import { containerField } from './container-id.ts';
import type { NetstatEntry } from './netstat.ts';
import { processField, processInfo, userName, type ProcessInfo } from './process-info.ts';
import { isLoopback } from './route-device.ts';

export interface Enrichment {
  /** The interface of the connection (RouteDevices.deviceFor). */
  device: (remote: string, local: string) => string | undefined;
  /** The address this host sends from to `remote` (for UDP sockets bound to any address). */
  source?: (remote: string) => string | undefined;
  /** The agent's own network namespace (inode); 0 or absent: every socket is taken as this host's. */
  netns?: number;
  /** /proc lookups, cached per pid for a few seconds. */
  lookup: (pid: number) => ProcessInfo;
  /** Records' process parts already written (processFragments); absent: written every time. */
  fragments?: LRUCache<string, string>;
}

/** processInfo with a small cache: a busy process opening many connections is read once. */
export function cachedLookup(proc = '/proc', ttlMs = 5000): (pid: number) => ProcessInfo {
  const cache = new LRUCache<number, ProcessInfo>({ max: 4096, ttl: ttlMs });
  return (pid) => {
    let info = cache.get(pid);
    if (!info) {
      info = processInfo(pid, proc);
      cache.set(pid, info);
    }
    return info;
  };
}

let lastNow = -1;
let lastStamp = '';

/** "sec.usec" of `now` (ms); the last one is kept, since events come many to a millisecond. */
export function timestampNow(now = Date.now()): string {
  if (now !== lastNow) {
    lastNow = now;
    lastStamp = `${Math.floor(now / 1000)}.${String((now % 1000) * 1000).padStart(6, '0')}`;
  }
  return lastStamp;
}

const UNSPECIFIED = new Set(['0.0.0.0', '::']);

/** The interface an event belongs to on this host (see the top of the file). */
function deviceOf(ev: SocketEvent, e: Enrichment): string | undefined {
  if (!e.netns || ev.netns === e.netns) return e.device(ev.remoteAddr, ev.localAddr);
  if (isLoopback(ev.localAddr) || isLoopback(ev.remoteAddr) || UNSPECIFIED.has(ev.localAddr)) return undefined;
  return e.device(ev.localAddr, ev.localAddr);
}

/** A closed socket's counters as the netstat TCP block names them (events.md §2), times in ms. */
function tcpBlockJson(c: TcpCounters): string {
  return `{"CONN_STATE":"CLOSE","BYTES_RCVD":${c.bytesReceived},"BYTES_ACKED":${c.bytesAcked},"RETRAN_PKTS":${c.retransmissions},`
    + `"SEGS_IN":${c.segmentsIn},"SEGS_OUT":${c.segmentsOut},"RTT":${c.rttUs / 1000},"RTT_VARIANCE":${c.rttVarianceUs / 1000}}`;
}

/** The process part of a record (TID, LOCAL_PROCESS, LOCAL_FATHER_PROCESS, LOCAL_CONTAINER), as JSON members. */
function processJson(ev: SocketEvent, e: Enrichment): string {
  const info = e.lookup(ev.pid);
  // bpftrace's view wins for who did it; /proc adds what bpftrace cannot see. A
  // process already gone keeps the name bpftrace saw.
  const p: ProcessInfo = { ...info, pid: ev.pid, tid: ev.tid, uid: ev.uid, user: userName(ev.uid) ?? info.user };
  if (!p.path && ev.comm) p.path = ev.comm;
  let out = `,"TID":${ev.tid},"LOCAL_PROCESS":${JSON.stringify({ ...processField(p), PROCESS_NAME: ev.comm })}`;
  if (info.ppid !== undefined && info.ppid > 0) out += `,"LOCAL_FATHER_PROCESS":${JSON.stringify(processField(e.lookup(info.ppid)))}`;
  if (info.container) out += `,"LOCAL_CONTAINER":${JSON.stringify(containerField(info.container))}`;
  return out;
}

/**
 * A process's part of its records, kept a few seconds per (pid, tid, uid, comm): a busy
 * process's events differ only in their sockets, so its part is written once.
 */
export function processFragments(ttlMs = 5000): LRUCache<string, string> {
  return new LRUCache<string, string>({ max: 4096, ttl: ttlMs });
}

/**
 * The record as JSON text, written directly: this runs for every event, and a record is
 * mostly the same process part again (see processFragments).
 */
export function flowRecordJson(ev: SocketEvent, e: Enrichment, now = Date.now()): string {
  const v = ev.ipVersion === 4 ? 'IPV4' : 'IPV6';
  let local = ev.localAddr;
  // A UDP socket bound to any address: the address its datagrams leave from, so the event
  // meets the captured packets.
  if (UNSPECIFIED.has(local) && (!e.netns || ev.netns === e.netns)) local = e.source?.(ev.remoteAddr) ?? local;
  const [src, sport, dst, dport] = ev.accepted
    ? [ev.remoteAddr, ev.remotePort, local, ev.localPort]
    : [local, ev.localPort, ev.remoteAddr, ev.remotePort];
  let r = `{"timestamp":"${timestampNow(now)}","IP_PROTOCOL_VERSION":${ev.ipVersion},"PROTOCOL":${ev.protocol},`
    + `"${ev.protocol === 6 ? 'TCP_EVENT_TYPE' : 'UDP_EVENT_TYPE'}":"${ev.type}",`
    // Addresses are bpftrace's (inet_ntop: hex digits, dots and colons) or a route's: nothing to escape.
    + `"${v}_SRC_ADDR":"${src}","${v}_DST_ADDR":"${dst}","L4_SRC_PORT":${sport},"L4_DST_PORT":${dport}`;
  const device = deviceOf(local === ev.localAddr ? ev : { ...ev, localAddr: local }, e);
  if (device) r += `,"INTERFACE_NAME":${JSON.stringify(device)}`;
  if (ev.latencyMs !== undefined) r += `,"NW_LATENCY_MS":${ev.latencyMs}`;
  // The record format has no way to say "the local side is the server" but for ACCEPT: a
  // collector reads a CLOSE's process and counters as the client's. The close of an
  // accepted socket so goes without its process (the ACCEPT told it already) and without
  // its counters (they would be read as the client's); it still ends the flow.
  const clientSide = !(ev.accepted && ev.type === 'CLOSE');
  if (ev.counters && clientSide) r += `,"TCP":${tcpBlockJson(ev.counters)}`;
  if (ev.pid > 0 && clientSide) {
    if (e.fragments) {
      const key = `${ev.pid} ${ev.tid} ${ev.uid} ${ev.comm}`;
      let part = e.fragments.get(key);
      if (part === undefined) {
        part = processJson(ev, e);
        e.fragments.set(key, part);
      }
      r += part;
    } else r += processJson(ev, e);
  }
  return `${r}}`;
}

/** The record as an object (what flowRecordJson writes, read back). */
export function flowRecord(ev: SocketEvent, e: Enrichment, now = Date.now()): Record<string, unknown> {
  return JSON.parse(flowRecordJson(ev, e, now)) as Record<string, unknown>;
}

/** A netstat event (events.md §2): LOCAL/REMOTE naming, the owner's process, TCP.CONN_STATE. */
export function netstatRecord(s: NetstatEntry, e: Enrichment, now = Date.now()): Record<string, unknown> {
  const v = s.ipVersion === 4 ? 'IPV4' : 'IPV6';
  const r: Record<string, unknown> = {
    timestamp: timestampNow(now),
    IP_PROTOCOL_VERSION: s.ipVersion,
    PROTOCOL: 6,
    [`${v}_LOCAL_ADDR`]: s.localAddr,
    [`${v}_REMOTE_ADDR`]: s.remoteAddr,
    L4_LOCAL_PORT: s.localPort,
    L4_REMOTE_PORT: s.remotePort,
    TCP: { CONN_STATE: s.state },
  };
  const device = e.device(s.remoteAddr, s.localAddr);
  if (device) r.INTERFACE_NAME = device;
  if (s.pid !== undefined) {
    const info = e.lookup(s.pid);
    r.LOCAL_PROCESS = processField({ ...info, uid: info.uid ?? s.uid, user: info.user ?? userName(s.uid) });
    if (info.ppid !== undefined && info.ppid > 0) r.LOCAL_FATHER_PROCESS = processField(e.lookup(info.ppid));
    if (info.container) r.LOCAL_CONTAINER = containerField(info.container);
  }
  return r;
}
