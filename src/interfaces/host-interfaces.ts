// The interfaces of the exporter hosts, as their counters events describe them
// (dispatch rule 5): the latest cumulative counters per (host, ifName), and rates
// between successive reports. A counter that goes backwards is a reset (the host
// rebooted, the veth was recreated), never negative traffic. Bounded: the least
// recently reported interface is evicted, and counted, when the table is full.
import { LRUCache } from 'lru-cache';
import type { CountersEvent } from '../model/event.ts';
import type { Bound, DirectionCounters, HostInterfaceCounters } from '../model/telemetry.ts';

export const MAX_HOST_INTERFACES = 4096;

/** Discard counters are not in the reference's field list; sFlow names them so, and producers that send them have them kept as additional fields. */
const DROPS = { in: 'ifInDiscards', out: 'ifOutDiscards' } as const;

function direction(e: CountersEvent, d: 'in' | 'out'): DirectionCounters {
  const c: DirectionCounters = d === 'in'
    ? { bytes: e.inOctets, packets: e.inPackets, errors: e.inErrors }
    : { bytes: e.outOctets, packets: e.outPackets, errors: e.outErrors };
  const drops = e.extra?.[DROPS[d]];
  if (typeof drops === 'number' && Number.isFinite(drops) && drops >= 0) c.drops = drops;
  return c;
}

/** Per-second rates from `prev` to `cur`; counts whether any counter went back. */
function rates(prev: DirectionCounters, cur: DirectionCounters, seconds: number): { rates: DirectionCounters; reset: boolean } {
  let reset = false;
  const rate = (a: number, b: number) => {
    if (b < a) reset = true;
    return (b < a ? b : b - a) / seconds;
  };
  const r: DirectionCounters = { bytes: rate(prev.bytes, cur.bytes), packets: rate(prev.packets, cur.packets), errors: rate(prev.errors, cur.errors) };
  if (prev.drops !== undefined && cur.drops !== undefined) r.drops = rate(prev.drops, cur.drops);
  return { rates: r, reset };
}

export class HostInterfaceTable {
  readonly #max: number;
  #evicted = 0;
  readonly #rows: LRUCache<string, HostInterfaceCounters>;

  constructor(max = MAX_HOST_INTERFACES) {
    this.#max = max;
    this.#rows = new LRUCache({ max, dispose: (_row, _key, reason) => { if (reason === 'evict') this.#evicted++; } });
  }

  /**
   * Takes a counters report received now. Keyed by host and ifName, not ifIndex: an
   * interface recreated under the same name gets a new ifIndex, and its counters
   * restarting is a reset of the same interface.
   */
  set(event: CountersEvent, nowMs = Date.now()): void {
    const ifName = event.ifName ?? `ifIndex ${event.ifIndex}`;
    const key = `${event.deviceIp}\u0000${ifName}`;
    const prev = this.#rows.get(key);
    const row: HostInterfaceCounters = {
      host: event.deviceIp,
      ifName,
      ifIndex: event.ifIndex,
      in: direction(event, 'in'),
      out: direction(event, 'out'),
      rates: null,
      reports: (prev?.reports ?? 0) + 1,
      resets: prev?.resets ?? 0,
      lastReport: nowMs,
    };
    if (event.ifSpeed !== undefined) row.speed = event.ifSpeed;
    if (event.adminUp !== undefined) row.adminUp = event.adminUp;
    if (event.operUp !== undefined) row.operUp = event.operUp;
    if (event.container) row.container = event.container;
    if (prev && nowMs > prev.lastReport) {
      const seconds = (nowMs - prev.lastReport) / 1000;
      const i = rates(prev.in, row.in, seconds);
      const o = rates(prev.out, row.out, seconds);
      row.rates = { in: i.rates, out: o.rates, intervalSeconds: seconds };
      if (i.reset || o.reset || prev.ifIndex !== row.ifIndex) row.resets++;
    } else if (prev) {
      row.rates = prev.rates; // two reports in the same millisecond: keep the last rates
    }
    this.#rows.set(key, row);
  }

  /** Every host interface, by host then name. */
  list(): HostInterfaceCounters[] {
    return [...this.#rows.values()].sort((a, b) => a.host.localeCompare(b.host) || a.ifName.localeCompare(b.ifName));
  }

  stats(): Bound {
    return { size: this.#rows.size, max: this.#max, dropped: this.#evicted };
  }
}
