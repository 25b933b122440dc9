// A capture device that disappears and comes back (a veth pair deleted and created again
// in a namespace this test owns) is captured again without restarting flowbridge: while
// it is gone the interface says so as its problem, and once it is back the packets sent
// over it are counted again, in the flows held from before.
import { execFileSync } from 'node:child_process';
import { afterEach, expect } from 'vitest';
import { PacketInterface } from '../../src/interfaces/packet-interface.ts';
import { createVethPair, type VethPair } from '../support/netns.ts';
import { startWithFlags } from '../support/flowbridge.ts';
import { itAsRoot } from '../support/privileges.ts';
import { waitFor } from '../support/wait.ts';

const TAG = `r${process.pid % 1000}`;
const SUBNET = '10.213.171';
const PORT = 16720;
let fb: Awaited<ReturnType<typeof startWithFlags>> | undefined;
let veth: VethPair | undefined;
afterEach(async () => {
  await fb?.stop();
  fb = undefined;
  veth?.remove();
  veth = undefined;
});

/** Sends `n` UDP datagrams from inside the namespace to the host end (from port PORT + 1). */
async function sendFromNamespace(pair: VethPair, n: number): Promise<void> {
  await pair.exec([process.execPath, '-e', `
    const s = require('dgram').createSocket('udp4');
    s.bind(${PORT + 1}, async () => {
      for (let i = 0; i < ${n}; i++) await new Promise((r) => s.send('x'.repeat(100), ${PORT}, '${pair.hostIp}', r));
      s.close();
    });`]);
}

interface View {
  status: { state: string; error?: string; restarts?: number };
  problems: string[];
}

itAsRoot('a veth deleted and created again is captured again, its absence shown as a problem meanwhile', 'create network namespaces and capture on their veth pairs', async () => {
  veth = createVethPair(TAG, SUBNET, { prefix: 'fbif' });
  const device = veth.hostIf;
  fb = await startWithFlags(['-i', device, '--bpf', `${device}=udp port ${PORT}`]);
  const iface = fb.registry.packetInterfaces()[0] as PacketInterface;
  const view = async () => (await (await fb!.api(`/api/v1/interfaces/${iface.id}`)).json()) as View;
  const flowPackets = () => iface.flows.query({ port: PORT }).flows[0]?.packets ?? 0;

  await sendFromNamespace(veth, 5);
  await waitFor(() => flowPackets() === 5, 'the 5 datagrams before the veth goes');

  // Deleting one end of a veth pair deletes both.
  execFileSync('ip', ['link', 'del', device]);
  const gone = await waitFor(async () => {
    const v = await view();
    return v.status.error?.includes('is gone') && v;
  }, 'the interface to say its device is gone', 15_000);
  expect(gone.status).toMatchObject({ state: 'error', error: `device ${device} is gone; waiting for it` });
  expect(gone.problems).toEqual([`interface ${device}: device ${device} is gone; waiting for it`]);
  expect(iface.capturePid).toBeUndefined();

  veth = createVethPair(TAG, SUBNET, { prefix: 'fbif' });
  const up = await waitFor(async () => {
    const v = await view();
    return v.status.state === 'running' && v;
  }, 'the capture to run on the device again', 20_000);
  expect(up.status.restarts).toBeGreaterThanOrEqual(1);
  expect(up.problems).toEqual([]);

  await sendFromNamespace(veth, 7);
  await waitFor(() => flowPackets() === 12, 'the 7 datagrams after the veth came back, in the flow held from before');
  const metrics = await (await fb.api('/metrics')).text();
  expect(metrics).toMatch(new RegExp(`^flowbridge_capture_restarts_total\\{interface="${device}"\\} [1-9]\\d*$`, 'm'));
}, 60_000);

itAsRoot('a device missing at the first start is an error naming it; a later start captures once it exists', 'create network namespaces and capture on their veth pairs', async () => {
  const device = `fbif${TAG}0`;
  const iface = new PacketInterface({ id: 3, name: device, device, filter: `udp port ${PORT}` });
  try {
    await expect(iface.start()).rejects.toThrow(new RegExp(`cannot open capture on ${device}: .*No such device`));
    expect(iface.status()).toEqual({ state: 'error', error: expect.stringMatching(new RegExp(`^cannot open capture on ${device}: `)) });
    veth = createVethPair(TAG, SUBNET, { prefix: 'fbif' });
    await iface.start();
    expect(iface.status()).toEqual({ state: 'running' });
    await sendFromNamespace(veth, 3);
    await waitFor(() => iface.flows.query({ port: PORT }).flows[0]?.packets === 3, 'the 3 datagrams captured');
  } finally {
    await iface.stop();
  }
}, 30_000);
