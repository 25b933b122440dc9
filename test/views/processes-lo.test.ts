// Issue 15 over real traffic: two TCP connections on lo with different payloads, each
// merged with a CONNECT event sent over ZMQ naming a different process. The processes
// API counts each process's captured bytes once (not again from the ZMQ interface's copy
// of the event), and the interface's history holds each burst in the second it was sent.
import { connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/model/flow.ts';
import type { ProcessDetail, ProcessList } from '../../src/views/process-summary.ts';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ_PORT = 18610;
const PORT_A = 18611;
const PORT_B = 18612;
let fb: Awaited<ReturnType<typeof startWithFlags>>;
let producer: Producer;
const servers: Server[] = [];

const loFlow = async (port: number) => (await fb.json<{ flows: FlowRecord[] }>(`/api/v1/interfaces/lo/flows?port=${port}`)).flows[0];
const series = async (query: string) => fb.json<{ points: { t: number; v: number }[]; stepMs: number }>(`/api/v1/interfaces/lo/timeseries?${query}`);
const sum = (points: { v: number }[]) => points.reduce((a, p) => a + p.v, 0);

/** A server answering `size` bytes; one client connects, reads it all and closes. Resolves with the client port. */
async function exchange(port: number, size: number): Promise<number> {
  const server = createServer((s) => s.on('data', () => s.end(Buffer.alloc(size, 7))));
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return new Promise<number>((resolve) => {
    const c = connect(port, '127.0.0.1', () => c.write('GET / HTTP/1.0\r\n\r\n'));
    c.on('data', () => {});
    c.on('end', () => {
      c.end();
      resolve(c.localPort!);
    });
  });
}

async function sendConnect(clientPort: number, serverPort: number, process: Record<string, unknown>): Promise<void> {
  await producer.send('flow', {
    ...fixture('nprobe-mini-connect'),
    IF_NAME: 'lo', IPV4_LOCAL_ADDR: '127.0.0.1', IPV4_REMOTE_ADDR: '127.0.0.1', L4_LOCAL_PORT: clientPort, L4_REMOTE_PORT: serverPort, LOCAL_PROCESS: process,
  });
}

describeAsRoot('processes and their traffic over time on lo', 'capture on lo', () => {
  beforeAll(async () => {
    fb = await startWithFlags(['-i', `tcp://127.0.0.1:${ZMQ_PORT}c`, '-i', 'lo', '--bpf', `lo=tcp portrange ${PORT_A}-${PORT_B}`]);
    producer = await connectProducer(fb, `tcp://127.0.0.1:${ZMQ_PORT}`);
    // The history samples once a second: wait for its first sample of lo.
    await waitFor(() => (fb.telemetry.history?.stats().samples ?? 0) > 0, 'the first history sample');
  }, 30_000);
  afterAll(async () => {
    producer?.close();
    for (const s of servers) s.close();
    await fb?.stop();
  });

  it('sums each process\'s captured bytes, once, and puts each burst in its second', async () => {
    // Burst A: early in a second (after the sampler's tick just past its start), so the capture delivers it before the second ends.
    const early = () => Date.now() % 1000 >= 100 && Date.now() % 1000 < 300;
    await waitFor(early, 'the start of a second', 5_000, 5);
    const secondA = Math.floor(Date.now() / 1000) * 1000;
    const clientA = await exchange(PORT_A, 2_000);
    const flowA = await waitFor(async () => { const f = await loFlow(PORT_A); return f?.closed ? f : undefined; }, 'connection A captured and closed');
    const capturedA = () => fb.telemetry.interfaces().find((t) => t.name === 'lo')!.capture!.bytes;
    expect(capturedA()).toBe(flowA.bytes);
    await waitFor(async () => sum((await series('metric=bytes')).points) === flowA.bytes, 'burst A in the history');

    // Burst B: at least two whole seconds later, in a second of its own.
    await waitFor(() => Date.now() >= secondA + 3_000 && early(), 'a later second', 10_000, 5);
    const secondB = Math.floor(Date.now() / 1000) * 1000;
    const clientB = await exchange(PORT_B, 9_000);
    const flowB = await waitFor(async () => { const f = await loFlow(PORT_B); return f?.closed ? f : undefined; }, 'connection B captured and closed');
    expect(flowB.bytes).toBeGreaterThan(flowA.bytes + 6_000);
    await waitFor(async () => sum((await series('metric=bytes')).points) === flowA.bytes + flowB.bytes, 'burst B in the history');

    const { points, stepMs } = await series('metric=bytes&resolution=1s');
    expect(stepMs).toBe(1000);
    expect(points).toHaveLength(600);
    const at = (t: number) => points.filter((p) => p.t === t || p.t === t + 1000).reduce((a, p) => a + p.v, 0);
    // Each burst in its second (or the next, when the capture handed it over just after the second ended); nothing elsewhere.
    expect(at(secondA)).toBe(flowA.bytes);
    expect(at(secondB)).toBe(flowB.bytes);
    expect(points.filter((p) => p.v > 0 && p.t !== secondA && p.t !== secondA + 1000 && p.t !== secondB && p.t !== secondB + 1000)).toEqual([]);
    const packets = sum((await series('metric=packets')).points);
    expect(packets).toBe(flowA.packets + flowB.packets);
    // The per-minute series holds the same traffic.
    expect(sum((await series('metric=bytes&resolution=1m')).points)).toBe(flowA.bytes + flowB.bytes);

    // Now the processes: curl made A, wget made B.
    await sendConnect(clientA, PORT_A, { PID: 4242, UID: 1000, UID_NAME: 'alice', PROCESS_PATH: '/usr/bin/curl' });
    await sendConnect(clientB, PORT_B, { PID: 5151, UID: 1001, UID_NAME: 'bob', PROCESS_PATH: '/usr/bin/wget' });
    const list = await waitFor(async () => {
      const l = await fb.json<ProcessList>('/api/v1/processes');
      return l.processes.length === 2 ? l : undefined;
    }, 'both processes');
    const [wget, curl] = list.processes;
    expect(wget).toMatchObject({ name: 'wget', path: '/usr/bin/wget', pids: [5151], user: 'bob', host: '127.0.0.1', trafficFrom: 'packets', flowsActive: 0, flowsClosed: 1, failedConnects: 0 });
    expect(curl).toMatchObject({ name: 'curl', path: '/usr/bin/curl', pids: [4242], user: 'alice', host: '127.0.0.1', trafficFrom: 'packets', flowsClosed: 1 });
    // Bytes per process are the captured bytes of its flows, counted once (the ZMQ interface holds the same connection from the event).
    expect(wget.bytes).toBe(flowB.bytes);
    expect(wget.packets).toBe(flowB.packets);
    expect(curl.bytes).toBe(flowA.bytes);
    expect(curl.bytesFromNetstat).toBe(0);
    expect(wget.servers).toEqual([{ ip: '127.0.0.1', port: PORT_B, protocol: 6, flows: 1, bytes: flowB.bytes }]);
    expect(list.other).toEqual({ processes: 0, bytes: 0, packets: 0, flows: 0 });
    expect(list.bound.top).toBe(20);

    // The ZMQ interface alone: the same processes, from the events (no packets, no netstat counters).
    const zmqOnly = await fb.json<ProcessList>(`/api/v1/processes?interface=${encodeURIComponent(`tcp://127.0.0.1:${ZMQ_PORT}c`)}`);
    expect(zmqOnly.processes.map((p) => [p.name, p.bytes])).toEqual([['curl', 0], ['wget', 0]]);

    // Filters, sort and the bound.
    expect((await fb.json<ProcessList>('/api/v1/processes?user=alice')).processes.map((p) => p.name)).toEqual(['curl']);
    expect((await fb.json<ProcessList>('/api/v1/processes?host=10.9.9.9')).total).toBe(0);
    const one = await fb.json<ProcessList>('/api/v1/processes?limit=1');
    expect(one.processes.map((p) => p.name)).toEqual(['wget']);
    expect(one.other).toEqual({ processes: 1, bytes: flowA.bytes, packets: flowA.packets, flows: 1 });
    expect((await fb.api('/api/v1/processes?sort=size')).status).toBe(400);
    expect((await (await fb.api('/api/v1/processes?sort=size')).json()).error).toMatch(/bytes, packets, flows/);

    // One process with its flows.
    const detail = await fb.json<ProcessDetail>(`/api/v1/processes/${curl.key}`);
    expect(detail.process.bytes).toBe(flowA.bytes);
    expect(detail.flows).toHaveLength(1);
    expect(detail.flows[0]).toMatchObject({ client: { port: clientA }, server: { port: PORT_A }, bytes: flowA.bytes, seenBy: ['packets', 'events'], interfaceId: 1 });
    expect((await fb.api('/api/v1/processes/nope')).status).toBe(404);

    // The per-process series: wget's traffic, under its name.
    await waitFor(async () => {
      const r = await fb.api('/api/v1/interfaces/lo/timeseries?metric=bytes&process=wget');
      return r.status === 200 && sum(((await r.json()) as { points: { v: number }[] }).points) === flowB.bytes;
    }, 'wget\'s series');
    expect((await fb.api('/api/v1/interfaces/lo/timeseries?metric=flows&process=wget')).status).toBe(400);
    expect((await fb.api('/api/v1/interfaces/lo/timeseries?metric=bits')).status).toBe(400);
  }, 60_000);
});
