// The flows a REST query asks for: filtered by host, port or process, the `limit`
// largest by the chosen sort, and the total before the limit.
import { canonicalIp } from '../model/address.ts';
import type { SideInfo } from '../model/event.ts';
import type { FlowQuery, FlowQueryResult } from '../model/flow.ts';
import type { Flow, FlowSource } from './flow-entry.ts';
import { flowCommunityId, flowRecord } from './flow-record.ts';

export function queryFlows(flows: FlowSource, q: FlowQuery, communityIdSeed = 0): FlowQueryResult {
  const host = q.host === undefined ? undefined : canonicalIp(q.host) ?? q.host;
  const needle = q.process?.toLowerCase();
  const pid = q.process !== undefined && /^\d+$/.test(q.process) ? Number(q.process) : undefined;
  const owns = (p: SideInfo['process']) => p !== undefined && (p.pid === pid || p.path?.toLowerCase().includes(needle!) === true);
  const sort = q.sort ?? 'bytes';
  const value = (f: Flow) =>
    sort === 'bytes' ? f.aToBBytes + f.bToABytes : sort === 'packets' ? f.aToBPackets + f.bToAPackets : sort === 'lastSeen' ? f.lastSeen : -f.firstSeen;
  const top = new Top(Math.min(q.limit ?? 100, 10_000));
  let total = 0;
  flows.forEach((flow) => {
    if (host !== undefined && flow.aIp !== host && flow.bIp !== host) return;
    if (q.port !== undefined && flow.aPort !== q.port && flow.bPort !== q.port) return;
    if (needle !== undefined && !owns(flow.sideA?.process) && !owns(flow.sideB?.process)) return;
    if (q.communityId !== undefined && flowCommunityId(flow, communityIdSeed) !== q.communityId) return;
    total++;
    top.offer(flow, value(flow));
  });
  return { total, flows: top.largestFirst().map((f) => flowRecord(f, communityIdSeed)) };
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
