// Issue 3, first "done when": real traffic captured on lo, the matching CONNECT event
// sent over ZMQ with IF_NAME "lo", and one flow in lo with packets, bytes and the process.
import { createServer, connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/model/flow.ts';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import { describeAsRoot } from '../support/privileges.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ_PORT = 18100;
const SERVICE_PORT = 18101;
let fb: Awaited<ReturnType<typeof startWithFlags>>;
let producer: Producer;

describeAsRoot('lo: packets and events in one flow', 'capture on lo', () => {
  beforeAll(async () => {
    fb = await startWithFlags(['-i', `tcp://127.0.0.1:${ZMQ_PORT}c`, '-i', 'lo', '--bpf', `lo=tcp port ${SERVICE_PORT}`]);
    producer = await connectProducer(fb, `tcp://127.0.0.1:${ZMQ_PORT}`);
  });
  afterAll(async () => {
    producer?.close();
    await fb?.stop();
  });

  async function flowsOf(iface: string, query: string): Promise<{ total: number; flows: FlowRecord[] }> {
    const r = await fb.api(`/api/v1/interfaces/${encodeURIComponent(iface)}/flows?${query}`);
    expect(r.status).toBe(200);
    return r.json() as Promise<{ total: number; flows: FlowRecord[] }>;
  }

  it('merges a CONNECT event into the flow captured on lo', async () => {
    const server = createServer((s) => s.on('data', () => s.end(Buffer.alloc(2000, 1))));
    await new Promise<void>((r) => server.listen(SERVICE_PORT, '127.0.0.1', r));
    const clientPort = await new Promise<number>((resolve) => {
      const c = connect(SERVICE_PORT, '127.0.0.1', () => {
        resolve(c.localPort!);
        c.write('GET / HTTP/1.0\r\n\r\n');
      });
      c.on('data', () => {});
    });
    // The flow shows up with its first packet; wait for the 2000-byte answer to be counted
    // too, so the merged figures below do not race the capture's next batch.
    await waitFor(async () => {
      const { total, flows } = await flowsOf('lo', `port=${SERVICE_PORT}`);
      return total === 1 && flows[0].bytes > 2000;
    }, 'packets of the connection, the answer included');

    const event = {
      ...fixture('nprobe-mini-connect'),
      IF_NAME: 'lo',
      IPV4_LOCAL_ADDR: '127.0.0.1', IPV4_REMOTE_ADDR: '127.0.0.1', L4_LOCAL_PORT: clientPort, L4_REMOTE_PORT: SERVICE_PORT,
      LOCAL_PROCESS: { PID: 4242, UID: 1000, UID_NAME: 'alice', PROCESS_PATH: '/usr/bin/curl', PROCESS_CMDLINE: 'http://127.0.0.1' },
    };
    await producer.send('flow', event);
    const merged = await waitFor(async () => {
      const { flows } = await flowsOf('lo', `port=${SERVICE_PORT}`);
      return flows[0]?.process ? flows : undefined;
    }, 'the event to merge');

    expect(merged).toHaveLength(1);
    expect(merged[0]).toMatchObject({
      client: { ip: '127.0.0.1', port: clientPort }, server: { ip: '127.0.0.1', port: SERVICE_PORT },
      seenBy: ['packets', 'events'], process: { pid: 4242, path: '/usr/bin/curl', user: 'alice' }, lastEvent: 'CONNECT', latencyMs: 0.177,
    });
    expect(merged[0].packets).toBeGreaterThan(3);
    expect(merged[0].bytes).toBeGreaterThan(2000);
    // The ZMQ interface shows it too, from the event alone.
    const home = await flowsOf('tcp://127.0.0.1:18100c', `port=${SERVICE_PORT}`);
    expect(home.flows[0]).toMatchObject({ seenBy: ['events'], process: { pid: 4242 } });
    server.close();
  });
});
