// Issue 15 over real traffic on two packet interfaces: a process in a network namespace
// this test creates (its TCP connection over a veth pair to a server on the host side,
// named by a CONNECT event whose INTERFACE_NAME is the host-side veth) and a process on
// lo (named by a CONNECT event for lo). The processes API lists both, each with the
// captured bytes of its flow (as the interface's flows API shows them), and the
// interface filter keeps only the processes of that interface.
import { connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/model/flow.ts';
import type { ProcessDetail, ProcessList } from '../../src/views/process-summary.ts';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import { createVethPair, type VethPair } from '../support/netns.ts';
import { describeAsRoot } from '../support/privileges.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ_PORT = 18650;
const LO_PORT = 18651;
const VETH_PORT = 18652;
const SUBNET = '10.213.191';
const CONTAINER = 'a1f3e5d7c9b2a4f6e8d0c1b3a5f7e9d2c4b6a8f0e1d3c5b7a9f2e4d6';

describeAsRoot('processes on lo and on a veth pair into a namespace', 'create a network namespace and capture on its veth and on lo', () => {
  let fb: Awaited<ReturnType<typeof startWithFlags>>;
  let veth: VethPair;
  let producer: Producer;
  const servers: Server[] = [];

  /** The one flow of `port` on an interface, once its connection is closed. */
  const closedFlow = (iface: string, port: number) =>
    waitFor(async () => {
      const { flows } = await fb.json<{ flows: FlowRecord[] }>(`/api/v1/interfaces/${encodeURIComponent(iface)}/flows?port=${port}`);
      return flows.length === 1 && flows[0].closed ? flows[0] : undefined;
    }, `the flow of port ${port} on ${iface} captured and closed`);

  /**
   * Reads `read` between two reads of both flows, until the flows did not change
   * meanwhile (the client's last ACK may reach the capture after the flow closed):
   * what `read` returned is then comparable with those flows exactly.
   */
  const besideFlows = async <T>(read: () => Promise<T>) => {
    const both = async () => [await closedFlow(veth.hostIf, VETH_PORT), await closedFlow('lo', LO_PORT)];
    const counts = (fs: FlowRecord[]) => JSON.stringify(fs.map((f) => [f.bytes, f.packets]));
    return waitFor(async () => {
      const before = await both();
      const value = await read();
      const [vethFlow, loFlow] = await both();
      return counts(before) === counts([vethFlow, loFlow]) ? { value, vethFlow, loFlow } : undefined;
    }, 'flows unchanged around a read');
  };

  /** A server on `host`:`port` that reads the request to its end, then answers `size` bytes and closes. */
  const serve = async (host: string, port: number, size: number) => {
    const server = createServer((s) => {
      s.on('data', () => {});
      s.on('end', () => s.end(Buffer.alloc(size, 0x61)));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(port, host, r));
  };

  beforeAll(async () => {
    veth = createVethPair(`p${process.pid % 1000}`, SUBNET, { prefix: 'fbvw' });
    fb = await startWithFlags([
      '-i', `tcp://127.0.0.1:${ZMQ_PORT}c`,
      '-i', 'lo', '--bpf', `lo=tcp port ${LO_PORT}`,
      '-i', veth.hostIf, '--bpf', `${veth.hostIf}=tcp port ${VETH_PORT}`,
    ]);
    producer = await connectProducer(fb, `tcp://127.0.0.1:${ZMQ_PORT}`);
    await waitFor(() => ['lo', veth.hostIf].every((name) => fb.registry.resolve(name)?.status().state === 'running'), 'both captures running');
  }, 60_000);
  afterAll(async () => {
    producer?.close();
    for (const s of servers) s.close();
    await fb?.stop();
    veth?.remove();
  });

  it('lists the process of each interface with the captured bytes of its flow, and filters by interface', async () => {
    // The process in the namespace: it sends 4 000 bytes, the host answers 7 000; the client closes first.
    await serve(veth.hostIp, VETH_PORT, 7_000);
    const nsClientPort = Number((await veth.exec([process.execPath, '-e', `
      let port = 0;
      const c = require('net').connect({ host: '${veth.hostIp}', port: ${VETH_PORT} }, () => { port = c.localPort; c.end(Buffer.alloc(4000, 98)); });
      c.on('data', () => {});
      c.on('close', () => console.log(port));
    `], 15_000)).trim().split('\n').at(-1));
    expect(nsClientPort).toBeGreaterThan(0);

    // The process on lo: it sends 1 000 bytes, the server answers 3 000.
    await serve('127.0.0.1', LO_PORT, 3_000);
    const loClientPort = await new Promise<number>((resolve, reject) => {
      const c = connect(LO_PORT, '127.0.0.1', () => c.end(Buffer.alloc(1_000, 99)));
      let port = 0;
      c.on('connect', () => { port = c.localPort!; });
      c.on('data', () => {});
      c.on('error', reject);
      c.on('close', () => resolve(port));
    });

    const vethCaptured = await closedFlow(veth.hostIf, VETH_PORT);
    const loCaptured = await closedFlow('lo', LO_PORT);
    expect(vethCaptured.client).toMatchObject({ ip: veth.nsIp, port: nsClientPort });
    expect(loCaptured.client).toMatchObject({ ip: '127.0.0.1', port: loClientPort });
    // Both carried their payloads (plus headers): the captured bytes are more than what was sent.
    expect(vethCaptured.bytes).toBeGreaterThan(11_000);
    expect(loCaptured.bytes).toBeGreaterThan(4_000);

    // The agents say who made them: an agent in the namespace names the veth, one on this host names lo.
    await producer.send('flow', {
      ...fixture('ebpflowexport-connect-docker'), INTERFACE_NAME: veth.hostIf,
      IPV4_SRC_ADDR: veth.nsIp, IPV4_DST_ADDR: veth.hostIp, L4_SRC_PORT: nsClientPort, L4_DST_PORT: VETH_PORT,
      LOCAL_PROCESS: { PID: 31337, UID: 1002, UID_NAME: 'carol', PROCESS_PATH: '/usr/bin/rsync' },
      LOCAL_CONTAINER: { DOCKER: { ID: CONTAINER, NAME: 'quiet_fbvw' } },
    });
    await producer.send('flow', {
      ...fixture('nprobe-mini-connect'),
      IF_NAME: 'lo', IPV4_LOCAL_ADDR: '127.0.0.1', IPV4_REMOTE_ADDR: '127.0.0.1', L4_LOCAL_PORT: loClientPort, L4_REMOTE_PORT: LO_PORT,
      LOCAL_PROCESS: { PID: 4343, UID: 1003, UID_NAME: 'dave', PROCESS_PATH: '/usr/bin/scp' },
    });

    await waitFor(async () => (await fb.json<ProcessList>('/api/v1/processes')).processes.length === 2, 'both processes listed');
    const { value: list, vethFlow, loFlow } = await besideFlows(() => fb.json<ProcessList>('/api/v1/processes'));
    const vethId = fb.registry.resolve(veth.hostIf)!.id;
    const loId = fb.registry.resolve('lo')!.id;
    const byName = Object.fromEntries(list.processes.map((p) => [p.name, p]));
    expect(Object.keys(byName).sort()).toEqual(['rsync', 'scp']);
    expect(list.total).toBe(2);
    expect(list.other).toEqual({ processes: 0, bytes: 0, packets: 0, flows: 0 });
    const { rsync, scp } = byName;
    expect(rsync).toMatchObject({ path: '/usr/bin/rsync', pids: [31337], user: 'carol', host: veth.nsIp, trafficFrom: 'packets', flowsActive: 0, flowsClosed: 1, interfaces: [vethId] });
    expect(rsync.container).toMatchObject({ id: CONTAINER, name: 'quiet_fbvw' });
    expect(scp).toMatchObject({ path: '/usr/bin/scp', pids: [4343], user: 'dave', host: '127.0.0.1', trafficFrom: 'packets', flowsActive: 0, flowsClosed: 1, interfaces: [loId] });
    // Bytes per process are the captured bytes of its flows, counted once (the ZMQ interface holds the same connections from the events).
    expect(rsync.bytes).toBe(vethFlow.bytes);
    expect(rsync.packets).toBe(vethFlow.packets);
    expect(rsync.bytesFromNetstat).toBe(0);
    expect(rsync.servers).toEqual([{ ip: veth.hostIp, port: VETH_PORT, protocol: 6, flows: 1, bytes: vethFlow.bytes }]);
    expect(scp.bytes).toBe(loFlow.bytes);
    expect(scp.packets).toBe(loFlow.packets);
    // Largest first.
    expect(list.processes.map((p) => p.name)).toEqual(['rsync', 'scp']);

    // The interface filter keeps only the veth's process (by name or by id), or only lo's.
    for (const ref of [veth.hostIf, String(vethId)]) {
      const { value: only, vethFlow: f } = await besideFlows(() => fb.json<ProcessList>(`/api/v1/processes?interface=${encodeURIComponent(ref)}`));
      expect(only.processes.map((p) => [p.name, p.bytes]), ref).toEqual([['rsync', f.bytes]]);
      expect(only.total, ref).toBe(1);
      expect(only.other.processes, ref).toBe(0);
    }
    const loOnly = await besideFlows(() => fb.json<ProcessList>('/api/v1/processes?interface=lo'));
    expect(loOnly.value.processes.map((p) => [p.name, p.bytes])).toEqual([['scp', loOnly.loFlow.bytes]]);
    const both = await besideFlows(() => fb.json<ProcessList>(`/api/v1/processes?interface=lo,${encodeURIComponent(veth.hostIf)}`));
    expect(both.value.processes.map((p) => [p.name, p.bytes])).toEqual([['rsync', both.vethFlow.bytes], ['scp', both.loFlow.bytes]]);
    // Other filters pick the namespace's process too.
    expect((await fb.json<ProcessList>(`/api/v1/processes?host=${veth.nsIp}`)).processes.map((p) => p.name)).toEqual(['rsync']);
    expect((await fb.json<ProcessList>(`/api/v1/processes?container=${CONTAINER.slice(0, 12)}`)).processes.map((p) => p.name)).toEqual(['rsync']);

    // The namespace's process with its flow, on the veth.
    const { value: detail, vethFlow: f } = await besideFlows(() => fb.json<ProcessDetail>(`/api/v1/processes/${rsync.key}`));
    expect(detail.process.bytes).toBe(f.bytes);
    expect(detail.totalFlows).toBe(1);
    expect(detail.flows[0]).toMatchObject({ client: { ip: veth.nsIp, port: nsClientPort }, server: { ip: veth.hostIp, port: VETH_PORT }, bytes: f.bytes, interfaceId: vethId });
    expect(detail.flows[0].seenBy).toEqual(expect.arrayContaining(['packets', 'events']));
  }, 60_000);
});
