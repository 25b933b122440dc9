// Traffic per process over a table's flows: packets when the capture saw the flow,
// else the netstat counters its events carried; named by the client's process when
// known, else the server's.
import type { ProcessTraffic } from '../model/flow.ts';
import { SEEN_PACKETS, type Flow, type FlowSource } from './flow-entry.ts';

/** Processes by bytes, largest first; past `top`, the rest summed under `other`. */
export function processTraffic(flows: FlowSource, top?: number): ProcessTraffic[] {
  const totals = new Map<string, ProcessTraffic>();
  flows.forEach((flow) => {
    const name = processName(flow);
    if (name === undefined) return;
    const fromPackets = flow.seen & SEEN_PACKETS;
    const bytes = fromPackets ? flow.aToBBytes + flow.bToABytes : (flow.netstat?.bytesReceived ?? 0) + (flow.netstat?.bytesAcked ?? 0);
    const packets = fromPackets ? flow.aToBPackets + flow.bToAPackets : (flow.netstat?.segsIn ?? 0) + (flow.netstat?.segsOut ?? 0);
    const t = totals.get(name) ?? { process: name, bytes: 0, packets: 0 };
    t.bytes += bytes;
    t.packets += packets;
    totals.set(name, t);
  });
  const sorted = [...totals.values()].sort((x, y) => y.bytes - x.bytes || x.process.localeCompare(y.process));
  if (top === undefined || sorted.length <= top) return sorted;
  const other = sorted.slice(top).reduce((o, t) => ({ process: 'other', bytes: o.bytes + t.bytes, packets: o.packets + t.packets }), { process: 'other', bytes: 0, packets: 0 });
  return [...sorted.slice(0, top), other];
}

function processName(flow: Flow): string | undefined {
  const side = flow.clientIsA ? flow.sideA ?? flow.sideB : flow.sideB ?? flow.sideA;
  const p = side?.process;
  if (!p) return undefined;
  return p.path ? p.path.slice(p.path.lastIndexOf('/') + 1) || p.path : `pid ${p.pid}`;
}
