// Issue 10: the agent publishing to a collector that encrypts with CURVE. With the
// collector's public key its events arrive and its connections show their process; an
// agent given another server key publishes the same connections and is never heard.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { curveKeyPair } from 'zeromq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent/agent.ts';
import type { FlowRecord } from '../../src/model/flow.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import { shortConnection } from './connection.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ_PORT = 18747;
const SERVICE_PORT = 18748;
const ZMQ = `tcp://127.0.0.1:${ZMQ_PORT}c`;

let fb: Awaited<ReturnType<typeof startWithFlags>>;
const agents: RunningAgent[] = [];
let server: Server;

describeAsRoot('host agent with CURVE', 'run bpftrace', () => {
  beforeAll(async () => {
    fb = await startWithFlags(['-i', ZMQ, '--curve']);
    server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(SERVICE_PORT, '127.0.0.1', r));
  }, 30_000);

  afterAll(async () => {
    for (const a of agents) await a.stop();
    server?.close();
    await fb?.stop();
  });

  it('with the collector\'s public key: events arrive and name the process; with another server key: never heard', async () => {
    const zmq = fb.registry.zmqInterfaces()[0];
    const publicKey = (JSON.parse(readFileSync(join(fb.dataDir, 'curve-server.key'), 'utf8')) as { publicKey: string }).publicKey;
    expect(zmq.collectorStats().curvePublicKey).toBe(publicKey);

    const wrong = await startAgent({ zmq: ZMQ, sourceId: 901, curveServerKey: curveKeyPair().publicKey, log: () => {} });
    agents.push(wrong);
    const right = await startAgent({ zmq: ZMQ, sourceId: 902, curveServerKey: publicKey, log: () => {} });
    agents.push(right);
    await Promise.all([wrong.attached(), right.attached()]);

    // Connections until one is reported by the encrypting agent (PUB/SUB's slow joiner).
    const made = new Set<number>();
    const flow = await waitFor(async () => {
      made.add(await shortConnection(SERVICE_PORT));
      const r = await fb.api(`/api/v1/interfaces/${encodeURIComponent(zmq.name)}/flows?port=${SERVICE_PORT}`);
      const flows = ((await r.json()) as { flows?: FlowRecord[] }).flows ?? [];
      return flows.find((f) => made.has(f.client.port) && f.process?.pid === process.pid);
    }, 'a connection reported through CURVE', 20_000, 100);
    expect(flow.server).toMatchObject({ ip: '127.0.0.1', port: SERVICE_PORT });
    // Both agents published every connection; only the one with the right key was heard.
    expect(wrong.stats().sent).toBeGreaterThan(0);
    const sources = zmq.collectorStats().exporters.map((e) => e.sourceId);
    expect(sources).toContain('902');
    expect(sources).not.toContain('901');
  }, 40_000);
});
