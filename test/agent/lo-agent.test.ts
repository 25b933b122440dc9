// Issue 10: the agent on this host, connected to a collector, with real processes on lo.
// curl (as user nobody, a child of this test process) against a local HTTP server: the
// collector's lo flow carries curl's PID, path, user and parent, merged with the packets
// captured on lo, and a CLOSE arrives when the connection ends; IPv6 on ::1 the same.
// Killing bpftrace: the agent restarts it, says so, and events flow again.
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent/agent.ts';
import type { FlowRecord } from '../../src/model/flow.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ_PORT = 18700;
const V4_PORT = 18701;
const V6_PORT = 18702;
const PROBE_PORT = 18703;
const ZMQ = `tcp://127.0.0.1:${ZMQ_PORT}c`;

let fb: Awaited<ReturnType<typeof startWithFlags>>;
let agent: RunningAgent;
const agentLog: string[] = [];
const servers: Server[] = [];
/** Responses held until the test has seen the connection's CONNECT merged. */
const held = new Map<string, ServerResponse>();

function server(host: string, port: number, hold: boolean): Promise<void> {
  const s = createServer((req, res) => {
    res.setHeader('Connection', 'close');
    if (hold) held.set(`${req.socket.remotePort}`, res);
    else res.end('ok');
  });
  servers.push(s);
  return new Promise((r) => s.listen(port, host, () => r()));
}

async function flowsOf(iface: string, port: number): Promise<FlowRecord[]> {
  const r = await fb.api(`/api/v1/interfaces/${encodeURIComponent(iface)}/flows?port=${port}`);
  expect(r.status).toBe(200);
  return ((await r.json()) as { flows: FlowRecord[] }).flows;
}

/** curl as user nobody (setpriv execs it: same pid), from a port it reports on stdout. */
function curlAsNobody(url: string): { pid: number; localPort: Promise<number>; done: Promise<number> } {
  const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'curl', '-s', '-g', '-o', '/dev/null', '-w', '%{local_port}\n', url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const done = new Promise<number>((r) => child.on('close', (code) => r(code ?? -1)));
  return { pid: child.pid!, done, localPort: done.then(() => Number(out.trim())) };
}

async function connectionFlow(port: number, pid: number): Promise<FlowRecord> {
  // Events and captured packets arrive on their own paths: wait for both in one flow.
  return waitFor(async () => (await flowsOf('lo', port)).find((f) => f.process?.pid === pid && f.seenBy.includes('packets')), `a lo flow on port ${port} with pid ${pid} and packets`, 15_000);
}

describeAsRoot('host agent on lo: real processes in merged flows', 'run bpftrace and capture on lo', () => {
  beforeAll(async () => {
    fb = await startWithFlags(['-i', ZMQ, '-i', 'lo', '--bpf', `lo=tcp portrange ${V4_PORT}-${PROBE_PORT}`]);
    await server('127.0.0.1', V4_PORT, true);
    await server('::1', V6_PORT, true);
    await server('127.0.0.1', PROBE_PORT, false);
    agent = await startAgent({ zmq: ZMQ, minBackoffMs: 100, log: (l) => agentLog.push(l) });
    await agent.attached();
    // PUB/SUB's slow joiner: make connections until the agent's events reach the collector.
    const zmq = fb.registry.zmqInterfaces()[0];
    await waitFor(async () => {
      await fetch(`http://127.0.0.1:${PROBE_PORT}/`).then((r) => r.text());
      return (zmq.collectorStats().messages.flow ?? 0) > 0;
    }, 'the agent\'s events at the collector', 15_000, 100);
  }, 30_000);

  afterAll(async () => {
    for (const res of held.values()) res.end();
    await agent?.stop();
    for (const s of servers) s.close();
    await fb?.stop();
  });

  for (const [name, url, port, ip] of [
    ['IPv4 on 127.0.0.1', `http://127.0.0.1:${V4_PORT}/`, V4_PORT, '127.0.0.1'],
    ['IPv6 on ::1', `http://[::1]:${V6_PORT}/`, V6_PORT, '::1'],
  ] as const) {
    it(`${name}: curl's flow carries its PID, path, user and parent, merged with packets, then CLOSE`, async () => {
      const curl = curlAsNobody(url);
      const flow = await connectionFlow(port, curl.pid);
      expect(flow.seenBy).toEqual(['packets', 'events']);
      expect(flow.server).toMatchObject({ ip, port });
      expect(flow.client.ip).toBe(ip);
      expect(flow.process).toMatchObject({ pid: curl.pid, path: '/usr/bin/curl', user: 'nobody', uid: 65534 });
      expect(flow.process?.cmdline).toContain(url);
      expect(flow.processSide).toBe('client');
      expect(flow.parent).toMatchObject({ pid: process.pid, path: realpathSync(process.execPath) });
      expect(flow.latencyMs).toBeGreaterThan(0);
      expect(flow.packets).toBeGreaterThanOrEqual(3);

      held.get(String(flow.client.port))!.end('done');
      expect(await curl.done).toBe(0);
      expect(await curl.localPort).toBe(flow.client.port);
      const closed = await waitFor(async () => (await flowsOf('lo', port)).find((f) => f.client.port === flow.client.port && f.recentEvents.some((e) => e.eventType === 'CLOSE')), 'the CLOSE event', 15_000);
      expect(closed.recentEvents.map((e) => e.eventType)).toEqual(expect.arrayContaining(['CONNECT', 'ACCEPT', 'CLOSE']));
      // Both ends are processes of this host: the client's CLOSE carries curl and says the
      // connection ended; the close of the socket the server accepted is not reported on
      // loopback (its ACCEPT named the server), so the flow still shows the client's process.
      expect(closed.recentEvents).toEqual(expect.arrayContaining([
        expect.objectContaining({ eventType: 'CLOSE', pid: curl.pid }),
        expect.objectContaining({ eventType: 'ACCEPT', pid: process.pid }),
      ]));
      expect(closed.recentEvents.filter((e) => e.eventType === 'CLOSE')).toEqual([expect.objectContaining({ pid: curl.pid })]);
      expect(closed.process).toMatchObject({ pid: curl.pid });
    }, 30_000);
  }

  it('restarts bpftrace when it is killed, says so, and reports connections again', async () => {
    const first = agent.supervisor.pid!;
    process.kill(first, 'SIGKILL');
    await waitFor(() => agentLog.some((l) => l.includes('agent: bpftrace ended (SIGKILL); restarting')), 'the restart message');
    await waitFor(() => agent.supervisor.attached && agent.supervisor.pid !== first, 'bpftrace attached again', 15_000);
    expect(agent.stats().restarts).toBeGreaterThanOrEqual(1);
    const curl = curlAsNobody(`http://127.0.0.1:${V4_PORT}/`);
    const flow = await connectionFlow(V4_PORT, curl.pid);
    expect(flow.process).toMatchObject({ path: '/usr/bin/curl', user: 'nobody' });
    held.get(String(flow.client.port))!.end('done');
    expect(await curl.done).toBe(0);
  }, 30_000);
});
