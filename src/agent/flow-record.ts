// A socket event from bpftrace, enriched from /proc, as the ebpflowexport-style JSON record
// the collector accepts (events.md): SRC is the TCP client, so for sockets this host
// accepted SRC is the remote side.
import { LRUCache } from 'lru-cache';
import type { SocketEvent } from './bpftrace-program.ts';
import { containerField } from './container-id.ts';
import type { NetstatEntry } from './netstat.ts';
import { processField, processInfo, userName, type ProcessInfo } from './process-info.ts';

export interface Enrichment {
  /** The interface of the connection (RouteDevices.deviceFor). */
  device: (remote: string, local: string) => string | undefined;
  /** /proc lookups, cached per pid for a few seconds. */
  lookup: (pid: number) => ProcessInfo;
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

export function timestampNow(now = Date.now()): string {
  return `${Math.floor(now / 1000)}.${String((now % 1000) * 1000).padStart(6, '0')}`;
}

export function flowRecord(ev: SocketEvent, e: Enrichment, now = Date.now()): Record<string, unknown> {
  const v = ev.ipVersion === 4 ? 'IPV4' : 'IPV6';
  const [src, sport, dst, dport] = ev.accepted
    ? [ev.remoteAddr, ev.remotePort, ev.localAddr, ev.localPort]
    : [ev.localAddr, ev.localPort, ev.remoteAddr, ev.remotePort];
  const r: Record<string, unknown> = {
    timestamp: timestampNow(now),
    IP_PROTOCOL_VERSION: ev.ipVersion,
    PROTOCOL: 6,
    TCP_EVENT_TYPE: ev.type,
    [`${v}_SRC_ADDR`]: src,
    [`${v}_DST_ADDR`]: dst,
    L4_SRC_PORT: sport,
    L4_DST_PORT: dport,
  };
  const device = e.device(ev.remoteAddr, ev.localAddr);
  if (device) r.INTERFACE_NAME = device;
  if (ev.latencyMs !== undefined) r.NW_LATENCY_MS = ev.latencyMs;
  // The record format has no way to say "the local side is the server" but for ACCEPT: a
  // collector reads a CLOSE's process as the client's. The close of an accepted socket so
  // goes without its process (the ACCEPT told it already); it still ends the flow.
  const carriesProcess = ev.pid > 0 && !(ev.accepted && ev.type === 'CLOSE');
  if (carriesProcess) {
    const info = e.lookup(ev.pid);
    // bpftrace's view wins for who did it; /proc adds what bpftrace cannot see. A
    // process already gone keeps the name bpftrace saw.
    const p: ProcessInfo = { ...info, pid: ev.pid, tid: ev.tid, uid: ev.uid, user: userName(ev.uid) ?? info.user };
    if (!p.path && ev.comm) p.path = ev.comm;
    r.TID = ev.tid;
    r.LOCAL_PROCESS = { ...processField(p), PROCESS_NAME: ev.comm };
    if (info.ppid !== undefined && info.ppid > 0) r.LOCAL_FATHER_PROCESS = processField(e.lookup(info.ppid));
    if (info.container) r.LOCAL_CONTAINER = containerField(info.container);
  }
  return r;
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
