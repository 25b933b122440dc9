// The views' bounds and buckets without sockets: a series ring puts values in the
// bucket of their time and forgets what is older than its span; the history keeps at
// most `top` process series per interface however many processes come and go; the
// processes summary shows at most `top` rows and sums the rest, losing no byte.
import { describe, expect, it } from 'vitest';
import { FlowTable } from '../../src/flows/flow-table.ts';
import { SeriesRing } from '../../src/views/series-ring.ts';
import { summarizeProcesses } from '../../src/views/process-summary.ts';
import { METRICS, SERIES_BYTES, TrafficHistory, type InterfaceSample } from '../../src/views/traffic-history.ts';
import { socketEvent } from '../flows/socket-events.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('series ring', () => {
  it('sums values into the bucket of their time, every bucket present, empty ones 0', () => {
    const r = new SeriesRing(10, 1000);
    r.add(T0 + 100, 5);
    r.add(T0 + 900, 7);
    r.add(T0 + 3_000, 1);
    const pts = r.points(T0 + 3_500);
    expect(pts).toHaveLength(10);
    expect(pts.at(-1)).toEqual({ t: T0 + 3_000, v: 1 });
    expect(pts.at(-4)).toEqual({ t: T0, v: 12 });
    expect(pts.filter((p) => p.v > 0)).toHaveLength(2);
  });

  it('forgets buckets older than its span, and ignores values older than what it holds', () => {
    const r = new SeriesRing(10, 1000);
    r.add(T0, 5);
    r.add(T0 + 10_000, 3); // the same slot, a span later
    r.add(T0, 9); // too old now
    const pts = r.points(T0 + 10_000);
    expect(pts.reduce((a, p) => a + p.v, 0)).toBe(3);
    expect(pts[0].t).toBe(T0 + 1_000);
  });

  it('keeps the last value of a gauge', () => {
    const r = new SeriesRing(5, 60_000, 'gauge');
    r.add(T0 + 1_000, 4);
    r.add(T0 + 59_000, 2);
    expect(r.points(T0 + 59_000).at(-1)).toEqual({ t: T0, v: 2 });
    expect(r.memoryBytes).toBe(80);
  });
});

const sample = (over: Partial<InterfaceSample>): InterfaceSample => ({ id: 0, bytes: 0, packets: 0, flows: 0, eventsAccepted: 0, eventsRejected: 0, eventsDropped: 0, processes: [], ...over });

describe('traffic history', () => {
  it('records what moved between samples in the given second; a counter going back counts from zero', () => {
    const h = new TrafficHistory(5);
    h.record(T0, [sample({ bytes: 1_000, eventsAccepted: 4, flows: 3 })]);
    h.record(T0 + 1_000, [sample({ bytes: 1_600, eventsAccepted: 10, flows: 2 })]);
    h.record(T0 + 2_000, [sample({ bytes: 200, eventsAccepted: 10, flows: 2 })]);
    const bytes = h.points(0, 'bytes', '1s', T0 + 2_000)!;
    expect(bytes.slice(-3).map((p) => p.v)).toEqual([0, 600, 200]);
    expect(h.points(0, 'eventsAccepted', '1s', T0 + 2_000)!.slice(-2).map((p) => p.v)).toEqual([6, 0]);
    expect(h.points(0, 'flows', '1m', T0 + 2_000)!.at(-1)!.v).toBe(2);
    expect(h.points(0, 'bytes', '1m', T0 + 2_000)!.at(-1)!.v).toBe(800);
    expect(h.points(0, 'bytes', '1s', T0)).toHaveLength(600);
    expect(h.points(0, 'bytes', '1m', T0)).toHaveLength(1_440);
    expect(h.points(7, 'bytes', '1s', T0)).toBeUndefined();
  });

  it('keeps at most `top` process series per interface, with many processes, and says how many it let go', () => {
    const h = new TrafficHistory(20);
    for (let s = 0; s < 200; s++) {
      // Each second a different 20 of 1 000 processes are the top ones.
      const processes = Array.from({ length: 20 }, (_, i) => ({ process: `p${(s * 20 + i) % 1_000}`, bytes: 100 * s, packets: s }));
      h.record(T0 + s * 1_000, [sample({ processes }), sample({ id: 1, processes })]);
    }
    const st = h.stats();
    expect(h.processes(0).length).toBeLessThanOrEqual(20);
    expect(st.processSeries).toBeLessThanOrEqual(40);
    expect(st.processesEvicted).toBeGreaterThan(1_000);
    expect(st.memoryBytes).toBe((2 * METRICS.length + st.processSeries * 2) * SERIES_BYTES);
    expect(SERIES_BYTES).toBe(32_640);
  });
});

describe('processes summary', () => {
  it('shows at most `top` processes, sums the rest as other, and loses no flow', () => {
    const t = new FlowTable({ maxFlows: 10_000 });
    for (let i = 0; i < 300; i++) {
      const e = socketEvent({ client: ['10.0.0.1', 20_000 + i], server: ['10.0.0.2', 443], pid: 1_000 + i, path: `/usr/bin/app${i}`, eventType: 'CONNECT', tcp: { segsIn: i, segsOut: 1, bytesReceived: 10 * i, bytesAcked: 5 } });
      t.applyEvent(e, 'zmq');
    }
    const list = summarizeProcesses([{ id: 0, kind: 'zmq', flows: t }], {}, 20);
    expect(list.processes).toHaveLength(20);
    expect(list.total).toBe(300);
    expect(list.processes[0]).toMatchObject({ name: 'app299', bytes: 2_995, trafficFrom: 'netstat', pids: [1_299] });
    expect(list.other.processes).toBe(280);
    const all = list.processes.reduce((a, p) => a + p.bytes, 0) + list.other.bytes;
    expect(all).toBe(Array.from({ length: 300 }, (_, i) => 10 * i + 5).reduce((a, b) => a + b, 0));
    expect(list.other.flows + list.processes.length).toBe(300);
    // A smaller limit still sums everything past it; a larger one is held to the bound.
    expect(summarizeProcesses([{ id: 0, kind: 'zmq', flows: t }], { limit: 500 }, 20).processes).toHaveLength(20);
    expect(summarizeProcesses([{ id: 0, kind: 'zmq', flows: t }], { limit: 3, sort: 'packets' }, 20).processes.map((p) => p.name)).toEqual(['app299', 'app298', 'app297']);
  });
});
