// Issue 15's bounds through the whole pipeline: CONNECT events for 200 distinct processes
// (each its own PID and path, netstat counters of different sizes) sent over ZMQ, no
// packets. GET /api/v1/processes shows at most --top-processes rows, the largest, and sums
// every other process in `other`, saying the bound; the history keeps at most
// --top-processes per-process series for the interface (the timeseries API says the bound
// and how many it let go), also when 200 more, larger, processes take over the top.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessList } from '../../src/views/process-summary.ts';
import type { HistoryStats } from '../../src/views/traffic-history.ts';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ_PORT = 18660;
const TOP = 5;
const COUNT = 200;

interface Timeseries { points: { t: number; v: number }[]; processes: string[]; bound: HistoryStats }

/** Process `i` of a wave: bytes grow with i, so the top ones are the last. */
const processOf = (wave: string, i: number, base: number) => ({
  name: `${wave}${i}`,
  pid: base + i,
  bytesReceived: base + 10 * i,
  bytesAcked: i,
  segsIn: 2 * i + 1,
  segsOut: i + 1,
});
type Proc = ReturnType<typeof processOf>;
const bytesOf = (p: Proc) => p.bytesReceived + p.bytesAcked;
const packetsOf = (p: Proc) => p.segsIn + p.segsOut;

describe('processes and their history with many processes', () => {
  let fb: Awaited<ReturnType<typeof startWithFlags>>;
  let producer: Producer;

  /** The ZMQ interface's bytes series, checking on every read that its process series stay within the bound. */
  const series = async (process?: string) => {
    const s = await fb.json<Timeseries>(`/api/v1/interfaces/0/timeseries?metric=bytes${process ? `&process=${process}` : ''}`);
    expect(s.processes.length).toBeLessThanOrEqual(TOP);
    expect(s.bound.processSeries).toBeLessThanOrEqual(TOP);
    expect(s.bound.maxProcessesPerInterface).toBe(TOP);
    return s;
  };

  /** One CONNECT per process, from 10.77.<subnet>.x to a server no interface captures, in messages of 50. */
  const sendWave = async (procs: Proc[], subnet: number) => {
    const records = procs.map((p, i) => ({
      ...fixture('nprobe-mini-connect'),
      IF_NAME: 'eth9', IPV4_LOCAL_ADDR: `10.77.${subnet}.${1 + (i % 250)}`, IPV4_REMOTE_ADDR: '10.78.0.1', L4_LOCAL_PORT: 30_000 + i, L4_REMOTE_PORT: 443,
      LOCAL_PROCESS: { PID: p.pid, UID: 1000, UID_NAME: 'erin', PROCESS_PATH: `/opt/fbvw/bin/${p.name}` },
      TCP: { CONN_STATE: 'ESTABLISHED', SEGS_IN: p.segsIn, SEGS_OUT: p.segsOut, BYTES_RCVD: p.bytesReceived, BYTES_ACKED: p.bytesAcked },
    }));
    for (let i = 0; i < records.length; i += 50) await producer.send('flow', records.slice(i, i + 50));
  };

  /** What the processes API must show for `procs`: the TOP largest, the rest summed. */
  const expectList = (list: ProcessList, procs: Proc[]) => {
    const sorted = [...procs].sort((a, b) => bytesOf(b) - bytesOf(a));
    const rest = sorted.slice(TOP);
    expect(list.total).toBe(procs.length);
    expect(list.processes.map((p) => [p.name, p.bytes, p.packets, p.pids])).toEqual(sorted.slice(0, TOP).map((p) => [p.name, bytesOf(p), packetsOf(p), [p.pid]]));
    expect(list.processes.every((p) => p.trafficFrom === 'netstat' && p.flowsActive === 1)).toBe(true);
    expect(list.other).toEqual({
      processes: rest.length,
      bytes: rest.reduce((a, p) => a + bytesOf(p), 0),
      packets: rest.reduce((a, p) => a + packetsOf(p), 0),
      flows: rest.length,
    });
    expect(list.bound).toMatchObject({ top: TOP, tracked: procs.length, untracked: 0 });
  };

  beforeAll(async () => {
    fb = await startWithFlags(['-i', `tcp://127.0.0.1:${ZMQ_PORT}c`, '--top-processes', String(TOP)]);
    producer = await connectProducer(fb, `tcp://127.0.0.1:${ZMQ_PORT}`);
    // The history samples once a second: wait for its first sample, so processes arriving later bring their traffic into their second.
    await waitFor(async () => (await series()).bound.samples > 0, 'the first history sample');
  }, 30_000);
  afterAll(async () => {
    producer?.close();
    await fb?.stop();
  });

  it('shows at most --top-processes processes and sums the rest; the history keeps at most as many series', async () => {
    const first = Array.from({ length: COUNT }, (_, i) => processOf('a', i, 10_000));
    await sendWave(first, 1);
    const list = await waitFor(async () => {
      const l = await fb.json<ProcessList>('/api/v1/processes');
      return l.total === COUNT ? l : undefined;
    }, `${COUNT} processes`);
    expectList(list, first);
    // Every byte is in the list or in other.
    const all = first.reduce((a, p) => a + bytesOf(p), 0);
    expect(list.processes.reduce((a, p) => a + p.bytes, 0) + list.other.bytes).toBe(all);
    // A larger limit is held to the bound; a smaller one sums the rest too.
    expect((await fb.json<ProcessList>(`/api/v1/processes?limit=${COUNT}`)).processes).toHaveLength(TOP);
    const two = await fb.json<ProcessList>('/api/v1/processes?limit=2');
    expect(two.processes.map((p) => p.name)).toEqual(['a199', 'a198']);
    expect(two.other.processes).toBe(COUNT - 2);
    expect(two.other.bytes + two.processes.reduce((a, p) => a + p.bytes, 0)).toBe(all);

    // The history: the top processes' series, no more, each holding its process's traffic.
    const topFirst = first.slice(-TOP).map((p) => p.name).sort();
    await waitFor(async () => JSON.stringify((await series()).processes.sort()) === JSON.stringify(topFirst), 'the history to hold the first top processes');
    await waitFor(async () => (await series()).points.reduce((a, p) => a + p.v, 0) === all, 'the interface series to hold every byte');
    const a199 = await series('a199');
    expect(a199.points.reduce((a, p) => a + p.v, 0)).toBe(bytesOf(first[COUNT - 1]));
    const a0 = await fb.api('/api/v1/interfaces/0/timeseries?metric=bytes&process=a0');
    expect(a0.status).toBe(404);

    // 200 more processes, each larger than any before: they take over the top, in the list and in the history.
    const second = Array.from({ length: COUNT }, (_, i) => processOf('b', i, 100_000));
    await sendWave(second, 2);
    const both = await waitFor(async () => {
      const l = await fb.json<ProcessList>('/api/v1/processes');
      return l.total === 2 * COUNT ? l : undefined;
    }, `${2 * COUNT} processes`);
    expectList(both, [...first, ...second]);
    const topSecond = second.slice(-TOP).map((p) => p.name).sort();
    const after = await waitFor(async () => {
      const s = await series();
      return JSON.stringify(s.processes.sort()) === JSON.stringify(topSecond) ? s : undefined;
    }, 'the history to hold the new top processes');
    expect(after.bound.processSeries).toBe(TOP);
    expect(after.bound.processesEvicted).toBeGreaterThanOrEqual(TOP);
    expect((await fb.api('/api/v1/interfaces/0/timeseries?metric=bytes&process=a199')).status).toBe(404);
    const b199 = await series('b199');
    expect(b199.points.reduce((a, p) => a + p.v, 0)).toBe(bytesOf(second[COUNT - 1]));
  }, 60_000);
});
