// Issue 3, second "done when": a veth pair into a namespace this test creates, one end
// marked mirrored and made the companion of a ZMQ interface; events whose interface
// name matches nothing are merged into the companion's flows, loopback ones are not,
// and removing the mirrored mark stops delivery. The settings survive a restart.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import type { FlowRecord } from '../../src/model/flow.ts';
import { fixture } from '../support/fixtures.ts';
import { connectProducer, startWithFlags } from '../support/flowbridge.ts';
import { createVethPair, type VethPair } from '../support/netns.ts';
import { describeAsRoot } from '../support/privileges.ts';
import type { Producer } from '../support/producer.ts';
import { waitFor } from '../support/wait.ts';

const ZMQ = 'tcp://127.0.0.1:18110c';
const SERVICE_PORT = 18111;
let veth: VethPair;
let fb: Awaited<ReturnType<typeof startWithFlags>>;
let producer: Producer;
let server: Server;

describeAsRoot('a mirrored veth as companion', 'create a network namespace and capture on its veth', () => {
  beforeAll(async () => {
    veth = createVethPair(`c${process.pid % 10000}`, '10.213.7');
    server = createServer((s) => s.on('data', () => s.end(Buffer.alloc(1500, 7))));
    await new Promise<void>((r) => server.listen(SERVICE_PORT, veth.hostIp, r));
    fb = await startWithFlags(['-i', ZMQ, '-i', veth.hostIf]);
    producer = await connectProducer(fb, 'tcp://127.0.0.1:18110');
  });
  afterAll(async () => {
    producer?.close();
    await fb?.stop();
    server?.close();
    veth?.remove();
  });

  const patch = (id: string, body: object) => fb.api(`/api/v1/interfaces/${encodeURIComponent(id)}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const flows = async (id: string, query = ''): Promise<FlowRecord[]> =>
    ((await (await fb.api(`/api/v1/interfaces/${encodeURIComponent(id)}/flows?${query}`)).json()) as { flows: FlowRecord[] }).flows;

  /** A real connection from the namespace to the service, from a fixed client port. */
  async function connectFromNamespace(localPort: number): Promise<void> {
    await veth.exec([process.execPath, '-e', `
      const s = require('net').connect({ host: '${veth.hostIp}', port: ${SERVICE_PORT}, localPort: ${localPort} }, () => s.write('hi'));
      s.on('data', () => {}); s.on('end', () => s.end());`]);
  }

  const connectEvent = (localPort: number, pid: number) => ({
    ...fixture('ebpflowexport-connect-docker'),
    INTERFACE_NAME: 'eth0', // the remote host's name for it: matches no monitored interface
    IPV4_SRC_ADDR: veth.nsIp, IPV4_DST_ADDR: veth.hostIp, L4_SRC_PORT: localPort, L4_DST_PORT: SERVICE_PORT,
    LOCAL_PROCESS: { PID: pid, PROCESS_PATH: '/usr/bin/python3', UID: 1000 },
  });

  it('merges events into the mirrored companion, never loopback ones, and stops when unmarked', async () => {
    expect((await patch(ZMQ, { companion: veth.hostIf })).status).toBe(400); // not mirrored yet
    expect((await patch(veth.hostIf, { mirrored: true })).status).toBe(200);
    const chosen = await patch(ZMQ, { companion: veth.hostIf });
    expect(await chosen.json()).toMatchObject({ companion: veth.hostIf });

    await connectFromNamespace(18120);
    await waitFor(async () => (await flows(veth.hostIf, 'port=18120')).length === 1, 'captured packets on the veth');
    await producer.send('flow', connectEvent(18120, 777));
    const merged = await waitFor(async () => (await flows(veth.hostIf, 'port=18120')).find((f) => f.process), 'the event in the companion');
    expect(merged).toMatchObject({ client: { ip: veth.nsIp, port: 18120 }, server: { ip: veth.hostIp, port: SERVICE_PORT }, seenBy: ['packets', 'events'], process: { pid: 777, path: '/usr/bin/python3' } });
    expect(merged.packets).toBeGreaterThan(3);

    // A loopback event of the same ZMQ interface reaches the ZMQ interface only.
    await producer.send('flow', { ...connectEvent(18121, 778), IPV4_SRC_ADDR: '127.0.0.1', IPV4_DST_ADDR: '127.0.0.1' });
    await waitFor(async () => (await flows(ZMQ, 'port=18121')).length === 1, 'the loopback event at home');
    expect(await flows(veth.hostIf, 'port=18121')).toEqual([]);

    // Unmarking stops delivery, and the API says why.
    const unmarked = await patch(veth.hostIf, { mirrored: false });
    expect(((await unmarked.json()) as { notes: string[] }).notes.join()).toMatch(/no longer mirrored/);
    await connectFromNamespace(18122);
    await waitFor(async () => (await flows(veth.hostIf, 'port=18122')).length === 1, 'captured packets of the second connection');
    await producer.send('flow', connectEvent(18122, 779));
    await waitFor(async () => (await flows(ZMQ, 'port=18122')).length === 1, 'the event at home');
    expect((await flows(veth.hostIf, 'port=18122'))[0]).toMatchObject({ seenBy: ['packets'] });
    const status = (await (await fb.api('/api/v1/status')).json()) as { problems: { text: string }[] };
    expect(status.problems.map((p) => p.text).join()).toMatch(/is not marked mirrored/);
  });

  it('keeps mirrored marks and companions across a restart', async () => {
    expect((await patch(veth.hostIf, { mirrored: true })).status).toBe(200);
    await fb.stop();
    fb = await startWithFlags(['-i', ZMQ, '-i', veth.hostIf], fb.dataDir);
    const list = (await (await fb.api('/api/v1/interfaces')).json()) as { interfaces: { name: string; mirrored: boolean; companion: string | null }[] };
    expect(list.interfaces).toEqual([
      expect.objectContaining({ name: ZMQ, companion: veth.hostIf }),
      expect.objectContaining({ name: veth.hostIf, mirrored: true }),
    ]);
  });
});
