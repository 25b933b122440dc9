// Issue 10: a connection opened before the agent started gets its process from the
// netstat snapshot (sent when the collector subscribes), merged with the packets captured
// on lo; interface counters from /proc/net/dev reach the collector every --counters-interval.
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent/agent.ts';
import type { FlowRecord } from '../../src/model/flow.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ_PORT = 18710;
const SERVICE_PORT = 18711;
const ZMQ = `tcp://127.0.0.1:${ZMQ_PORT}c`;
const PYTHON = '/usr/bin/python3';
const CLIENT = `import socket
s = socket.create_connection(('127.0.0.1', ${SERVICE_PORT}))
print(s.getsockname()[1], flush=True)
while s.recv(4096):
    pass
`;

let fb: Awaited<ReturnType<typeof startWithFlags>>;
let agent: RunningAgent | undefined;
let server: Server;
let client: ChildProcess;
let clientPort: number;
const accepted: Socket[] = [];

async function flowsOf(iface: string, port: number): Promise<FlowRecord[]> {
  const r = await fb.api(`/api/v1/interfaces/${encodeURIComponent(iface)}/flows?port=${port}`);
  expect(r.status).toBe(200);
  return ((await r.json()) as { flows: FlowRecord[] }).flows;
}

describeAsRoot('host agent: netstat snapshot and interface counters', 'run bpftrace and capture on lo', () => {
  beforeAll(async () => {
    fb = await startWithFlags(['-i', ZMQ, '-i', 'lo', '--bpf', `lo=tcp port ${SERVICE_PORT}`]);
    server = createServer((s) => accepted.push(s));
    await new Promise<void>((r) => server.listen(SERVICE_PORT, '127.0.0.1', r));
    // The connection exists before the agent does.
    client = spawn(PYTHON, ['-c', CLIENT], { stdio: ['ignore', 'pipe', 'inherit'] });
    clientPort = await new Promise<number>((r) => client.stdout!.once('data', (d) => r(Number(String(d).trim()))));
    await waitFor(() => accepted.length === 1, 'the server to accept the python client');
  }, 30_000);

  afterAll(async () => {
    client?.kill();
    await agent?.stop();
    for (const s of accepted) s.destroy();
    server?.close();
    await fb?.stop();
  });

  it('attributes a connection opened before the agent started to its process', async () => {
    agent = await startAgent({ zmq: ZMQ, countersInterval: 1, netstatInterval: 0, log: () => {} });
    const flow = await waitFor(async () => {
      // Traffic after the agent started, so the flow has captured packets too.
      accepted[0].write('x');
      return (await flowsOf('lo', SERVICE_PORT)).find((f) => f.process?.pid === client.pid && f.seenBy.includes('packets'));
    }, 'the python client\'s flow with its process', 15_000, 100);
    expect(flow.client).toEqual({ ip: '127.0.0.1', port: clientPort });
    expect(flow.server).toMatchObject({ ip: '127.0.0.1', port: SERVICE_PORT });
    expect(flow.process).toMatchObject({ pid: client.pid, path: realpathSync(PYTHON), user: 'root', uid: 0 });
    expect(flow.parent).toMatchObject({ pid: process.pid });
    expect(flow.recentEvents.some((e) => e.kind === 'netstat' && e.pid === client.pid)).toBe(true);
    expect(agent.stats().netstatSnapshots).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('sends the host\'s interface counters from /proc/net/dev', async () => {
    const zmqId = fb.registry.zmqInterfaces()[0].id;
    const lo = await waitFor(async () => {
      const r = await fb.api(`/api/v1/interfaces/${zmqId}/host-interfaces`);
      const body = (await r.json()) as { hostInterfaces: Record<string, unknown>[] };
      return body.hostInterfaces.find((h) => JSON.stringify(h).includes('"lo"'));
    }, 'counters of lo at the collector', 15_000, 100);
    expect(JSON.stringify(lo)).toMatch(/"lo"/);
  }, 30_000);
});
