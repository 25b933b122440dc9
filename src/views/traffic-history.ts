// Traffic over time per interface, and per top process of each interface: what a
// once-a-second sample of the pipeline's cumulative counters moved since the last one,
// kept at 1 s for the last 10 minutes and 1 min for the last 24 hours. Memory is fixed:
// every series is two rings (600 + 1 440 slots of 16 bytes: 32 640 bytes), six per
// interface (~191 KiB), and two (bytes, packets) per tracked process, at most `top`
// processes per interface (20 by default: ~1.25 MiB); a process leaving the top makes
// room only when a new one needs it (counted in `processesEvicted`). A process entering
// the top list brings its traffic so far into that second.
import { SeriesRing, type SeriesPoint } from './series-ring.ts';

export const METRICS = ['bytes', 'packets', 'flows', 'eventsAccepted', 'eventsRejected', 'eventsDropped'] as const;
export type HistoryMetric = (typeof METRICS)[number];
export const PROCESS_METRICS: HistoryMetric[] = ['bytes', 'packets'];
export type Resolution = '1s' | '1m';
export const RESOLUTIONS: Record<Resolution, { stepMs: number; slots: number }> = {
  '1s': { stepMs: 1_000, slots: 600 },
  '1m': { stepMs: 60_000, slots: 1_440 },
};
/** Bytes of one series at both resolutions. */
export const SERIES_BYTES = (RESOLUTIONS['1s'].slots + RESOLUTIONS['1m'].slots) * 16;

/** Cumulative counters of one interface at one instant (flows: the active count, a gauge). */
export interface InterfaceSample {
  id: number;
  bytes: number;
  packets: number;
  flows: number;
  eventsAccepted: number;
  eventsRejected: number;
  eventsDropped: number;
  /** Cumulative traffic of the active flows per process name (the per-process metrics' top list). */
  processes: { process: string; bytes: number; packets: number }[];
}

class Series {
  readonly fine: SeriesRing;
  readonly coarse: SeriesRing;
  constructor(mode: 'sum' | 'gauge') {
    this.fine = new SeriesRing(RESOLUTIONS['1s'].slots, RESOLUTIONS['1s'].stepMs, mode);
    this.coarse = new SeriesRing(RESOLUTIONS['1m'].slots, RESOLUTIONS['1m'].stepMs, mode);
  }
  add(t: number, v: number): void {
    this.fine.add(t, v);
    this.coarse.add(t, v);
  }
  ring(r: Resolution): SeriesRing {
    return r === '1s' ? this.fine : this.coarse;
  }
}

interface ProcessSeries {
  bytes: Series;
  packets: Series;
  lastBytes: number;
  lastPackets: number;
  /** Last sample this process was in the top list. */
  lastInTop: number;
}

interface InterfaceHistory {
  series: Record<HistoryMetric, Series>;
  last?: InterfaceSample;
  processes: Map<string, ProcessSeries>;
}

export interface HistoryStats {
  interfaces: number;
  processSeries: number;
  maxProcessesPerInterface: number;
  processesEvicted: number;
  memoryBytes: number;
  samples: number;
}

/** A counter that went back (a restart, expired flows) counts from zero, never negative. */
const delta = (now: number, before: number) => (now >= before ? now - before : now);

export class TrafficHistory {
  readonly #interfaces = new Map<number, InterfaceHistory>();
  #evicted = 0;
  #samples = 0;

  constructor(readonly maxProcessesPerInterface: number) {}

  /**
   * Takes one sample taken at `atMs`: what moved since the previous sample goes into the
   * bucket of `bucketMs` (the sampler passes the second that just ended).
   */
  record(bucketMs: number, samples: InterfaceSample[]): void {
    this.#samples++;
    for (const s of samples) {
      let h = this.#interfaces.get(s.id);
      if (!h) {
        const series = Object.fromEntries(METRICS.map((m) => [m, new Series(m === 'flows' ? 'gauge' : 'sum')])) as Record<HistoryMetric, Series>;
        h = { series, processes: new Map() };
        this.#interfaces.set(s.id, h);
      }
      const last = h.last;
      for (const m of METRICS) {
        if (m === 'flows') h.series.flows.add(bucketMs, s.flows);
        else if (last) h.series[m].add(bucketMs, delta(s[m], last[m]));
      }
      h.last = s;
      this.#recordProcesses(h, bucketMs, s.processes, last !== undefined);
    }
  }

  #recordProcesses(h: InterfaceHistory, bucketMs: number, rows: InterfaceSample['processes'], sampledBefore: boolean): void {
    const sampleNo = this.#samples;
    for (const row of rows) {
      let p = h.processes.get(row.process);
      if (!p) {
        if (h.processes.size >= this.maxProcessesPerInterface && !this.#evictOne(h, sampleNo)) continue;
        // First sight: its traffic so far goes into this second, unless this is the interface's first sample (hours of it may be behind).
        p = { bytes: new Series('sum'), packets: new Series('sum'), lastBytes: sampledBefore ? 0 : row.bytes, lastPackets: sampledBefore ? 0 : row.packets, lastInTop: sampleNo };
        h.processes.set(row.process, p);
      }
      p.bytes.add(bucketMs, delta(row.bytes, p.lastBytes));
      p.packets.add(bucketMs, delta(row.packets, p.lastPackets));
      p.lastBytes = row.bytes;
      p.lastPackets = row.packets;
      p.lastInTop = sampleNo;
    }
  }

  /** Makes room by dropping the process longest out of the top list (none when all are in it now). */
  #evictOne(h: InterfaceHistory, sampleNo: number): boolean {
    let oldest: string | undefined;
    let at = sampleNo;
    for (const [name, p] of h.processes) if (p.lastInTop < at) [oldest, at] = [name, p.lastInTop];
    if (oldest === undefined) return false;
    h.processes.delete(oldest);
    this.#evicted++;
    return true;
  }

  /** The points of one series ending at `nowMs`; undefined when the interface or process has none. */
  points(interfaceId: number, metric: HistoryMetric, resolution: Resolution, nowMs: number, process?: string): SeriesPoint[] | undefined {
    const h = this.#interfaces.get(interfaceId);
    if (!h) return undefined;
    if (process === undefined) return h.series[metric].ring(resolution).points(nowMs);
    const p = h.processes.get(process);
    if (!p || (metric !== 'bytes' && metric !== 'packets')) return undefined;
    return p[metric].ring(resolution).points(nowMs);
  }

  /** Processes with a series on an interface, by name. */
  processes(interfaceId: number): string[] {
    return [...(this.#interfaces.get(interfaceId)?.processes.keys() ?? [])];
  }

  stats(): HistoryStats {
    let processSeries = 0;
    for (const h of this.#interfaces.values()) processSeries += h.processes.size;
    return {
      interfaces: this.#interfaces.size,
      processSeries,
      maxProcessesPerInterface: this.maxProcessesPerInterface,
      processesEvicted: this.#evicted,
      memoryBytes: (this.#interfaces.size * METRICS.length + processSeries * PROCESS_METRICS.length) * SERIES_BYTES,
      samples: this.#samples,
    };
  }
}
