// Hosts by traffic on one interface: each flow's bytes and packets counted for both its
// ends (packets where captured, else the netstat counters of its events), the top ones.
import { SEEN_PACKETS, type FlowSource } from '../flows/flow-entry.ts';

/** Distinct hosts one count tracks; past it, further hosts are not counted (reported as `untracked`). */
export const MAX_TALKER_HOSTS = 65_536;

export interface Talker {
  ip: string;
  bytes: number;
  packets: number;
  flows: number;
}

export function topTalkers(flows: FlowSource, top: number): { talkers: Talker[]; hosts: number; untracked: number } {
  const hosts = new Map<string, Talker>();
  let untracked = 0;
  flows.forEach((f) => {
    const captured = f.seen & SEEN_PACKETS;
    const bytes = captured ? f.aToBBytes + f.bToABytes : (f.netstat?.bytesReceived ?? 0) + (f.netstat?.bytesAcked ?? 0);
    const packets = captured ? f.aToBPackets + f.bToAPackets : (f.netstat?.segsIn ?? 0) + (f.netstat?.segsOut ?? 0);
    for (const ip of f.aIp === f.bIp ? [f.aIp] : [f.aIp, f.bIp]) {
      let t = hosts.get(ip);
      if (!t) {
        if (hosts.size >= MAX_TALKER_HOSTS) {
          untracked++;
          continue;
        }
        t = { ip, bytes: 0, packets: 0, flows: 0 };
        hosts.set(ip, t);
      }
      t.bytes += bytes;
      t.packets += packets;
      t.flows++;
    }
  });
  const talkers = [...hosts.values()].sort((x, y) => y.bytes - x.bytes || y.flows - x.flows || x.ip.localeCompare(y.ip)).slice(0, top);
  return { talkers, hosts: hosts.size, untracked };
}
