// Issue 10: overload. A burst of connections far larger than the agent's queue (bound 8):
// what does not fit is dropped and counted (publisher drops, and bpftrace's own lost
// events if its buffer overflowed), the burst's processes are never held up, the queue
// drains, and the next connection is reported as usual.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent/agent.ts';
import type { FlowRecord } from '../../src/model/flow.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { shortConnection } from './connection.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ_PORT = 18749;
const SERVICE_PORT = 18750;
const ZMQ = `tcp://127.0.0.1:${ZMQ_PORT}c`;
const BURST = 3000;
const BOUND = 8;

let fb: Awaited<ReturnType<typeof startWithFlags>>;
let agent: RunningAgent;
let server: Server;
const agentLog: string[] = [];


describeAsRoot('host agent under overload', 'run bpftrace', () => {
  beforeAll(async () => {
    fb = await startWithFlags(['-i', ZMQ]);
    server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(SERVICE_PORT, '127.0.0.1', r));
    agent = await startAgent({ zmq: ZMQ, queueBound: BOUND, netstatInterval: 0, log: (l) => agentLog.push(l) });
    await agent.attached();
  }, 30_000);

  afterAll(async () => {
    await agent?.stop();
    server?.close();
    await fb?.stop();
  });

  it('drops what does not fit and counts it, never holds the connections up, and reports the next connection', async () => {
    const zmq = fb.registry.zmqInterfaces()[0];
    // The collector is subscribed once a connection's events reach it.
    await waitFor(async () => {
      await shortConnection(SERVICE_PORT);
      return (zmq.collectorStats().messages.flow ?? 0) > 0;
    }, 'the agent\'s events at the collector', 15_000, 100);

    const before = agent.stats();
    // 3000 connections, 100 at a time: 3 events each (CONNECT, ACCEPT, and the client's CLOSE:
    // an IPv4 loopback connection's accepted end does not report its close).
    for (let i = 0; i < BURST; i += 100) await Promise.all(Array.from({ length: 100 }, () => shortConnection(SERVICE_PORT)));
    await waitFor(() => {
      const s = agent.stats();
      return s.queued === 0 && s.events + s.lost - before.events - before.lost >= 3 * BURST;
    }, 'bpftrace\'s lines of the burst handled and the queue drained', 30_000, 50);
    const after = agent.stats();
    const handled = after.events - before.events;
    const dropped = after.drops - before.drops;
    const lost = after.lost - before.lost;
    expect(dropped).toBeGreaterThan(0);
    // Every event is accounted for: sent, dropped at the queue, or lost in bpftrace's buffer
    // (those waiting at the start were sent meanwhile).
    expect(after.sent - before.sent + dropped).toBe(handled + before.queued);
    expect(handled + lost).toBeGreaterThanOrEqual(3 * BURST);
    expect(after.bound).toBe(BOUND);

    // Still working: connections after the burst reach the collector with their process.
    const made = new Set<number>();
    const flow = await waitFor(async () => {
      made.add(await shortConnection(SERVICE_PORT));
      const r = await fb.api(`/api/v1/interfaces/${encodeURIComponent(zmq.name)}/flows?port=${SERVICE_PORT}`);
      return (((await r.json()) as { flows?: FlowRecord[] }).flows ?? []).find((f) => made.has(f.client.port) && f.process?.pid === process.pid);
    }, 'a connection after the burst reported', 15_000, 100);
    expect(flow.server.port).toBe(SERVICE_PORT);
    // The drops were said, not only counted (the report comes every 10 s).
    await waitFor(() => agentLog.some((l) => /events dropped in the last 10 s \(queue bound 8;/.test(l)), 'the drops reported in the log', 15_000, 200);
  }, 60_000);
});
